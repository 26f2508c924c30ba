"""Action libraries (engine.run.library): actions that call each other by name, resolved at run
time and known to the validator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.diagnostics.errors import EngineError, ErrorKind, StepError
from engine.engine import Engine
from engine.load.sourcemap import Document
from engine.run.library import ActionLibrary
from engine.run.model import Pipeline, PluginSettings
from engine.simulator import Simulator
from engine.tools.catalog import ToolCatalog
from engine.tools.grants import Grant


def _action(name: str, body: str) -> str:
    return (
        f'api_version: "1.1"\nkind: action\nname: {name}\ndescription: The {name} action.\n' + body
    )


DOUBLE = _action(
    "double",
    "inputs:\n  n: {type: integer}\nsteps:\n  - set: {d: '{{ inputs.n * 2 }}'}\n"
    "outputs:\n  d: '{{ vars.d }}'\n",
)
QUAD = _action(
    "quad",
    "inputs:\n  n: {type: integer}\nsteps:\n"
    "  - id: a\n    action: double\n    with: {n: '{{ inputs.n }}'}\n"
    "  - id: b\n    action: double\n    with: {n: '{{ steps.a.result.d }}'}\n"
    "outputs:\n  q: '{{ steps.b.result.d }}'\n",
)
NOTIFY = _action(
    "notify",
    "permissions: [notifications]\nsteps:\n  - tool: km_notifications\n"
    "    with: {notification_type: notification, title: Hi, message: There}\n",
)


@pytest.fixture
def engine() -> Engine:
    return Engine()


def _doc(engine: Engine, text: str, file: str = "a.yaml") -> Document:
    return engine.load(text, file=file)


def _pipeline(
    engine: Engine, library: ActionLibrary, text: str, plugin: str | None = None
) -> Pipeline:
    return engine.compile(_doc(engine, text), context=library.context(plugin=plugin), plugin=plugin)


def test_add_names_actions_by_plugin(engine: Engine) -> None:
    library = ActionLibrary(engine)
    assert library.add(_doc(engine, DOUBLE)) == "double"
    assert library.add(_doc(engine, DOUBLE), plugin="math") == "math/double"
    assert sorted(library.signatures()) == ["double", "math/double"]
    signature = library.signatures()["math/double"]
    assert (signature.name, signature.plugin, signature.qualified, signature.outputs) == (
        "double",
        "math",
        "math/double",
        ("d",),
    )
    assert list(signature.inputs) == ["n"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('api_version: "1.1"\nkind: plugin\nname: Demo\n', id="plugin-manifest"),
        pytest.param('api_version: "1.1"\nkind: action\nsteps: []\n', id="no-name"),
        pytest.param('api_version: "1.1"\nkind: action\nname: 5\n', id="name-not-text"),
        pytest.param("- a\n- b\n", id="not-a-mapping"),
    ],
)
def test_add_skips_what_is_not_a_named_action(engine: Engine, text: str) -> None:
    library = ActionLibrary(engine)
    assert library.add(_doc(engine, text)) is None
    assert library.signatures() == {}


def test_add_folder_adds_the_manifests_in_it_and_returns_load_errors(
    engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "double.yaml").write_text(DOUBLE)
    (tmp_path / "quad.YML").write_text(QUAD)
    (tmp_path / "notify.json").write_text(
        '{"api_version": "1.1", "kind": "action", "name": "notify", "steps": []}'
    )
    (tmp_path / "broken.yaml").write_text("a: [1,\n")
    (tmp_path / "notes.txt").write_text("name: not-an-action\n")
    (tmp_path / "folder.yaml").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deeper.yaml").write_text(_action("deeper", "steps: []\n"))
    library = ActionLibrary(engine)
    errors = library.add_folder(tmp_path, plugin="p")
    assert sorted(library.signatures()) == ["p/double", "p/notify", "p/quad"]
    [error] = errors
    assert (error.code, error.first.file) == ("syntax", str(tmp_path / "broken.yaml"))


class _VanishingFiles:
    """An engine whose files disappear between listing and reading."""

    def __init__(self, engine: Engine) -> None:
        self.catalog = engine.catalog

    def load_file(self, path: Path) -> Document:
        raise FileNotFoundError(path)


def test_add_folder_skips_files_that_cannot_be_read(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "double.yaml").write_text(DOUBLE)
    library = ActionLibrary(_VanishingFiles(engine))
    assert library.add_folder(tmp_path) == []
    assert library.signatures() == {}


def test_context_knows_every_action(engine: Engine) -> None:
    catalog = ToolCatalog.builtin()
    library = ActionLibrary(engine, catalog=catalog)
    library.add(_doc(engine, DOUBLE))
    context = library.context(
        plugin="p", permissions=("notifications",), config_schema={"type": "object"}
    )
    assert (context.catalog, sorted(context.actions), context.plugin) == (catalog, ["double"], "p")
    assert (context.permissions, context.config_schema) == (("notifications",), {"type": "object"})
    assert engine.validate(_doc(engine, QUAD), library.context()) == []


def test_reading_an_output_the_called_action_lacks_is_an_error(engine: Engine) -> None:
    library = ActionLibrary(engine)
    library.add(_doc(engine, DOUBLE))
    wrong = QUAD.replace("{{ steps.b.result.d }}", "{{ steps.b.result.dd }}")
    wrong = wrong.replace(
        "outputs:\n  q:", "outputs:\n  f: '{{ steps.a.result.e | default(0) }}'\n  q:"
    )
    found = engine.validate(_doc(engine, wrong), library.context())
    assert [(str(d), d.hint) for d in found] == [
        (
            "a.yaml:16:10: error[unknown-output]: the action `double` has no output `dd`",
            "did you mean 'd'?",
        )
    ]


def test_pipeline_is_compiled_once(engine: Engine) -> None:
    library = ActionLibrary(engine)
    library.add(_doc(engine, DOUBLE))
    first = library.pipeline("double")
    assert (first.name, library.pipeline("double")) == ("double", first)
    with pytest.raises(StepError) as missing:
        library.pipeline("triple")
    assert (missing.value.message, missing.value.hint) == (
        "no action named `triple` is available",
        "put the action's file in the same folder (or install its plugin), and check its `name:`",
    )


def test_resolve_runs_the_called_actions(engine: Engine) -> None:
    library = ActionLibrary(engine)
    library.add(_doc(engine, DOUBLE))
    quad = _pipeline(engine, library, QUAD)
    result = asyncio.run(engine.run(quad, {"n": 3}, bridge=Simulator(), resolver=library))
    assert (result.ok, result.outputs) == (True, {"q": 12})


def test_resolve_prefers_the_caller_plugin(engine: Engine) -> None:
    library = ActionLibrary(engine)
    library.add(_doc(engine, DOUBLE, "outside.yaml"))
    library.add(_doc(engine, DOUBLE.replace("inputs.n * 2", "inputs.n * 10")), plugin="p")
    caller = _pipeline(engine, library, QUAD, plugin="p")
    pipeline, _grant, settings = library.resolve("double", caller)
    assert (pipeline.plugin, pipeline.name, settings) == ("p", "double", PluginSettings())
    lone = _pipeline(engine, library, QUAD)
    assert library.resolve("double", lone)[0].file == "outside.yaml"
    assert library.resolve("p/double", lone)[0].plugin == "p"


def test_validation_prefers_the_caller_plugin_as_the_run_does(engine: Engine) -> None:
    """A call is checked against the action it will run: the caller's own plugin's one
    before a lone file of the same name (the validator took the lone file's signature)."""
    library = ActionLibrary(engine)
    lone = DOUBLE.replace("  d: '{{ vars.d }}'", "  e: '{{ vars.d }}'")
    library.add(_doc(engine, lone, "outside.yaml"))
    library.add(_doc(engine, DOUBLE), plugin="p")
    assert engine.validate(_doc(engine, QUAD), library.context(plugin="p")) == []
    caller = _pipeline(engine, library, QUAD, plugin="p")
    result = asyncio.run(engine.run(caller, {"n": 3}, bridge=Simulator(), resolver=library))
    assert (result.ok, result.outputs) == (True, {"q": 12})


def test_resolve_falls_back_to_the_bare_name(engine: Engine) -> None:
    library = ActionLibrary(engine)
    library.add(_doc(engine, DOUBLE))
    caller = _pipeline(engine, library, QUAD, plugin="p")
    assert library.resolve("double", caller)[0].plugin is None


def test_resolve_gives_the_grant_and_settings_it_was_added_with(engine: Engine) -> None:
    catalog = engine.catalog
    library = ActionLibrary(engine)
    granted = Grant.from_permissions(["km_notifications"], catalog)
    library.add(_doc(engine, NOTIFY), plugin="p", grant=granted, config={"k": 1})
    library.add(_doc(engine, NOTIFY))
    caller = engine.compile(_doc(engine, QUAD), check=False)
    _, grant, settings = library.resolve("p/notify", caller)
    assert (grant, settings.values, settings.secret) == (granted, {"k": 1}, frozenset())
    secret = PluginSettings({"k": "s3cr3t-value"}, frozenset({"k"}))
    library.add(_doc(engine, NOTIFY), plugin="q", config=secret)
    assert library.resolve("q/notify", caller)[2] is secret
    _, default, no_settings = library.resolve("notify", caller)
    assert default == Grant.from_permissions(["notifications"], catalog)
    assert no_settings == PluginSettings()


@pytest.mark.parametrize(
    ("target", "hint"),
    [
        pytest.param("doubel", "did you mean 'double'?", id="misspelt"),
        pytest.param(
            "zzz",
            "put the action's file in the same folder (or install its plugin), and check its "
            "`name:`",
            id="unknown",
        ),
    ],
)
def test_resolve_an_action_that_is_not_there(engine: Engine, target: str, hint: str) -> None:
    library = ActionLibrary(engine)
    library.add(_doc(engine, DOUBLE))
    caller = _pipeline(engine, library, QUAD)
    with pytest.raises(StepError) as missing:
        library.resolve(target, caller)
    assert (missing.value.kind, missing.value.message, missing.value.hint) == (
        ErrorKind.NOT_FOUND,
        f"no action named `{target}` is available",
        hint,
    )


def test_resolve_an_action_that_does_not_compile(engine: Engine) -> None:
    library = ActionLibrary(engine)
    library.add(_doc(engine, DOUBLE))
    caller = _pipeline(engine, library, QUAD)
    library.add(_doc(engine, _action("double", "steps:\n  - set: {x: '{{ inputs.nope }}'}\n")))
    with pytest.raises(StepError) as broken:
        library.resolve("double", caller)
    assert broken.value.kind is ErrorKind.NOT_FOUND
    assert broken.value.message == (
        "the action `double` cannot run: a.yaml:6:18: `inputs.nope` is not a declared input"
    )
    assert broken.value.hint == "declare it under `inputs:`"
    assert isinstance(broken.value.__cause__, EngineError)


def test_a_failing_call_is_reported_by_the_run(engine: Engine) -> None:
    library = ActionLibrary(engine)
    library.add(_doc(engine, DOUBLE))
    caller_text = QUAD.replace("action: double\n    with: {n: '{{ inputs.n }}'}",
                               "action: triple\n    with: {n: '{{ inputs.n }}'}", 1)  # fmt: skip
    caller = engine.compile(_doc(engine, caller_text), check=False)
    result = asyncio.run(engine.run(caller, {"n": 1}, bridge=Simulator(), resolver=library))
    assert result.error is not None
    outcome: dict[str, Any] = result.error.to_dict()
    assert (outcome["kind"], outcome["message"]) == (
        "not-found",
        "no action named `triple` is available",
    )
