"""Fixtures for the simulator tests: a clock that only moves when told, and a fresh simulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.simulator import Simulator

START = datetime(2026, 5, 4, 9, 30, 15, tzinfo=UTC)  # a Monday


@dataclass
class FakeClock:
    """Returns the same moment until :meth:`advance` moves it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class KM:
    """Calls tools on a simulator and checks the envelope of the answer."""

    sim: Simulator
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """The raw answer."""
        self.calls.append((tool, arguments))
        return self.sim.call(tool, arguments)

    def ok(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """The ``data`` of a successful answer (fails the test otherwise)."""
        answer = self(tool, **arguments)
        assert answer["success"] is True, answer
        return dict(answer["data"])

    def fails(self, tool: str, code: str, **arguments: Any) -> dict[str, Any]:
        """The ``error`` of a failed answer with this code (fails the test otherwise)."""
        answer = self(tool, **arguments)
        assert answer["success"] is False, answer
        error = dict(answer["error"])
        assert error["code"] == code, error
        assert error["message"] and error["recovery_suggestion"]
        return error


@pytest.fixture
def clock() -> FakeClock:
    """A clock fixed at Monday 2026-05-04 09:30:15 UTC."""
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    """A simulator in its example state, on the fixed clock, without a state file."""
    return Simulator(clock=clock)


@pytest.fixture
def km(sim: Simulator) -> KM:
    """``km.ok(tool, **args)`` / ``km.fails(tool, code, **args)`` on the ``sim`` fixture."""
    return KM(sim)
