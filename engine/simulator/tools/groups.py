"""km_macro_group_manager: list, create, delete, rename and enable or disable macro groups.

The engine check comes first. Groups are found by name only (``first macro group whose
name is "…"``): a group's UUID finds nothing. Creating does not check for a group of the
same name; Keyboard Maestro makes another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.simulator.km import library
from engine.simulator.tools._context import KM, Answer, ScriptFailure, ToolContext
from engine.simulator.tools._km import (
    escape,
    group_named,
    group_records,
    in_try,
    not_first_named,
)
from engine.simulator.tools._records import parse_records, record_text, whole_numbers

__all__ = ["HANDLERS", "handle_group_manager", "listed_groups"]

NOT_RUNNING = (
    "KM_CONNECTION_FAILED",
    "Cannot connect to Keyboard Maestro Engine.",
    "Start Keyboard Maestro and ensure the Engine is running.",
)


def failure(code: str, message: str, suggestion: str) -> Answer:
    return {
        "success": False,
        "error": {"code": code, "message": message, "recovery_suggestion": suggestion},
    }


def listed_groups(ctx: ToolContext) -> list[dict[str, Any]]:
    """The server's group list, read back from record text. (Only asked for after the
    engine check, so osascript is there and the fixed script runs: LIST_FAILED, its
    answer otherwise, is not reachable in the model.)"""
    output = ctx.osascript(
        "every macro group", lambda: record_text(group_records(ctx.km)), apps=(KM,)
    )
    return parse_records(output, "groupName", numbers=whole_numbers)


def handle_group_manager(ctx: ToolContext) -> Answer:
    """km_macro_group_manager: the engine check, then the operation."""
    if not ctx.engine_running():
        return failure(*NOT_RUNNING)
    operation: str = ctx.args["operation"]
    return OPERATIONS[operation](ctx)


def _list(ctx: ToolContext) -> Answer:
    return {"success": True, "data": {"groups": listed_groups(ctx)}}


def _create(ctx: ToolContext) -> Answer:
    new_name: str | None = ctx.args["new_name"]
    if not new_name or not new_name.strip():
        return failure(
            "VALIDATION_ERROR",
            "new_name is required for operation='create'.",
            "Pass new_name with the group name to create.",
        )
    name = new_name.strip()
    script = f'set newGroup to make new macro group with properties {{name:"{escape(name)}"}}'
    output = _run(ctx, script, lambda: str(library.create_group(ctx.km, name)["uid"]))
    if output.startswith("ERROR:"):
        return failure("CREATE_FAILED", output[6:].strip(), "Check name is unique.")
    return {"success": True, "data": {"group_id": output, "name": name}}


def _change(
    ctx: ToolContext,
    statement: str,
    change: Callable[[library.Group], None],
) -> str:
    """Run ``change`` on ``first macro group whose name is <group_id>``; the output."""
    name = ctx.args["group_id"].strip()

    def run() -> str:
        group = group_named(ctx.km, name)
        if group is None:
            raise not_first_named("macro group", name)
        change(group)
        return "ok"

    selector = f'(first macro group whose name is "{escape(name)}")'
    return _run(ctx, statement.format(group=selector), run)


def _run(ctx: ToolContext, script: str, action: Callable[[], str]) -> str:
    """A script of the server's groups client (its errors as an ``ERROR:`` result)."""
    try:
        return ctx.osascript(script, in_try(action), apps=(KM,))
    except ScriptFailure as problem:
        return f"ERROR: {problem.message}"


def _delete(ctx: ToolContext) -> Answer:
    group_id: str | None = ctx.args["group_id"]
    if not group_id or not group_id.strip():
        return failure("VALIDATION_ERROR", "group_id is required.", "Pass group_id.")
    output = _change(ctx, "delete {group}", lambda group: library.delete_group(ctx.km, group))
    if output.startswith("ERROR:"):
        return failure("DELETE_FAILED", output[6:].strip(), "Verify the group exists.")
    return {"success": True, "data": {"group_id": group_id, "deleted": True}}


def _rename(ctx: ToolContext) -> Answer:
    group_id, new_name = ctx.args["group_id"], ctx.args["new_name"]
    if not group_id or not new_name or not new_name.strip():
        return failure(
            "VALIDATION_ERROR", "group_id and new_name are both required.", "Pass both fields."
        )
    name = new_name.strip()
    output = _change(
        ctx, f'set name of {{group}} to "{escape(name)}"', lambda group: group.update(name=name)
    )
    if output.startswith("ERROR:"):
        return failure("RENAME_FAILED", output[6:].strip(), "Verify the group exists.")
    return {"success": True, "data": {"group_id": group_id, "new_name": new_name}}


def _set_enabled(ctx: ToolContext) -> Answer:
    group_id, enabled = ctx.args["group_id"], ctx.args["enabled"]
    if not group_id or not group_id.strip() or enabled is None:
        return failure(
            "VALIDATION_ERROR", "group_id and enabled are both required.", "Pass both fields."
        )
    flag = "true" if enabled else "false"
    output = _change(
        ctx, f"set enabled of {{group}} to {flag}", lambda group: group.update(enabled=enabled)
    )
    if output.startswith("ERROR:"):
        return failure("TOGGLE_FAILED", output[6:].strip(), "Verify the group exists.")
    return {"success": True, "data": {"group_id": group_id, "enabled": enabled}}


OPERATIONS: dict[str, Callable[[ToolContext], Answer]] = {
    "list": _list,
    "create": _create,
    "delete": _delete,
    "rename": _rename,
    "set_enabled": _set_enabled,
}
HANDLERS = {"km_macro_group_manager": handle_group_manager}
