"""km_variable_manager: Keyboard Maestro variables in four scopes."""

from __future__ import annotations

import re
from typing import Any

from engine.simulator._context import Call, ToolFailure, choose, did_you_mean, dispatch

PROTECTED = "[PROTECTED]"
SCOPES = ("global", "local", "instance", "password")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]{0,254}$")


def scope_table(call: Call, *, create: bool = False) -> dict[str, str]:
    """The name -> value table for the call's scope (and instance, for local/instance)."""
    scope = choose(call, "scope", SCOPES)
    if scope in ("global", "password"):
        tables = call.state.variables
        return tables.setdefault(scope, {}) if create else tables.get(scope, {})
    instance = call.args.get("_instance_id")
    if not instance:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"{scope} variables belong to one macro execution; '_instance_id' is missing",
            f"Pass '_instance_id' (the execution's instance id) for scope '{scope}', "
            "or use scope 'global'.",
            {"field": "_instance_id"},
        )
    by_scope = call.state.instance_variables
    if create:
        return by_scope.setdefault(scope, {}).setdefault(instance, {})
    return by_scope.get(scope, {}).get(instance, {})


def _name(call: Call) -> str:
    name = str(call.need("name", "the variable's name"))
    if not _NAME.match(name):
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"invalid variable name '{name}'",
            "Variable names start with a letter and contain only letters, digits, "
            "spaces and underscores (at most 255 characters).",
            {"field": "name"},
        )
    return name


def variable_get(call: Call) -> dict[str, Any]:
    name = _name(call)
    table = scope_table(call)
    if name not in table:
        scope = call.args["scope"]
        raise ToolFailure(
            "NOT_FOUND",
            f"variable '{name}' does not exist in scope '{scope}'",
            "Set it first with operation 'set', or list the variables with operation "
            f"'list'.{did_you_mean(name, table)}",
            {"name": name, "scope": scope},
        )
    password = call.args["scope"] == "password"
    return {
        "name": name,
        "value": PROTECTED if password else table[name],
        "scope": call.args["scope"],
        "exists": True,
        "type": "string",
        "protected": password,
    }


def variable_set(call: Call) -> dict[str, Any]:
    name = _name(call)
    value = call.args.get("value")
    if value is None:
        raise ToolFailure(
            "VALIDATION_ERROR",
            "'value' is required for operation 'set'",
            "Pass the text to store in 'value' (use operation 'delete' to remove a variable).",
            {"field": "value"},
        )
    table = scope_table(call, create=True)
    created = name not in table
    table[name] = value
    call.touch()
    return {
        "name": name,
        "scope": call.args["scope"],
        "operation": "set",
        "created": created,
        "value_length": len(value),
        "is_password": call.args["scope"] == "password",
    }


def variable_delete(call: Call) -> dict[str, Any]:
    name = _name(call)
    table = scope_table(call)
    existed = table.pop(name, None) is not None
    if existed:
        call.touch()
    return {"name": name, "scope": call.args["scope"], "operation": "delete", "existed": existed}


def variable_list(call: Call) -> dict[str, Any]:
    scope = choose(call, "scope", SCOPES)
    table = scope_table(call)
    listed = []
    for name in sorted(table, key=str.casefold):
        item: dict[str, Any] = {"name": name, "scope": scope, "type": "string"}
        if scope == "password":
            item["protected"] = True  # never the value
        else:
            item["value"] = table[name]
        listed.append(item)
    return {"variables": listed, "scope": scope, "count": len(listed)}


OPERATIONS = {
    "get": variable_get,
    "set": variable_set,
    "delete": variable_delete,
    "list": variable_list,
}


def handle_variables(call: Call) -> dict[str, Any]:
    """km_variable_manager: get, set, delete or list variables of one scope."""
    return dispatch(call, OPERATIONS)


def lookup_variable(call: Call, name: str) -> str | None:
    """A global (or password, masked) variable's value, for tokens and calculations."""
    tables = call.state.variables
    if name in tables.get("global", {}):
        return tables["global"][name]
    if name in tables.get("password", {}):
        return PROTECTED
    return None
