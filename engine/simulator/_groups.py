"""km_list_macro_groups and km_move_macro_to_group (older handlers, not yet rebuilt)."""

from __future__ import annotations

from typing import Any

from engine.simulator._context import Call, ToolFailure
from engine.simulator._library import (
    add_group,
    find_group,
    find_macro,
    group_view,
    name_taken,
)


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


def handle_move_macro(call: Call) -> dict[str, Any]:
    """km_move_macro_to_group: move a macro, creating the target group if asked to."""
    macro = find_macro(call, call.args["macro_identifier"], "MACRO_NOT_FOUND")
    target_name = call.args["target_group"].strip()
    created = False
    try:
        target = find_group(call, target_name, "GROUP_NOT_FOUND")
    except ToolFailure as missing:
        if not call.args["create_group_if_missing"]:
            missing.suggestion += " Or pass create_group_if_missing: true."
            raise
        target, created = add_group(call, target_name), True
    source = call.state.groups[macro["group_id"]]
    if source["id"] == target["id"]:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"macro '{macro['name']}' is already in group '{target['name']}'",
            "Pick a different target group.",
        )
    if name_taken(call, target["id"], macro["name"]):
        raise ToolFailure(
            "EXECUTION_ERROR",
            f"group '{target['name']}' already has a macro named '{macro['name']}'",
            "Rename one of the macros first (km_macro_editor, operation 'rename').",
        )
    macro.update(group_id=target["id"], modified_at=call.timestamp)
    call.touch()
    return {
        "macro_id": macro["id"],
        "macro_name": macro["name"],
        "source_group": source["name"],
        "target_group": target["name"],
        "group_created": created,
        "moved": True,
    }
