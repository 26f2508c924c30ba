"""Permissions at run time: the action's grant and the profile's tool classes
(engine/run/_guards.py, engine/tools/bridge/guard.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from engine.lang.limits import Limits, Profile
from engine.tools.bridge.guard import GuardedBridge
from engine.tools.catalog import Operations, ToolClass
from engine.tools.grants import Grant

from .conftest import DESTRUCTIVE, Tools, failure, where


def _call(tool: str, permissions: str | None) -> str:
    arguments = {"km_delete": "{name: old}", "km_add": "{a: 1, b: 2}", "km_echo": "{text: hi}"}
    declared = f"permissions: {permissions}\n" if permissions is not None else ""
    return declared + f"steps:\n  - id: call\n    tool: {tool}\n    with: {arguments[tool]}\n"


def test_a_tool_outside_the_declared_permissions_is_denied(tools: Tools) -> None:
    pipeline = tools.compile(
        "permissions: [km_echo]\nsteps:\n  - tool: km_echo\n    with: {text: a}\n"
        "  - id: sneaky\n    tool: km_add\n    with: {a: 1, b: 2}\n",
        check=False,
    )
    error = failure(tools.run(pipeline))
    assert where(error) == ("permission-denied", "sneaky", "t.yaml:8:5", "$.steps[1]")
    assert error.message == (
        "the action is not allowed to call km_add: it is not in its granted permissions"
    )
    assert error.hint == "add km_add to `permissions:` and grant it when installing"
    assert tools.calls == [("km_echo", {"text": "a"})]


def test_a_call_the_guard_refuses_is_not_counted(tools: Tools) -> None:
    # The count is of the calls a run makes: the refused km_add is not one, so it neither
    # counts nor goes past max_tool_calls (the run fails for what the guard said).
    pipeline = tools.compile(
        "permissions: [km_echo]\nsteps:\n  - tool: km_echo\n    with: {text: a}\n"
        "  - id: sneaky\n    tool: km_add\n    with: {a: 1, b: 2}\n",
        check=False,
    )
    result = tools.run(pipeline, limits=Limits(max_tool_calls=1))
    assert (result.tool_calls, result.to_dict()["tool_calls"]) == (1, 1)
    error = failure(result)
    assert (error.kind.value, error.message) == (
        "permission-denied",
        "the action is not allowed to call km_add: it is not in its granted permissions",
    )
    assert tools.calls == [("km_echo", {"text": "a"})]


def test_a_grant_given_to_the_run_wins_over_the_declared_permissions(tools: Tools) -> None:
    pipeline = tools.compile(_call("km_add", "[km_add]"))
    grant = Grant.of_tools({"km_echo"})
    error = failure(tools.run(pipeline, grant=grant))
    assert (error.kind.value, error.details) == ("permission-denied", {"tool": "km_add"})
    assert tools.calls == []


@pytest.mark.parametrize(
    ("permissions", "hint"),
    [
        pytest.param(
            "[km_echo, km_add]",
            "add km_add to `permissions:` in the plugin's plugin.yaml and grant it when "
            "installing; the action's own `permissions:` list it, but an action of a plugin "
            "is granted only what its plugin asks for",
            id="listed-by-the-action-only",
        ),
        pytest.param(
            "[km_echo]",
            "add km_add to the plugin's `permissions:` and grant it when installing",
            id="listed-by-neither",
        ),
    ],
)
def test_in_a_plugin_the_hint_says_the_plugin_s_grant_lacks_the_call(
    tools: Tools, permissions: str, hint: str
) -> None:
    # A plugin installed before validation said so: the action lists km_add, its plugin
    # (granted km_echo) does not, and the plugin's grant is what the guard enforces.
    body = f"permissions: {permissions}\nsteps:\n  - id: add\n    tool: km_add\n"
    pipeline = replace(
        tools.compile(body + "    with: {a: 1, b: 2}\n", check=False), plugin="notes"
    )
    error = failure(tools.run(pipeline, grant=Grant.of_tools({"km_echo"})))
    assert (error.message, error.hint) == (
        "the action is not allowed to call km_add: it is not in its granted permissions",
        hint,
    )
    assert (tools.calls, tools.run(pipeline, grant=Grant.of_tools({"km_echo"})).tool_calls) == (
        [],
        0,
    )


@pytest.mark.parametrize(
    ("profile", "tool", "permissions", "message"),
    [
        pytest.param(
            Profile.STRICT,
            "km_delete",
            "[km_delete]",
            "km_delete is a destructive tool, and this security profile allows only: "
            "read-only, write",
            id="strict-destructive-named",
        ),
        pytest.param(
            Profile.SANDBOX,
            "km_delete",
            "[km_delete]",
            "km_delete is a destructive tool, and this security profile allows only: read-only",
            id="sandbox-destructive-named",
        ),
        pytest.param(
            Profile.SANDBOX,
            "km_add",
            "[km_add]",
            "km_add is a write tool, and this security profile allows only: read-only",
            id="sandbox-write",
        ),
        pytest.param(
            Profile.STANDARD,
            "km_delete",
            "[destructive]",
            "km_delete is a destructive tool and must be granted by name, not only through a group",
            id="standard-destructive-by-group",
        ),
        pytest.param(
            Profile.STANDARD,
            "km_delete",
            "[all]",
            "km_delete is a destructive tool and must be granted by name, not only through a group",
            id="standard-destructive-by-all",
        ),
    ],
)
def test_the_profile_refuses_tool_classes(
    tools: Tools, profile: Profile, tool: str, permissions: str, message: str
) -> None:
    # The validator already refuses a destructive tool covered only by a group; the
    # guard refuses it again at run time, so compile without the validator here.
    pipeline = tools.compile(_call(tool, permissions), check=False)
    error = failure(tools.run(pipeline, limits=profile.limits))
    assert where(error) == ("permission-denied", "call", "t.yaml:6:5", "$.steps[0]")
    assert error.message == message
    assert error.details["tool"] == tool
    assert tools.calls == []


@pytest.mark.parametrize(
    ("profile", "tool", "permissions"),
    [
        pytest.param(Profile.STANDARD, "km_delete", "[km_delete]", id="standard-named"),
        pytest.param(Profile.STANDARD, "km_delete", None, id="standard-undeclared-uses"),
        pytest.param(Profile.NONE, "km_delete", "[destructive]", id="none-by-group"),
        pytest.param(Profile.STANDARD, "km_add", "[write]", id="standard-write-by-group"),
        pytest.param(Profile.STRICT, "km_add", "[all]", id="strict-write-by-all"),
        pytest.param(Profile.SANDBOX, "km_echo", "[read-only]", id="sandbox-read-only"),
    ],
)
def test_the_profile_allows_tool_classes(
    tools: Tools, profile: Profile, tool: str, permissions: str | None
) -> None:
    pipeline = tools.compile(_call(tool, permissions), check=False)
    assert tools.run(pipeline, limits=profile.limits).ok
    assert [name for name, _ in tools.calls] == [tool]


def test_a_called_action_runs_with_its_own_grant(tools: Tools) -> None:
    library = tools.library(
        deleter="permissions: [km_delete]\nsteps:\n  - tool: km_delete\n    with: {name: x}\n"
    )
    pipeline = tools.compile(
        "permissions: [km_echo]\nsteps:\n  - action: deleter\n", library=library
    )
    assert tools.run(pipeline, resolver=library).ok
    assert tools.calls == [("km_delete", {"name": "x"})]
    sandboxed = tools.run(pipeline, resolver=library, limits=Profile.SANDBOX.limits)
    assert failure(sandboxed).kind.value == "permission-denied"


# -- operations: the class and the grant of what each call does ---------------------------

STORE_OPERATIONS = Operations(
    "operation",
    {"get": ToolClass.READ_ONLY, "set": ToolClass.WRITE, "delete": ToolClass.DESTRUCTIVE},
)


def _store(tools: Tools) -> Tools:
    """``km_store(operation, name)``: get (read-only), set (write), delete (destructive)."""

    async def store(operation: str, name: str) -> dict[str, Any]:
        return {"success": True, "data": {"done": operation, "name": name}}

    tools.register(
        "km_store",
        store,
        {
            "type": "object",
            "properties": {"operation": {"type": "string"}, "name": {"type": "string"}},
            "required": ["operation", "name"],
        },
        DESTRUCTIVE,
        operations=STORE_OPERATIONS,
    )
    return tools


def _templated(permissions: str) -> str:
    return (
        f"permissions: {permissions}\ninputs:\n  op: {{type: string}}\nsteps:\n"
        '  - id: call\n    tool: km_store\n    with: {operation: "{{ inputs.op }}", name: x}\n'
    )


def test_the_rendered_operation_of_a_templated_call_is_checked(tools: Tools) -> None:
    """The grant names two operations; the template decides, call by call, which one runs.
    The guard is shared by the runs, so what passed once must not open the others."""
    _store(tools)
    pipeline = tools.compile(_templated("[km_store:get, km_store:set]"), check=False)
    assert tools.run(pipeline, {"op": "get"}).ok
    assert tools.run(pipeline, {"op": "set"}).ok
    error = failure(tools.run(pipeline, {"op": "delete"}))
    assert where(error) == ("permission-denied", "call", "t.yaml:8:5", "$.steps[0]")
    assert (error.message, error.hint, error.details) == (
        "the action is not allowed to call km_store:delete: it is not in its granted permissions",
        "add km_store:delete to `permissions:` and grant it when installing",
        {"tool": "km_store", "operation": "delete"},
    )
    assert tools.run(pipeline, {"op": "get"}).ok
    assert [c[1]["operation"] for c in tools.calls] == ["get", "set", "get"]


def test_an_operation_the_catalog_does_not_know_needs_the_whole_tool(tools: Tools) -> None:
    _store(tools)
    pipeline = tools.compile(_templated("[km_store:get]"), check=False)
    error = failure(tools.run(pipeline, {"op": "purge"}))
    assert (error.message, error.hint) == (
        'the action is not allowed to call km_store with operation "purge": that is no '
        "operation km-actions knows, so only a grant of the whole km_store allows it",
        "use one of its operations (get, set, delete), or add km_store to `permissions:`",
    )
    whole = tools.compile(_templated("[km_store]"), check=False)
    assert tools.run(whole, {"op": "purge"}).ok
    assert tools.calls == [("km_store", {"operation": "purge", "name": "x"})]


@pytest.mark.parametrize(
    ("profile", "permissions", "op", "message"),
    [
        pytest.param(
            Profile.SANDBOX,
            "[km_store]",
            "set",
            "km_store:set is a write operation, and this security profile allows only: read-only",
            id="sandbox-write-operation",
        ),
        pytest.param(
            Profile.STRICT,
            "[km_store]",
            "delete",
            "km_store:delete is a destructive operation, and this security profile allows "
            "only: read-only, write",
            id="strict-destructive-operation",
        ),
        pytest.param(
            Profile.STANDARD,
            "[all]",
            "delete",
            "km_store:delete is a destructive operation and must be granted by name, not only "
            "through a group",
            id="standard-destructive-operation-by-group",
        ),
    ],
)
def test_the_profile_refuses_operations_by_class(
    tools: Tools, profile: Profile, permissions: str, op: str, message: str
) -> None:
    _store(tools)
    pipeline = tools.compile(_templated(permissions), check=False)
    error = failure(tools.run(pipeline, {"op": op}, limits=profile.limits))
    assert error.message == message
    assert error.details["operation"] == op
    assert tools.calls == []


@pytest.mark.parametrize(
    ("profile", "permissions", "op"),
    [
        pytest.param(Profile.SANDBOX, "[km_store]", "get", id="sandbox-read-only-operation"),
        pytest.param(Profile.STRICT, "[km_store]", "set", id="strict-write-operation"),
        pytest.param(Profile.STANDARD, "[all]", "set", id="standard-write-by-group"),
        pytest.param(
            Profile.STANDARD, "[all, km_store:delete]", "delete", id="standard-delete-named"
        ),
        pytest.param(Profile.STANDARD, "[read-only]", "get", id="read-only-class-group"),
    ],
)
def test_the_profile_allows_operations_by_class(
    tools: Tools, profile: Profile, permissions: str, op: str
) -> None:
    _store(tools)
    pipeline = tools.compile(_templated(permissions), check=False)
    assert tools.run(pipeline, {"op": op}, limits=profile.limits).ok
    assert tools.calls == [("km_store", {"operation": op, "name": "x"})]


def test_only_a_tool_every_call_of_which_is_allowed_is_reached_directly(tools: Tools) -> None:
    """The runtime's fast path calls a tool's function without the guard: only a tool the
    grant and the profile allow whatever its operation may be reached so."""
    _store(tools)
    bridge = GuardedBridge(
        tools.bridge,
        Grant.from_permissions(["km_store:get"], tools.bridge.catalog()),
        Profile.STANDARD.limits,
    )
    asyncio.run(bridge.call_tool("km_store", {"operation": "get", "name": "x"}))
    assert "km_store" not in bridge.direct
    whole = GuardedBridge(
        tools.bridge,
        Grant.from_permissions(["km_store"], tools.bridge.catalog()),
        Profile.STANDARD.limits,
    )
    asyncio.run(whole.call_tool("km_store", {"operation": "get", "name": "x"}))
    assert "km_store" in whole.direct


def test_a_grant_s_hash_computed_once_follows_its_value() -> None:
    # Runs look their guard up by the grant (its hash is kept, not recomputed per run):
    # grants alike in value are one key, a grant made from another by replace() its own.
    first, second = Grant.of_tools(["km_echo"]), Grant.of_tools(["km_echo"])
    stricter = replace(first, limits=Profile.SANDBOX.limits)
    assert first == second and hash(first) == hash(second)
    assert stricter != first
    assert hash(stricter) == hash(Grant(first.covered, first.named, Profile.SANDBOX.limits))
    assert len({first, second, stricter}) == 2
    assert "_hash" not in repr(first)
