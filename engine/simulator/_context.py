"""What a simulated tool handler gets (the call) and how it fails (ToolFailure)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.simulator._legacy_state import SimState
from engine.suggest import closest

Handler = Callable[["Call"], dict[str, Any]]


class ToolFailure(Exception):
    """A failure the simulated tool reports in its answer (``success: false``).

    Never escapes the simulator: the core turns it into the server's failure
    envelope ``{"success": false, "error": {"code", "message", "recovery_suggestion"}}``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        suggestion: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.suggestion = suggestion
        self.details = details or {}


@dataclass(slots=True)
class Call:
    """One tool call: validated arguments (defaults filled in), the state and the time."""

    tool: str
    args: dict[str, Any]
    state: SimState
    now: datetime
    changed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def timestamp(self) -> str:
        return self.now.isoformat()

    def touch(self) -> None:
        """Mark the state as changed, so it is saved when persistence is on."""
        self.changed = True

    def next_number(self, kind: str) -> int:
        """The next value of a per-kind counter: ids are deterministic, never random."""
        self.touch()
        value = self.state.counters.get(kind, 0) + 1
        self.state.counters[kind] = value
        return value

    def need(self, name: str, why: str, *, blank_ok: bool = False) -> Any:
        """An argument the operation needs; a VALIDATION_ERROR answer if it is missing.

        Empty (or, unless ``blank_ok``, whitespace-only) text counts as missing.
        """
        value = self.args.get(name)
        if value is None or (isinstance(value, str) and not (value if blank_ok else value.strip())):
            operation = self.args.get("operation")
            where = f" for operation '{operation}'" if operation else ""
            raise ToolFailure(
                "VALIDATION_ERROR",
                f"'{name}' is required{where}",
                f"Pass '{name}' ({why}).",
                {"field": name},
            )
        return value


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest choice (:func:`engine.suggest.closest`), to
    end a hint sentence; an empty string when none is close."""
    match = closest(word, choices)
    return f" Did you mean '{match}'?" if match is not None else ""


def choose(call: Call, name: str, choices: Iterable[str]) -> str:
    """A free-text argument that must be one of ``choices`` (the schema does not say so)."""
    allowed = list(choices)
    value = str(call.args.get(name))
    if value not in allowed:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"unknown {name} '{value}'",
            f"Use one of: {', '.join(allowed)}.{did_you_mean(value, allowed)}",
            {"field": name, "allowed": allowed},
        )
    return value


def dispatch(call: Call, operations: Mapping[str, Handler]) -> dict[str, Any]:
    """Run the handler for the call's ``operation`` (an unknown one is a VALIDATION_ERROR)."""
    return operations[choose(call, "operation", operations)](call)
