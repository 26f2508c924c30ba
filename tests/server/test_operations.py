"""Every `km_plugin_ecosystem` operation through a real MCP client over stdio.

One ``km-actions serve`` for the module (protocol 2026-07-28), its configuration file at
the default place (``config.toml`` in the data folder), its upstream another process:
``km-actions simulator`` over stdio. The ceiling is ``all``, so installing and creating
are not refused for their permissions here (``test_http_and_defaults`` checks the
default ceiling).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import MCPError
from mcp_types import TextContent, TextResourceContents

from engine.server.ecosystem import OPERATIONS, PARAMETERS, ceiling_sentence
from engine.tools.catalog import ToolCatalog

from .conftest import (
    CLIPBOARD_TOOLS,
    ECOSYSTEM,
    SLOW_SUM,
    ProgressLog,
    Served,
    action_yaml,
    install_paths,
    km_actions,
    serve,
    upstream_simulator,
    write_config,
    write_plugin,
)

pytestmark = pytest.mark.anyio

SECRET = "tok-never-shown-4242"

SHOUT = action_yaml(
    "shout",
    """
inputs:
  name: {type: string, description: Who to greet}
steps:
  - tool: km_variable_manager
    with: {operation: set, name: Shout, value: "Hello, {{ inputs.name }}!"}
  - id: read
    tool: km_variable_manager
    with: {operation: get, name: Shout}
  - set: {loud: "{{ steps.read.result.data.value | upper }}"}
outputs:
  text: "{{ vars.loud }}"
""",
    description="Put a greeting in a variable, read it back and shout it.",
    permissions=("km_variable_manager:get", "km_variable_manager:set"),
)

# The same action with four mistakes, on lines 3, 7, 10 and 12.
SHOUT_WITH_MISTAKES = (
    SHOUT.replace("name: shout", "name: Shout Out")
    .replace("description: Who", "descripton: Who")
    .replace(
        "tool: km_variable_manager\n    with: {operation: get",
        "tool: km_variabel_manager\n    with: {operation: get",
    )
    .replace("{{ inputs.name }}!", "{{ inputs.nam }}!")
)

DIVIDE = action_yaml(
    "divide",
    """
inputs:
  a: {type: number, description: The dividend}
  b: {type: number, description: The divisor}
steps:
  - if: inputs.b == 0
    fail: "cannot divide {{ inputs.a }} by zero"
  - id: calc
    tool: km_engine_control
    with: {operation: calculate, expression: "{{ inputs.a }}/{{ inputs.b }}"}
outputs:
  quotient: "{{ steps.calc.result.data.result | float }}"
""",
    description="Divide two numbers with Keyboard Maestro's calculator.",
    permissions=("km_engine_control:calculate",),
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's data folder, with config.toml: the simulator upstream, ceiling all,
    MCP callers may install the tests' plugin folders."""
    path = tmp_path_factory.mktemp("operations-home")
    security = {"ceiling": ["all"], "install_paths": install_paths(path.parent)}
    write_config(path / "config.toml", {"upstream": upstream_simulator(), "security": security})
    return path


@pytest.fixture(scope="module")
async def server(home: Path) -> AsyncIterator[Served]:
    """The module's server, started once."""
    async with serve(home) as served:
        yield served


@pytest.fixture(scope="module")
async def clipboard_tools(server: Served) -> dict[str, Any]:
    """actions/clipboard-tools installed from its folder (once); the install envelope and
    the progress heard while installing."""
    progress = ProgressLog()
    envelope = await server.ecosystem(
        "install", plugin_source=str(CLIPBOARD_TOOLS), progress=progress
    )
    return {"envelope": envelope, "progress": progress.heard}


@pytest.fixture(scope="module")
async def created(server: Served) -> dict[str, Any]:
    """The actions `shout`, `divide` and `slow-sum` created over MCP (once)."""
    answers = {}
    for text in (SHOUT, DIVIDE, SLOW_SUM):
        answers[text.split("name: ")[1].split()[0]] = await server.ecosystem(
            "create", plugin_source=text, validation_level="standard"
        )
    return answers


async def test_the_server_saved_the_tool_list_of_its_upstream(server: Served, home: Path) -> None:
    saved = json.loads((home / "upstream-tools.json").read_text("utf-8"))
    assert (saved["upstream"], saved["server"]) == (
        shlex.join(upstream_simulator()["command"]),
        "km-actions-simulator",
    )
    assert sorted(t["name"] for t in saved["tools"]) == sorted(ToolCatalog.builtin())


# -- install -----------------------------------------------------------------------


async def test_installing_a_folder_reports_progress_and_offers_its_actions_as_tools(
    server: Served, clipboard_tools: dict[str, Any]
) -> None:
    envelope = clipboard_tools["envelope"]
    assert envelope["success"] is True
    assert envelope["operation"] == "install"
    data = envelope["data"]
    assert (data["identifier"], data["version"], data["installed"]) == (
        "clipboard-tools",
        "1.0.0",
        ["clipboard-tools@1.0.0"],
    )
    assert data["needs_configuration"] == {"clipboard-tools": ["share_token"]}
    heard = clipboard_tools["progress"]
    assert [(done, total) for done, total, _ in heard] == [(1, 4), (2, 4), (3, 4), (4, 4)]

    tools = await server.tools()
    assert {
        "km_plugin_ecosystem",
        "clipboard-tools__clean-clipboard",
        "clipboard-tools__preview-clipboard",
        "clipboard-tools__share-clipboard",
        "clipboard-tools__sign-clipboard",
    } <= set(tools)
    preview = tools["clipboard-tools__preview-clipboard"]
    assert preview.description == (
        "Show the start of the clipboard text in a notification "
        "(as many characters as the `preview_length` setting)."
    )
    assert preview.input_schema == {
        "type": "object",
        "properties": {
            "title": {
                "type": "string",
                "description": "The notification's title.",
                "default": "Clipboard",
            }
        },
        "required": [],
        "additionalProperties": False,
    }
    assert preview.annotations is not None
    # Hints from what its calls do: it reads the clipboard (`get`, a read-only operation of
    # a tool that can also write) and shows a notification (a write), and deletes nothing.
    assert (preview.annotations.read_only_hint, preview.annotations.destructive_hint) == (
        False,
        False,
    )


