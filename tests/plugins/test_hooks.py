"""Tests for engine.plugins.hooks and the validation of hooks in plugin.yaml."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.diagnostics.errors import EngineError, ErrorKind, Severity, StepError
from engine.engine import Engine
from engine.lang.limits import Profile
from engine.load.loader import load_text
from engine.load.sourcemap import Document
from engine.plugins.hooks import (
    BuiltinEvent,
    Event,
    HookBus,
    HookedPlugin,
    HookOutcome,
    HookStatus,
    compile_hooks,
)
from engine.run import run
from engine.run.model import Pipeline, PluginSettings
from engine.tools.bridge.inprocess import InProcessBridge
from engine.tools.catalog import ToolCatalog
from engine.tools.grants import Grant
from engine.validate import ActionSignature, ValidationContext, validate, validate_plugin
from engine.validate._plugin import BUILTIN_EVENTS
from engine.validate.context import readable_inputs

RECORD_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
}

# Actions of the plugins under test, by plugin.
ACTIONS = {
    "notes": {
        "note": """
            inputs: {text: {type: string}}
            steps:
              - tool: km_record
                with: {text: "{{ inputs.text }}"}
            outputs: {said: "{{ inputs.text }}"}
        """,
        "save": """
            inputs: {text: {type: string}}
            steps:
              - emit: note-saved
                with: {text: "{{ inputs.text }}", length: "{{ inputs.text | length }}"}
            outputs: {saved: "{{ inputs.text }}"}
        """,
        "save-secret": """
            inputs: {text: {type: string, secret: true}}
            steps:
              - emit: note-saved
                with: {text: "{{ inputs.text }}"}
        """,
        "ping": """
            steps:
              - emit: ping
                with: {from: notes}
        """,
        "broken": """
            steps:
              - fail: "the hook's action broke"
        """,
        "uses-config": """
            steps:
              - tool: km_record
                with: {text: "token {{ config.token }}"}
            outputs: {said: "token {{ config.token }}"}
        """,
        "forbidden": """
            steps:
              - tool: km_secret_tool
                with: {text: x}
        """,
    },
    "audit": {
        "refuse": """
            inputs: {line: {type: string}}
            steps:
              - fail: "refused {{ inputs.line }}"
        """,
        "log": """
            inputs: {line: {type: string}}
            steps:
              - tool: km_record
                with: {text: "audit: {{ inputs.line }}"}
        """,
    },
}


def action_text(name: str, body: str) -> str:
    lines = [line[12:] if line.startswith(" " * 12) else line for line in body.splitlines()]
    return f'api_version: "1.1"\nkind: action\nname: {name}\n' + "\n".join(lines).strip() + "\n"


def plugin_document(identifier: str, hooks: str) -> Any:
    text = (
        f'api_version: "1.1"\nidentifier: {identifier}\nname: {identifier.title()}\n'
        f"version: 1.0.0\nhooks:\n{hooks}"
    )
    return load_text(text, file=f"{identifier}/plugin.yaml")


class Actions:
    """The compiled actions of the plugins, found as a hook (or `action:` step) names
    them: a :class:`~engine.run.ActionResolver`."""

    def __init__(self, engine: Engine, catalog: ToolCatalog) -> None:
        self.pipelines: dict[str, Pipeline] = {}
        settings = {"type": "object", "properties": {"token": {"type": "string"}}}
        for plugin, actions in ACTIONS.items():
            context = ValidationContext(catalog=catalog, plugin=plugin, config_schema=settings)
            for name, body in actions.items():
                document = engine.load(action_text(name, body))
                self.pipelines[f"{plugin}/{name}"] = engine.compile(
                    document, plugin=plugin, context=context
                )

    def pipeline(self, qualified: str) -> Pipeline:
        return self.pipelines[qualified]

    def resolve(self, target: str, caller: Pipeline) -> tuple[Pipeline, Any, PluginSettings]:
        qualified = target if "/" in target else f"{caller.plugin}/{target}"
        found = self.pipelines.get(qualified)
        if found is None:
            raise StepError(ErrorKind.NOT_FOUND, f"no action named `{target}` is available")
        return found, None, PluginSettings()


@dataclass
class World:
    """A bridge that records `km_record` calls, the plugins' actions, and helpers to
    build a bus over hooks written as plugin.yaml text."""

    bridge: InProcessBridge
    library: Actions
    recorded: list[str] = field(default_factory=list)
    history: list[HookOutcome] = field(default_factory=list)

    def bus(
        self,
        hooks: Mapping[str, str],
        *,
        disabled: frozenset[str] = frozenset(),
        config: Mapping[str, Mapping[str, Any]] | None = None,
        secrets: Mapping[str, tuple[str, ...]] | None = None,  # names of secret settings
        **options: Any,
    ) -> HookBus:
        grant = Grant.of_tools({"km_record"})
        plugins = [
            HookedPlugin(
                id,
                compile_hooks(id, plugin_document(id, text)),
                grant,
                settings=PluginSettings(
                    (config or {}).get(id, {}), frozenset((secrets or {}).get(id, ()))
                ),
                enabled=id not in disabled,
            )
            for id, text in hooks.items()
        ]
        return HookBus(
            plugins,
            bridge=self.bridge,
            resolver=self.library,
            recorder=self.history.append,
            **options,
        )


@pytest.fixture
def world() -> World:
    """Plugins `notes` and `audit` with their actions, over an in-process `km_record`."""
    recorded: list[str] = []
    bridge = InProcessBridge()

    def record(text: str) -> dict[str, Any]:
        recorded.append(text)
        return {"success": True, "data": {"text": text}}

    bridge.register("km_record", record, RECORD_SCHEMA)
    bridge.register("km_secret_tool", record, RECORD_SCHEMA)
    engine = Engine(catalog=bridge.catalog())
    return World(bridge, Actions(engine, bridge.catalog()), recorded)


def summary(outcomes: list[HookOutcome]) -> list[tuple[str, str, str, int]]:
    return [(o.plugin, o.action, o.status.value, o.depth) for o in outcomes]


# -- built-in events -------------------------------------------------------------------


def test_builtin_events_are_the_ones_the_validator_knows() -> None:
    assert tuple(e.value for e in BuiltinEvent) == BUILTIN_EVENTS


@pytest.mark.parametrize(
    ("event", "data", "expected"),
    [
        pytest.param("installed", {"version": "1.0.0"}, "installed demo 1.0.0", id="installed"),
        pytest.param("uninstalled", {"version": "1.0.0"}, "uninstalled demo 1.0.0", id="uninst"),
        pytest.param("upgraded", {"version": "2.0.0"}, "upgraded demo 2.0.0", id="upgraded"),
        pytest.param("configured", {"version": "2.0.0"}, "configured demo 2.0.0", id="configured"),
    ],
)
def test_store_events_run_the_hooks_that_listen(
    world: World, event: str, data: dict[str, Any], expected: str
) -> None:
    hooks = "".join(
        f"  - on: {name}\n    action: note\n"
        '    with: {text: "{{ event.name }} {{ event.plugin }} {{ event.data.version }}"}\n'
        for name in ("installed", "uninstalled", "upgraded", "configured")
    )
    bus = world.bus({"notes": hooks})
    outcomes = asyncio.run(bus.publish(Event(event, plugin="demo", data=data)))
    assert world.recorded == [expected]
    assert summary(outcomes) == [("notes", "notes/note", "succeeded", 1)]
    assert outcomes[0].outputs == {"said": expected}
    assert world.history == outcomes


def test_action_succeeded_carries_the_action_and_its_outputs(world: World) -> None:
    hooks = (
        "  - on: action_succeeded\n    action: audit/log\n"
        '    with: {line: "{{ event.data.action }} gave {{ event.data.outputs.said }}"}\n'
    )
    bus = world.bus({"audit": hooks})
    done = asyncio.run(bus.run_action(world.library.pipeline("notes/note"), {"text": "hi"}))
    assert done.result.ok and done.result.outputs == {"said": "hi"}
    assert world.recorded == ["hi", "audit: notes/note gave hi"]
    assert summary(done.hooks) == [("audit", "audit/log", "succeeded", 1)]
    assert done.warnings == []


def test_action_failed_carries_the_error_kind_and_message(world: World) -> None:
    hooks = (
        "  - on: action_failed\n    action: audit/log\n"
        '    with: {line: "{{ event.plugin }}/{{ event.action }} failed '
        '({{ event.data.error.kind }}): {{ event.data.error.message }}"}\n'
    )
    bus = world.bus({"audit": hooks})
    done = asyncio.run(bus.run_action(world.library.pipeline("notes/broken")))
    assert done.result.error is not None and done.result.error.kind is ErrorKind.FAILED
    assert world.recorded == ["audit: notes/broken failed (failed): the hook's action broke"]
    assert [o.ok for o in done.hooks] == [True]


# -- custom events ---------------------------------------------------------------------


def test_emit_sends_its_data_and_where_it_came_from(world: World) -> None:
    hooks = (
        "  - on: note-saved\n    action: audit/log\n"
        '    with: {line: "{{ event.plugin }}/{{ event.action }} saved {{ event.data.text }} '
        '({{ event.data.length }} characters)"}\n'
    )
    bus = world.bus({"audit": hooks})
    done = asyncio.run(bus.run_action(world.library.pipeline("notes/save"), {"text": "milk"}))
    assert done.result.outputs == {"saved": "milk"}
    assert world.recorded == ["audit: notes/save saved milk (4 characters)"]
    assert summary(done.hooks) == [("audit", "audit/log", "succeeded", 1)]


def test_hooks_of_an_emitted_event_never_show_the_runs_secrets(world: World) -> None:
    hooks = (
        '  - on: note-saved\n    action: audit/refuse\n    with: {line: "{{ event.data.text }}"}\n'
    )
    bus = world.bus({"audit": hooks})
    pipeline = world.library.pipeline("notes/save-secret")
    done = asyncio.run(bus.run_action(pipeline, {"text": "s3cr3t-note"}, trace=True))
    assert done.warnings == [
        "hook 1 of `audit` (on note-saved → audit/refuse) failed: refused ••••••"
    ]
    assert "s3cr3t" not in repr(done.result.to_dict()) + repr(done.hooks)


def test_emit_from_a_plain_run_uses_that_runs_tools(world: World) -> None:
    other_calls: list[str] = []
    other = InProcessBridge(label="other")

    def record(text: str) -> dict[str, Any]:
        other_calls.append(text)
        return {"success": True}

    other.register("km_record", record, RECORD_SCHEMA)
    hooks = '  - on: note-saved\n    action: audit/log\n    with: {line: "{{ event.data.text }}"}\n'
    bus = world.bus({"audit": hooks})
    result = asyncio.run(
        run(world.library.pipeline("notes/save"), {"text": "x"}, bridge=other, events=bus)
    )
    assert result.ok
    assert other_calls == ["audit: x"] and world.recorded == []


def test_events_nobody_listens_for_run_nothing(world: World) -> None:
    bus = world.bus({"audit": "  - on: something-else\n    action: log\n    with: {line: x}\n"})
    done = asyncio.run(bus.run_action(world.library.pipeline("notes/save"), {"text": "x"}))
    assert done.hooks == [] and world.recorded == []
    assert bus.listeners("note-saved") == [] and len(bus.listeners("something-else")) == 1


# -- if --------------------------------------------------------------------------------


def test_if_decides_which_hooks_run(world: World) -> None:
    hooks = (
        "  - on: note-saved\n    action: audit/log\n"
        "    if: event.data.text == 'urgent'\n"
        '    with: {line: "urgent: {{ event.data.text }}"}\n'
        "  - on: note-saved\n    action: audit/log\n"
        '    if: "{{ event.data.length > 3 }}"\n'
        '    with: {line: "long: {{ event.data.text }}"}\n'
        "  - on: note-saved\n    action: audit/log\n    if: false\n    with: {line: never}\n"
    )
    bus = world.bus({"audit": hooks})
    for text in ("urgent", "ok", "lengthy"):
        asyncio.run(bus.run_action(world.library.pipeline("notes/save"), {"text": text}))
    assert world.recorded == [
        "audit: urgent: urgent",
        "audit: long: urgent",
        "audit: long: lengthy",
    ]


def test_a_condition_that_fails_is_a_failed_hook_not_a_failed_action(world: World) -> None:
    hooks = "  - on: note-saved\n    action: audit/log\n    if: event.data.missing.deeper > 1\n"
    bus = world.bus({"audit": hooks})
    done = asyncio.run(bus.run_action(world.library.pipeline("notes/save"), {"text": "x"}))
    assert done.result.ok
    [outcome] = done.hooks
    assert outcome.error is not None and outcome.error.kind is ErrorKind.EXPRESSION_ERROR
    assert outcome.error.first.file == "audit/plugin.yaml"
    assert outcome.error.first.path == ("hooks", 0, "if")


# -- cascades --------------------------------------------------------------------------


def test_a_cascade_stops_at_max_hook_depth_with_a_clear_error(world: World) -> None:
    bus = world.bus(
        {"notes": "  - on: ping\n    action: ping\n"},
        limits=Profile.STANDARD.limits.with_overrides(max_hook_depth=3),
    )
    done = asyncio.run(bus.run_action(world.library.pipeline("notes/ping")))
    assert done.result.ok
    assert [(o.depth, o.status) for o in done.hooks] == [
        (4, HookStatus.FAILED),
        (3, HookStatus.SUCCEEDED),
        (2, HookStatus.SUCCEEDED),
        (1, HookStatus.SUCCEEDED),
    ]
    error = done.hooks[0].error
    assert error is not None and error.kind is ErrorKind.LIMIT_EXCEEDED
    assert error.message == (
        "hook 1 of `notes` (on ping → notes/ping) was not run: hooks set off hooks more than "
        "3 deep (limit max_hook_depth), through hook 1 of `notes` (on ping → notes/ping) → "
        "hook 1 of `notes` (on ping → notes/ping) → hook 1 of `notes` (on ping → notes/ping)"
    )
    assert error.details == {"limit": "max_hook_depth", "value": 3}
    assert done.warnings == [
        "hook 1 of `notes` (on ping → notes/ping) failed: " + error.message,
    ]


def test_the_sandbox_profile_runs_one_level_of_hooks(world: World) -> None:
    bus = world.bus({"notes": "  - on: ping\n    action: ping\n"}, limits=Profile.SANDBOX.limits)
    done = asyncio.run(bus.run_action(world.library.pipeline("notes/ping")))
    assert [(o.depth, o.ok) for o in done.hooks] == [(2, False), (1, True)]


# -- failures are isolated -------------------------------------------------------------


def test_a_failing_hook_never_fails_the_action(world: World) -> None:
    hooks = (
        "  - on: note-saved\n    action: broken\n"
        '  - on: note-saved\n    action: audit/log\n    with: {line: "{{ event.data.text }}"}\n'
    )
    bus = world.bus({"notes": hooks, "audit": ""})
    done = asyncio.run(
        bus.run_action(world.library.pipeline("notes/save"), {"text": "x"}, trace=True)
    )
    assert done.result.ok and done.result.outputs == {"saved": "x"}
    assert world.recorded == ["audit: x"]  # the next hook still ran
    assert done.warnings == [
        "hook 1 of `notes` (on note-saved → notes/broken) failed: the hook's action broke"
    ]
    as_json = done.to_dict()
    assert as_json["status"] == "succeeded" and as_json["warnings"] == done.warnings
    assert as_json["hooks"][0]["error"]["kind"] == "failed"
    hook_entries = [e for e in done.result.trace or [] if e["kind"] == "hook"]
    assert [(e["action"], e["status"], e["line"]) for e in hook_entries] == [
        ("notes/broken", "failed", 6),
        ("audit/log", "succeeded", 8),
    ]
    assert world.history == done.hooks


def test_a_hook_naming_a_missing_action_fails_alone(world: World) -> None:
    bus = world.bus({"notes": "  - on: installed\n    action: nowhere\n"})
    [outcome] = asyncio.run(bus.publish(Event("installed", plugin="x")))
    assert outcome.error is not None and outcome.error.kind is ErrorKind.NOT_FOUND
    assert outcome.action == "notes/nowhere"


def test_hooks_use_the_hooking_plugins_grant(world: World) -> None:
    bus = world.bus({"notes": "  - on: installed\n    action: forbidden\n"})
    [outcome] = asyncio.run(bus.publish(Event("installed")))
    assert outcome.error is not None and outcome.error.kind is ErrorKind.PERMISSION_DENIED
    assert world.recorded == []


def test_hooks_use_the_hooking_plugins_settings_and_mask_its_secrets(world: World) -> None:
    bus = world.bus(
        {"notes": "  - on: configured\n    action: uses-config\n"},
        config={"notes": {"token": "s3cr3t"}},
        secrets={"notes": ("token",)},
    )
    [outcome] = asyncio.run(bus.publish(Event("configured", plugin="notes")))
    assert world.recorded == ["token s3cr3t"]  # the tool got the real value
    assert outcome.outputs == {"said": "token ••••••"}  # what is reported is masked


# -- disabled plugins ------------------------------------------------------------------


def test_hooks_of_disabled_plugins_do_not_run(world: World) -> None:
    hooks = '  - on: installed\n    action: audit/log\n    with: {line: "{{ event.plugin }}"}\n'
    bus = world.bus({"audit": hooks, "notes": hooks}, disabled=frozenset({"notes"}))
    outcomes = asyncio.run(bus.publish(Event("installed", plugin="demo")))
    assert summary(outcomes) == [("audit", "audit/log", "succeeded", 1)]
    assert world.recorded == ["audit: demo"]


def test_a_stranger_s_hooks_hear_only_the_events_of_plugins_strangers_installed(
    world: World,
) -> None:
    """A plugin an MCP caller installed does not hear what the user's plugins do (an
    `action_succeeded` carries their outputs): its hooks run for the events of plugins
    an MCP caller installed, itself included; the user's own hooks hear everything."""
    hooks = (
        "  - on: action_succeeded\n    action: audit/log\n"
        '    with: {line: "{{ event.data.action }} gave {{ event.data.outputs.said }}"}\n'
        '  - on: installed\n    action: audit/log\n    with: {line: "{{ event.plugin }}"}\n'
    )
    bus = world.bus({"audit": hooks}, strangers={"audit"})
    users = asyncio.run(bus.run_action(world.library.pipeline("notes/note"), {"text": "diary"}))
    assert users.result.outputs == {"said": "diary"}
    assert users.hooks == [] and world.recorded == ["diary"]
    assert asyncio.run(bus.publish(Event("installed", plugin="notes"))) == []
    # A removed plugin's origin comes with its event (its record is gone).
    removed = Event("installed", plugin="gone", origin="mcp-install")
    assert summary(asyncio.run(bus.publish(removed))) == [("audit", "audit/log", "succeeded", 1)]
    assert asyncio.run(bus.publish(Event("installed", plugin="gone", origin="file"))) == []

    bus = world.bus({"audit": hooks}, strangers={"audit", "notes"})
    theirs = asyncio.run(bus.run_action(world.library.pipeline("notes/note"), {"text": "hi"}))
    assert summary(theirs.hooks) == [("audit", "audit/log", "succeeded", 1)]

    bus = world.bus({"audit": hooks}, strangers={"notes"})  # the user's hook hears theirs too
    mine = asyncio.run(bus.run_action(world.library.pipeline("notes/note"), {"text": "hey"}))
    assert summary(mine.hooks) == [("audit", "audit/log", "succeeded", 1)]
    assert world.recorded == [
        "diary",
        "audit: gone",
        "hi",
        "audit: notes/note gave hi",
        "hey",
        "audit: notes/note gave hey",
    ]


