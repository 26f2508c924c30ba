"""Plugin status (issue 11.1): every installed plugin is unloaded, loading, loaded, active,
error or disabled; one that cannot be served is in error with its reason and a fix, and
its actions are not offered."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.diagnostics.errors import EngineError
from engine.engine import Engine
from engine.plugins import _checks
from engine.plugins._checks import dependency_problem
from engine.plugins.installer import install
from engine.plugins.lifecycle import disable
from engine.plugins.records import delete_plugin
from engine.plugins.serving import ServedPlugins, plugin_states
from engine.plugins.status import TRANSITIONS, PluginState, PluginStatus, Step
from engine.plugins.store import Store
from engine.server.store_host import StoreHost
from engine.tools.bridge.mock import MockBridge
from engine.tools.catalog import ToolCatalog
from engine.tools.config import Settings
from tests.plugins.store.conftest import MakePlugin, call

NOTIFY = {
    "description": "Shows a notification.",
    "steps": [
        {
            "tool": "km_notifications",
            "with": {"notification_type": "notification", "title": "Hi", "message": "there"},
        }
    ],
}
TAMPERED = {
    "code": "plugin-tampered",
    "message": "'bad' 1.0.0 is refused: actions/hello.yaml: changed since it was installed",
}


def _tamper(store: Store, identifier: str) -> None:
    edited = store.folder(store.require(identifier)) / "actions" / "hello.yaml"
    edited.chmod(0o644)
    edited.write_text(edited.read_text().replace("x: 1", "x: 2"))


def _without(*names: str) -> ToolCatalog:
    """The shipped tools but ``names``: a Keyboard Maestro server that lacks them."""
    shipped = ToolCatalog.builtin()
    return ToolCatalog(
        [t for t in shipped.values() if t.name not in names], origin="km", where="the server"
    )


def _statuses(states: dict[str, PluginState]) -> dict[str, str]:
    return {name: state.status.value for name, state in states.items()}


def test_each_status_is_reached_through_the_table() -> None:
    reachable, grown = {PluginStatus.UNLOADED}, True
    while grown:
        more = {after for (before, _), after in TRANSITIONS.items() if before in reachable}
        grown = not more <= reachable
        reachable |= more
    assert reachable == set(PluginStatus)
    with pytest.raises(ValueError, match="a plugin that is active cannot load"):
        PluginState("x", PluginStatus.ACTIVE).advance(Step.LOAD)


def test_a_tampered_plugin_is_in_error_with_its_reason_and_the_fix(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("good"))
    install(store, make_plugin("bad"))
    install(store, make_plugin("off"))
    disable(store, "off")
    _tamper(store, "bad")
    states = plugin_states(store)
    assert _statuses(states) == {"bad": "error", "good": "active", "off": "disabled"}
    assert states["bad"].to_dict()["problem"] == {
        **TAMPERED,
        "hint": "installed files must not be edited: reinstall it with `km-actions install "
        f"{store.require('bad').source_ref}`, or uninstall it (`km-actions uninstall bad`); "
        "to change it, change its source and install it again",
    }
    assert states["good"].to_dict() == {"status": "active", "problem": None}


def test_a_manifest_that_no_longer_fits_the_tools_is_in_error(
    store: Store, make_plugin: MakePlugin
) -> None:
    """Installed against the shipped tools; a server without km_notifications cannot run
    it: in error, every diagnostic kept, its action not offered, and running it says why."""
    install(store, make_plugin("notes", actions={"notify": NOTIFY}, permissions=["notifications"]))
    runtime = ServedPlugins.load(store, engine=Engine(catalog=_without("km_notifications")))
    runtime.close()
    state = runtime.states["notes"]
    assert state.status is PluginStatus.ERROR
    assert state.to_dict()["problem"] == {
        "code": "plugin-incompatible",
        "message": "'notes' 1.0.0 cannot be served: its actions do not validate against the "
        "tools of the server: notes/actions/notify.yaml:6:9: error[unknown-tool]: there is "
        "no tool named `km_notifications` in the server",
        "hint": "update it (`km-actions update notes`) or install a version written for these "
        "tools, or use the Keyboard Maestro server it was written for; `km-actions describe "
        "notes` lists every problem",
    }
    assert runtime.names() == []
    with pytest.raises(EngineError) as caught:
        runtime.pipeline("notes/notify")
    assert caught.value is state.error


def test_manifests_are_validated_once_per_set_of_tools(
    store: Store, make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installing checks against the install's tools; loading checks again only against
    tools not seen before, and remembers them."""
    install(store, make_plugin("notes", actions={"notify": NOTIFY}, permissions=["notifications"]))
    checked: list[str] = []
    real = _checks.validate

    def counting(document: Any, context: Any) -> Any:
        checked.append(context.catalog.origin)
        return real(document, context)

    monkeypatch.setattr(_checks, "validate", counting)
    other = _without("km_list_macros")  # still has what `notes` calls
    for catalog in (ToolCatalog.builtin(), other, other, ToolCatalog.builtin()):
        assert _statuses(plugin_states(store, catalog)) == {"notes": "active"}
    assert checked == ["km"]