@pytest.mark.parametrize(
    "archive_format", [pytest.param("zip", id="zip"), pytest.param("tar.gz", id="tar-gz")]
)
async def test_an_archive_made_with_pack_installs(
    server: Served, tmp_path: Path, archive_format: str
) -> None:
    identifier = f"packed-{archive_format.replace('.', '-')}"
    folder = write_plugin(
        tmp_path / identifier,
        identifier,
        {
            "double": action_yaml(
                "double",
                """
inputs:
  n: {type: integer, description: The number to double}
steps:
  - id: calc
    tool: km_engine_control
    with: {operation: calculate, expression: "{{ inputs.n }}*2"}
outputs:
  doubled: "{{ steps.calc.result.data.result | int }}"
""",
                description="Double a number.",
                permissions=("km_engine_control:calculate",),
            )
        },
        permissions=["km_engine_control:calculate"],
    )
    archive = tmp_path / f"{identifier}.{archive_format}"
    packed = km_actions(
        "pack", str(folder), "-o", str(archive), "--format", archive_format, home=server.home
    )
    assert packed.returncode == 0, packed.stderr

    envelope = await server.ecosystem("install", plugin_source=str(archive))
    assert envelope["success"] is True, envelope
    assert envelope["data"]["installed"] == [f"{identifier}@1.0.0"]
    answer = await server.call(f"{identifier}__double", {"n": 21})
    assert answer["data"]["outputs"] == {"doubled": 42}


async def test_install_with_invalid_settings_installs_nothing_and_says_where(
    server: Served, tmp_path: Path
) -> None:
    """Settings the plugin's schema refuses refuse the whole install (found by a tester:
    it answered `success: false` yet the plugin was installed)."""
    folder = write_plugin(
        tmp_path / "needs-token",
        "needs-token",
        {
            "echo": action_yaml(
                "echo",
                "steps:\n  - set: {x: 1}\noutputs:\n  x: '{{ vars.x }}'\n",
                description="Echo one.",
            )
        },
        configuration_schema={
            "type": "object",
            "properties": {"token": {"type": "string", "minLength": 8, "secret": True}},
            "required": ["token"],
        },
    )

    refused = await server.ecosystem(
        "install", plugin_source=str(folder), plugin_config={"token": "tiny-7"}
    )
    hint = (
        "give values its configuration_schema accepts, or install 'needs-token' without them "
        'and set them afterwards (`configure` (`plugin_identifier` "needs-token", the values '
        "in `plugin_config`))"
    )
    assert {k: refused["error"][k] for k in ("code", "message", "hint", "path")} == {
        "code": "invalid-config",
        "message": "the settings of 'needs-token' are not valid: `token`: the secret value "
        "is shorter than 8 characters; nothing was installed",
        "hint": hint,
        "path": "$.plugin_config.token",
    }
    assert "data" not in refused
    assert "tiny-7" not in json.dumps(refused)
    assert "needs-token__echo" not in await server.tools()
    listed = await server.ecosystem("list")
    assert "needs-token" not in [p["identifier"] for p in listed["data"]["plugins"]]
    misspelt = await server.ecosystem(
        "install", plugin_source=str(folder), plugin_config={"tokn": "long-enough"}
    )
    assert {k: misspelt["error"][k] for k in ("code", "message", "hint", "path")} == {
        "code": "unknown-setting",
        "message": "'needs-token' has no setting `tokn`; nothing was installed",
        "hint": "did you mean 'token'?",
        "path": "$.plugin_config.tokn",
    }

    fixed = await server.ecosystem(
        "install", plugin_source=str(folder), plugin_config={"token": "long-enough"}
    )
    assert fixed["success"] is True
    assert fixed["data"]["unchanged"] is False
    assert fixed["data"]["needs_configuration"] == {}
    again = await server.ecosystem(
        "install", plugin_source=str(folder), plugin_config={"token": "tiny-7"}
    )
    assert (again["error"]["message"], again["error"]["path"]) == (
        "the settings of 'needs-token' are not valid: `token`: the secret value is shorter "
        "than 8 characters",
        "$.plugin_config.token",
    )


def local_marketplace(server: Served, folder: Path, versions: list[str]) -> None:
    """Pack `dep-base` at each of ``versions`` into ``folder``, list them in an index
    there, and add that index to the server's marketplaces (with the CLI)."""
    releases = []
    for version in versions:
        source = write_plugin(
            folder / f"dep-base-{version}",
            "dep-base",
            {"base": action_yaml("base", "steps:\n  - set: {x: 1}\n", description="The base.")},
            version=version,
        )
        archive = folder / f"dep-base-{version}.zip"
        packed = km_actions("pack", str(source), "-o", str(archive), home=server.home)
        assert packed.returncode == 0, packed.stderr
        data = archive.read_bytes()
        releases.append(
            {
                "version": version,
                "api_version": "1.1",
                "archive": archive.name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
        )
    index = folder / "index.json"
    index.write_text(
        json.dumps(
            {
                "format_version": 1,
                "plugins": [
                    {
                        "id": "dep-base",
                        "name": "Dependency base",
                        "description": "A base plugin.",
                        "plugin_type": "utility",
                        "author": "Tests",
                        "versions": releases,
                    }
                ],
            }
        ),
        "utf-8",
    )
    added = km_actions("marketplace", "add", str(index), home=server.home)
    assert added.returncode == 0, added.stderr


async def test_dependency_resolution_does_what_it_says(server: Served, tmp_path: Path) -> None:
    local_marketplace(server, tmp_path / "market", ["1.0.0", "1.1.0"])
    app = write_plugin(
        tmp_path / "dep-app",
        "dep-app",
        {"app": action_yaml("app", "steps:\n  - set: {x: 1}\n", description="The app.")},
        dependencies={"dep-base": ">=1.0,<2"},
    )

    refused = await server.ecosystem(
        "install", plugin_source=str(app), dependency_resolution="installed"
    )
    assert refused["success"] is False
    assert (refused["error"]["code"], refused["error"]["message"]) == (
        "dependency-missing",
        "cannot install 'dep-app' 1.0.0: 'dep-app' 1.0.0 needs 'dep-base', which is not "
        "available from any source",
    )
    assert "dep-app__app" not in await server.tools()

    old = await server.ecosystem(
        "install", plugin_source="dep-base@1.0.0", dependency_resolution="installed"
    )
    assert old["data"]["installed"] == ["dep-base@1.0.0"]
    upgraded = await server.ecosystem(
        "install", plugin_source=str(app), dependency_resolution="upgrade"
    )
    assert upgraded["data"]["installed"] == ["dep-app@1.0.0"]
    (base,) = upgraded["data"]["dependencies_updated"]["updated"]
    assert (base["identifier"], base["from"], base["to"]) == ("dep-base", "1.0.0", "1.1.0")

    for identifier in ("dep-app", "dep-base"):
        await server.ecosystem("uninstall", plugin_identifier=identifier)
    automatic = await server.ecosystem("install", plugin_source=str(app))
    assert automatic["data"]["installed"] == ["dep-base@1.1.0", "dep-app@1.0.0"]
    assert {"dep-app__app", "dep-base__base"} <= set(await server.tools())

    update = await server.ecosystem(
        "update", plugin_identifier="dep-base", dependency_resolution="installed"
    )
    assert update["error"]["message"] == (
        "`dependency_resolution` cannot be `installed` for `update`: a newer version gets "
        "the dependencies it needs"
    )
    current = await server.ecosystem("update", plugin_identifier="dep-base")
    assert current["data"]["current"] == [{"identifier": "dep-base", "version": "1.1.0"}]
    only_auto = await server.ecosystem("update")
    assert {"identifier": "dep-base", "reason": "auto_update is off"} in only_auto["data"][
        "skipped"
    ]
    everything = await server.ecosystem("update", auto_update=False)
    assert {"identifier": "dep-base", "version": "1.1.0"} in everything["data"]["current"]


# -- list, describe ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        pytest.param({"plugin_type": "transformation"}, ["clipboard-tools"], id="plugin-type"),
        pytest.param({"search": "SIGN clipboard"}, ["clipboard-tools"], id="search-every-word"),
        pytest.param({"search": "nothing like this"}, [], id="search-no-match"),
        pytest.param({"enabled": False}, [], id="disabled-only"),
    ],
)
async def test_list_filters(
    server: Served, clipboard_tools: dict[str, Any], parameters: dict[str, Any], expected: list[str]
) -> None:
    envelope = await server.ecosystem("list", parameters=parameters)
    assert [p["identifier"] for p in envelope["data"]["plugins"]] == expected