# -- validation of hooks in plugin.yaml ------------------------------------------------


def hook_context() -> ValidationContext:
    inputs = readable_inputs(
        {"text": {"type": "string"}, "count": {"type": "integer", "default": 1}}
    )
    return ValidationContext(
        actions={
            "notes/note": ActionSignature("note", "notes", inputs, ()),
            "audit/log": ActionSignature("log", "audit", readable_inputs({}), ()),
        },
        plugin="notes",
    )


def problems(hooks: str) -> list[tuple[str, str, str, str]]:
    document = plugin_document("notes", hooks)
    return [
        (d.code, d.severity.value, d.json_path, d.message)
        for d in validate_plugin(document, hook_context())
    ]


@pytest.mark.parametrize(
    ("hooks", "expected"),
    [
        pytest.param(
            "  - on: note-saved\n    action: note\n    if: event.data.text != ''\n"
            '    with: {text: "{{ event.name }} {{ event.plugin }} {{ event.action }}"}\n'
            "  - on: installed\n    action: audit/log\n",
            [],
            id="event-in-scope",
        ),
        pytest.param(
            '  - on: x\n    action: note\n    with: {text: "{{ inputs.text }}"}\n',
            [
                (
                    "unknown-name",
                    "error",
                    "$.hooks[0].with.text",
                    "`inputs` (in `inputs.text`) is not in scope here; only `event` is",
                )
            ],
            id="inputs-not-in-scope",
        ),
        pytest.param(
            '  - on: x\n    action: note\n    if: config.on\n    with: {text: "y"}\n',
            [
                (
                    "unknown-name",
                    "error",
                    "$.hooks[0].if",
                    "`config` (in `config.on`) is not in scope here; only `event` is",
                )
            ],
            id="config-not-in-scope",
        ),
        pytest.param(
            '  - on: x\n    action: note\n    with: {text: "{{ event.payload }}"}\n',
            [
                (
                    "unknown-event-field",
                    "error",
                    "$.hooks[0].with.text",
                    "`event.payload` does not exist; an event has name, plugin, action and data",
                )
            ],
            id="event-field",
        ),
        pytest.param(
            '  - on: x\n    action: note\n    with: {text: "{{ event.data | nope }}"}\n',
            [("unknown-filter", "error", "$.hooks[0].with.text", "unknown filter `nope`")],
            id="template-does-not-parse",
        ),
        pytest.param(
            '  - on: instaled\n    action: note\n    with: {text: "y"}\n',
            [
                (
                    "unknown-event",
                    "warning",
                    "$.hooks[0].on",
                    "`instaled` is not an event km-actions sends, and looks like `installed`",
                )
            ],
            id="event-typo",
        ),
        pytest.param(
            "  - on: x\n    action: nope\n",
            [
                (
                    "unknown-action",
                    "error",
                    "$.hooks[0].action",
                    "the hook runs `nope`, which is not an action of this plugin or of an "
                    "installed plugin",
                )
            ],
            id="unknown-action",
        ),
        pytest.param(
            '  - on: x\n    action: note\n    with: {text: "y", colour: red, count: many}\n',
            [
                (
                    "unknown-argument",
                    "error",
                    "$.hooks[0].with.colour",
                    "the action `note` has no input `colour`",
                ),
                (
                    "argument-type",
                    "error",
                    "$.hooks[0].with.count",
                    'the input `count` of `note` must be a whole number, not text ("many")',
                ),
            ],
            id="inputs-fit",
        ),
        pytest.param(
            "  - on: x\n    action: note\n",
            [
                (
                    "missing-argument",
                    "error",
                    "$.hooks[0]",
                    "the action `note` needs the input `text`",
                )
            ],
            id="missing-input",
        ),
    ],
)
def test_hook_validation(hooks: str, expected: list[tuple[str, str, str, str]]) -> None:
    assert problems(hooks) == expected


