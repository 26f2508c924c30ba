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
from engine.simulator.tools._context import KM, Answer, ScriptFailure, ToolContext
from engine.simulator.tools._km import escape, find_macro, in_try, macro_exists, macro_selector
from engine.simulator.tools.groups import NOT_RUNNING, failure, listed_groups
from engine.simulator.tools.macros import listed_macros

__all__ = ["HANDLERS", "handle_macro_editor"]

# Where the server writes the document Keyboard Maestro opens (a Mac's temporary folder).
TEMPORARY = "/var/folders/km/T"
MACRO_NOT_FOUND = "ERROR: macro not found"


def handle_macro_editor(ctx: ToolContext) -> Answer:
    """km_macro_editor: the engine check, then the operation."""
    if not ctx.engine_running():
        return failure(*NOT_RUNNING)
    operation: str = ctx.args["operation"]
    return OPERATIONS[operation](ctx)


def _run(ctx: ToolContext, script: str, action: Callable[[], str]) -> str:
    try:
        return ctx.osascript(script, in_try(action), apps=(KM,))
    except ScriptFailure as problem:
        return f"ERROR: {problem.message}"


def _on_macro(
    ctx: ToolContext, identifier: str, statement: str, change: Callable[[library.Macro], str]
) -> str:
    """``if not (exists <macro>) then return "ERROR: macro not found"``, then ``change``."""
    selector = macro_selector(identifier)

    def run() -> str:
        if not macro_exists(ctx.km, identifier):
            return MACRO_NOT_FOUND
        return change(find_macro(ctx.km, identifier)[1])

    return _run(ctx, f"if not (exists {selector})\n{statement.format(macro=selector)}", run)


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
    wanted = group_id.strip()
    needle = wanted.lower()
    group = next(
        (
            g
            for g in listed_groups(ctx)
            if str(g.get("groupName", "")).lower() == needle
            or str(g.get("groupID", "")).lower() == needle
        ),
        None,
    )
    if group is None:
        return failure(
            "GROUP_NOT_FOUND",
            f"Group not found: {wanted!r}",
            "Check the group name/UUID; list with km_macro_group_manager.",
        )
    name, uid = new_name.strip(), ctx.uuid4().upper()
    group_name, group_uid = group.get("groupName", ""), str(group.get("groupID", ""))
    document = library.kmmacros(
        {"name": str(group_name), "uid": group_uid},
        [{"Actions": [], "CreationDate": 0, "ModificationDate": 0, "Name": name,
          "Triggers": [], "UID": uid}],
    )  # fmt: skip
    # The document is always one Keyboard Maestro opens, and osascript is there (the engine
    # check passed): the server's IMPORT_FAILED answers cannot happen in the model.
    path = f"{TEMPORARY}/km_mcp_create_{uid.lower()[:8]}.kmmacros"
    script = f'tell application "{KM}" to open POSIX file "{path}"'
    ctx.osascript(script, lambda: _imported(ctx, document), apps=(KM,))
    listed_macros(ctx, enabled_only=False)  # the server polls until the new UID is listed
    return {
        "success": True,
        "data": {"macro_id": uid, "name": name, "group_id": group_uid, "group_name": group_name},
    }


def _imported(ctx: ToolContext, document: bytes) -> str:
    library.import_document(ctx.km, document)
    return ""


def _delete(ctx: ToolContext) -> Answer:
    macro_id: str | None = ctx.args["macro_id"]
    if not macro_id or not macro_id.strip():
        return failure("VALIDATION_ERROR", "macro_id is required.", "Pass macro_id.")

    def delete(macro: library.Macro) -> str:
        library.delete_macro(ctx.km, macro)
        return "deleted"

    output = _on_macro(ctx, macro_id.strip(), "delete {macro}", delete)
    if output.startswith("ERROR:"):
        return failure("DELETE_FAILED", output[6:].strip(), "Verify the macro exists.")
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
    output = _on_macro(ctx, macro_id.strip(), statement, rename)
    if output.startswith("ERROR:"):
        return failure(
            "RENAME_FAILED", output[6:].strip(), "Check macro exists and name is available."
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

    output = _on_macro(ctx, source, "set dupResult to duplicate {macro}", duplicate)
    if output.startswith("ERROR:"):
        return _duplicate_failed(output[6:].strip())
    new_id, final_name = output, None
    if wanted:
        statement = (
            f'set name of (first macro whose id is "{escape(new_id)}") to "{escape(wanted)}"'
        )

        def rename() -> str:
            copies[0]["name"] = wanted
            library.touch(ctx.km, copies[0])
            return "ok"

        renamed = _run(ctx, statement, rename)
        if renamed.startswith("ERROR:"):
            return _duplicate_failed(renamed[6:].strip())
        final_name = wanted
    return {"success": True, "data": {"new_id": new_id, "new_name": final_name, "source": source}}


def _duplicate_failed(message: str) -> Answer:
    return failure("DUPLICATE_FAILED", message, "Verify the source macro exists.")


def _set_enabled(ctx: ToolContext) -> Answer:
    macro_id, enabled = ctx.args["macro_id"], ctx.args["enabled"]
    if not macro_id or not macro_id.strip() or enabled is None:
        return failure(
            "VALIDATION_ERROR", "macro_id and enabled are both required.", "Pass both fields."
        )

    def toggle(macro: library.Macro) -> str:
        macro["enabled"] = enabled
        library.touch(ctx.km, macro)
        return "ok"

    statement = f"set enabled of ({{macro}}) to {'true' if enabled else 'false'}"
    output = _on_macro(ctx, macro_id.strip(), statement, toggle)
    if output.startswith("ERROR:"):
        return failure("TOGGLE_FAILED", output[6:].strip(), "Verify the macro exists.")
    return {"success": True, "data": {"macro_id": macro_id, "enabled": enabled}}


OPERATIONS: dict[str, Callable[[ToolContext], Answer]] = {
    "create": _create,
    "delete": _delete,
    "rename": _rename,
    "duplicate": _duplicate,
    "set_enabled": _set_enabled,
}
HANDLERS = {"km_macro_editor": handle_macro_editor}