async def test_list_names_each_action_and_the_tool_that_runs_it(
    server: Served, clipboard_tools: dict[str, Any]
) -> None:
    envelope = await server.ecosystem("list", parameters={"search": "clipboard"})
    (plugin,) = envelope["data"]["plugins"]
    assert plugin["origin"] == "mcp-install"  # installed by the `clipboard_tools` fixture
    assert plugin["actions"] == [
        {"name": name, "tool": f"clipboard-tools__{name}"}
        for name in ("clean-clipboard", "preview-clipboard", "share-clipboard", "sign-clipboard")
    ]


@pytest.mark.parametrize(
    ("parameters", "message", "hint"),
    [
        pytest.param(
            {"serch": "x"},
            "`parameters` of `list` cannot hold `serch`",
            "did you mean 'search'?",
            id="unknown-filter",
        ),
        pytest.param(
            {"enabled": "yes"},
            "`parameters.enabled` must be true or false",
            'e.g. {"enabled": true}',
            id="wrong-type",
        ),
        pytest.param(
            {"plugin_type": "transformer"},
            "there is no plugin type 'transformer'",
            "did you mean 'transformation'?",
            id="unknown-type",
        ),
    ],
)
async def test_list_refuses_filters_it_does_not_know(
    server: Served, parameters: dict[str, Any], message: str, hint: str
) -> None:
    envelope = await server.ecosystem("list", parameters=parameters)
    assert (envelope["error"]["message"], envelope["error"]["hint"]) == (message, hint)


async def test_a_path_outside_the_allowed_folders_is_refused_over_stdio(server: Served) -> None:
    for source in ("/etc/passwd", "/etc/no-such-file", "./passwd", "file:///etc/passwd"):
        envelope = await server.ecosystem("install", plugin_source=source)
        assert envelope["error"]["code"] == "source-refused", envelope
    outside = await server.ecosystem("install", plugin_source="/etc/passwd")
    missing = await server.ecosystem("install", plugin_source="/etc/no-such-file")
    assert outside == missing


async def test_describe_a_plugin_and_one_of_its_actions(
    server: Served, clipboard_tools: dict[str, Any]
) -> None:
    plugin = (await server.ecosystem("describe", plugin_identifier="clipboard-tools"))["data"]
    assert (plugin["identifier"], plugin["plugin_type"], plugin["source"]["kind"]) == (
        "clipboard-tools",
        "transformation",
        "folder",
    )
    # No path of this machine: the source by its name, the folder within the store.
    assert plugin["source"]["ref"] == "clipboard-tools"
    assert plugin["folder"].startswith("plugins/clipboard-tools/1.0.0-")
    assert str(server.home) not in json.dumps(plugin)
    assert [a["name"] for a in plugin["actions"]] == [
        "clean-clipboard",
        "preview-clipboard",
        "share-clipboard",
        "sign-clipboard",
    ]
    assert plugin["permissions"]["requested"] == [
        "km_engine_control:process_tokens",
        "km_notifications",
        "km_variable_manager:set",
        "km_execute_macro",
    ]
    # What certifying it found at install, with the sha256 of its package.
    certification = plugin["certification"]
    assert (certification["certified"], certification["reasons"]) == (True, [])
    assert len(certification["sha256"]) == 64

    action = (
        await server.ecosystem(
            "describe",
            plugin_identifier="clipboard-tools",
            action_name="clipboard-tools/sign-clipboard",
        )
    )["data"]
    assert (action["qualified"], action["calls"], action["outputs"]) == (
        "clipboard-tools/sign-clipboard",
        ["clean-clipboard"],
        ["text"],
    )

    missing = await server.ecosystem(
        "describe", plugin_identifier="clipboard-tools", action_name="nothing"
    )
    assert missing["error"] == {
        **missing["error"],
        "code": "not-found",
        "message": "clipboard-tools has no action `nothing`",
        "hint": "describe the plugin to see its actions",
    }


# -- create --------------------------------------------------------------------------


async def test_create_returns_every_mistake_with_its_place_and_a_hint(server: Served) -> None:
    envelope = await server.ecosystem(
        "create", plugin_source=SHOUT_WITH_MISTAKES, validation_level="standard"
    )
    assert envelope["success"] is False
    error = envelope["error"]
    assert error["message"] == (
        "the manifest has 4 errors, 1 warning: fix every one and send it again"
    )
    found = [
        (d["code"], d["message"], d["path"], d["line"], d["column"], d["hint"])
        for d in error["diagnostics"]
    ]
    assert found == [
        (
            "invalid-name",
            '"Shout Out" is not a valid name',
            "$.name",
            3,
            7,
            "use lower-case letters, digits, - and _, starting with a letter, e.g. 'shout-out'",
        ),
        (
            "unknown-key",
            "unknown key `descripton` in input `name`",
            "$.inputs.name.descripton",
            7,
            24,
            "did you mean 'description'?",
        ),
        (
            "unknown-input",
            "`inputs.nam` is not a declared input",
            "$.steps[0].with.value",
            10,
            59,
            "did you mean 'name'?",
        ),
        (
            "unknown-tool",
            "there is no tool named `km_variabel_manager` in the connected server",
            "$.steps[1].tool",
            12,
            11,
            "did you mean 'km_variable_manager'?",
        ),
    ]
    assert all(d["file"] == "manifest.yaml" for d in error["diagnostics"])
    (warning,) = envelope["warnings"]
    assert (warning["code"], warning["line"], warning["column"]) == ("unused-input", 7, 3)
    assert (error["location"], error["path"], error["code"]) == (
        "manifest.yaml:3:7",
        "$.name",
        "invalid-name",
    )
    assert "shout-out__shout" not in await server.tools()


