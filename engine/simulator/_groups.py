"""km_list_macro_groups (a seed-era tool: the current server answers "Unknown tool")."""

from __future__ import annotations

from typing import Any

from engine.simulator._context import Call
from engine.simulator._library import group_view


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
