"""Dry runs: read-only tools run on a scratch simulator, every other call is recorded as
not made, and later steps still see an answer (engine/bridge/dryrun.py)."""

from __future__ import annotations

import asyncio

import pytest

from engine.bridge.dryrun import DryRunBridge
from engine.engine import Engine
from engine.model import RunResult
from engine.runtime import FakeClock, run
from engine.simulator import Simulator

DRY = """api_version: "1.1"
kind: action
name: dry
permissions: [km_calculator, km_variable_manager, km_notifications]
steps:
  - id: calc
    tool: km_calculator
    with: {expression: "6 * 7"}
  - id: store
    tool: km_variable_manager
    with: {operation: set, name: Answer, value: "{{ steps.calc.result.data.result }}"}
  - id: read
    tool: km_variable_manager
    with: {operation: get, name: Answer}
  - tool: km_notifications
    with:
      notification_type: notification
      title: Done
      message: "{{ steps.read.result.data.value }}"
outputs:
  answer: "{{ steps.calc.result.data.result }}"
  stored: "{{ steps.read.result.data.value }}"
"""


def _dry_run(bridge: DryRunBridge) -> RunResult:
    engine = Engine()
    pipeline = engine.compile(engine.load(DRY, file="dry.yaml"))
    return asyncio.run(run(pipeline, bridge=bridge, dry_run=True, clock=FakeClock()))


def test_read_only_calls_run_and_the_others_are_recorded_not_called() -> None:
    bridge = DryRunBridge()
    result = _dry_run(bridge)
    assert result.outputs == {"answer": 42, "stored": "42"}
    ran, recorded = (
        "ran on the simulator (read-only)",
        ("recorded, not called; answered by the simulator"),
    )
    assert result.recorded_calls == [
        {"tool": "km_calculator", "with": {"expression": "6 * 7"}, "called": True, "note": ran},
        {
            "tool": "km_variable_manager",
            "with": {"operation": "set", "name": "Answer", "value": "42"},
            "called": False,
            "note": recorded,
        },
        {  # a read-only operation of a tool that can also write and delete
            "tool": "km_variable_manager",
            "with": {"operation": "get", "name": "Answer"},
            "called": True,
            "note": ran,
        },
        {
            "tool": "km_notifications",
            "with": {"notification_type": "notification", "title": "Done", "message": "42"},
            "called": False,
            "note": recorded,
        },
    ]
    described = result.to_dict()
    assert (described["dry_run"], described["simulated"], described["backend"]) == (
        True,
        True,
        "dry run (simulator; nothing sent to Keyboard Maestro)",
    )
    assert described["recorded_calls"] == result.recorded_calls


READ = """api_version: "1.1"
kind: action
name: read
steps:
  - id: read
    tool: km_variable_manager
    with: {operation: get, name: Answer}
outputs:
  exists: "{{ steps.read.result.data.exists }}"
"""


def test_each_dry_run_starts_from_a_fresh_scratch_simulator() -> None:
    _dry_run(DryRunBridge())  # sets the variable Answer on its own scratch simulator
    engine = Engine()
    reader = engine.compile(engine.load(READ, file="read.yaml"))
    result = asyncio.run(run(reader, bridge=DryRunBridge(), dry_run=True))
    assert result.error is None
    assert result.outputs == {"exists": False}


def test_a_run_that_is_not_a_dry_run_records_nothing() -> None:
    engine = Engine()
    pipeline = engine.compile(engine.load(DRY, file="dry.yaml"))
    result = asyncio.run(run(pipeline, bridge=Simulator()))
    assert (result.dry_run, result.recorded_calls) == (False, None)
    assert "recorded_calls" not in result.to_dict()


WAITS = """api_version: "1.1"
kind: action
name: waits
permissions: [km_calculator]
steps:
  - wait: 30
  - id: calc
    tool: km_calculator
    with: {expression: "1 + 1"}
outputs:
  sum: "{{ steps.calc.result.data.result }}"
"""


def test_a_dry_run_does_not_wait_and_its_trace_shows_the_time_the_wait_takes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float, *args: object) -> None:
        asked.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    engine = Engine()
    pipeline = engine.compile(engine.load(WAITS, file="waits.yaml"))
    result = asyncio.run(run(pipeline, bridge=DryRunBridge(), dry_run=True, trace=True))
    assert result.outputs == {"sum": 2}
    assert asked and set(asked) == {0}  # never asked the event loop to wait
    assert result.trace is not None
    assert result.trace[0]["duration_ms"] >= 30_000