async def test_the_fixed_manifest_is_created_and_offered_as_a_tool(server: Served) -> None:
    progress = ProgressLog()
    envelope = await server.ecosystem(
        "create", plugin_source=SHOUT, progress=progress, validation_level="standard"
    )
    assert envelope["success"] is True, envelope
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "description": "Who to greet"}},
        "required": ["name"],
        "additionalProperties": False,
    }
    assert envelope["data"] == {
        **envelope["data"],
        "action": "mcp-created/shout",
        "tool": "mcp-created__shout",
        "input_schema": schema,
        "plugin": "mcp-created",
        "created_over_mcp": True,
    }
    assert progress.heard == [
        (1, 3, "validated"),
        (2, 3, "installed"),
        (3, 3, "offered as a tool"),
    ]
    tool = (await server.tools())["mcp-created__shout"]
    assert tool.input_schema == schema
    assert tool.description == "Put a greeting in a variable, read it back and shout it."
    listed = await server.ecosystem("list", parameters={"search": "mcp-created"})
    assert listed["data"]["plugins"][0]["origin"] == "mcp-create"


async def test_a_manifest_given_as_an_object_is_created_too(server: Served) -> None:
    manifest = {
        "api_version": "1.1",
        "kind": "action",
        "name": "answer",
        "description": "The answer.",
        "steps": [{"set": {"x": 42}}],
        "outputs": {"answer": "{{ vars.x }}"},
    }
    envelope = await server.ecosystem(
        "create", parameters=manifest, plugin_identifier="object-made", validation_level="standard"
    )
    assert envelope["data"]["tool"] == "object-made__answer"
    answer = await server.call("object-made__answer", {})
    assert answer["data"]["outputs"] == {"answer": 42}

    manifest["nmae"] = manifest.pop("name")
    refused = await server.ecosystem("create", parameters=manifest, validation_level="standard")
    codes = [(d["code"], d["path"], d["hint"]) for d in refused["error"]["diagnostics"]]
    assert ("unknown-key", "$.nmae", "did you mean 'name'?") in codes


@pytest.mark.parametrize("identifier", ["../../escaped", "/tmp/escaped", "Upper", "a/b"])
async def test_a_plugin_identifier_that_is_not_a_name_is_refused_before_any_file_is_touched(
    server: Served, identifier: str, tmp_path: Path
) -> None:
    before = sorted(p.relative_to(server.home) for p in server.home.rglob("*"))
    envelope = await server.ecosystem("create", plugin_source=SHOUT, plugin_identifier=identifier)
    assert envelope["error"]["code"] == "invalid-name"
    assert envelope["error"]["message"] == (
        f"`plugin_identifier` {json.dumps(identifier)} is not a valid plugin identifier"
    )
    assert envelope["error"]["hint"].startswith(
        "use lower-case letters, digits and -, starting with a letter (dots allowed)"
    )
    assert sorted(p.relative_to(server.home) for p in server.home.rglob("*")) == before


STRICT_BASE = action_yaml(
    "strict-sum",
    """
steps:
  - id: calc
    tool: km_engine_control
    with: {operation: calculate, expression: "1+1"}
outputs:
  sum: "{{ steps.calc.result.data.result | int }}"
""",
    permissions=("km_engine_control:calculate",),
)
STRICT_TESTS = """tests:
  - name: adds
    mocks: {km_engine_control: [{success: true, data: {result: "EXPECTED"}}]}
    expect: {outputs: {sum: 2}}
"""


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        pytest.param(
            STRICT_BASE,
            "missing-description",
            "the action has no `description`",
            id="needs-a-description",
        ),
        pytest.param(
            STRICT_BASE.replace("kind: action", "kind: action\ndescription: Adds."),
            "missing-key",
            "strict validation needs `tests:` that show the action works",
            id="needs-tests",
        ),
        pytest.param(
            STRICT_BASE.replace("kind: action", "kind: action\ndescription: Adds.")
            + STRICT_TESTS.replace("EXPECTED", "3"),
            "test-failed",
            "the test `adds` failed: output `sum` is 3, expected 2",
            id="tests-must-pass",
        ),
    ],
)
async def test_strict_validation_requires_descriptions_and_passing_tests(
    server: Served, text: str, code: str, message: str
) -> None:
    envelope = await server.ecosystem("create", plugin_source=text, validation_level="strict")
    assert envelope["success"] is False
    assert envelope["error"]["code"] == code
    assert envelope["error"]["diagnostics"][0]["message"] == message
    assert "mcp-created__strict-sum" not in await server.tools()


async def test_strict_validation_runs_the_tests_and_then_creates(server: Served) -> None:
    text = STRICT_BASE.replace(
        "kind: action", "kind: action\ndescription: Adds."
    ) + STRICT_TESTS.replace("EXPECTED", "2")
    envelope = await server.ecosystem(
        "create", plugin_source=text, validation_level="strict", plugin_identifier="strict-made"
    )
    assert envelope["success"] is True, envelope
    answer = await server.call("strict-made__strict-sum", {})
    assert answer["data"]["outputs"] == {"sum": 2}


async def test_a_create_that_times_out_completes_in_the_store_and_is_announced(
    server: Served,
) -> None:
    mark = server.changes.count
    late = SHOUT.replace("name: shout", "name: late")
    envelope = await server.ecosystem(
        "create", plugin_source=late, timeout=0.001, validation_level="standard"
    )
    assert envelope["error"] == {
        **envelope["error"],
        "code": "timeout",
        "message": "`create` took longer than 0.001 s; the answer stopped waiting; a change "
        "it had begun in the store completes (never half-done), one not yet begun is not made",
    }
    await server.tools_after_change(mark, lambda names: "mcp-created__late" in names)


async def test_create_cannot_change_a_plugin_the_user_installed(
    server: Served, home: Path, tmp_path: Path
) -> None:
    folder = write_plugin(
        tmp_path / "users", "users-own", {"hello": action_yaml("hello", "steps: [{set: {a: 1}}]")}
    )
    assert km_actions("install", str(folder), "--yes", home=home).returncode == 0
    envelope = await server.ecosystem("create", plugin_source=SHOUT, plugin_identifier="users-own")
    assert envelope["error"]["code"] == "overwrite-refused"
    assert envelope["error"]["message"] == (
        "the plugin `users-own` was installed by the user (file); MCP callers may not "
        "add actions to it"
    )
    assert "security.allow_mcp_overwrite" in envelope["error"]["hint"]
    assert "users-own__shout" not in await server.tools()