def test_event_outside_a_hook_says_where_it_exists() -> None:
    document = load_text(
        action_text("a", 'steps:\n  - set: {x: "{{ event.data }}"}\n'), file="a.yaml"
    )
    [diagnostic] = [d for d in validate(document) if d.severity is Severity.ERROR]
    assert diagnostic.code == "unknown-name"
    assert diagnostic.message == (
        "`event` (in `event.data`) exists only in the `with:` and `if:` of a plugin's hooks "
        "(in plugin.yaml)"
    )
    assert diagnostic.hint is not None and "event.data.text" in diagnostic.hint


# -- hooks of installed plugins ----------------------------------------------------------


WATCHER_HOOKS = """
  - on: action_succeeded
    if: event.action != "log"
    action: log
    with: {line: "{{ event.data.action }} gave {{ event.data.outputs.said }}"}
  - on: action_failed
    action: log
    with: {line: "{{ event.data.action }} failed: {{ event.data.error.kind }}"}
  - on: configured
    action: log
    with: {line: "configured {{ event.plugin }}"}
  - on: uninstalled
    action: log
    with: {line: "uninstalled {{ event.plugin }} {{ event.data.version }}"}
"""


def write_installable(folder: Path, identifier: str, hooks: str = "", **extra: str) -> Path:
    """A plugin folder: `log` records a line with km_record, `say` answers its input."""
    root = folder / identifier
    (root / "actions").mkdir(parents=True)
    head = [
        'api_version: "1.1"',
        f"identifier: {identifier}",
        f"name: {identifier.title()}",
        "version: 1.0.0",
        "permissions: [km_record]",
        'configuration_schema: {type: object, properties: {mood: {type: string, default: ""}}}',
        *(f"{key}: {value}" for key, value in extra.items()),
    ]
    (root / "plugin.yaml").write_text("\n".join(head) + ("\nhooks:" + hooks if hooks else "\n"))
    (root / "actions" / "log.yaml").write_text(
        action_text(
            "log",
            """
            inputs: {line: {type: string}}
            steps:
              - tool: km_record
                with: {text: "{{ inputs.line }}"}
            """,
        )
    )
    (root / "actions" / "say.yaml").write_text(
        action_text(
            "say",
            """
            inputs: {text: {type: string}}
            steps:
              - if: inputs.text == "boom"
                fail: "said boom"
            outputs: {said: "{{ inputs.text }}"}
            """,
        )
    )
    return root


