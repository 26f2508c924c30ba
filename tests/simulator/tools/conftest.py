"""Fixtures for the rebuilt tools: simulators on the recordings' seed, or a changed one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from engine.simulator import Simulator
from tests.simulator.km_server_answers import load_json

from ..conftest import KM, FakeClock

Machine = Callable[..., KM]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone is UTC (the server writes local times)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def machine(clock: FakeClock) -> Machine:
    """``machine(**system)``: ``km`` on the recordings' default seed (Keyboard Maestro as
    it was recorded), with ``system`` facts of the Mac changed (``osascript=False``,
    ``sounds=[...]``, ``screens=[...]``…) or, given ``seed="engine_stopped"``, another seed."""

    def make(seed: str = "default", **system: Any) -> KM:
        document = load_json(f"seeds/{seed}.json")
        document["system"].update(system)
        return KM(Simulator(seed=document, clock=clock))

    return make


@pytest.fixture
def recorded(machine: Machine) -> KM:
    """``km`` on the recordings' default seed."""
    return machine()
