"""Macro discovery (seed-era tools): km_search_macros_advanced, km_analyze_macro_metadata."""

from __future__ import annotations

import json
from typing import Any

from engine.simulator._context import Call
from engine.simulator._library import find_macro, macro_view


def complexity(macro: dict[str, Any]) -> str:
    size = len(macro["triggers"]) + len(macro.get("actions", []))
    return "simple" if size <= 3 else "moderate" if size <= 10 else "complex"


def _haystack(call: Call, macro: dict[str, Any], scope: str) -> str:
    group = call.state.groups[macro["group_id"]]["name"]
    if scope == "name_only":
        return str(macro["name"])
    if scope == "name_and_group":
        return f"{macro['name']} {group}"
    meta = f"{macro.get('template', '')} {json.dumps(macro.get('parameters', {}))}"
    if scope == "metadata_only":
        return meta
    return f"{macro['name']} {group} {meta} {json.dumps(macro['triggers'])}"


def _wanted(text: str) -> set[str]:
    return {part.strip().casefold() for part in text.split(",") if part.strip()}


def handle_search_macros(call: Call) -> dict[str, Any]:
    """km_search_macros_advanced: case-insensitive search over the chosen scope."""
    query = call.args["query"].strip().casefold()
    scope = call.args["scope"]
    levels = _wanted(call.args["complexity_levels"])
    found = []
    for macro in call.state.macros.values():
        if query and query not in _haystack(call, macro, scope).casefold():
            continue
        if macro["use_count"] < call.args["min_usage_count"]:
            continue
        if levels and complexity(macro) not in levels:
            continue
        view = macro_view(call, macro)
        view.update(complexity=complexity(macro), success_rate=1.0)
        found.append(view)
    found.sort(key=lambda m: (m["name"].casefold(), m["id"]))
    sort_by = call.args["sort_by"]
    if sort_by != "name":
        field = {"usage_frequency": "use_count", "complexity": "action_count"}.get(sort_by, sort_by)
        found.sort(key=lambda m: m[field] or "" if field == "last_used" else m[field], reverse=True)
    notes = []
    if call.args["action_categories"]:
        notes.append("action_categories is accepted but not simulated: macros have no actions here")
    return {
        "query": call.args["query"],
        "scope": scope,
        "macros": found,
        "total_found": len(found),
        "notes": notes,
    }


def handle_analyze_macro(call: Call) -> dict[str, Any]:
    """km_analyze_macro_metadata: what the simulator knows about one macro."""
    macro = find_macro(call, call.args["macro_id"], "MACRO_NOT_FOUND")
    executions = [e for e in call.state.executions if e["macro_id"] == macro["id"]]
    data: dict[str, Any] = {
        "macro": macro_view(call, macro),
        "complexity": complexity(macro),
        "triggers": macro["triggers"],
        "usage": {
            "use_count": macro["use_count"],
            "last_used": macro.get("last_used"),
            "recent_executions": executions[-10:],
        },
    }
    if call.args["include_relationships"]:
        data["relationships"] = {
            "same_group": sorted(
                m["name"]
                for m in call.state.macros.values()
                if m["group_id"] == macro["group_id"] and m["id"] != macro["id"]
            )
        }
    return data