async def test_create_refuses_an_api_version_it_does_not_read(server: Served) -> None:
    envelope = await server.ecosystem("create", plugin_source=SHOUT, api_version="2.0")
    assert envelope["error"] == {
        **envelope["error"],
        "code": "unsupported-api-version",
        "message": "the manifest is written for api_version 2.0, which needs a km-actions "
        "newer than 0.1.0 (this one reads api_version 1.0, 1.1)",
    }


# -- execute -------------------------------------------------------------------------


async def test_execute_through_the_ecosystem_and_through_the_action_tool(
    server: Served, created: dict[str, Any]
) -> None:
    progress = ProgressLog()
    by_name = await server.ecosystem(
        "execute", action_name="mcp-created/shout", parameters={"name": "Ann"}, progress=progress
    )
    by_tool = await server.call("mcp-created__shout", {"name": "Bob"})
    by_plugin = await server.ecosystem(
        "execute", action_name="shout", plugin_identifier="mcp-created", parameters={"name": "Cy"}
    )
    for envelope, text in (
        (by_name, "HELLO, ANN!"),
        (by_tool, "HELLO, BOB!"),
        (by_plugin, "HELLO, CY!"),
    ):
        assert envelope["success"] is True, envelope
        assert envelope["data"] == {
            **envelope["data"],
            "action": "mcp-created/shout",
            "outputs": {"text": text},
            "status": "succeeded",
            "steps_run": 3,
            "tool_calls": 2,
        }
        assert envelope["simulated"] is True
        assert envelope["backend"].startswith("km-actions simulator over MCP at ")
    assert [(done, total) for done, total, _ in progress.heard] == [(1, 3), (2, 3), (3, 3)]
    assert progress.heard[0][2] == "step 1 of 3 done (tool step at 9:5)"


async def test_a_failing_action_answers_with_where_it_failed(
    server: Served, created: dict[str, Any]
) -> None:
    stopped = await server.ecosystem(
        "execute", action_name="mcp-created/divide", parameters={"a": 6, "b": 0}
    )
    assert stopped["error"] == {
        **stopped["error"],
        "code": "failed",
        "kind": "failed",
        "message": "cannot divide 6 by zero",
        "location": "mcp-created/actions/divide.yaml:10:5",
        "path": "$.steps[0]",
    }
    assert stopped["data"] == {
        **stopped["data"],
        "status": "failed",
        "steps_run": 1,
        "tool_calls": 0,
        "outputs": {},
    }

    refused = await server.call("mcp-created__divide", {"a": 6})
    assert refused["error"]["code"] == "invalid-input"
    assert refused["error"]["message"] == "mcp-created/divide needs the input `b`"
    # Where: the input's path, and its declaration in the action's file.
    assert (refused["error"]["path"], refused["error"]["location"]) == (
        "$.inputs.b",
        "mcp-created/actions/divide.yaml:8:3",
    )
    typed = await server.ecosystem(
        "execute", action_name="mcp-created/divide", parameters={"a": 6, "b": "two"}
    )
    assert (typed["error"]["code"], typed["error"]["path"], typed["error"]["location"]) == (
        "invalid-input",
        "$.inputs.b",
        "mcp-created/actions/divide.yaml:8:3",
    )

    divided = await server.call("mcp-created__divide", {"a": 6, "b": 4})
    assert divided["data"]["outputs"] == {"quotient": 1.5}


async def test_a_looser_security_profile_than_the_servers_is_refused(
    server: Served, created: dict[str, Any]
) -> None:
    for operation, arguments in (
        ("execute", {"action_name": "mcp-created/divide", "parameters": {"a": 1, "b": 1}}),
        ("create", {"plugin_source": SHOUT, "validation_level": "standard"}),
        ("install", {"plugin_source": str(CLIPBOARD_TOOLS)}),
    ):
        envelope = await server.ecosystem(operation, security_profile="none", **arguments)
        assert envelope["error"] == {
            **envelope["error"],
            "code": "permission-denied",
            "message": "the security profile `none` is looser than this server allows (`standard`)",
        }, operation


async def test_a_stricter_profile_applies_to_the_run(
    server: Served, created: dict[str, Any]
) -> None:
    strict = await server.ecosystem(
        "execute",
        action_name="mcp-created/divide",
        parameters={"a": 9, "b": 3},
        security_profile="strict",
    )
    assert strict["data"]["outputs"] == {"quotient": 3}
    sandboxed = await server.ecosystem(
        "execute",
        action_name="mcp-created/shout",
        parameters={"name": "Di"},
        security_profile="sandbox",
    )
    assert sandboxed["error"]["code"] == "permission-denied"
    assert sandboxed["error"]["path"] == "$.steps[0]"


async def test_timeout_stops_a_long_action(server: Served, created: dict[str, Any]) -> None:
    envelope = await server.ecosystem(
        "execute", action_name="mcp-created/slow-sum", parameters={"seconds": 30}, timeout=0.5
    )
    assert envelope["error"] == {
        **envelope["error"],
        "code": "timeout",
        "kind": "timeout",
        "message": "mcp-created/slow-sum took longer than 0.5 s and was stopped",
    }
    quick = await server.ecosystem("execute", action_name="mcp-created/slow-sum")
    assert quick["data"]["outputs"] == {"sum": 42}


# -- configure, test, stats, validate, uninstall ------------------------------------


async def test_a_secret_setting_never_appears_in_any_answer(
    server: Served, clipboard_tools: dict[str, Any]
) -> None:
    answers = [
        await server.ecosystem(
            "configure",
            plugin_identifier="clipboard-tools",
            plugin_config={"share_token": SECRET, "preview_length": 20},
        ),
        await server.ecosystem(
            "configure",
            plugin_identifier="clipboard-tools",
            plugin_config={"share_token": SECRET[:5]},
        ),
        await server.ecosystem("describe", plugin_identifier="clipboard-tools"),
        await server.ecosystem("list"),
        await server.call("clipboard-tools__share-clipboard", {}),
        await server.ecosystem("stats", plugin_identifier="clipboard-tools"),
        await server.ecosystem("test", plugin_identifier="clipboard-tools"),
    ]
    configured, too_short = answers[0], answers[1]
    assert configured["data"]["settings"]["values"] == {
        "result_variable": "Clipboard Tools Result",
        "preview_length": 20,
        "share_macro": "Share Clipboard",
        "signature": "-- sent from my Mac",
        "share_token": "••••••",
    }
    assert configured["data"]["settings"]["missing"] == []
    assert too_short["error"]["message"] == (
        "the settings of 'clipboard-tools' are not valid: `share_token`: the secret value is "
        "shorter than 8 characters"
    )
    docs = await server.client.read_resource("km-actions://plugins/clipboard-tools/docs")
    for text in [json.dumps(answer) for answer in answers] + [str(docs)]:
        assert SECRET not in text and SECRET[:5] not in text


