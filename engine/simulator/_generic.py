"""The answer of every tool the simulator does not model: conformant, validated, changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.simulator._context import Call, ToolFailure

NO_EFFECT = "none: the simulator accepted this call and changed nothing"

BUILTIN_ACTION_TYPES: tuple[dict[str, Any], ...] = (
    {"identifier": "pause", "category": "control", "description": "Pause for a number of seconds"},
    {"identifier": "type_text", "category": "text", "description": "Insert text by typing"},
    {"identifier": "paste", "category": "text", "description": "Insert text by pasting"},
    {"identifier": "set_variable", "category": "variable", "description": "Set a variable to text"},
    {
        "identifier": "run_applescript",
        "category": "system",
        "description": "Execute an AppleScript",
    },
    {"identifier": "execute_macro", "category": "control", "description": "Execute another macro"},
)


def _applications(call: Call) -> dict[str, Any]:
    op = call.args.get("operation")
    if op == "list_running":
        return {"applications": ["Finder", "Keyboard Maestro Engine"]}
    app = call.args.get("app_identifier")
    if not app:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"'app_identifier' is required for operation '{op}'",
            "Pass an application name (e.g. 'Safari') or bundle id (e.g. 'com.apple.Safari').",
            {"field": "app_identifier"},
        )
    state = {"quit": "not_running", "get_state": "not_running"}.get(str(op), "running")
    return {"app_identifier": app, "state": state}


def _action_types(call: Call) -> dict[str, Any]:
    category, search = call.args.get("category"), (call.args.get("search") or "").casefold()
    found = [
        t
        for t in BUILTIN_ACTION_TYPES
        if (not category or t["category"] == category)
        and (not search or search in f"{t['identifier']} {t['description']}".casefold())
    ]
    limit = call.args.get("limit", 50)
    return {"action_types": found[:limit], "count": len(found[:limit])}


def _search_actions(call: Call) -> dict[str, Any]:
    words = str(call.args.get("query") or "").casefold().split()
    results = []
    for entry in BUILTIN_ACTION_TYPES:
        text = f"{entry['identifier'].replace('_', ' ')} {entry['description']}".casefold()
        score = sum(1 for w in words if w in text) / len(words) if words else 1.0
        if score > 0 and score >= call.args.get("min_score", 0.0):
            results.append({**entry, "score": round(score, 3), "builder_supported": True})
    results.sort(key=lambda r: (-r["score"], r["identifier"]))
    return {"results": results[: call.args.get("limit", 10)], "total": len(results)}


EXTRAS: dict[str, Callable[[Call], dict[str, Any]]] = {
    "km_app_control": _applications,
    "km_list_action_types": _action_types,
    "km_search_actions": _search_actions,
}


def handle_generic(call: Call) -> dict[str, Any]:
    """Echo the tool, its operation and its validated arguments (defaults filled in)."""
    data: dict[str, Any] = {
        "tool": call.tool,
        "operation": call.args.get("operation"),
        "arguments": call.args,
        "simulated_effect": NO_EFFECT,
    }
    extra = EXTRAS.get(call.tool)
    if extra is not None:
        data.update(extra(call))
    return data
