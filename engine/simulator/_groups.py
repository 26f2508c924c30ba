"""Macro groups: km_macro_group_manager, km_list_macro_groups and km_move_macro_to_group."""

from __future__ import annotations

from typing import Any

from engine.simulator._context import Call, ToolFailure, dispatch
from engine.simulator._library import (
    add_group,
    find_group,
    group_has_name,
    group_view,
)


def _name_conflict(code: str, name: str) -> ToolFailure:
    return ToolFailure(
        code,
        f"name conflict: a macro group named '{name}' already exists",
        "Choose another name, or use the existing group.",
    )


def group_list(call: Call) -> dict[str, Any]:
    groups = [group_view(call, g) for g in call.state.groups.values()]
    groups.sort(key=lambda g: g["name"].casefold())
    return {"groups": groups, "count": len(groups)}


def group_create(call: Call) -> dict[str, Any]:
    name = call.need("new_name", "the new group's name").strip()
    if group_has_name(call, name):
        raise _name_conflict("CREATE_FAILED", name)
    group = add_group(call, name)
    return {"group_id": group["id"], "name": name, "enabled": True}


def group_delete(call: Call) -> dict[str, Any]:
    group = find_group(call, call.need("group_id", "the group to delete"), "DELETE_FAILED")
    members = [mid for mid, m in call.state.macros.items() if m["group_id"] == group["id"]]
    for mid in members:
        del call.state.macros[mid]
    del call.state.groups[group["id"]]
    call.touch()
    return {"group_id": group["id"], "name": group["name"], "macros_deleted": len(members)}


def group_rename(call: Call) -> dict[str, Any]:
    group = find_group(call, call.need("group_id", "the group to rename"), "RENAME_FAILED")
    name = call.need("new_name", "the new name").strip()
    if name.casefold() != group["name"].casefold() and group_has_name(call, name):
        raise _name_conflict("RENAME_FAILED", name)
    old = group["name"]
    group["name"] = name
    call.touch()
    return {"group_id": group["id"], "old_name": old, "new_name": name}


def group_set_enabled(call: Call) -> dict[str, Any]:
    group = find_group(call, call.need("group_id", "the group to toggle"), "TOGGLE_FAILED")
    enabled = call.need("enabled", "true or false")
    changed = group["enabled"] != enabled
    group["enabled"] = enabled
    call.touch()
    return {"group_id": group["id"], "name": group["name"], "enabled": enabled, "changed": changed}


GROUP_OPERATIONS = {
    "list": group_list,
    "create": group_create,
    "delete": group_delete,
    "rename": group_rename,
    "set_enabled": group_set_enabled,
}


def handle_group_manager(call: Call) -> dict[str, Any]:
    """km_macro_group_manager: list, create, delete, rename or enable/disable groups."""
    return dispatch(call, GROUP_OPERATIONS)


def handle_list_macro_groups(call: Call) -> dict[str, Any]:
    """km_list_macro_groups: every group with its macro counts, sorted."""
    views = [group_view(call, g) for g in call.state.groups.values()]
    views.sort(key=lambda g: g["name"].casefold())
    sort_by = call.args["sort_by"]
    if sort_by != "name":
        views.sort(key=lambda g: g[sort_by], reverse=True)
    for view in views:
        if not call.args["include_macro_count"]:
            del view["macro_count"]
        if not call.args["include_enabled_count"]:
            del view["enabled_count"]
    return {"groups": views, "total_groups": len(views), "sort_by": sort_by}
