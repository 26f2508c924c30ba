"""Store events over MCP (issue 11.2): `install`, `create`, `configure`, `enable`,
`disable` and `uninstall` set off the hooks listening for them, as the command line's
do (same payloads, same security), once the change is done; an `execute` stopped by its
`timeout` sends `action_failed`; `enable` and `disable` keep to the origin rule.

The host runs in-process here, on an in-process `km_record` tool that keeps what the
hooks' action records (the server's own tests drive a real `km-actions serve`)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.plugins.hooked import StoreHooks
from engine.plugins.installer import install
from engine.plugins.lifecycle import configure, uninstall
from engine.plugins.store import Store
from engine.server.app import KmActionsServer
from engine.server.store_host import StoreHost
from engine.tools.bridge.inprocess import InProcessBridge
from engine.tools.config import Settings

RECORD_SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
EVENTS = ("installed", "upgraded", "uninstalled", "configured", "enabled", "disabled")
LISTENER = "\n".join(
    f"  - on: {name}\n    action: log\n"
    '    with: {line: "{{ event.name }} {{ event.plugin }} {{ event.data.version }}"}'
    for name in EVENTS
) + (
    "\n  - on: action_failed\n    action: log\n"
    '    with: {line: "failed {{ event.data.action }}: {{ event.data.error.kind }}"}\n'
)


def _plugin(folder: Path, identifier: str, hooks: str = "") -> Path:
    """`log` records a line with km_record; `nap` waits as long as it is told."""
    root = folder / identifier
    (root / "actions").mkdir(parents=True)
    (root / "plugin.yaml").write_text(
        f'api_version: "1.1"\nidentifier: {identifier}\nname: {identifier.title()}\n'
        "version: 1.0.0\npermissions: [km_record]\nconfiguration_schema: {type: object, "
        'properties: {mood: {type: string, default: ""}}}\n' + ("hooks:\n" + hooks if hooks else "")
    )
    (root / "actions" / "log.yaml").write_text(
        'api_version: "1.1"\nkind: action\nname: log\ninputs: {line: {type: string}}\n'
        'steps:\n  - tool: km_record\n    with: {text: "{{ inputs.line }}"}\n'
    )
    (root / "actions" / "nap.yaml").write_text(
        'api_version: "1.1"\nkind: action\nname: nap\ninputs: {seconds: {type: number}}\n'
        'steps:\n  - wait: "{{ inputs.seconds }}"\n'
    )
    return root


@pytest.fixture
def recorded() -> list[str]:
    return []


@pytest.fixture
def host(tmp_path: Path, recorded: list[str]) -> Iterator[StoreHost]:
    """A host whose MCP callers may grant anything, on an in-process `km_record`."""
    bridge = InProcessBridge()
    bridge.register("km_record", lambda text: recorded.append(text) or {"success": True},
                    RECORD_SCHEMA)  # fmt: skip
    settings = Settings(ceiling=("all",), install_paths=(tmp_path,))
    opened = StoreHost(Store.open(tmp_path / "home"), bridge, settings)
    yield opened
    opened.close()
    opened.store.close()


def _answer(host: StoreHost, operation: str, **args: Any) -> dict[str, Any]:
    """The envelope of a `km_plugin_ecosystem` call, as the server answers it."""
    app = KmActionsServer(host)
    envelope: dict[str, Any] = asyncio.run(app.ecosystem({"operation": operation, **args}, None))
    return envelope


def _call(host: StoreHost, operation: str, **args: Any) -> dict[str, Any]:
    envelope = _answer(host, operation, **args)
    assert envelope["success"], envelope
    return envelope


def test_every_store_operation_over_mcp_sets_off_its_hooks(
    host: StoreHost, tmp_path: Path, recorded: list[str]
) -> None:
    # The listener's own `installed` hook hears its own install (as on the command line).
    _call(host, "install", plugin_source=str(_plugin(tmp_path, "watcher", LISTENER)))
    _call(host, "install", plugin_source=str(_plugin(tmp_path, "other")))
    _call(host, "configure", plugin_identifier="other", plugin_config={"mood": "calm"})
    _call(host, "disable", plugin_identifier="other")
    _call(host, "disable", plugin_identifier="other")  # no change: no event
    _call(host, "enable", plugin_identifier="other")
    created = _call(
        host,
        "create",
        plugin_source='api_version: "1.1"\nkind: action\nname: hi\ndescription: Hi.\n'
        "steps:\n  - set: {a: 1}\n",
        validation_level="standard",
    )
    _call(host, "uninstall", plugin_identifier="other")
    assert recorded == [
        "installed watcher 1.0.0",
        "installed other 1.0.0",
        "configured other 1.0.0",
        "disabled other 1.0.0",
        "enabled other 1.0.0",
        "installed mcp-created 0.0.1",
        "uninstalled other 1.0.0",
    ]
    assert created["warnings"] == []
    history = [(h["plugin"], h["action"]) for h in host.loaded.served.history()]
    assert history == [("watcher", "log")] * 7  # hook runs are recorded like any run


def test_a_failing_hook_is_a_warning_of_the_operation(host: StoreHost, tmp_path: Path) -> None:
    hook = '  - on: configured\n    action: log\n    with: {line: "{{ event.data.nothing }}"}\n'
    _call(host, "install", plugin_source=str(_plugin(tmp_path, "fussy", hook)))
    envelope = _call(host, "configure", plugin_identifier="fussy", plugin_config={"mood": "x"})
    [warning] = envelope["warnings"]
    assert warning.startswith("hook 1 of `fussy` (on configured → fussy/log) failed: ")


def test_an_execute_stopped_by_its_timeout_sends_action_failed(
    host: StoreHost, tmp_path: Path, recorded: list[str]
) -> None:
    _call(host, "install", plugin_source=str(_plugin(tmp_path, "watcher", LISTENER)))
    envelope = asyncio.run(
        host.operation(
            "execute",
            {"action_name": "watcher/nap", "parameters": {"seconds": 5}, "timeout": 0.2},
            None,
        )
    )
    assert (envelope["error"]["code"], envelope["error"]["message"]) == (
        "timeout",
        "watcher/nap took longer than 0.2 s and was stopped",
    )
    assert "data" not in envelope
    assert recorded[-1] == "failed watcher/nap: timeout"
    last = host.loaded.served.history()[1]  # the run, before the hook that heard of it
    assert (last["action"], last["status"], last["error_kind"]) == ("nap", "failed", "timeout")


def test_the_user_s_plugins_are_not_an_mcp_caller_s_to_switch(
    host: StoreHost, tmp_path: Path
) -> None:
    install(host.store, _plugin(tmp_path, "mine"), catalog=host.catalog())
    for operation in ("disable", "enable"):
        refused = _answer(host, operation, plugin_identifier="mine")
        assert refused["error"]["code"] == "overwrite-refused"
        assert refused["error"]["message"] == (
            f"the plugin `mine` was installed by the user (file); MCP callers may not "
            f"{operation} it"
        )
        assert refused["error"]["hint"].startswith(
            f"the user can do it with `km-actions {operation} mine`, or let MCP callers"
        )
    assert host.store.require("mine").enabled
    host.settings = dataclasses.replace(host.settings, allow_mcp_overwrite=True)
    assert _call(host, "disable", plugin_identifier="mine")["data"] == {
        "identifier": "mine",
        "enabled": False,
        "changed": True,
    }
    assert [t.plugin for t in host.action_tools()] == []


def test_a_plugin_installed_over_mcp_does_not_hear_what_the_user_s_plugins_do(
    host: StoreHost, tmp_path: Path, recorded: list[str]
) -> None:
    """A stranger's plugin with hooks on every event: the user's runs and the user's
    store changes (their outputs, their settings) are not its to hear; the runs and
    changes of plugins installed over MCP are."""
    spy = LISTENER + (
        "  - on: action_succeeded\n    action: log\n"
        '    with: {line: "heard {{ event.data.action }}: {{ event.data.outputs }}"}\n'
    )
    _call(host, "install", plugin_source=str(_plugin(tmp_path, "spy", spy)))
    # The user's own changes, from the command line (its store hooks run them).
    hooks = StoreHooks(host.store, bridge=host.bridge)
    install(host.store, _plugin(tmp_path, "mine"), catalog=host.catalog(), events=hooks)
    configure(host.store, "mine", {"mood": "private"}, events=hooks)
    asyncio.run(host.reload())
    for plugin in ("mine", "spy"):
        answer = asyncio.run(
            host.operation(
                "execute",
                {"action_name": f"{plugin}/log", "parameters": {"line": f"{plugin} diary"}},
                None,
            )
        )
        assert answer["success"], answer
    uninstall(host.store, "mine", events=hooks)
    _call(host, "install", plugin_source=str(_plugin(tmp_path, "theirs")))
    assert hooks.outcomes == []
    assert recorded == [
        "installed spy 1.0.0",
        "mine diary",
        "spy diary",
        "heard spy/log: {}",
        "installed theirs 1.0.0",
    ]


def test_the_hooks_of_a_change_whose_answer_timed_out_run_once_it_is_done(
    host: StoreHost, tmp_path: Path, recorded: list[str]
) -> None:
    """The answer stops waiting; the change completes on the store's thread, and then
    its hooks run (as the tools are reloaded)."""
    _call(host, "install", plugin_source=str(_plugin(tmp_path, "watcher", LISTENER)))
    app = KmActionsServer(host)

    async def scenario() -> dict[str, Any]:
        release = threading.Event()
        busy = asyncio.ensure_future(host.in_worker(release.wait))  # the store is busy
        manifest = 'api_version: "1.1"\nkind: action\nname: hi\nsteps:\n  - set: {a: 1}\n'
        arguments = {
            "operation": "create",
            "plugin_source": manifest,
            "timeout": 0.05,
            "validation_level": "standard",
        }
        answer = await app.ecosystem(arguments, None)
        assert recorded == ["installed watcher 1.0.0"]  # not created yet
        release.set()
        await busy
        await asyncio.gather(*app._background)
        return answer

    answer = asyncio.run(scenario())
    assert answer["error"]["code"] == "timeout"
    assert recorded == ["installed watcher 1.0.0", "installed mcp-created 0.0.1"]