def test_a_plugin_whose_dependency_is_not_served_is_in_error(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("lib"))
    install(store, make_plugin("app", dependencies={"lib": ">=1.0,<2"}, actions={"use": {
        "steps": [call("lib/hello")]}}))  # fmt: skip
    install(store, make_plugin("top", dependencies={"app": "*"}))
    assert _statuses(plugin_states(store)) == {"app": "active", "lib": "active", "top": "active"}
    disable(store, "lib")
    states = plugin_states(store)
    assert _statuses(states) == {"app": "error", "lib": "disabled", "top": "error"}
    assert states["app"].to_dict()["problem"] == {
        "code": "dependency-unserved",
        "message": "'app' 1.0.0 needs 'lib', which is disabled",
        "hint": "enable it with `km-actions enable lib`",
    }
    assert states["top"].to_dict()["problem"] == {
        "code": "dependency-unserved",
        "message": "'top' 1.0.0 needs 'app', which cannot be served: 'app' 1.0.0 needs "
        "'lib', which is disabled",
        "hint": "set 'app' right first: enable it with `km-actions enable lib`",
    }
    with store.transaction() as conn:  # as a store repaired by hand may be
        delete_plugin(conn, "lib")
    assert plugin_states(store)["app"].to_dict()["problem"] == {
        "code": "dependency-missing",
        "message": "'app' 1.0.0 needs 'lib' >=1.0,<2, which is not installed",
        "hint": "install it (`km-actions install lib`), or uninstall 'app'",
    }


def test_a_dependency_outside_the_range_is_a_conflict(
    store: Store, make_plugin: MakePlugin
) -> None:
    app = install(store, make_plugin("app")).plugin
    lib = install(store, make_plugin("lib", "2.1.0")).plugin
    problem = dependency_problem(app, "lib", ">=1.0,<2", lib, PluginState("lib"))
    assert problem is not None
    assert (problem.code, problem.message, problem.hint) == (
        "dependency-conflict",
        "'app' 1.0.0 needs 'lib' >=1.0,<2, and 2.1.0 is installed",
        "install a version of 'lib' it accepts, or update 'app' (`km-actions update app`)",
    )


def test_over_mcp_a_plugin_in_error_is_listed_so_and_offers_no_tools(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("good"))
    install(store, make_plugin("bad"))
    _tamper(store, "bad")
    host = StoreHost(store, MockBridge({}, ToolCatalog.builtin()), Settings())
    try:
        listed = asyncio.run(host.operation("list", {}, None))
        described = asyncio.run(host.operation("describe", {"plugin_identifier": "bad"}, None))
        docs = host.plugin_docs("bad")
        tools = [t.tool_name for t in host.action_tools()]
    finally:
        host.close()
    by_id = {p["identifier"]: p for p in listed["data"]["plugins"]}
    assert (by_id["good"]["status"], by_id["good"]["problem"]) == ("active", None)
    bad = by_id["bad"]
    assert (bad["enabled"], bad["status"]) == (True, "error")
    assert {k: bad["problem"][k] for k in ("code", "message")} == TAMPERED
    assert bad["actions"] == [{"name": "hello", "tool": None}]
    assert tools == ["good__hello"]
    status = described["data"]["status"]
    assert status["problem"]["diagnostics"][0]["file"] == "actions/hello.yaml"
    assert docs.startswith(f"> Status: **error** (plugin-tampered): {TAMPERED['message']}. Fix: ")


def test_the_command_line_shows_the_status(
    store: Store, make_plugin: MakePlugin, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import main

    install(store, make_plugin("bad"))
    _tamper(store, "bad")
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "bad 1.0.0  [action]  error  ",
        "    actions: hello",
        f"    error[plugin-tampered]: {TAMPERED['message']}",
        lines[3],
    ]
    assert lines[3].startswith("    hint: installed files must not be edited: reinstall it")
    assert main(["describe", "bad"]) == 0
    described = capsys.readouterr().out.splitlines()
    assert described[1].startswith("  error; action; from folder ")
    assert described[2] == f"    error[plugin-tampered]: {TAMPERED['message']}"
    assert described[4] == (
        "      actions/hello.yaml: error[plugin-tampered]: 'bad' 1.0.0: actions/hello.yaml: "
        "changed since it was installed"
    )


def test_a_call_an_older_install_let_past_its_grant_fails_alone_when_made(
    store: Store, make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An action granting itself a tool plugin.yaml lacks was installed by km-actions
    before it checked that (simulated: install without that check). Checked again on
    load, the plugin is not refused as a whole: its other actions are served, and the
    call fails when made, saying where the grant is missing."""
    from engine.plugins import action_files

    real = action_files.validate
    monkeypatch.setattr(
        action_files,
        "validate",
        lambda *a, **k: [d for d in real(*a, **k) if d.code != "permission-missing"],
    )
    reads = {
        "permissions": ["km_variable_manager:get"],
        "steps": [{"tool": "km_variable_manager", "with": {"operation": "get", "name": "X"}}],
    }
    install(
        store,
        make_plugin(
            "notes", actions={"notify": NOTIFY, "read": reads}, permissions=["notifications"]
        ),
    )
    monkeypatch.setattr(action_files, "validate", real)
    runtime = ServedPlugins.load(store, engine=Engine(catalog=_without("km_action_builder")))
    runtime.close()
    assert runtime.states["notes"].status is PluginStatus.ACTIVE
    assert sorted(runtime.names()) == ["notes/notify", "notes/read"]
    result = asyncio.run(runtime.run("notes/read", bridge=MockBridge({}, ToolCatalog.builtin())))
    assert result.error is not None
    assert (result.error.kind.value, result.error.hint) == (
        "permission-denied",
        "add km_variable_manager:get to `permissions:` in the plugin's plugin.yaml and grant it "
        "when installing; the action's own `permissions:` list it, but an action of a plugin "
        "is granted only what its plugin asks for",
    )