async def test_create_and_configure_answers_never_show_a_secret(
    server: Served, clipboard_tools: dict[str, Any], tmp_path: Path
) -> None:
    await server.ecosystem(
        "configure", plugin_identifier="clipboard-tools", plugin_config={"share_token": SECRET}
    )
    # A strict create whose test expects a wrong value in share-clipboard's call (which
    # carries the token): refused before any test runs, as the installer would refuse it.
    leaky = action_yaml(
        "leaky",
        """
steps:
  - action: clipboard-tools/share-clipboard
tests:
  - name: shares
    mocks:
      km_engine_control: [{success: true, data: {processed: hello}}]
      km_variable_manager: [{success: true}]
      km_execute_macro: [{success: true}]
    expect: {calls: [{tool: km_engine_control}, {tool: km_variable_manager, with: {value: x}}]}
""",
        description="Share the clipboard.",
    )
    created = await server.ecosystem("create", plugin_source=leaky, validation_level="strict")
    assert created["error"]["code"] == "dependency-undeclared"
    # A settings schema with a top-level oneOf: its error quotes the whole settings object.
    folder = write_plugin(
        tmp_path / "either",
        "either",
        {"noop": action_yaml("noop", "steps:\n  - set: {x: 1}\n", description="Nothing.")},
        configuration_schema={
            "type": "object",
            "properties": {"token": {"type": "string", "secret": True}, "user": {}},
            "oneOf": [{"required": ["token"]}, {"required": ["user"]}],
        },
    )
    installed = await server.ecosystem(
        "install", plugin_source=str(folder), plugin_config={"token": SECRET, "user": "ann"}
    )
    assert installed["error"]["message"] == (
        "the settings of 'either' are not valid: the settings object fits more than one of "
        "the forms it may take: one with `token`, one with `user`; nothing was installed"
    )
    assert installed["error"]["path"] == "$.plugin_config"
    await server.ecosystem("install", plugin_source=str(folder))
    await server.ecosystem("configure", plugin_identifier="either", plugin_config={"token": SECRET})
    both = await server.ecosystem(
        "configure", plugin_identifier="either", plugin_config={"user": "ann"}
    )
    assert both["error"]["message"] == installed["error"]["message"].removesuffix(
        "; nothing was installed"
    )
    for answer in (created, installed, both):
        text = json.dumps(answer)
        assert SECRET not in text and SECRET[:6] not in text


async def test_the_test_operation_runs_a_plugins_tests(
    server: Served, clipboard_tools: dict[str, Any]
) -> None:
    passed = await server.ecosystem("test", plugin_identifier="clipboard-tools")
    assert (passed["data"]["passed"], passed["data"]["failed"]) == (7, 0)
    one = await server.ecosystem(
        "test", plugin_identifier="clipboard-tools", action_name="sign-clipboard"
    )
    assert [t["name"] for t in one["data"]["tests"]] == [
        "cleans, then signs with the configured signature"
    ]

    failing = STRICT_BASE.replace(
        "kind: action", "kind: action\ndescription: Adds."
    ) + STRICT_TESTS.replace("EXPECTED", "5")
    created = await server.ecosystem(
        "create", plugin_source=failing, plugin_identifier="untested", validation_level="standard"
    )
    assert created["success"] is True  # the standard level does not run tests
    failed = await server.ecosystem("test", plugin_identifier="untested")
    assert failed["error"] == {
        **failed["error"],
        "code": "test-failed",
        "message": "1 of 1 tests failed",
        "hint": "output `sum` is 5, expected 2",
    }
    assert failed["data"]["failed"] == 1


async def test_stats_count_the_runs_of_an_action(server: Served, created: dict[str, Any]) -> None:
    before = await server.ecosystem("stats", action_name="mcp-created/divide")
    runs = before["data"]["actions"][0]["runs"] if before["data"]["actions"] else 0
    await server.call("mcp-created__divide", {"a": 1, "b": 2})
    await server.call("mcp-created__divide", {"a": 1, "b": 0})
    after = await server.ecosystem("stats", plugin_identifier="mcp-created", action_name="divide")
    (divide,) = after["data"]["actions"]
    assert (divide["action"], divide["runs"]) == ("mcp-created/divide", runs + 2)
    assert divide["failures"] >= 1
    # Earlier tests of this module's server ran `divide` too (with inputs it refused).
    assert divide["failure_kinds"]["failed"] >= 1
    assert sum(divide["failure_kinds"].values()) == divide["failures"]
    assert divide["error_rate"] == round(divide["failures"] / divide["runs"], 4)
    assert divide["duration_ms"]["max"] >= divide["duration_ms"]["p95"]
    assert divide["duration_ms"]["p95"] >= divide["duration_ms"]["p50"] > 0
    assert divide["slowest_steps"][0]["action"] == "mcp-created/divide"
    assert after["data"]["window"]["since"] is None
    recent = after["data"]["recent"]
    assert recent and {(r["plugin"], r["action"]) for r in recent} == {("mcp-created", "divide")}
    assert [r["status"] for r in recent[:2]] == ["failed", "succeeded"]
    # One run, step by step, by its id (what the CLI's `km-actions trace` shows).
    one = await server.ecosystem("stats", parameters={"run": recent[0]["id"]})
    run = one["data"]["run"]
    assert (run["id"], run["status"], run["error"]["kind"]) == (recent[0]["id"], "failed", "failed")
    assert run["trace"][-1]["status"] == "failed"
    windowed = await server.ecosystem(
        "stats", action_name="mcp-created/divide", parameters={"since": "1h", "recent": 1}
    )
    assert windowed["data"]["window"]["since"] is not None
    assert len(windowed["data"]["recent"]) == 1


@pytest.mark.parametrize(
    ("parameters", "code", "message"),
    [
        pytest.param(
            {"since": "soon"}, "invalid-parameter", "cannot read 'soon' as a window", id="since"
        ),
        pytest.param(
            {"run": 987654}, "not-found", "the history keeps no run 987654", id="unknown-run"
        ),
        pytest.param(
            {"run": "7"}, "invalid-parameter", "`parameters.run` must be a whole number", id="type"
        ),
        pytest.param(
            {"sinse": "1h"},
            "invalid-parameter",
            "`parameters` of `stats` cannot hold `sinse`",
            id="unknown",
        ),
    ],
)
async def test_stats_parameters_are_checked(
    server: Served, parameters: dict[str, Any], code: str, message: str
) -> None:
    envelope = await server.ecosystem("stats", parameters=parameters)
    assert (envelope["error"]["code"], envelope["error"]["message"]) == (code, message)
    assert envelope["error"]["hint"]