@pytest.fixture
def recording_bridge() -> tuple[InProcessBridge, list[str]]:
    """An in-process `km_record` (in the builtin catalog's stead), and what it recorded."""
    recorded: list[str] = []
    bridge = InProcessBridge()

    def record(text: str) -> dict[str, Any]:
        recorded.append(text)
        return {"success": True}

    bridge.register("km_record", record, RECORD_SCHEMA)
    return bridge, recorded


def test_installed_actions_send_their_results_to_hooks(
    tmp_path: Path, recording_bridge: tuple[InProcessBridge, list[str]]
) -> None:
    from engine.plugins.hooked import StoreHooks, run_installed
    from engine.plugins.installer import install
    from engine.plugins.lifecycle import configure, uninstall
    from engine.plugins.serving import ServedPlugins
    from engine.plugins.store import Store

    bridge, recorded = recording_bridge
    catalog = bridge.catalog()
    engine = Engine(catalog=catalog)
    with Store.open(tmp_path / "home") as store:
        install(store, write_installable(tmp_path, "watcher", WATCHER_HOOKS), catalog=catalog)
        install(store, write_installable(tmp_path, "other"), catalog=catalog)
        runtime = ServedPlugins.load(store, engine=engine)
        try:
            ok = asyncio.run(run_installed(runtime, "other/say", {"text": "hi"}, bridge=bridge))
            failed = asyncio.run(
                run_installed(runtime, "other/say", {"text": "boom"}, bridge=bridge)
            )
            assert ok.result.outputs == {"said": "hi"} and not failed.result.ok
            assert [(o.action, o.ok) for o in ok.hooks + failed.hooks] == [
                ("watcher/log", True),
                ("watcher/log", True),
            ]
            history = [(h["plugin"], h["action"], h["status"]) for h in runtime.history()]
            assert history == [
                ("watcher", "log", "succeeded"),
                ("other", "say", "failed"),
                ("watcher", "log", "succeeded"),
                ("other", "say", "succeeded"),
            ]
            # A hook's run is kept step by step, as any run of an installed action.
            hook_run = runtime.runs.run(runtime.history()[0]["id"])
            assert hook_run is not None and hook_run["trace"]
            assert {step["action"] for step in hook_run["trace"]} == {"watcher/log"}
        finally:
            runtime.close()
        listener = StoreHooks(store, bridge=bridge)
        configure(store, "other", {"mood": "sunny"}, events=listener)
        uninstall(store, "other", events=listener)
    assert recorded == [
        "other/say gave hi",
        "other/say failed: failed",
        "configured other",
        "uninstalled other 1.0.0",
    ]
    assert listener.warnings == [] and len(listener.outcomes) == 2


