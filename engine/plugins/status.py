"""Plugin status: the specification's lifecycle, as data (one enum, one table of moves).

Every installed plugin has a :class:`PluginStatus`. A runtime loading the store moves
each plugin through :data:`TRANSITIONS`, and nothing else changes a status::

    unloaded ──load──▶ loading ──checked──▶ loaded ──activate──▶ active
        │                 │                    │
     disable             fail                 fail
        ▼                 ▼                    ▼
    disabled            error ◀────────────────┘

- ``unloaded``: installed, not looked at yet by this process (a server that has not
  noticed an install the command line made a moment ago).
- ``loading``: its files are being checked against the lock, its manifests read and
  checked against the tools in use.
- ``loaded``: its own checks passed; those of the plugins it depends on come next.
- ``active``: it is served: its actions run (a server offers each as a tool), its hooks
  listen.
- ``error``: it cannot be served. Its :attr:`PluginState.error` says why and how to fix
  it: a file changed since install, a manifest that no longer validates against the
  tools, a dependency missing, disabled or in error itself.
- ``disabled``: the user switched it off (``km-actions disable``).

>>> state = PluginState("notes").advance(Step.LOAD).advance(Step.CHECKED)
>>> state.advance(Step.ACTIVATE).status
<PluginStatus.ACTIVE: 'active'>
>>> state.advance(Step.DISABLE)
Traceback (most recent call last):
...
ValueError: a plugin that is loaded cannot disable
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from engine.diagnostics.errors import EngineError


class PluginStatus(enum.Enum):
    """Where a plugin is in its lifecycle (see the module docs)."""

    UNLOADED = "unloaded"
    LOADING = "loading"
    LOADED = "loaded"
    ACTIVE = "active"
    ERROR = "error"
    DISABLED = "disabled"


class Step(enum.Enum):
    """What happens to a plugin while a runtime loads it."""

    LOAD = "load"  # its checks start
    CHECKED = "checked"  # its own checks passed
    ACTIVATE = "activate"  # the plugins it needs are served too: serve it
    FAIL = "fail"  # a check failed: it cannot be served
    DISABLE = "disable"  # the user switched it off: it is not loaded


_S = PluginStatus
TRANSITIONS: Mapping[tuple[PluginStatus, Step], PluginStatus] = MappingProxyType(
    {
        (_S.UNLOADED, Step.LOAD): _S.LOADING,
        (_S.UNLOADED, Step.DISABLE): _S.DISABLED,
        (_S.LOADING, Step.CHECKED): _S.LOADED,
        (_S.LOADING, Step.FAIL): _S.ERROR,
        (_S.LOADED, Step.ACTIVATE): _S.ACTIVE,
        (_S.LOADED, Step.FAIL): _S.ERROR,
    }
)


@dataclass(frozen=True)
class PluginState:
    """One plugin's status, and the error that put it in ``error`` (code, message, hint
    and, for a manifest that does not validate, every located diagnostic)."""

    identifier: str
    status: PluginStatus = PluginStatus.UNLOADED
    error: EngineError | None = None

    def advance(self, step: Step, error: EngineError | None = None) -> PluginState:
        """The state after ``step`` (``error``: why it failed); ``ValueError`` for a move
        the table does not have (a bug in the runtime, never the user's doing)."""
        target = TRANSITIONS.get((self.status, step))
        if target is None:
            raise ValueError(f"a plugin that is {self.status.value} cannot {step.value}")
        return PluginState(self.identifier, target, error if step is Step.FAIL else None)

    def to_dict(self, *, diagnostics: bool = False) -> dict[str, Any]:
        """``{"status": …, "problem": {code, message, hint} | None}`` (with
        ``diagnostics``: the problem's located diagnostics too)."""
        problem: dict[str, Any] | None = None
        if self.error is not None:
            problem = {
                "code": self.error.code,
                "message": self.error.message,
                "hint": self.error.hint or self.error.first.hint,
            }
            if diagnostics and self.error.diagnostics:
                problem["diagnostics"] = [d.to_dict() for d in self.error.diagnostics]
        return {"status": self.status.value, "problem": problem}


def state_of(states: Mapping[str, PluginState], identifier: str, enabled: bool) -> PluginState:
    """The state a runtime gave ``identifier``; one it has not seen is ``unloaded`` (or
    ``disabled``, when it is)."""
    found = states.get(identifier)
    if found is not None:
        return found
    fresh = PluginState(identifier)
    return fresh if enabled else fresh.advance(Step.DISABLE)