async def test_validate_checks_without_installing(server: Served) -> None:
    valid = await server.ecosystem(
        "validate",
        plugin_source=SHOUT.replace("name: shout", "name: only-checked"),
        validation_level="standard",
    )
    assert valid["data"] == {"valid": True, "plugin": "mcp-created"}
    invalid = await server.ecosystem("validate", plugin_source='{"api_version": "1.1"}')
    assert [(d["code"], d["message"]) for d in invalid["error"]["diagnostics"]] == [
        ("missing-key", "the action is missing `kind`"),
        ("missing-key", "the action is missing `name`"),
        ("missing-key", "the action is missing `steps`"),
        ("missing-key", "strict validation needs `tests:` that show the action works"),
    ]
    assert invalid["error"]["location"] == "manifest.json:1:1"
    assert not [name for name in await server.tools() if "only-checked" in name]


@pytest.mark.parametrize("operation", ["validate", "create"])
@pytest.mark.parametrize("source", ["/Users/ann/actions/shout.yaml", "  actions/x.json\n"])
async def test_a_path_sent_as_the_manifest_is_told_to_send_the_text(
    server: Served, operation: str, source: str
) -> None:
    answer = await server.ecosystem(operation, plugin_source=source)
    assert [(d["code"], d["message"], d["hint"]) for d in answer["error"]["diagnostics"]] == [
        (
            "not-a-mapping",
            "`plugin_source` holds the action itself (its YAML or JSON text), not the name "
            "of a file",
            "send the file's contents as `plugin_source` (or the manifest as an object in "
            "`parameters`); a plugin the user allowed is installed with `install`",
        )
    ]


async def test_uninstall_removes_a_plugin_and_its_tools(server: Served, tmp_path: Path) -> None:
    folder = write_plugin(
        tmp_path / "short-lived",
        "short-lived",
        {"noop": action_yaml("noop", "steps:\n  - set: {x: 1}\n", description="Nothing.")},
    )
    await server.ecosystem("install", plugin_source=str(folder))
    assert "short-lived__noop" in await server.tools()

    removed = await server.ecosystem("uninstall", plugin_identifier="short-lived")
    assert removed["data"] == {"removed": ["short-lived"]}
    assert "short-lived__noop" not in await server.tools()
    again = await server.ecosystem("uninstall", plugin_identifier="short-lived")
    assert again["success"] is False
    assert again["error"]["hint"]


async def test_a_hook_on_installed_runs_when_an_ai_installs_over_mcp(
    server: Served, tmp_path: Path
) -> None:
    """Store events over MCP set off the hooks listening for them (issue 11.2), as on
    the command line: the listener hears its own install, then the next one's."""
    note = action_yaml(
        "note",
        'inputs: {what: {type: string}}\nsteps:\n  - set: {said: "{{ inputs.what }}"}\n'
        'outputs: {said: "{{ vars.said }}"}\n',
        description="Note what happened.",
    )
    hooks = [
        {"on": on, "action": "note", "with": {"what": "{{ event.name }} {{ event.plugin }}"}}
        for on in ("installed", "uninstalled")
    ]
    watcher = write_plugin(tmp_path / "install-watch", "install-watch", {"note": note}, hooks=hooks)
    await server.ecosystem("install", plugin_source=str(watcher))
    later = write_plugin(
        tmp_path / "installed-later",
        "installed-later",
        {"noop": action_yaml("noop", "steps:\n  - set: {x: 1}\n", description="Nothing.")},
    )
    await server.ecosystem("install", plugin_source=str(later))
    await server.ecosystem("uninstall", plugin_identifier="installed-later")
    stats = await server.ecosystem("stats", plugin_identifier="install-watch")
    recent = [(r["action"], r["status"]) for r in stats["data"]["recent"]]
    assert recent == [("note", "succeeded")] * 3
    assert stats["data"]["actions"][0]["runs"] == 3


# -- parameters --------------------------------------------------------------------


def _not_applying(operation: str) -> list[str]:
    return sorted(set(PARAMETERS) - OPERATIONS[operation].allowed)


@pytest.mark.parametrize(
    "operation", [pytest.param(op, id=op) for op in OPERATIONS if _not_applying(op)]
)
async def test_every_parameter_that_does_not_apply_is_reported(
    server: Served, operation: str
) -> None:
    values: dict[str, Any] = {
        "plugin_identifier": "x",
        "plugin_source": "x",
        "action_name": "x",
        "parameters": {},
        "plugin_config": {},
        "security_profile": "strict",
        "api_version": "2.0",
        "auto_update": True,
        "dependency_resolution": "upgrade",
        "validation_level": "basic",
        "timeout": 5,
    }
    extra = _not_applying(operation)
    envelope = await server.ecosystem(operation, **{k: values[k] for k in extra})
    error = envelope["error"]
    assert error["code"] == "invalid-parameter"
    names = ", ".join(f"`{k}`" for k in extra)
    verb = "does" if len(extra) == 1 else "do"
    assert error["message"] == f"{names} {verb} not apply to `{operation}`"
    assert error["hint"].startswith(f"`{operation}` takes: ")


async def test_unknown_parameters_are_all_reported_with_what_was_meant(server: Served) -> None:
    envelope = await server.ecosystem(
        "execute", action_name="mcp-created/shout", timeot=3, paramters={}, auto_update=True
    )
    assert envelope["error"]["message"] == (
        "unknown parameters `timeot`, `paramters`; `auto_update` does not apply to `execute`"
    )
    assert envelope["error"]["hint"] == (
        "`timeot`: did you mean 'timeout'?; `paramters`: did you mean 'parameters'?; "
        "expected one of: action_name, api_version, auto_update, dependency_resolution, "
        "operation, parameters, plugin_config, plugin_identifier, plugin_source, "
        "security_profile, timeout, validation_level; `execute` takes: action_name, "
        "parameters, plugin_identifier, security_profile, timeout"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            {"operation": "frobnicate"},
            "`operation` must be one of: install, uninstall, list, create, execute, "
            "configure, enable, disable, validate, describe, test, search, update, stats",
            id="unknown-operation",
        ),
        pytest.param({"operation": "execute"}, "`execute` needs `action_name`", id="missing"),
        pytest.param(
            {"operation": "create"},
            "`create` needs `parameters` or `plugin_source`",
            id="missing-one-of",
        ),
        pytest.param(
            {"operation": "execute", "action_name": "a/b", "timeout": 0},
            "`timeout` must be more than 0 and at most 3600 seconds",
            id="timeout-range",
        ),
        pytest.param(
            {"operation": "list", "parameters": []},
            "`parameters` must be a mapping (key: value pairs)",
            id="wrong-type",
        ),
    ],
)
async def test_malformed_calls_get_a_clear_error(
    server: Served, arguments: dict[str, Any], message: str
) -> None:
    envelope = await server.call("km_plugin_ecosystem", arguments)
    assert envelope["error"]["code"] == "invalid-parameter"
    assert envelope["error"]["message"] == message
    assert envelope["error"]["hint"]


