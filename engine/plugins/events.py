"""What the store tells the outside world after a change commits (hooks listen here).

>>> seen = []
>>> notify(seen.append, StoreEvent("installed", "demo", "1.0.0"))
[]
>>> seen[0].data
{'version': '1.0.0', 'previous_version': None}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StoreEvent:
    """``installed``, ``upgraded``, ``uninstalled``, ``configured``, ``enabled`` or
    ``disabled``, for one plugin."""

    name: str
    plugin: str
    version: str | None = None
    previous_version: str | None = None
    # The recorded origin of a plugin the change removed: once its record is gone, who
    # installed it can no longer be looked up (see engine.plugins.hooks, strangers).
    origin: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The event's data as hooks see it (``event.data``)."""
        return {"version": self.version, "previous_version": self.previous_version}


EventCallback = Callable[[StoreEvent], None]


def notify(callback: EventCallback | None, *events: StoreEvent) -> list[str]:
    """Give each event to ``callback``; a failing callback never undoes the change, so its
    errors come back as warnings (one line each)."""
    warnings: list[str] = []
    if callback is None:
        return warnings
    for event in events:
        try:
            callback(event)
        except Exception as exc:  # a listener's failure must not fail a committed change
            warnings.append(f"the {event.name} event of '{event.plugin}' failed: {exc}")
    return warnings
