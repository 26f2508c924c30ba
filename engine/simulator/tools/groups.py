"""km_macro_group_manager: list, create, delete, rename and enable or disable macro groups.

The engine check comes first. Groups are found by name only (``first macro group whose
name is "…"``): a group's UUID finds nothing. Creating does not check for a group of the
same name; Keyboard Maestro makes another.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.simulator.km import library
from engine.simulator.tools._km import (
    KMProblem,
    caught,
    escape,
    find_group_named,
    list_groups,
    run_guarded,
)
from engine.simulator.tools.context import Answer, ToolContext, engine_unreachable, failure

__all__ = ["HANDLERS", "handle_group_manager"]


def handle_group_manager(ctx: ToolContext) -> Answer:
    """km_macro_group_manager: the engine check, then the operation."""
    if not ctx.engine_running():
        return engine_unreachable()
    operation: str = ctx.args["operation"]
    return OPERATIONS[operation](ctx)


def _list(ctx: ToolContext) -> Answer:
    # The fixed listing script runs once the engine check passed (osascript is there, and
    # nothing in it is dangerous): LIST_FAILED, the server's answer otherwise, cannot happen.
    return {"success": True, "data": {"groups": list_groups(ctx)}}


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
    try:
        output = run_guarded(ctx, script, lambda: str(library.create_group(ctx.km, name)["uid"]))
        caught(output, "EXECUTION_ERROR")
    except KMProblem as problem:
        return failure("CREATE_FAILED", problem.error.message, "Check name is unique.")
    return {"success": True, "data": {"group_id": output, "name": name}}


def _change(ctx: ToolContext, statement: str, change: Callable[[library.Group], None]) -> None:
    """Run ``change`` on ``first macro group whose name is <group_id>`` (the group client
    names groups only by name); :class:`KMProblem` when it fails."""
    name = ctx.args["group_id"].strip()

    def run() -> str:
        change(find_group_named(ctx.km, name))
        return "ok"

    selector = f'(first macro group whose name is "{escape(name)}")'
    caught(run_guarded(ctx, statement.format(group=selector), run))


def _delete(ctx: ToolContext) -> Answer:
    group_id: str | None = ctx.args["group_id"]
    if not group_id or not group_id.strip():
        return failure("VALIDATION_ERROR", "group_id is required.", "Pass group_id.")
    try:
        _change(ctx, "delete {group}", lambda group: library.delete_group(ctx.km, group))
    except KMProblem as problem:
        return failure("DELETE_FAILED", problem.error.message, "Verify the group exists.")
    return {"success": True, "data": {"group_id": group_id, "deleted": True}}


def _rename(ctx: ToolContext) -> Answer:
    group_id, new_name = ctx.args["group_id"], ctx.args["new_name"]
    if not group_id or not new_name or not new_name.strip():
        return failure(
            "VALIDATION_ERROR", "group_id and new_name are both required.", "Pass both fields."
        )
    name = new_name.strip()
    statement = f'set name of {{group}} to "{escape(name)}"'
    try:
        _change(ctx, statement, lambda group: group.update(name=name))
    except KMProblem as problem:
        return failure("RENAME_FAILED", problem.error.message, "Verify the group exists.")
    return {"success": True, "data": {"group_id": group_id, "new_name": new_name}}


def _set_enabled(ctx: ToolContext) -> Answer:
    group_id, enabled = ctx.args["group_id"], ctx.args["enabled"]
    if not group_id or not group_id.strip() or enabled is None:
        return failure(
            "VALIDATION_ERROR", "group_id and enabled are both required.", "Pass both fields."
        )
    statement = f"set enabled of {{group}} to {'true' if enabled else 'false'}"
    try:
        _change(ctx, statement, lambda group: group.update(enabled=enabled))
    except KMProblem as problem:
        return failure("TOGGLE_FAILED", problem.error.message, "Verify the group exists.")
    return {"success": True, "data": {"group_id": group_id, "enabled": enabled}}


OPERATIONS: dict[str, Callable[[ToolContext], Answer]] = {
    "list": _list,
    "create": _create,
    "delete": _delete,
    "rename": _rename,
    "set_enabled": _set_enabled,
}
HANDLERS = {"km_macro_group_manager": handle_group_manager}
