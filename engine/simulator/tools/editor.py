"""km_macro_editor: create, delete, rename, duplicate and enable or disable macros.

The engine check comes first. Keyboard Maestro 11 cannot make a macro over AppleScript,
so ``create`` writes a ``.kmmacros`` document holding an empty macro (a fresh upper-case
UUID) for the group and has Keyboard Maestro open it: the macro arrives **disabled**.
The other operations find the macro by UUID, or by name (``first macro whose name is``),
checking that it exists first ("macro not found").
"""

from __future__ import annotations

from collections.abc import Callable

from engine.simulator.km import library
from engine.simulator.tools._imports import import_new_macro
from engine.simulator.tools._km import (
    KMProblem,
    caught,
    delete_macro,
    escape,
    on_macro,
    run_guarded,
    set_macro_enabled,
)
from engine.simulator.tools.context import Answer, ToolContext, engine_unreachable, failure

__all__ = ["HANDLERS", "handle_macro_editor"]


def handle_macro_editor(ctx: ToolContext) -> Answer:
    """km_macro_editor: the engine check, then the operation."""
    if not ctx.engine_running():
        return engine_unreachable()
    operation: str = ctx.args["operation"]
    return OPERATIONS[operation](ctx)


def _create(ctx: ToolContext) -> Answer:
    group_id, new_name = ctx.args["group_id"], ctx.args["new_name"]
    if not new_name or not new_name.strip():
        return failure(
            "VALIDATION_ERROR",
            "new_name is required for operation='create'.",
            "Pass new_name with the macro name to create.",
        )
    if not group_id or not group_id.strip():
        return failure(
            "VALIDATION_ERROR",
            "group_id is required for operation='create'.",
            "Pass group_id with the parent group's name or UUID.",
        )
    try:
        made = import_new_macro(ctx, group_id.strip(), new_name.strip())
    except KMProblem as problem:
        message = problem.error.message
        if "not found" in message.lower():
            return failure(
                "GROUP_NOT_FOUND",
                message,
                "Check the group name/UUID; list with km_macro_group_manager.",
            )
        return failure(
            "IMPORT_FAILED",
            message,
            "KM may have prompted for permission on first import; check the Editor and retry.",
        )
    return {"success": True, "data": made}


def _delete(ctx: ToolContext) -> Answer:
    macro_id: str | None = ctx.args["macro_id"]
    if not macro_id or not macro_id.strip():
        return failure("VALIDATION_ERROR", "macro_id is required.", "Pass macro_id.")
    try:
        delete_macro(ctx, macro_id)
    except KMProblem as problem:
        return failure("DELETE_FAILED", problem.error.message, "Verify the macro exists.")
    return {"success": True, "data": {"macro_id": macro_id, "deleted": True}}


def _rename(ctx: ToolContext) -> Answer:
    macro_id, new_name = ctx.args["macro_id"], ctx.args["new_name"]
    if not macro_id or not new_name or not new_name.strip():
        return failure(
            "VALIDATION_ERROR", "macro_id and new_name are both required.", "Pass both fields."
        )
    name = new_name.strip()

    def rename(macro: library.Macro) -> str:
        macro["name"] = name
        library.touch(ctx.km, macro)
        return "renamed"

    statement = f'set name of ({{macro}}) to "{escape(name)}"'
    try:
        on_macro(ctx, macro_id.strip(), statement, rename)
    except KMProblem as problem:
        return failure(
            "RENAME_FAILED", problem.error.message, "Check macro exists and name is available."
        )
    return {"success": True, "data": {"macro_id": macro_id, "new_name": new_name}}


def _duplicate(ctx: ToolContext) -> Answer:
    macro_id, new_name = ctx.args["macro_id"], ctx.args["new_name"]
    if not macro_id or not macro_id.strip():
        return failure("VALIDATION_ERROR", "macro_id is required.", "Pass macro_id.")
    source = macro_id.strip()
    wanted = new_name.strip() if new_name else None
    copies: list[library.Macro] = []

    def duplicate(macro: library.Macro) -> str:
        copies.append(library.duplicate_macro(ctx.km, macro))
        return str(copies[0]["uid"])

    def rename() -> str:
        copies[0]["name"] = str(wanted)
        library.touch(ctx.km, copies[0])
        return "ok"

    try:
        new_id = on_macro(ctx, source, "set dupResult to duplicate {macro}", duplicate)
        if wanted:
            statement = (
                f'set name of (first macro whose id is "{escape(new_id)}") to "{escape(wanted)}"'
            )
            caught(run_guarded(ctx, statement, rename))
    except KMProblem as problem:
        return failure("DUPLICATE_FAILED", problem.error.message, "Verify the source macro exists.")
    data = {"new_id": new_id, "new_name": wanted or None, "source": source}
    return {"success": True, "data": data}


def _set_enabled(ctx: ToolContext) -> Answer:
    macro_id, enabled = ctx.args["macro_id"], ctx.args["enabled"]
    if not macro_id or not macro_id.strip() or enabled is None:
        return failure(
            "VALIDATION_ERROR", "macro_id and enabled are both required.", "Pass both fields."
        )
    try:
        set_macro_enabled(ctx, macro_id, enabled)
    except KMProblem as problem:
        return failure("TOGGLE_FAILED", problem.error.message, "Verify the macro exists.")
    return {"success": True, "data": {"macro_id": macro_id, "enabled": enabled}}


OPERATIONS: dict[str, Callable[[ToolContext], Answer]] = {
    "create": _create,
    "delete": _delete,
    "rename": _rename,
    "duplicate": _duplicate,
    "set_enabled": _set_enabled,
}
HANDLERS = {"km_macro_editor": handle_macro_editor}
