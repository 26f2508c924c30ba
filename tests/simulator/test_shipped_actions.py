"""Every shipped action has the same outcome on the simulator as through the real server.

``tests/data/km_server/actions/`` holds each run of ``RUNS`` (tests/simulator/km_server_actions.py)
as recorded through the real Keyboard Maestro MCP server by
``scripts/km_server/record_actions.py``: status, outputs, error and every call with the
server's answer. Here the same run goes to a simulator built from the same seed (without
osascript where the recording had none), and the outcomes are compared value by value,
except what changes from run to run (run-time ids, clocks and durations: by format).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from engine.simulator import Simulator
from tests.simulator.km_server_actions import (
    RUNS,
    SEED,
    Run,
    compare_outcomes,
    load_recordings,
    run_action,
    shipped_actions,
)
from tests.simulator.km_server_answers import load_json

RECORDED = load_recordings()


def _simulator(run: Run) -> Simulator:
    seed = load_json(f"seeds/{SEED}.json")
    if not run.standin:
        seed["system"]["osascript"] = False  # recorded on a machine without osascript
    moment = datetime.fromisoformat(seed["clock"])  # the stand-in's clock stood still
    return Simulator(seed=seed, clock=lambda: moment)


@pytest.mark.parametrize("run", [pytest.param(r, id=r.name) for r in RUNS])
def test_the_simulator_gives_the_real_servers_outcome(run: Run) -> None:
    recorded: dict[str, Any] = RECORDED[run.name]
    assert {k: v for k, v in recorded.items() if k not in ("outcome", "server_commit")} == (
        run.to_dict()
    ), "the recording is of another run: re-record it (tests/data/km_server/README.md)"
    ours = asyncio.run(run_action(run, _simulator(run)))
    assert compare_outcomes(recorded["outcome"], ours) == []


def test_every_shipped_action_is_run_and_every_run_recorded() -> None:
    assert sorted({r.file for r in RUNS}) == shipped_actions()
    assert sorted(RECORDED) == sorted(r.name for r in RUNS)


def test_the_runs_end_as_the_recordings_say() -> None:
    """What the recordings hold, in brief (a failed run of the table would make the
    comparison above vacuous): each shipped action succeeds on the seed, and the runs
    without osascript fail with the server's code."""
    outcomes = {name: r["outcome"] for name, r in RECORDED.items()}
    failed = {
        name: o["error"]["code"] for name, o in outcomes.items() if o["status"] != "succeeded"
    }
    assert failed == {
        "title-case-variable-empty": None,
        "title-case-variable-no-osascript": "KM_VARIABLE_FAILED",
        "clipboard-report-no-osascript": "KM_CONNECTION_FAILED",
    }
    assert outcomes["title-case-variable"]["outputs"] == {"text": "Hello From Km-Actions"}
    assert outcomes["clipboard-report"]["outputs"]["longer"] == "clipboard"
    assert outcomes["save-note"]["outputs"] == {"saved": "2026-05-04 09:30 milk, eggs", "count": 1}
