"""km_variable_manager: get, set, delete and list Keyboard Maestro variables.

The server checks its arguments (``operation`` is free text), then sends one AppleScript
command to the Engine: ``getvariable``, ``setvariable`` or ``delete variable``. ``scope``
is only echoed: Keyboard Maestro decides a variable's kind by its name.

>>> from engine.simulator.tools.context import ToolContext
>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> state, now = SimulatorState.seeded(), datetime(2026, 5, 4, tzinfo=UTC)
>>> def call(**args):
...     full = {"name": None, "value": None, "scope": "global", "_instance_id": None, **args}
...     return handle_variable_manager(ToolContext("km_variable_manager", full, state, now))
>>> call(operation="get", name="Greeting")["data"]["value"]
'Hello'
>>> call(operation="get", name="Nope")["data"]["exists"]
False
>>> call(operation="delete", name="Nope")["error"]["message"]
'AppleScript failed: 46:68: execution error: Keyboard Maestro Engine got an error: \
Can’t get variable "Nope". (-1728)'
"""

from __future__ import annotations

from typing import Any

from engine.simulator.km import engine as km_engine
from engine.simulator.tools._records import parse_records, record_text
from engine.simulator.tools.context import (
    KME,
    Answer,
    AppleEventError,
    Failed,
    ScriptFailure,
    ToolContext,
    Via,
    cant_get,
    failure,
    invalid,
    quoted,
)

__all__ = ["HANDLERS", "handle_variable_manager"]

TELL_ENGINE = f'tell application "{KME}" to '
PROTECTED = "[PROTECTED]"
# Where the server's listing script for a scope other than global says `return "…"`.
SCOPE_STATEMENT_AT = 80


class _Invalid(Exception):
    pass


def handle_variable_manager(ctx: ToolContext) -> Answer:
    """km_variable_manager: the server's checks in its order, then one Engine command."""
    operation, name, value = ctx.args["operation"], ctx.args["name"], ctx.args["value"]
    scope: str = ctx.args["scope"]
    try:
        _check(operation, name, value, scope)
    except _Invalid as problem:
        return failure("INVALID_PARAMETER", str(problem), "Check operation and parameter format")
    if operation in ("get", "set", "delete"):
        return _change(ctx, operation, name, value, scope)
    return _list(ctx, scope)


def _check(operation: str, name: str | None, value: str | None, scope: str) -> None:
    if operation in ("get", "set", "delete") and not name:
        raise _Invalid(
            invalid("name", name, "Variable name is required for get, set, and delete operations")
        )
    if operation == "set" and value is None:
        raise _Invalid(invalid("value", value, "Variable value is required for set operation"))
    if name and not _plain_name(name) and not _password_name(name, scope):
        raise _Invalid(invalid("name", name, "Invalid variable name format"))
    if operation not in ("get", "set", "delete", "list"):
        raise _Invalid(invalid("operation", operation, f"Unknown operation: {operation}"))


def _plain_name(name: str) -> bool:
    """Letters and digits (any script), with ``_`` and spaces between them."""
    return name.replace("_", "").replace(" ", "").isalnum()


def _password_name(name: str, scope: str) -> bool:
    return scope == "password" and ("password" in name.lower() or "pw" in name.lower())


def _change(ctx: ToolContext, operation: str, name: str, value: str | None, scope: str) -> Answer:
    statement = {
        "get": f"getvariable {quoted(name)}",
        "set": f"setvariable {quoted(name)} to {quoted(value or '')}",
        "delete": f"delete variable {quoted(name)}",
    }[operation]

    def run() -> str:
        if operation == "get":
            return km_engine.get_variable(ctx.km, name)
        if operation == "set":
            km_engine.set_variable(ctx.km, name, value or "")
            return ""
        found = km_engine.variable_element(ctx.km, name)
        if found is None:
            raise cant_get(f"variable {quoted(name)}", KME)
        table, own = found
        del table[own]
        return ""

    try:
        raw = ctx.osascript(TELL_ENGINE + statement, run, apps=(KME,), statement=statement)
    except ScriptFailure as problem:
        return failure(
            "KM_VARIABLE_FAILED", problem.message, "Verify Keyboard Maestro Engine is running."
        )
    data: dict[str, Any]
    if operation == "get":
        data = {
            "name": name,
            "value": PROTECTED if scope == "password" else raw,
            "scope": scope,
            "exists": raw != "",
            "type": "string",
        }
    elif operation == "set":
        data = {
            "name": name,
            "scope": scope,
            "operation": "set",
            "value_length": len(value or ""),
            "is_password": scope == "password",
        }
    else:
        data = {"name": name, "scope": scope, "operation": "delete", "existed": True}
    return {"success": True, "data": data}


def _list(ctx: ToolContext, scope: str) -> Answer:
    """Global variables' names, read back from osascript's record text; other scopes get
    a placeholder (the server asks Keyboard Maestro nothing about them)."""

    def names() -> str:
        if scope != "global":
            text = f"Limited scope access for {scope} variables"
            if '"' in scope:  # the server writes the scope into its script unescaped
                end = SCOPE_STATEMENT_AT + len(f'return "{text}"')
                raise AppleEventError(-2741, "Expected end of line but found identifier.",
                                      syntax=True, span=(SCOPE_STATEMENT_AT, end))  # fmt: skip
            return text
        records = [
            {"varName": name, "varScope": "global", "varType": "string"}
            for name in km_engine.variable_names(ctx.km)
        ]
        return record_text(records)

    try:
        output = ctx.osascript("", names, via=Via.SYNC, apps=(KME,)).strip()
    except ScriptFailure as problem:
        return _list_failure(problem)
    variables: list[dict[str, Any]]
    if scope == "global" and output and not output.startswith("Limited"):
        variables = [
            {
                "name": record.get("varName", ""),
                "scope": record.get("varScope", "unknown"),
                "type": record.get("varType", "string"),
            }
            for record in parse_records(output, "varName")
        ]
    else:
        variables = [{"name": f"Limited_{scope}_access", "scope": scope, "type": "string"}]
    return {
        "success": True,
        "data": {"variables": variables, "scope": scope, "count": len(variables)},
    }


def _list_failure(problem: ScriptFailure) -> Answer:
    """osascript's failure (details: its error output), or none at all: without osascript
    the server's ``subprocess.run`` raises."""
    if problem.kind is Failed.SCRIPT:
        return failure(
            "KM_CONNECTION_FAILED",
            "Cannot retrieve variables from Keyboard Maestro",
            "Ensure Keyboard Maestro Engine is running and accessible",
            details=problem.stderr + "\n",
        )
    return failure(
        "SYSTEM_ERROR",
        "Failed to retrieve variables",
        "Check Keyboard Maestro connection and permissions",
        details=problem.message,
    )


HANDLERS = {"km_variable_manager": handle_variable_manager}