def test_store_events_with_no_listener_load_nothing(
    tmp_path: Path, recording_bridge: tuple[InProcessBridge, list[str]]
) -> None:
    from engine.plugins.hooked import StoreHooks
    from engine.plugins.installer import install
    from engine.plugins.store import Store

    bridge, recorded = recording_bridge
    with Store.open(tmp_path / "home") as store:
        listener = StoreHooks(store, bridge=bridge)
        install(store, write_installable(tmp_path, "quiet"), catalog=bridge.catalog())
        install(
            store,
            write_installable(tmp_path, "sleepy", WATCHER_HOOKS),
            catalog=bridge.catalog(),
            events=listener,
        )
    assert listener.outcomes == [] and recorded == []  # nobody listens for `installed`


def test_a_hook_that_no_longer_compiles_fails_when_set_off() -> None:
    document = hooks_document(
        [{"on": "ping", "action": "note", "if": "event.data |"}, {"on": "ping", "action": "x"}]
    )
    with pytest.raises(EngineError):
        compile_hooks("notes", document)
    broken, fine = compile_hooks("notes", document, strict=False)
    assert broken.condition is not None
    with pytest.raises(StepError) as caught:
        broken.condition.test(Event("ping").scope())
    assert caught.value.message.startswith("this hook cannot run: ")
    assert broken.inputs({}) == {} and fine.condition is None


def hooks_document(hooks: list[dict[str, Any]]) -> Document:
    return Document.from_data({"hooks": hooks}, file="notes/plugin.yaml")
