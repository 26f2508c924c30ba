"""km_variable_manager: get, set, delete and list, in every scope."""

from __future__ import annotations

import pytest

from .conftest import KM

TOOL = "km_variable_manager"


def test_set_get_list_delete(km: KM) -> None:
    assert km.ok(TOOL, operation="set", name="Greeting", value="hi") == {
        "name": "Greeting",
        "scope": "global",
        "operation": "set",
        "created": True,
        "value_length": 2,
        "is_password": False,
    }
    assert km.ok(TOOL, operation="set", name="Greeting", value="hello")["created"] is False
    assert km.ok(TOOL, operation="get", name="Greeting") == {
        "name": "Greeting",
        "value": "hello",
        "scope": "global",
        "exists": True,
        "type": "string",
        "protected": False,
    }
    km.ok(TOOL, operation="set", name="alpha", value="a")
    listed = km.ok(TOOL, operation="list")
    assert listed["variables"] == [
        {"name": "alpha", "scope": "global", "type": "string", "value": "a"},
        {"name": "Greeting", "scope": "global", "type": "string", "value": "hello"},
    ]
    assert km.ok(TOOL, operation="delete", name="Greeting")["existed"] is True
    assert km.ok(TOOL, operation="delete", name="Greeting")["existed"] is False
    assert km.ok(TOOL, operation="list")["count"] == 1


def test_get_of_a_missing_variable_is_not_found(km: KM) -> None:
    km.ok(TOOL, operation="set", name="Counter", value="1")
    error = km.fails(TOOL, "NOT_FOUND", operation="get", name="Countr")
    assert error["message"] == "variable 'Countr' does not exist in scope 'global'"
    assert error["recovery_suggestion"] == (
        "Set it first with operation 'set', or list the variables with operation 'list'. "
        "Did you mean 'Counter'?"
    )


def test_set_needs_a_value(km: KM) -> None:
    error = km.fails(TOOL, "VALIDATION_ERROR", operation="set", name="X")
    assert error["message"] == "'value' is required for operation 'set'"
    assert error["details"] == {"field": "value"}


def test_empty_text_is_a_value(km: KM) -> None:
    km.ok(TOOL, operation="set", name="Empty", value="")
    assert km.ok(TOOL, operation="get", name="Empty")["value"] == ""


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        pytest.param("fetch", "unknown operation 'fetch'", id="operation"),
        pytest.param("get", "'name' is required for operation 'get'", id="missing-name"),
    ],
)
def test_operation_and_name_are_checked(km: KM, operation: str, message: str) -> None:
    assert km.fails(TOOL, "VALIDATION_ERROR", operation=operation)["message"] == message


def test_unknown_operation_suggests_one(km: KM) -> None:
    error = km.fails(TOOL, "VALIDATION_ERROR", operation="lst")
    assert (
        error["recovery_suggestion"] == "Use one of: get, set, delete, list. Did you mean 'list'?"
    )


@pytest.mark.parametrize("name", ["1st", "bad-name", "dot.name", "x" * 300])
def test_invalid_names(km: KM, name: str) -> None:
    error = km.fails(TOOL, "VALIDATION_ERROR", operation="set", name=name, value="v")
    assert error["message"] == f"invalid variable name '{name}'"


def test_unknown_scope(km: KM) -> None:
    error = km.fails(TOOL, "VALIDATION_ERROR", operation="list", scope="globl")
    assert error["recovery_suggestion"] == (
        "Use one of: global, local, instance, password. Did you mean 'global'?"
    )


def test_password_values_are_never_shown(km: KM) -> None:
    km.ok(TOOL, operation="set", name="PW", value="s3cret", scope="password")
    got = km.ok(TOOL, operation="get", name="PW", scope="password")
    assert (got["value"], got["protected"]) == ("[PROTECTED]", True)
    listed = km.ok(TOOL, operation="list", scope="password")
    assert listed["variables"] == [
        {"name": "PW", "scope": "password", "type": "string", "protected": True}
    ]
    assert "s3cret" not in str(listed)


@pytest.mark.parametrize("scope", ["local", "instance"])
def test_local_and_instance_scopes_need_an_instance(km: KM, scope: str) -> None:
    error = km.fails(TOOL, "VALIDATION_ERROR", operation="set", name="X", value="1", scope=scope)
    assert error["details"] == {"field": "_instance_id"}
    km.ok(TOOL, operation="set", name="X", value="1", scope=scope, _instance_id="run-1")
    assert km.ok(TOOL, operation="get", name="X", scope=scope, _instance_id="run-1")["value"] == "1"
    km.fails(TOOL, "NOT_FOUND", operation="get", name="X", scope=scope, _instance_id="run-2")
    km.fails(TOOL, "NOT_FOUND", operation="get", name="X")


def test_scopes_are_separate(km: KM) -> None:
    km.ok(TOOL, operation="set", name="Same", value="global")
    km.ok(TOOL, operation="set", name="Same", value="pw", scope="password")
    assert km.ok(TOOL, operation="get", name="Same")["value"] == "global"
