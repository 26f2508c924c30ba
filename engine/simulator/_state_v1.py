"""State files of version 1 (the simulator before it modelled Keyboard Maestro): their shape,
and how one becomes a state of today.

What Keyboard Maestro keeps (global variables, macro groups and macros, clipboards) is
carried over into the model; what only the 2025 server's tools kept in such a file
(clipboard records, dictionaries of km_dictionary_manager, macro templates, executions)
is dropped: the current server has no tool that reads it.
"""

from __future__ import annotations

from typing import Any

from engine.simulator._state import SimulatorState, default_seed

_RECORDS = {"type": "object", "additionalProperties": {"type": "object"}}

# The parts of a version-1 file that are carried over, as version 1 wrote them.
V1_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "version"],
    "properties": {
        "version": {"const": 1},
        "clipboard": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["content"],
                "properties": {"content": {"type": "string"}},
            },
        },
        "named_clipboards": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["content"],
                "properties": {"content": {"type": "string"}},
            },
        },
        "variables": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"type": "string"},
            },
        },
        "groups": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["id", "name", "enabled"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "enabled": {"type": "boolean"},
                },
            },
        },
        "macros": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["id", "name", "group_id", "enabled", "triggers"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "group_id": {"type": "string"},
                    "enabled": {"type": "boolean"},
                    "triggers": {"type": "array", "items": {"type": "object"}},
                    "actions": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
        "dictionaries": _RECORDS,
    },
}


def v1_problem(data: dict[str, Any]) -> str | None:
    """A broken link the schema cannot see (a macro in a group that does not exist, a
    record filed under another id), or None.

    >>> v1_problem({"groups": {}, "macros": {"M": {"id": "M", "name": "m", "group_id": "G"}}})
    "macro 'm' is in unknown group 'G'"
    """
    groups, macros = data.get("groups", {}), data.get("macros", {})
    for macro in macros.values():
        if macro["group_id"] not in groups:
            return f"macro '{macro['name']}' is in unknown group '{macro['group_id']}'"
    for table in (groups, macros):
        for key, record in table.items():
            if key != record["id"]:
                return f"record key '{key}' does not match its id '{record['id']}'"
    return None


def upgrade_v1(data: dict[str, Any]) -> SimulatorState:
    """A version-1 state (checked against :data:`V1_SCHEMA`, without a
    :func:`v1_problem`) as a state of today, on the example Mac."""
    seed = default_seed()
    seed["variables"] = dict(data.get("variables", {}).get("global", {}))
    macros = data.get("macros", {})
    seed["groups"] = [
        {
            "uid": gid,
            "name": group["name"],
            "enabled": group["enabled"],
            "active": True,
            "macros": [
                {
                    "uid": mid,
                    "name": macro["name"],
                    "enabled": macro["enabled"],
                    "triggers": macro.get("triggers", []),
                    "actions": macro.get("actions", []),
                }
                for mid, macro in macros.items()
                if macro["group_id"] == gid
            ],
        }
        for gid, group in data.get("groups", {}).items()
    ]
    seed["clipboards"] = [str(r["content"]) for r in data.get("clipboard", [])]
    seed["named_clipboards"] = {
        name: str(r["content"]) for name, r in data.get("named_clipboards", {}).items()
    }
    return SimulatorState.seeded(seed)
