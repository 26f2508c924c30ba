"""The state of a modelled Keyboard Maestro installation, as plain JSON data.

One JSON document holds what Keyboard Maestro (and the Mac around it) knows: variables,
macro groups with their macros (triggers and actions as plist dictionaries), clipboards,
dictionaries, running applications and their windows, and a log of what was shown,
typed and run. :func:`load_state` checks a document and :meth:`KMState.to_json` writes one.

>>> state = KMState.from_json(EMPTY)
>>> state.to_json()["format"]
'km-model-state'
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from engine.simulator._jsondata import copy_json

STATE_FORMAT = "km-model-state"
STATE_VERSION = 1
KM_VERSION = "11.0.4"
ENGINE_PROCESS = "Keyboard Maestro Engine"
ENGINE_BUNDLE = "com.stairways.keyboardmaestro.engine"
EDITOR_NAME = "Keyboard Maestro"

EMPTY: dict[str, Any] = {"format": STATE_FORMAT, "version": STATE_VERSION}


class StateError(ValueError):
    """A state document that is not a Keyboard Maestro model state."""


@dataclass(slots=True)
class KMState:
    """Everything the model knows. Records are JSON objects; see ``STATE_SCHEMA``."""

    clock: str = "2026-05-04T09:30:15+00:00"  # what the model's clock reads (it never moves)
    keyboard_maestro: dict[str, Any] = field(default_factory=lambda: {"version": KM_VERSION})
    variables: dict[str, str] = field(default_factory=dict)  # global, saved to disk
    password_variables: dict[str, str] = field(default_factory=dict)  # memory only
    instances: dict[str, dict[str, str]] = field(default_factory=dict)  # local/instance
    groups: list[dict[str, Any]] = field(default_factory=list)
    clipboards: list[str] = field(default_factory=list)  # [0] is the current clipboard
    named_clipboards: dict[str, str] = field(default_factory=dict)
    dictionaries: dict[str, dict[str, str]] = field(default_factory=dict)
    system: dict[str, Any] = field(default_factory=dict)
    log: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A deep copy as JSON data."""
        out: dict[str, Any] = dict(EMPTY)
        for f in fields(self):
            out[f.name] = copy_json(getattr(self, f.name))
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KMState:
        """A state from :meth:`to_json` output; :class:`StateError` if it is not one."""
        problem = best_match(_VALIDATOR.iter_errors(data))
        if problem is not None:
            where = "/".join(str(p) for p in problem.absolute_path) or "the document"
            raise StateError(f"not a Keyboard Maestro model state: {where}: {problem.message}")
        values: dict[str, Any] = copy_json(data)
        values.pop("format")
        values.pop("version")
        state = cls(**values)
        state.system.setdefault("processes", [])
        state.system.setdefault("applications", [])
        for kind in LOG_KINDS:
            state.log.setdefault(kind, [])
        return state

    def next_number(self, kind: str) -> int:
        """The next value of a counter (ids the model makes are deterministic)."""
        value = self.counters.get(kind, 0) + 1
        self.counters[kind] = value
        return value

    def new_uid(self) -> str:
        """A fresh upper-case UUID; the first block spells ``KM\\0\\0``, the last counts."""
        return f"4B4D0000-0000-4000-8000-{self.next_number('uid'):012X}"

    def record(self, kind: str, entry: dict[str, Any]) -> None:
        """Append to one of the logs (``LOG_KINDS``), keeping the newest ``MAX_LOG``."""
        entries = self.log.setdefault(kind, [])
        entries.append(entry)
        del entries[:-MAX_LOG]


LOG_KINDS = ("notifications", "alerts", "typed", "executions")
MAX_LOG = 500

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_PLIST_DICTS = {"type": "array", "items": {"type": "object"}}
_MACRO = {
    "type": "object",
    "required": ["uid", "name", "enabled", "triggers", "actions"],
    "properties": {
        "uid": {"type": "string"},
        "name": {"type": "string"},
        "enabled": {"type": "boolean"},
        "created": {"type": "number"},
        "modified": {"type": "number"},
        "triggers": _PLIST_DICTS,
        "actions": _PLIST_DICTS,
    },
}
_GROUP = {
    "type": "object",
    "required": ["uid", "name", "enabled", "active", "macros"],
    "properties": {
        "uid": {"type": "string"},
        "name": {"type": "string"},
        "enabled": {"type": "boolean"},
        "active": {"type": "boolean"},
        "macros": {"type": "array", "items": _MACRO},
    },
}
_WINDOW = {
    "type": "object",
    "required": ["title", "position", "size"],
    "properties": {
        "title": {"type": "string"},
        "position": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
        "size": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
        "minimized": {"type": "boolean"},
        "fullscreen": {"type": "boolean"},
    },
}
_PROCESS = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "bundle_id": {"type": "string"},
        "frontmost": {"type": "boolean"},
        "background_only": {"type": "boolean"},
        "visible": {"type": "boolean"},
        "windows": {"type": "array", "items": _WINDOW},
    },
}
STATE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "version"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": STATE_FORMAT},
        "version": {"const": STATE_VERSION},
        "clock": {"type": "string", "format": "date-time"},
        "keyboard_maestro": {"type": "object", "properties": {"version": {"type": "string"}}},
        "variables": _STRING_MAP,
        "password_variables": _STRING_MAP,
        "instances": {"type": "object", "additionalProperties": _STRING_MAP},
        "groups": {"type": "array", "items": _GROUP},
        "clipboards": {"type": "array", "items": {"type": "string"}},
        "named_clipboards": _STRING_MAP,
        "dictionaries": {"type": "object", "additionalProperties": _STRING_MAP},
        "system": {
            "type": "object",
            "properties": {
                "processes": {"type": "array", "items": _PROCESS},
                "applications": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "bundle_id"],
                        "properties": {
                            "name": {"type": "string"},
                            "bundle_id": {"type": "string"},
                        },
                    },
                },
                "alert_button": {"type": ["string", "null"]},
                # The few folders and files the model knows (engine.simulator.km.files).
                "home": {"type": "string", "pattern": "^/"},
                "cwd": {"type": "string", "pattern": "^/"},
                "folders": {"type": "array", "items": {"type": "string", "pattern": "^/"}},
                "plugin_bundles": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["plist"],
                        "properties": {
                            "plist": {"type": "object"},
                            "script": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "text": {"type": "string"},
                                },
                            },
                            "icon": {"type": "boolean"},
                        },
                    },
                },
            },
        },
        "log": {"type": "object", "additionalProperties": {"type": "array"}},
        "counters": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    },
}
_VALIDATOR = Draft202012Validator(STATE_SCHEMA)
