"""Macros: km_create_macro, km_list_macros, km_execute_macro and km_macro_editor."""

from __future__ import annotations

from typing import Any

from engine.simulator._context import Call, ToolFailure, choose, dispatch
from engine.simulator._jsondata import copy_json
from engine.simulator._legacy_state import MAX_EXECUTIONS
from engine.simulator._library import (
    add_macro,
    find_group,
    find_macro,
    macro_view,
    name_taken,
)

SORT_KEYS = ("name", "last_used", "created_date", "group")
METHODS = ("applescript", "url", "web", "remote")


def _conflict(code: str, name: str, group: dict[str, Any]) -> ToolFailure:
    return ToolFailure(
        code,
        f"name conflict: group '{group['name']}' already has a macro named '{name}'",
        "Choose another name, or use the existing macro.",
    )


def handle_list_macros(call: Call) -> dict[str, Any]:
    """km_list_macros: filter by groups and enabled state, sort, then limit."""
    sort_by = choose(call, "sort_by", SORT_KEYS)
    wanted = list(call.args.get("group_filters") or [])
    if call.args.get("group_filter"):
        wanted.append(call.args["group_filter"])
    groups = call.state.groups
    known = {g["name"].casefold() for g in groups.values()}
    folded = {w.casefold() for w in wanted}
    macros = [
        macro_view(call, m)
        for m in call.state.macros.values()
        if (not folded or groups[m["group_id"]]["name"].casefold() in folded)
        and (m["enabled"] or not call.args["enabled_only"])
    ]
    macros.sort(key=lambda m: (m["name"].casefold(), m["id"]))
    if sort_by != "name":
        # Stable sorts: ties keep name order; most recently used first.
        macros.sort(key=_SORT_FIELDS[sort_by], reverse=sort_by == "last_used")
    limit = call.args["limit"]
    data: dict[str, Any] = {
        "macros": macros[:limit],
        "total_count": len(macros),
        "filtered": bool(wanted) or call.args["enabled_only"],
        "pagination": {
            "limit": limit,
            "returned": len(macros[:limit]),
            "has_more": len(macros) > limit,
        },
    }
    unknown = [w for w in wanted if w.casefold() not in known]
    if unknown:
        data["unknown_groups"] = unknown
    return data


_SORT_FIELDS = {
    "group": lambda m: m["group"].casefold(),
    "last_used": lambda m: m["last_used"] or "",
    "created_date": lambda m: m["created_date"] or "",
}


def handle_execute_macro(call: Call) -> dict[str, Any]:
    """km_execute_macro: the execution is recorded; the macro's actions do not run."""
    method = choose(call, "method", METHODS)
    macro = find_macro(call, call.args["identifier"], "MACRO_NOT_FOUND")
    group = call.state.groups[macro["group_id"]]
    if not (macro["enabled"] and group["enabled"]):
        what = (
            f"macro '{macro['name']}'" if not macro["enabled"] else f"its group '{group['name']}'"
        )
        raise ToolFailure(
            "EXECUTION_ERROR",
            f"cannot execute macro '{macro['name']}': {what} is disabled",
            "Enable it with km_macro_editor (operation 'set_enabled') or "
            "km_macro_group_manager, then try again.",
        )
    number = call.next_number("execution")
    record = {
        "execution_id": f"sim-exec-{number:06d}",
        "macro_id": macro["id"],
        "macro_name": macro["name"],
        "trigger_value": call.args.get("trigger_value"),
        "method": method,
        "timestamp": call.timestamp,
    }
    call.state.executions.append(record)
    del call.state.executions[:-MAX_EXECUTIONS]
    macro["last_used"] = call.timestamp
    macro["use_count"] += 1
    return {
        **record,
        "execution_time": 0.0,
        "method_used": method,
        "status": "completed",
        "output": None,
        "simulated_effect": "execution recorded; the macro's actions did not run",
    }


def editor_create(call: Call) -> dict[str, Any]:
    group = find_group(call, call.need("group_id", "the group to create it in"), "CREATE_FAILED")
    name = call.need("new_name", "the new macro's name").strip()
    if name_taken(call, group["id"], name):
        raise _conflict("CREATE_FAILED", name, group)
    macro = add_macro(call, name, group, enabled=True)
    return {"macro_id": macro["id"], "name": name, "group": group["name"], "enabled": True}


def editor_delete(call: Call) -> dict[str, Any]:
    macro = find_macro(call, call.need("macro_id", "the macro to delete"), "DELETE_FAILED")
    del call.state.macros[macro["id"]]
    call.touch()
    return {"macro_id": macro["id"], "name": macro["name"], "deleted": True}


def editor_rename(call: Call) -> dict[str, Any]:
    macro = find_macro(call, call.need("macro_id", "the macro to rename"), "RENAME_FAILED")
    name = call.need("new_name", "the new name").strip()
    group = call.state.groups[macro["group_id"]]
    if name_taken(call, group["id"], name, besides=macro["id"]):
        raise _conflict("RENAME_FAILED", name, group)
    old = macro["name"]
    macro.update(name=name, modified_at=call.timestamp)
    call.touch()
    return {"macro_id": macro["id"], "old_name": old, "new_name": name}


def editor_duplicate(call: Call) -> dict[str, Any]:
    macro = find_macro(call, call.need("macro_id", "the macro to copy"), "DUPLICATE_FAILED")
    group = call.state.groups[macro["group_id"]]
    name = (call.args.get("new_name") or "").strip() or f"{macro['name']} copy"
    base, n = name, 1
    while name_taken(call, group["id"], name):
        n += 1
        name = f"{base} {n}"
    copy = add_macro(call, name, group, enabled=macro["enabled"])
    for key in ("template", "parameters", "triggers", "actions"):
        copy[key] = copy_json(macro.get(key, copy[key]))
    return {"macro_id": copy["id"], "name": name, "source_macro_id": macro["id"]}


def editor_set_enabled(call: Call) -> dict[str, Any]:
    macro = find_macro(call, call.need("macro_id", "the macro to toggle"), "TOGGLE_FAILED")
    enabled = call.need("enabled", "true or false")
    changed = macro["enabled"] != enabled
    macro.update(enabled=enabled, modified_at=call.timestamp)
    call.touch()
    return {"macro_id": macro["id"], "name": macro["name"], "enabled": enabled, "changed": changed}


EDITOR_OPERATIONS = {
    "create": editor_create,
    "delete": editor_delete,
    "rename": editor_rename,
    "duplicate": editor_duplicate,
    "set_enabled": editor_set_enabled,
}


def handle_macro_editor(call: Call) -> dict[str, Any]:
    """km_macro_editor: create, delete, rename, duplicate or enable/disable a macro."""
    return dispatch(call, EDITOR_OPERATIONS)