async def test_an_unknown_tool_gets_an_error_envelope(server: Served) -> None:
    envelope = await server.call("mcp-created__nothing", {})
    assert envelope["error"] == {
        **envelope["error"],
        "code": "not-found",
        "message": "no tool named mcp-created__nothing",
    }


# -- resources and the prompt --------------------------------------------------------


async def test_resources_offer_the_schemas_the_catalog_and_each_plugins_docs(
    server: Served, clipboard_tools: dict[str, Any]
) -> None:
    listing = await server.client.list_resources()
    uris = [str(r.uri) for r in listing.resources]
    assert uris[:3] == [
        "km-actions://schemas/action",
        "km-actions://schemas/plugin",
        "km-actions://catalog",
    ]
    assert "km-actions://plugins/clipboard-tools/docs" in uris
    # The user guide, page by page: what the prompt and the hints point to.
    assert {"km-actions://docs/writing-actions", "km-actions://docs/templates-and-expressions",
            "km-actions://docs/tools", "km-actions://docs/diagnostics"} <= set(uris)  # fmt: skip
    templates = (await server.client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["km-actions://plugins/{identifier}/docs"]

    async def text(uri: str) -> str:
        contents = (await server.client.read_resource(uri)).contents
        assert len(contents) == 1
        content = contents[0]
        assert isinstance(content, TextResourceContents)
        return content.text

    action_schema = json.loads(await text("km-actions://schemas/action"))
    assert "steps" in action_schema["properties"]
    assert "tool_calls" not in action_schema["$defs"]  # the tools are in the catalog
    plugin_schema = json.loads(await text("km-actions://schemas/plugin"))
    assert "identifier" in plugin_schema["properties"]
    catalog = {tool["name"]: tool for tool in json.loads(await text("km-actions://catalog"))}
    assert catalog["km_list_macros"]["class"] == "read-only"
    assert catalog["km_variable_manager"]["class"] == "destructive"
    assert catalog["km_variable_manager"]["operations"] == {
        "parameter": "operation",
        "classes": {
            "get": "read-only",
            "set": "write",
            "delete": "destructive",
            "list": "read-only",
        },
    }
    assert "operations" not in catalog["km_list_macros"]
    # What MCP callers may be granted here (the ceiling is `all`).
    assert catalog["km_variable_manager"]["mcp_may_grant"] == ["get", "set", "delete", "list"]
    assert catalog["km_list_macros"]["mcp_may_grant"] is True
    # What each tool answers, as recorded from the real server.
    assert catalog["km_variable_manager"]["answers_by"] == "operation"
    assert catalog["km_variable_manager"]["answers"]["get"] == (
        "{success: boolean, data: {name: string, value: string, scope: string, exists: "
        "boolean, type: string}}"
    )
    assert catalog["km_trigger_manager"]["answers"]["set_enabled"].startswith(
        "unknown: no successful answer was recorded: the server never succeeds here"
    )
    assert catalog["km_execute_macro"]["answer"].startswith("{success: boolean, data: {")
    assert catalog["km_token_processor"]["answers_by"] == "preview_only"
    assert catalog["km_list_macros"]["answer"].startswith("{success: boolean, data: {macros: [")
    guide = await text("km-actions://docs/writing-actions")
    assert guide.startswith("# Writing actions")
    assert "](km-actions://docs/reference#" in guide and "](reference.md" not in guide
    docs = await text("km-actions://plugins/clipboard-tools/docs")
    assert docs.startswith("> Status: **active**\n\n# Clipboard tools\n")
    assert "sign-clipboard" in docs

    with pytest.raises(MCPError) as unknown:
        await server.client.read_resource("km-actions://nothing")
    assert unknown.value.message == (
        "no resource km-actions://nothing; list the resources with resources/list"
    )
    with pytest.raises(MCPError) as uninstalled:
        await server.client.read_resource("km-actions://plugins/not-installed/docs")
    assert uninstalled.value.message.startswith("no plugin 'not-installed' is installed")


async def test_the_write_action_prompt_teaches_the_language(server: Served) -> None:
    prompts = (await server.client.list_prompts()).prompts
    assert [p.name for p in prompts] == ["write-action"]
    result = await server.client.get_prompt(
        "write-action", {"goal": "copy the front window's title"}
    )
    (message,) = result.messages
    assert isinstance(message.content, TextContent)
    text = message.content.text
    assert text.startswith("Write an action that does this: copy the front window's title")
    for part in (
        "api_version",
        "steps:",
        "- km_engine_control(operation, expression?, ",
        '"operation": "create"',
    ):
        assert part in text
    # Each operation with its class, the arguments it was recorded with, what it answers.
    assert (
        "  get(name) [read-only] → {data: {name: string, value: string, scope: string, "
        'exists: boolean, type: string}} e.g. {"data": {"name": "Greeting", "value": "Hello", '
        '"scope": "global", "exists": true, "type": "string"}}\n' in text
    )
    assert "  delete(name) [destructive] → {data: {" in text  # the ceiling is `all` here
    assert ceiling_sentence(("all",)) in text
    assert "  move(position, window_identifier), resize(size, window_identifier), " in text
    assert "  preview_only true → {preview: {original_text: string, " in text
    assert "Only the user can grant" not in text
    (tool,) = [t for t in (await server.client.list_tools()).tools if t.name == ECOSYSTEM]
    assert tool.description is not None
    assert tool.description.endswith(ceiling_sentence(("all",)))
    with pytest.raises(MCPError) as unknown:
        await server.client.get_prompt("write-macro")
    assert unknown.value.message == (
        "no prompt named 'write-macro'; the prompt is 'write-action'; list them with prompts/list"
    )


async def test_a_call_of_a_missing_action_says_what_an_mcp_caller_can_do(server: Served) -> None:
    """Over MCP there is no folder to put a file in: the hint names `create` and
    `install` (a file's validation keeps its own hint, tests/cases)."""
    source = action_yaml(
        "caller", "steps:\n  - action: nowhere-to-be-found\n", description="Calls another."
    )
    answer = await server.ecosystem("validate", plugin_source=source, validation_level="standard")
    assert [(d["code"], d["hint"]) for d in answer["error"]["diagnostics"]] == [
        (
            "unknown-action",
            "`create` that action first, or `install` the plugin that has it",
        )
    ]
