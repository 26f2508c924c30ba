"""The store host: store work once queued always runs to its end, even when the caller
that queued it times out or is cancelled before the worker reaches it; what it lets MCP
callers grant."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.diagnostics.errors import PluginError
from engine.plugins.permissions import PermissionRequest
from engine.plugins.store import Store
from engine.server.store_host import StoreHost
from engine.tools.bridge.mock import MockBridge
from engine.tools.catalog import ToolCatalog, ToolSpec
from engine.tools.config import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def host(tmp_path: Path) -> Iterator[StoreHost]:
    bridge = MockBridge({}, ToolCatalog.builtin())
    opened = StoreHost(Store.open(tmp_path / "home"), bridge, Settings())
    yield opened
    opened.close()
    opened.store.close()


async def _queued_behind_busy_worker(host: StoreHost, stop: object) -> list[str]:
    """Queue a job while the worker is busy, stop waiting for it by ``stop``, then
    free the worker; what the worker did."""
    release = threading.Event()
    done: list[str] = []
    busy = asyncio.ensure_future(host.in_worker(release.wait))
    waiting = asyncio.ensure_future(host.in_worker(done.append, "queued job"))
    await asyncio.sleep(0.01)  # the job is queued, the worker still busy
    if stop == "timeout":
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0):
                await waiting
    else:
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    release.set()
    await busy
    await host.in_worker(lambda: None)  # runs after the queued job
    return done


@pytest.mark.parametrize("stop", ["timeout", "cancel"])
async def test_a_queued_job_runs_though_its_caller_stopped_waiting(
    host: StoreHost, stop: str
) -> None:
    assert await _queued_behind_busy_worker(host, stop) == ["queued job"]


async def test_a_job_failing_after_its_caller_left_is_logged_not_lost(
    host: StoreHost, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()

    def fail() -> None:
        raise ValueError("disk full")

    busy = asyncio.ensure_future(host.in_worker(release.wait))
    waiting = asyncio.ensure_future(host.in_worker(fail))
    await asyncio.sleep(0.01)
    waiting.cancel()
    caplog.set_level("DEBUG", logger="km_actions.server")
    release.set()
    await busy
    await host.in_worker(lambda: None)
    await asyncio.sleep(0)  # the job's done callback runs on the loop
    assert "disk full" in caplog.text


async def test_new_tools_from_a_reconnected_upstream_are_followed(
    host: StoreHost, tmp_path: Path
) -> None:
    """An upstream that reconnects lists its tools again (a restarted, upgraded server):
    from the next operation, actions are checked against those, and the action tools are
    offered again."""
    action = tmp_path / "speak.yaml"
    action.write_text(
        'api_version: "1.1"\nkind: action\nname: speak\ndescription: Says it.\n'
        "permissions: [km_speak]\nsteps:\n  - tool: km_speak\n    with: {text: hi}\n",
        "utf-8",
    )
    checked = {"plugin_source": action.read_text(), "validation_level": "standard"}
    before = await host.operation("validate", checked, None)
    assert {d["code"] for d in before["error"]["diagnostics"]} == {
        "unknown-permission",
        "unknown-tool",
    }
    speak = ToolSpec("km_speak", "Say a text.", SPEAK, {"readOnlyHint": True})
    upgraded = ToolCatalog([*host.catalog().values(), speak], origin="the upgraded server")
    host.bridge._catalog = upgraded  # type: ignore[attr-defined]  # what a reconnect does
    after = await host.operation("validate", checked, None)
    assert after["success"] is True, after
    assert host.catalog() is upgraded
    assert host.loaded.served.catalog is upgraded  # installed actions: loaded again


ORDERED_YAML = """\
api_version: "1.1"
kind: action
name: ordered
description: Inputs declared out of alphabetical order.
inputs:
  zeta: {type: string, default: z, description: Last letter.}
  alpha: {type: integer, default: 1, description: First letter.}
  mid: {type: boolean, default: true, description: In between.}
