"""The state shape of the simulator before the model (version 1): what the seed-era handlers
work on, and how a version-1 state file is read."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from engine.simulator._jsondata import copy_json

STATE_FORMAT = "km-actions-simulator-state"
STATE_VERSION = 1

# Bounded logs keep memory flat however long a simulator lives.
MAX_CLIPBOARD_HISTORY = 200

# Scopes whose values live in memory only, as Keyboard Maestro keeps them.
TRANSIENT_SCOPES = ("password",)


@dataclass(slots=True)
class SimState:
    """Everything the simulated Keyboard Maestro knows. Records are JSON objects."""

    clipboard: list[dict[str, Any]] = field(default_factory=list)  # [0] is the current one
    named_clipboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, str]] = field(default_factory=dict)  # scope -> name -> value
    # "local"/"instance" -> instance id -> name -> value; never saved (execution-specific).
    instance_variables: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    dictionaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> group
    macros: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> macro
    executions: list[dict[str, Any]] = field(default_factory=list)
    notifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_stats: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def to_json(self, *, persistent_only: bool = False) -> dict[str, Any]:
        """A deep copy as JSON data; ``persistent_only`` leaves out memory-only values."""
        out: dict[str, Any] = {"format": STATE_FORMAT, "version": STATE_VERSION}
        for f in fields(self):
            out[f.name] = copy_json(getattr(self, f.name))
        if persistent_only:
            for scope in TRANSIENT_SCOPES:
                out["variables"].pop(scope, None)
            out["instance_variables"] = {}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimState:
        """Rebuild a state from :meth:`to_json` output (already checked by ``STATE_SCHEMA``)."""
        values: dict[str, Any] = copy_json(data)
        return cls(
            clipboard=values.get("clipboard", []),
            named_clipboards=values.get("named_clipboards", {}),
            variables=values.get("variables", {}),
            instance_variables=values.get("instance_variables", {}),
            dictionaries=values.get("dictionaries", {}),
            groups=values.get("groups", {}),
            macros=values.get("macros", {}),
            executions=values.get("executions", []),
            notifications=values.get("notifications", {}),
            token_stats={**empty_token_stats(), **values.get("token_stats", {})},
            counters=values.get("counters", {}),
        )

    def problems(self) -> list[str]:
        """Broken links the schema cannot see (a macro in a group that does not exist)."""
        out = []
        for macro in self.macros.values():
            if macro["group_id"] not in self.groups:
                out.append(f"macro '{macro['name']}' is in unknown group '{macro['group_id']}'")
        out.extend(
            f"record key '{key}' does not match its id '{record['id']}'"
            for table in (self.groups, self.macros)
            for key, record in table.items()
            if key != record["id"]
        )
        return out


def empty_token_stats() -> dict[str, Any]:
    return {
        "total_processed": 0,
        "tokens_found": 0,
        "tokens_expanded": 0,
        "tokens_unresolved": 0,
        "errors": 0,
        "previews": 0,
        "last_processed_at": None,
    }


_RECORD_MAP = {"type": "object", "additionalProperties": {"type": "object"}}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

# The shape a state file must have; anything else is treated as corrupt.
STATE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "version"],
    "properties": {
        "format": {"const": STATE_FORMAT},
        "version": {"type": "integer", "minimum": 1},
        "clipboard": {
            "type": "array",
            "maxItems": MAX_CLIPBOARD_HISTORY,
            "items": {
                "type": "object",
                "required": ["content", "format", "timestamp"],
                "properties": {"content": {"type": "string"}, "format": {"type": "string"}},
            },
        },
        "named_clipboards": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["name", "content", "tags", "created_at"],
                "properties": {"content": {"type": "string"}, "tags": {"type": "array"}},
            },
        },
        "variables": {"type": "object", "additionalProperties": _STRING_MAP},
        "instance_variables": {
            "type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": _STRING_MAP},
        },
        "dictionaries": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["data", "created_at", "modified_at"],
                "properties": {"data": {"type": "object"}},
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
                "required": ["id", "name", "group_id", "enabled", "use_count", "triggers"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "group_id": {"type": "string"},
                    "enabled": {"type": "boolean"},
                    "use_count": {"type": "integer", "minimum": 0},
                    "triggers": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
        "executions": {"type": "array", "items": {"type": "object"}},
        "notifications": _RECORD_MAP,
        "token_stats": {"type": "object"},
        "counters": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    },
}
