"""The simulator's state: the Mac with Keyboard Maestro, and what the MCP server remembers.

Two parts, saved together (``STATE_SCHEMA``):

- ``keyboard_maestro``: the model of Keyboard Maestro and the Mac around it
  (:class:`engine.simulator.km.state.KMState`): variables, macro groups and macros,
  clipboards, applications and windows. The same model answers the ``osascript``
  stand-in that recorded the real server, so both agree on what Keyboard Maestro does.
- ``server``: what the Keyboard Maestro MCP server process keeps in memory between calls
  (:class:`ServerMemory`): notifications it shows, token counters, the ids it mints, its
  2-second caches and clock, and the plug-ins its action search indexed.

>>> state = SimulatorState.seeded()
>>> [g["name"] for g in state.km.groups]
['Global Macro Group', 'Examples']
>>> state.server.uuid4()
'00000000-0000-4000-8000-000000000001'
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from engine.resources import data_text
from engine.simulator._jsondata import copy_json
from engine.simulator.km.state import KMState

STATE_FORMAT = "km-actions-simulator-state"
STATE_VERSION = 2
# At most this many notifications stay "active" in the server's memory (it never forgets
# them itself; the bound keeps a long-lived simulator's memory and state file flat).
MAX_ACTIVE_NOTIFICATIONS = 500

# How long the server trusts what it read about an application or a window.
CACHE_SECONDS = 2.0

TOKEN_COUNTERS = (
    "total_processed",
    "errors",
    "security_violations",
    "km_calls",
    "km_errors",
    "fallbacks",
)


@dataclass(slots=True)
class ServerMemory:
    """What the Keyboard Maestro MCP server process remembers between calls.

    Ids it mints with uuid4 come from a counter here, so runs are reproducible:
    ``00000000-0000-4000-8000-000000000001``, ``…0002``…
    """

    ids: int = 0
    notifications_shown: int = 0
    notifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_COUNTERS, 0))
    # What it caches for 2 seconds (key -> [value, epoch seconds when read]).
    app_states: dict[str, list[Any]] = field(default_factory=dict)
    windows: dict[str, list[Any]] = field(default_factory=dict)
    # When its last call ended (epoch seconds): its time never runs backwards.
    clock: float = 0.0
    # The installed plug-ins km_search_actions indexed at its first call (None before it):
    # the server builds its search index once per process.
    search_plugins: list[dict[str, Any]] | None = None

    def uuid4(self) -> str:
        """The next id, shaped as ``str(uuid.uuid4())`` is (lower case, version 4)."""
        self.ids += 1
        return str(uuid.UUID(int=self.ids, version=4))

    def count(self, counter: str, by: int = 1) -> None:
        self.tokens[counter] = self.tokens.get(counter, 0) + by

    def cached(self, table: dict[str, list[Any]], key: str, now: float) -> Any:
        """A value read less than ``CACHE_SECONDS`` ago, or None."""
        entry = table.get(key)
        return entry[0] if entry is not None and now - entry[1] < CACHE_SECONDS else None

    def to_json(self) -> dict[str, Any]:
        return {
            "ids": self.ids,
            "notifications_shown": self.notifications_shown,
            "notifications": copy_json(self.notifications),
            "tokens": dict(self.tokens),
            "app_states": copy_json(self.app_states),
            "windows": copy_json(self.windows),
            "clock": self.clock,
            "search_plugins": copy_json(self.search_plugins),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerMemory:
        tokens = dict.fromkeys(TOKEN_COUNTERS, 0)
        tokens.update(data.get("tokens", {}))
        return cls(
            ids=data.get("ids", 0),
            notifications_shown=data.get("notifications_shown", 0),
            notifications=copy_json(data.get("notifications", {})),
            tokens=tokens,
            app_states=copy_json(data.get("app_states", {})),
            windows=copy_json(data.get("windows", {})),
            clock=float(data.get("clock", 0.0)),
            search_plugins=copy_json(data.get("search_plugins")),
        )


@dataclass(slots=True)
class SimulatorState:
    """Everything a simulator knows: the Mac (``km``) and the server's memory."""

    km: KMState
    server: ServerMemory = field(default_factory=ServerMemory)

    @classmethod
    def seeded(cls, seed: dict[str, Any] | None = None) -> SimulatorState:
        """A fresh state from a Keyboard Maestro model document (the shipped example when
        none is given): a fresh server, nothing remembered."""
        document = seed if seed is not None else default_seed()
        return cls(KMState.from_json(document))

    def to_json(self) -> dict[str, Any]:
        """A deep copy as JSON data (the state file's content)."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "keyboard_maestro": self.km.to_json(),
            "server": self.server.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimulatorState:
        """A state from :meth:`to_json` output (already checked against ``STATE_SCHEMA``);
        :class:`engine.simulator.km.state.StateError` if its model part is not one. (A
        ``legacy`` part, which older versions kept for the 2025 server's tools, is left
        out: the current server has no tool that reads it.)"""
        return cls(
            KMState.from_json(data["keyboard_maestro"]),
            ServerMemory.from_json(data.get("server", {})),
        )


def default_seed() -> dict[str, Any]:
    """The example Keyboard Maestro a new simulator starts with (``simulator_seed.json``):
    two macro groups, a few macros, variables, and Finder, Safari and Keyboard Maestro
    running."""
    seed: dict[str, Any] = json.loads(data_text("simulator_seed.json"))
    return seed


_COUNTER = {"type": "integer", "minimum": 0}

# The shape a state file must have; anything else is treated as corrupt. The model part is
# checked by KMState.from_json against its own schema.
STATE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "version", "keyboard_maestro"],
    "properties": {
        "format": {"const": STATE_FORMAT},
        "version": {"type": "integer", "minimum": 1},
        "keyboard_maestro": {"type": "object"},
        "server": {
            "type": "object",
            "properties": {
                "ids": _COUNTER,
                "notifications_shown": _COUNTER,
                "notifications": {
                    "type": "object",
                    "maxProperties": MAX_ACTIVE_NOTIFICATIONS,
                    "additionalProperties": {"type": "object"},
                },
                "tokens": {"type": "object", "additionalProperties": _COUNTER},
                "app_states": {"type": "object", "additionalProperties": {"type": "array"}},
                "windows": {"type": "object", "additionalProperties": {"type": "array"}},
                "clock": {"type": "number"},
                "search_plugins": {"type": ["array", "null"], "items": {"type": "object"}},
            },
        },
    },
}
