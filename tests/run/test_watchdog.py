"""Cancellation and run timeouts (engine/run/_watchdog.py and the run around it)."""

from __future__ import annotations

import asyncio

import pytest

from engine.lang.limits import Limits
from engine.run.model import RunResult, RunStatus

from .conftest import Tools

WAIT_FOREVER = """
steps:
  - id: stuck
    tool: km_gate
    with: {name: started, wait_for: never}
"""

PARALLEL_FOREVER = """
steps:
  - parallel:
      - steps: [{tool: km_gate, with: {name: left, wait_for: never}}]
      - steps: [{tool: km_gate, with: {name: right, wait_for: never}}]
"""


@pytest.mark.parametrize(
    ("body", "started", "cancelled"),
    [
        pytest.param(WAIT_FOREVER, "started", ["started"], id="one-step"),
        pytest.param(PARALLEL_FOREVER, "right", ["left", "right"], id="parallel-branches"),
        pytest.param(
            WAIT_FOREVER + "    timeout: 600\n    retry: {max_attempts: 3, on: [timeout]}\n"
            "    continue_on_error: true\n",
            "started",
            ["started"],
            id="wrapped-step",
        ),
    ],
)
def test_cancelling_the_run_propagates_and_leaves_no_task(
    tools: Tools, body: str, started: str, cancelled: list[str]
) -> None:
    pipeline = tools.compile(body)

    async def scenario() -> None:
        task = asyncio.create_task(tools.run_async(pipeline))
        await tools.event(started).wait()
        await asyncio.sleep(0)  # let every branch reach its wait
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(scenario())
    assert sorted(tools.cancelled) == cancelled


def test_a_run_timeout_is_a_timeout_not_a_cancellation(tools: Tools) -> None:
    pipeline = tools.compile("timeout: 0.05\n" + PARALLEL_FOREVER)

    async def scenario() -> RunResult:
        result = await tools.run_async(pipeline)
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
        await asyncio.sleep(0)  # the task goes on normally: no cancellation is pending
        assert asyncio.all_tasks() == {task}
        return result

    result = asyncio.run(scenario())
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert (result.error.kind.value, result.error.message) == (
        "timeout",
        "the action took longer than 0.05 s and was stopped",
    )
    assert sorted(tools.cancelled) == ["left", "right"]


@pytest.mark.parametrize(
    "wrappers",
    [
        pytest.param("    continue_on_error: true\n", id="continue_on_error"),
        pytest.param("    catch: [{set: {caught: true}}]\n", id="catch"),
        pytest.param("    retry: {max_attempts: 5, interval: 0, on: [timeout]}\n", id="retry"),
    ],
)
def test_no_step_field_swallows_the_run_timeout(tools: Tools, wrappers: str) -> None:
    result = tools.run("timeout: 0.05\n" + WAIT_FOREVER + wrappers)
    assert result.error is not None
    assert (result.error.kind.value, result.error.details) == (
        "timeout",
        {"limit": "run_timeout", "value": 0.05},
    )
    assert [name for name, _ in tools.calls] == ["km_gate"]


def test_one_run_timing_out_does_not_stop_another(tools: Tools) -> None:
    slow = tools.compile("timeout: 0.05\n" + WAIT_FOREVER)
    quick = tools.compile(
        """
        steps:
          - tool: km_gate
            with: {name: quick, wait_for: started}
        outputs: {ok: true}
        """
    )

    async def scenario() -> list[RunResult]:
        return list(await asyncio.gather(tools.run_async(slow), tools.run_async(quick)))

    timed_out, finished = asyncio.run(scenario())
    assert timed_out.error is not None and timed_out.error.kind.value == "timeout"
    assert (finished.ok, finished.outputs) == (True, {"ok": True}), finished.error


def test_a_run_that_ends_in_time_is_not_stopped_later(tools: Tools) -> None:
    pipeline = tools.compile("steps:\n  - tool: km_echo\n    with: {text: hi}\n")

    async def scenario() -> RunResult:
        result = await tools.run_async(pipeline, limits=Limits(run_timeout=0.01))
        await asyncio.sleep(0.03)  # past the deadline: nothing may cancel this task now
        return result

    assert asyncio.run(scenario()).ok
