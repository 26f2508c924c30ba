"""Macros and groups as the seed-era handlers see them: finding a macro by name or UUID,
and the views they answer with."""

from __future__ import annotations

from typing import Any

from engine.simulator._context import Call, ToolFailure, did_you_mean


def _matches(records: dict[str, dict[str, Any]], ident: str) -> list[dict[str, Any]]:
    key = ident.strip()
    if key.upper() in records:
        return [records[key.upper()]]
    exact = [r for r in records.values() if r["name"] == key]
    if exact:
        return exact
    return [r for r in records.values() if r["name"].casefold() == key.casefold()]


def find_macro(call: Call, ident: str, code: str) -> dict[str, Any]:
    """The macro named ``ident`` (or with that UUID); ``code`` is the failure's code."""
    found = _matches(call.state.macros, ident)
    if len(found) == 1:
        return found[0]
    if found:
        ids = [m["id"] for m in found]
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"{len(found)} macros are named '{ident}'",
            f"Use the UUID of the one you mean: {', '.join(ids)}.",
            {"macro_ids": ids},
        )
    names = [m["name"] for m in call.state.macros.values()]
    raise ToolFailure(
        code,
        f"macro '{ident}' not found",
        f"Check the name or UUID; km_list_macros lists them.{did_you_mean(ident, names)}",
        {"identifier": ident},
    )


def macro_view(call: Call, macro: dict[str, Any]) -> dict[str, Any]:
    """A macro as km_list_macros shows it."""
    group = call.state.groups[macro["group_id"]]
    return {
        "id": macro["id"],
        "name": macro["name"],
        "group": group["name"],
        "group_id": group["id"],
        "enabled": macro["enabled"],
        "template": macro.get("template", "custom"),
        "created_date": macro.get("created_at"),
        "modified_date": macro.get("modified_at"),
        "last_used": macro.get("last_used"),
        "use_count": macro["use_count"],
        "trigger_count": len(macro["triggers"]),
        "action_count": len(macro.get("actions", [])),
    }


def group_view(call: Call, group: dict[str, Any]) -> dict[str, Any]:
    members = [m for m in call.state.macros.values() if m["group_id"] == group["id"]]
    return {
        "id": group["id"],
        "name": group["name"],
        "enabled": group["enabled"],
        "macro_count": len(members),
        "enabled_count": sum(1 for m in members if m["enabled"]),
        "created_at": group.get("created_at"),
    }
