"""km_create_macro (a seed-era handler, not yet rebuilt on the model of Keyboard Maestro)."""

from __future__ import annotations

from typing import Any

from engine.simulator._context import Call, ToolFailure
from engine.simulator._legacy_state import GLOBAL_GROUP
from engine.simulator._library import (
    add_macro,
    find_group,
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


def handle_create_macro(call: Call) -> dict[str, Any]:
    """km_create_macro: a new macro from a template, in a group that exists."""
    group = find_group(call, call.args.get("group_name") or GLOBAL_GROUP, "GROUP_NOT_FOUND")
    name = call.args["name"].strip()
    if name_taken(call, group["id"], name):
        raise _conflict("CREATE_FAILED", name, group)
    macro = add_macro(call, name, group, enabled=call.args["enabled"])
    macro["template"] = call.args["template"]
    macro["parameters"] = call.args.get("parameters") or {}
    return {
        "macro_id": macro["id"],
        "name": name,
        "group": group["name"],
        "group_id": group["id"],
        "enabled": macro["enabled"],
        "template": macro["template"],
        "created_at": macro["created_at"],
    }
