"""A plugin installed under a security profile runs under it: every run of its actions is
held to the stricter of its profile and the caller's (every limit and the tool classes),
from the command line, over MCP (`execute` and the action's own tool), when another
action calls it, and in hooks (issue 8).

`busy/loop` makes 150 read-only tool calls: the sandbox profile allows 100.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.diagnostics.errors import PluginError
from engine.lang.limits import Profile
from engine.plugins.hooked import run_installed
from engine.plugins.installer import install
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from engine.run.model import RunResult
from engine.server.store_host import StoreHost
from engine.tools.bridge.mock import MockBridge
from engine.tools.catalog import ToolCatalog
from engine.tools.config import Settings
from tests.plugins.store.conftest import MakePlugin, call

LOOP = {
    "description": "Lists the macros 150 times.",
    "permissions": ["km_list_macros"],
    "steps": [  # 15 × 10: each loop within the sandbox's 100 iterations
        {
            "foreach": "range(15)",
            "steps": [{"foreach": "range(10)", "steps": [{"tool": "km_list_macros", "with": {}}]}],
        }
    ],
}
NOTIFY = {
    "description": "Shows a notification.",
    "permissions": ["km_notifications"],
    "steps": [
        {
            "tool": "km_notifications",
            "with": {"notification_type": "notification", "title": "Hi", "message": "there"},
        }
    ],
}
TOO_MANY = (
    "limit-exceeded",
    "the run made more than 100 tool calls (limit max_tool_calls)",
)


def _bridge() -> MockBridge:
    answer = {"success": True, "data": {}}
    return MockBridge(
        {"km_list_macros": [answer] * 1000, "km_notifications": [answer] * 10},
        ToolCatalog.builtin(),
    )


def _failure(result: RunResult) -> tuple[str, str]:
    assert result.error is not None, result.outputs
    return result.error.kind.value, result.error.message


@pytest.fixture
def sandboxed(store: Store, make_plugin: MakePlugin) -> Store:
    """`busy` installed under the sandbox profile; `caller` (standard) calls its action,
    and `writer` (standard) shows a notification; `busy/write-through` calls that."""
    install(
        store, make_plugin("writer", actions={"notify": NOTIFY}, permissions=["km_notifications"])
    )
    install(
        store,
        make_plugin(
            "busy",
            actions={
                "loop": LOOP,
                "write-through": {"steps": [call("writer/notify")]},
            },
            permissions=["km_list_macros"],
            dependencies={"writer": "*"},
        ),
        profile=Profile.SANDBOX,
    )
    install(
        store,
        make_plugin(
            "caller",
            actions={"go": {"steps": [call("busy/loop")]}, "own-loop": LOOP},
            permissions=["km_list_macros"],
            dependencies={"busy": "*"},
        ),
    )
    return store


def _run(store: Store, name: str, profile: Profile = Profile.STANDARD) -> RunResult:
    runtime = ServedPlugins.load(store)
    try:
        return asyncio.run(runtime.run(name, bridge=_bridge(), limits=profile.limits))
    finally:
        runtime.close()


def test_a_sandboxed_plugin_runs_under_the_sandbox(sandboxed: Store) -> None:
    assert _failure(_run(sandboxed, "busy/loop")) == TOO_MANY
    assert _failure(_run(sandboxed, "busy/loop", Profile.NONE)) == TOO_MANY


def test_the_plugin_s_profile_holds_when_another_action_calls_it(sandboxed: Store) -> None:
    assert _failure(_run(sandboxed, "caller/go")) == TOO_MANY
    own = _run(sandboxed, "caller/own-loop")  # the standard caller's own 150 calls are fine
    assert own.ok, own.error


def test_what_a_sandboxed_action_calls_runs_under_the_sandbox(sandboxed: Store) -> None:
    """The classes too: a sandboxed action calling a standard plugin's writing action
    cannot write through it."""
    assert _failure(_run(sandboxed, "busy/write-through")) == (
        "permission-denied",
        "km_notifications is a write tool, and this security profile allows only: read-only",
    )
    assert _run(sandboxed, "writer/notify").ok


def test_hooks_of_a_sandboxed_plugin_run_under_the_sandbox(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(
        store, make_plugin("writer", actions={"notify": NOTIFY}, permissions=["km_notifications"])
    )
    install(
        store,
        make_plugin(
            "watcher",
            actions={"loop": LOOP},
            permissions=["km_list_macros"],
            hooks=[{"on": "action_succeeded", "action": "loop", "if": "event.plugin == 'writer'"}],
        ),
        profile=Profile.SANDBOX,
    )
    runtime = ServedPlugins.load(store)
    try:
        hooked = asyncio.run(
            run_installed(runtime, "writer/notify", bridge=_bridge(), limits=Profile.NONE.limits)
        )
    finally:
        runtime.close()
    assert hooked.result.ok
    (outcome,) = hooked.hooks
    assert outcome.error is not None
    assert (outcome.error.kind.value, outcome.error.message) == TOO_MANY


def test_over_mcp_execute_and_the_action_s_tool(sandboxed: Store) -> None:
    """`execute` and the action's own tool both run through the host's `execute`."""
    host = StoreHost(sandboxed, _bridge(), Settings(default_profile=Profile.NONE))
    try:
        envelope: dict[str, Any] = asyncio.run(
            host.execute("busy/loop", {}, timeout=None, profile=None, progress=None)
        )
    finally:
        host.close()
    assert (envelope["error"]["code"], envelope["error"]["message"]) == TOO_MANY
    assert envelope["data"]["tool_calls"] == 101


def test_the_configured_limits_of_the_profile_apply(sandboxed: Store) -> None:
    """The sandbox's limits as the configuration file sets them on this server."""
    settings = Settings(limit_overrides={"sandbox": {"max_tool_calls": 20}})
    host = StoreHost(sandboxed, _bridge(), settings)
    try:
        envelope = asyncio.run(
            host.execute("busy/loop", {}, timeout=None, profile=None, progress=None)
        )
    finally:
        host.close()
    assert envelope["error"]["message"] == (
        "the run made more than 20 tool calls (limit max_tool_calls)"
    )