steps:
  - set: {all: "{{ [inputs.zeta, inputs.alpha, inputs.mid] }}"}
outputs:
  all: "{{ vars.all }}"
tests:
  - name: the defaults
    expect: {outputs: {all: [z, 1, true]}}
"""
ORDERED_JSON = json.dumps(
    {
        "api_version": "1.1",
        "kind": "action",
        "name": "ordered",
        "description": "Inputs declared out of alphabetical order.",
        "inputs": {
            "zeta": {"type": "string", "default": "z", "description": "Last letter."},
            "alpha": {"type": "integer", "default": 1, "description": "First letter."},
            "mid": {"type": "boolean", "default": True, "description": "In between."},
        },
        "steps": [{"set": {"all": "{{ [inputs.zeta, inputs.alpha, inputs.mid] }}"}}],
        "outputs": {"all": "{{ vars.all }}"},
        "tests": [{"name": "the defaults", "expect": {"outputs": {"all": ["z", 1, True]}}}],
    }
)


async def test_describe_lists_inputs_in_the_order_declared(tmp_path: Path) -> None:
    """`describe` (the MCP operation) lists an action's inputs as its manifest declares
    them, YAML or JSON, also once the store is opened again (its actions then come from
    the store's manifest cache), and as the action's own tool schema does."""
    home = tmp_path / "home"
    bridge = MockBridge({}, ToolCatalog.builtin())
    host = StoreHost(Store.open(home), bridge, Settings())
    try:
        for identifier, source in (("from-yaml", ORDERED_YAML), ("from-json", ORDERED_JSON)):
            created = await host.operation(
                "create", {"plugin_source": source, "plugin_identifier": identifier}, None
            )
            assert created["success"] is True, created
    finally:
        host.close()
        host.store.close()
    again = StoreHost(Store.open(home), bridge, Settings())
    try:
        for identifier in ("from-yaml", "from-json"):
            described = await again.operation(
                "describe", {"action_name": f"{identifier}/ordered"}, None
            )
            assert list(described["data"]["inputs"]) == ["zeta", "alpha", "mid"], identifier
            plugin = await again.operation("describe", {"plugin_identifier": identifier}, None)
            assert list(plugin["data"]["actions"][0]["inputs"]) == ["zeta", "alpha", "mid"]
            schema = again.loaded.served.pipeline(f"{identifier}/ordered").inputs
            assert list(schema) == ["zeta", "alpha", "mid"]
    finally:
        again.close()
        again.store.close()


async def test_inputs_recorded_sorted_by_an_older_km_actions_are_put_in_order(
    tmp_path: Path,
) -> None:
    """A store written by a km-actions that recorded inputs sorted by name (and its
    manifest cache in an older format): the first load rebuilds the cache from the
    files, and records the inputs in the order declared."""
    home = tmp_path / "home"
    bridge = MockBridge({}, ToolCatalog.builtin())
    host = StoreHost(Store.open(home), bridge, Settings())
    try:
        created = await host.operation(
            "create", {"plugin_source": ORDERED_YAML, "plugin_identifier": "old"}, None
        )
        assert created["success"] is True, created
        store = host.store
        with store.transaction() as conn:
            (text,) = conn.execute(
                "SELECT signature FROM actions WHERE identifier = 'old'"
            ).fetchone()
            conn.execute(
                "UPDATE actions SET signature = ? WHERE identifier = 'old'",
                (json.dumps(json.loads(text), sort_keys=True),),
            )
        store.cache_file(store.require("old")).write_bytes(b"an older format")
    finally:
        host.close()
        host.store.close()
    again = StoreHost(Store.open(home), bridge, Settings())
    try:
        described = await again.operation("describe", {"action_name": "old/ordered"}, None)
        assert list(described["data"]["inputs"]) == ["zeta", "alpha", "mid"]
    finally:
        again.close()
        again.store.close()


COUNTED = """\
api_version: "1.1"
kind: action
name: counted
description: Counts to a number.
inputs:
  label: {type: string, default: n, description: What to call it.}
  count: {type: integer, description: How far to count.}
steps:
  - set: {said: "{{ inputs.label }} {{ inputs.count }}"}
outputs:
  said: "{{ vars.said }}"
tests:
  - name: says it
    inputs: {count: 2}
    expect: {outputs: {said: n 2}}
"""


async def test_an_input_that_does_not_fit_is_located_over_mcp(tmp_path: Path) -> None:
    """`execute` refuses an input of the wrong type, a missing one and an unknown one
    with where: its path (`$.inputs.count`) and its declaration in the action's file
    (`inputs:` for an input it does not have), as `km-actions run` does; also once the
    store is opened again (the action then comes from the store's manifest cache)."""
    home = tmp_path / "home"
    bridge = MockBridge({}, ToolCatalog.builtin())
    host = StoreHost(Store.open(home), bridge, Settings())
    cases = [
        ({"count": "many"}, "$.inputs.count", 7, 3, 8),
        ({}, "$.inputs.count", 7, 3, 8),
        ({"count": 2, "lable": "x"}, "$.inputs.lable", 5, 1, 7),
    ]
    try:
        created = await host.operation("create", {"plugin_source": COUNTED}, None)
        assert created["success"] is True, created
        for reopened in (False, True):
            if reopened:
                host.close()
                host.store.close()
                host = StoreHost(Store.open(home), bridge, Settings())
            for given, path, line, column, end in cases:
                envelope = await host.operation(
                    "execute", {"action_name": "counted", "parameters": given}, None
                )
                error = envelope["error"]
                file = "mcp-created/actions/counted.yaml"
                assert (error["code"], error["path"], error["location"]) == (
                    "invalid-input",
                    path,
                    f"{file}:{line}:{column}",
                ), (reopened, given)
                where = error["diagnostics"][0]
                assert (where["file"], where["line"], where["column"], where["end_column"]) == (
                    file,
                    line,
                    column,
                    end,
                )
    finally:
        host.close()
        host.store.close()


SPEAK = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("escape", ["absolute", "../../victim", "../victim"])
async def test_create_refuses_a_plugin_identifier_that_is_a_path(
    host: StoreHost, tmp_path: Path, escape: str
) -> None:
    """`create` builds the plugin's folder from its identifier: a path given as one must
    be refused before any file is written, deleted or overwritten (here a folder shaped
    like a plugin, which it used to rewrite)."""
    victim = tmp_path / "victim"
    (victim / "actions").mkdir(parents=True)
    (victim / "actions" / "note.yaml").write_text("keep me", "utf-8")
    (victim / "plugin.yaml").write_text("mine", "utf-8")
    identifier = str(victim) if escape == "absolute" else escape
    manifest = (
        'api_version: "1.1"\nkind: action\nname: note\ndescription: Notes.\n'
        "steps:\n  - set: {a: 1}\n"
    )
    envelope = await host.operation(
        "create", {"plugin_source": manifest, "plugin_identifier": identifier}, None
    )
    assert envelope["error"]["code"] == "invalid-name"
    shown = f'"{identifier}"' if len(identifier) < 58 else f'"{identifier[:56]}…'
    assert envelope["error"]["message"] == f"{shown} is not a valid plugin identifier"
    assert (victim / "plugin.yaml").read_text("utf-8") == "mine"
    assert (victim / "actions" / "note.yaml").read_text("utf-8") == "keep me"
    assert host.store.plugins() == []


@pytest.mark.parametrize("operation", ["validate", "create"])
@pytest.mark.parametrize(
    ("source", "code", "message", "location"),
    [
        pytest.param(
            'api_version: "1.1"\nkind: action\nname: big\nsteps:\n  - set: {n: '
            + "1" * 5000
            + "}\n",
            "invalid-number",
            "the whole number has 5,000 digits; at most 1,000 are allowed",
            "manifest.yaml:5:14",
            id="yaml-number",
        ),
        pytest.param(
            '{"api_version": "1.1", "kind": "action", "name": "big", "steps": [{"set": {"n": '
            + "1" * 5000
            + "}}]}",
            "invalid-number",
            "the whole number has 5,000 digits; at most 1,000 are allowed",
            "manifest.json:1:81",
            id="json-number",
        ),
        pytest.param(
            '{"api_version": "1.1", "kind": "action", "name": "half", "description": '
            '"\\ud800", "steps": [{"set": {"n": 1}}]}',
            "encoding",
            "the text holds \\ud800, half of a surrogate pair, which is not a character",
            "manifest.json:1:73",
            id="json-lone-surrogate",
        ),
    ],
)
async def test_odd_manifest_text_gets_a_located_error(
    host: StoreHost, operation: str, source: str, code: str, message: str, location: str
) -> None:
    """Over MCP these were an "Internal server error" (a ValueError from the loader)."""
    envelope = await host.operation(operation, {"plugin_source": source}, None)
    error = envelope["error"]
    assert (envelope["success"], error["code"]) == (False, code)
    assert error["message"] == "the manifest has 1 error: fix every one and send it again"
    found = [(d["message"], f"{d['file']}:{d['line']}:{d['column']}") for d in error["diagnostics"]]
    assert found == [(message, location)]
    assert host.store.plugins() == []


async def test_a_ceiling_of_operations_caps_what_mcp_callers_may_grant(tmp_path: Path) -> None:
    """`security.ceiling` may name operations: here reading anything, and setting
    variables (not `reload`, another write)."""
    bridge = MockBridge({}, ToolCatalog.builtin())
    settings = Settings(ceiling=("read-only", "km_variable_manager:set"))
    host = StoreHost(Store.open(tmp_path / "home"), bridge, settings)
    try:
        keep = (
            'api_version: "1.1"\nkind: action\nname: keep\ndescription: Keeps it.\n'
            "permissions: [km_variable_manager:get, km_variable_manager:set]\nsteps:\n"
            "  - tool: km_variable_manager\n    with: {operation: set, name: a, value: b}\n"
        )
        created = await host.operation(
            "create", {"plugin_source": keep, "validation_level": "standard"}, None
        )
        assert created["success"] is True, created
        reload = (
            'api_version: "1.1"\nkind: action\nname: reload\ndescription: Reloads.\n'
            "permissions: [km_engine_control:reload]\nsteps:\n"
            "  - tool: km_engine_control\n    with: {operation: reload}\n"
        )
        refused = await host.operation(
            "create", {"plugin_source": reload, "validation_level": "standard"}, None
        )
        assert [d["message"] for d in refused["error"]["diagnostics"]] == [
            "`km_engine_control:reload` (write) is beyond what MCP callers may grant on this "
            "server (read-only, km_variable_manager:set): only the user can grant it",
            "only the user can grant write operations: `km_engine_control:reload` is beyond "
            "what MCP callers may grant on this server (read-only, km_variable_manager:set)",
        ]
        confirm = host.ceiling_confirm()
        request = PermissionRequest.of("demo", "1.0.0", ["km_variable_manager"], host.catalog())
        with pytest.raises(PluginError) as caught:
            confirm(request)
        assert caught.value.message == (
            "demo asks for km_variable_manager:delete (destructive), beyond what MCP callers "
            "may grant on this server (read-only, km_variable_manager:set): only the user can "
            "grant it"
        )
        wider = PermissionRequest.of("demo", "1.0.0", ["variables", "engine"], host.catalog())
        with pytest.raises(PluginError) as caught:
            confirm(wider)
        assert caught.value.message.startswith(
            "demo asks for km_engine_control:reload (write), km_variable_manager:delete "
            "(destructive), beyond"
        )
        assert caught.value.message.endswith("only the user can grant them")
    finally:
        host.close()
        host.store.close()
