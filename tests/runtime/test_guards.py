"""Permissions at run time: the action's grant and the profile's tool classes
(engine/runtime/_guards.py, engine/bridge/guard.py)."""

from __future__ import annotations

import pytest

from engine.grants import Grant
from engine.limits import Profile

from .conftest import Tools, failure, where


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
    assert where(error) == ("permission_denied", "sneaky", "t.yaml:8:5", "$.steps[1]")
    assert error.message == (
        "the action is not allowed to call km_add: it is not in its granted permissions"
    )
    assert error.hint == "add km_add to `permissions:` and grant it when installing"
    assert tools.calls == [("km_echo", {"text": "a"})]


def test_a_grant_given_to_the_run_wins_over_the_declared_permissions(tools: Tools) -> None:
    pipeline = tools.compile(_call("km_add", "[km_add]"))
    grant = Grant.of_tools({"km_echo"})
    error = failure(tools.run(pipeline, grant=grant))
    assert (error.kind.value, error.details) == ("permission_denied", {"tool": "km_add"})
    assert tools.calls == []


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
    assert where(error) == ("permission_denied", "call", "t.yaml:6:5", "$.steps[0]")
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
    assert failure(sandboxed).kind.value == "permission_denied"