def test_every_limit_holds_in_a_called_action(store: Store, make_plugin: MakePlugin) -> None:
    """Steps and the run and step timeouts of the called plugin's profile too (here the
    sandbox's, its timeouts shortened for the test), counted from the whole run."""
    actions = {
        "many": {
            "steps": [{"foreach": "range(60)", "steps": [{"set": {f"v{i}": i}} for i in range(9)]}]
        },
        "slow-step": {"steps": [{"wait": 1}]},
        "slow-run": {"steps": [{"foreach": "range(8)", "steps": [{"wait": 0.1}]}]},
    }
    install(store, make_plugin("boxed", actions=actions), profile=Profile.SANDBOX)
    calling = {name: {"steps": [call(f"boxed/{name}")]} for name in actions}
    install(store, make_plugin("host", actions=calling, dependencies={"boxed": "*"}))

    def shortened(profile: Profile) -> Any:
        limits = profile.limits
        if profile is Profile.SANDBOX:
            return limits.with_overrides(run_timeout=0.6, step_timeout=0.2)
        return limits

    runtime = ServedPlugins.load(store, profiles=shortened)
    try:
        results = {
            name: asyncio.run(runtime.run(f"host/{name}", bridge=_bridge())) for name in actions
        }
    finally:
        runtime.close()
    assert {name: _failure(result) for name, result in results.items()} == {
        "many": ("limit-exceeded", "the run executed more than 500 steps (limit max_steps)"),
        "slow-step": (
            "timeout",
            "a step of `boxed/slow-step` ran longer than 0.2 s, the step timeout its plugin "
            "runs under (its profile's, or its own resource_limits)",
        ),
        "slow-run": (
            "timeout",
            "`boxed/slow-run` took longer than 0.6 s, the run timeout its plugin runs under "
            "(its profile's, or its own resource_limits)",
        ),
    }
    assert results["slow-step"].error is not None
    assert results["slow-step"].error.details == {"limit": "step_timeout", "value": 0.2}


def test_the_caller_s_own_timeout_still_stops_a_called_action(
    store: Store, make_plugin: MakePlugin
) -> None:
    slow = {"steps": [{"foreach": "range(8)", "steps": [{"wait": 0.1}]}]}
    install(store, make_plugin("boxed", actions={"slow": slow}), profile=Profile.SANDBOX)
    calling = {"slow": {"steps": [call("boxed/slow")]}}
    install(store, make_plugin("host", actions=calling, dependencies={"boxed": "*"}))
    runtime = ServedPlugins.load(store)
    try:
        limits = Profile.STANDARD.limits.with_overrides(run_timeout=0.25)
        result = asyncio.run(runtime.run("host/slow", bridge=_bridge(), limits=limits))
    finally:
        runtime.close()
    assert _failure(result) == ("timeout", "the action took longer than 0.25 s and was stopped")


def test_hooks_set_off_inside_a_called_action_keep_its_profile(
    store: Store, make_plugin: MakePlugin
) -> None:
    """An event emitted by a sandboxed action that another plugin calls sets off hooks
    under the sandbox's max_hook_depth (1), not the caller's (4)."""
    install(
        store,
        make_plugin("boxed", actions={"ping": {"steps": [{"emit": "ping"}]}}),
        profile=Profile.SANDBOX,
    )
    echo = {"pong": {"steps": [{"emit": "pong"}]}, "done": {"steps": [{"set": {"a": 1}}]}}
    hooks = [{"on": "ping", "action": "pong"}, {"on": "pong", "action": "done"}]
    install(store, make_plugin("echo", actions=echo, hooks=hooks))
    calling = {"go": {"steps": [call("boxed/ping")]}}
    install(store, make_plugin("host", actions=calling, dependencies={"boxed": "*"}))
    runtime = ServedPlugins.load(store)
    try:
        hooked = asyncio.run(run_installed(runtime, "host/go", bridge=_bridge()))
    finally:
        runtime.close()
    assert hooked.result.ok, hooked.result.error
    assert [(o.action, o.error.message if o.error else None) for o in hooked.hooks] == [
        (
            "echo/done",
            "hook 2 of `echo` (on pong → echo/done) was not run: hooks set off hooks more "
            "than 1 deep (limit max_hook_depth), through hook 1 of `echo` (on ping → echo/pong)",
        ),
        ("echo/pong", None),
    ]


# -- a plugin's own resource_limits (issue 11.5) --------------------------------------


def test_resource_limits_tighten_every_run_of_the_plugin_s_actions(
    store: Store, make_plugin: MakePlugin
) -> None:
    """Its own runs, a run another plugin's action calls, and over MCP: held to the
    plugin's 20 tool calls, though its profile (standard) allows 1,000."""
    install(
        store,
        make_plugin(
            "tight",
            actions={"loop": LOOP},
            permissions=["km_list_macros"],
            resource_limits={"max_tool_calls": 20},
        ),
    )
    install(
        store,
        make_plugin(
            "outer",
            actions={"go": {"steps": [call("tight/loop")]}},
            dependencies={"tight": "*"},
        ),
    )
    twenty = ("limit-exceeded", "the run made more than 20 tool calls (limit max_tool_calls)")
    assert _failure(_run(store, "tight/loop", Profile.NONE)) == twenty
    assert _failure(_run(store, "outer/go")) == twenty
    host = StoreHost(store, _bridge(), Settings(default_profile=Profile.NONE))
    try:
        envelope = asyncio.run(
            host.execute("tight/loop", {}, timeout=None, profile=None, progress=None)
        )
    finally:
        host.close()
    assert (envelope["error"]["code"], envelope["error"]["message"]) == twenty


def test_a_resource_limit_looser_than_the_profile_is_refused_at_install(
    store: Store, make_plugin: MakePlugin
) -> None:
    source = make_plugin("loose", resource_limits={"max_steps": 50, "run_timeout": 600})
    with pytest.raises(PluginError) as caught:
        install(store, source)
    error = caught.value
    assert (error.code, error.message, error.hint) == (
        "limit-too-loose",
        "'loose' 1.0.0 asks for limits the standard profile does not allow: "
        "loose-1.0.0/plugin.yaml:7:16: resource_limits.run_timeout is 600 seconds, looser "
        "than the standard profile's 300 seconds: a plugin's limits may only tighten its "
        "profile's",
        "write 300 or less, or leave run_timeout out (the profile's applies)",
    )
    assert store.get("loose") is None
    # Under the `none` profile (no run timeout at all) the same limits only tighten.
    assert install(store, source, profile=Profile.NONE).plugin.resource_limits == {
        "max_steps": 50,
        "run_timeout": 600,
    }
    runtime = ServedPlugins.load(store)
    try:
        held = runtime.plugins["loose"].grant.limits
    finally:
        runtime.close()
    assert held == Profile.NONE.limits.with_overrides(run_timeout=600, max_steps=50)
