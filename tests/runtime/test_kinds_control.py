"""Step kinds that steer a run: choose, repeat, wait, emit, fail and return
(engine/runtime/_kinds.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import ErrorKind
from engine.limits import Limits
from engine.model import Pipeline
from engine.runtime import FakeClock
from engine.runtime._state import RunState

from .conftest import Tools, failure, where

# -- choose -----------------------------------------------------------------------------

CHOOSE = """
inputs: {n: {type: integer}}
steps:
  - choose:
      - when: inputs.n < 0
        steps: [{set: {sign: negative}}]
      - when: "{{ inputs.n == 0 }}"
        steps: [{set: {sign: zero}}]
      - when: inputs.n < 100
        steps: [{set: {sign: small}}]
    otherwise:
      - set: {sign: large}
outputs: {sign: "{{ vars.sign }}"}
"""


@pytest.mark.parametrize(
    ("n", "sign"),
    [
        pytest.param(-5, "negative", id="first-case"),
        pytest.param(0, "zero", id="braces-accepted"),
        pytest.param(5, "small", id="first-true-case-wins"),
        pytest.param(500, "large", id="otherwise"),
    ],
)
def test_choose_runs_the_first_matching_case(tools: Tools, n: int, sign: str) -> None:
    assert tools.run(CHOOSE, {"n": n}).outputs == {"sign": sign}


def test_choose_without_a_match_or_otherwise_does_nothing(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - id: pick
            choose:
              - when: false
                steps: [{tool: km_echo, with: {text: never}}]
        outputs: {status: "{{ steps.pick.status }}"}
        """
    )
    assert (result.outputs, tools.calls) == ({"status": "succeeded"}, [])


# -- repeat -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "rounds"),
    [
        pytest.param({"until": "vars.n >= 3"}, [1, 2, 3], id="until"),
        pytest.param({"while": "vars.n < 2"}, [1, 2], id="while"),
        pytest.param({"while": "vars.n > 5"}, [], id="while-false-at-once"),
        pytest.param({"max": 4}, [1, 2, 3, 4], id="max"),
        pytest.param({"until": "vars.n >= 10", "max": 2}, [1, 2], id="max-before-until"),
        pytest.param({"until": True}, [1], id="until-checked-after-a-round"),
    ],
)
def test_repeat(tools: Tools, fields: dict[str, Any], rounds: list[int]) -> None:
    spec = "".join(f"      {key}: {json.dumps(value)}\n" for key, value in fields.items())
    body = (
        'steps:\n  - set: {n: 0, seen: "{{ [] }}"}\n  - repeat:\n'
        + spec
        + "      steps:\n"
        + '        - set: {n: "{{ vars.n + 1 }}", seen: "{{ vars.seen + [loop.index] }}"}\n'
        + 'outputs: {seen: "{{ vars.seen }}"}\n'
    )
    assert tools.run(body).outputs == {"seen": rounds}


def test_repeat_stops_at_the_profile_loop_limit(tools: Tools) -> None:
    body = """
    steps:
      - set: {n: 0}
      - id: forever
        repeat:
          until: vars.n < 0
          steps: [{set: {n: "{{ vars.n + 1 }}"}}]
    outputs: {n: "{{ vars.n }}"}
    """
    error = failure(tools.run(body, limits=Limits(max_loop_iterations=5)))
    assert where(error) == ("limit-exceeded", "forever", "t.yaml:7:5", "$.steps[1]")
    assert error.message == "the repeat ran 5 rounds without ending (limit max_loop_iterations)"
    assert error.hint == "check the `until`/`while` condition, or set `max:`"


def test_repeat_max_above_the_profile_limit_still_stops_at_the_limit(tools: Tools) -> None:
    body = "steps:\n  - repeat: {max: 50, steps: [{set: {x: 1}}]}\n"
    error = failure(tools.run(body, limits=Limits(max_loop_iterations=10)))
    assert (error.kind, error.details) == (
        ErrorKind.LIMIT_EXCEEDED,
        {"limit": "max_loop_iterations", "value": 10},
    )


# -- wait -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "inputs", "slept"),
    [
        pytest.param("1.5", {}, [1.5], id="number"),
        pytest.param('"{{ inputs.d }}"', {"d": "2"}, [2.0], id="text-from-template"),
        pytest.param('"{{ inputs.d }}"', {"d": 3}, [3.0], id="number-from-template"),
    ],
)
def test_wait_sleeps_on_the_run_clock(
    tools: Tools, clock: FakeClock, wait: str, inputs: dict[str, Any], slept: list[float]
) -> None:
    body = f"inputs: {{d: {{type: any, required: false}}}}\nsteps:\n  - wait: {wait}\n"
    result = tools.run(body, inputs, clock=clock)
    assert (result.ok, clock.sleeps) == (True, slept)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(True, "`wait` needs a number of seconds, got true", id="boolean"),
        pytest.param([1], "`wait` needs a number of seconds, got [1]", id="list"),
        pytest.param(None, "`wait` needs a number of seconds, got null", id="null"),
        pytest.param("soon", '`wait` needs a number of seconds, got "soon"', id="word"),
        pytest.param(0, "`wait` needs more than 0 seconds, got 0", id="zero"),
        pytest.param(-1, "`wait` needs more than 0 seconds, got -1", id="negative"),
        pytest.param("nan", '`wait` needs more than 0 seconds, got "nan"', id="nan"),
    ],
)
def test_wait_refuses_values_that_are_not_seconds(
    tools: Tools, clock: FakeClock, value: Any, message: str
) -> None:
    body = (
        "inputs: {d: {type: any, required: false}}\n"
        "steps:\n  - id: pause\n    wait: '{{ inputs.d }}'\n"
    )
    error = failure(tools.run(body, {"d": value}, clock=clock))
    assert where(error) == ("invalid-arguments", "pause", "t.yaml:6:5", "$.steps[0]")
    assert error.message == message
    assert error.hint == (
        'give a number of seconds above 0, e.g. `wait: 1.5` or `wait: "{{ inputs.delay }}"`'
    )
    assert clock.sleeps == []


def test_wait_longer_than_max_wait(tools: Tools, clock: FakeClock) -> None:
    error = failure(
        tools.run("steps:\n  - id: nap\n    wait: 10\n", clock=clock, limits=Limits(max_wait=5))
    )
    assert where(error) == ("limit-exceeded", "nap", "t.yaml:5:5", "$.steps[0]")
    assert error.message == "the step waits 10 s (limit max_wait: 5 s)"
    assert clock.sleeps == []


# -- emit -------------------------------------------------------------------------------


class Sink:
    """An EventSink that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any, str]] = []

    async def emit(self, name: str, data: Any, *, source: Pipeline, state: RunState) -> None:
        self.received.append((name, data, source.name))


EMIT = """
inputs: {who: {type: string}}
steps:
  - id: told
    emit: clipboard-cleaned
    with: {by: "{{ inputs.who }}", count: "{{ 2 }}"}
outputs: {result: "{{ steps.told.result }}"}
"""


def test_emit_sends_name_and_data_to_the_event_sink(tools: Tools) -> None:
    sink = Sink()
    result = tools.run(EMIT, {"who": "Ann"}, events=sink)
    assert sink.received == [("clipboard-cleaned", {"by": "Ann", "count": 2}, "t")]
    assert result.outputs == {
        "result": {"event": "clipboard-cleaned", "data": {"by": "Ann", "count": 2}}
    }


def test_emit_without_an_event_sink_still_succeeds(tools: Tools) -> None:
    result = tools.run(EMIT, {"who": "Bo"})
    assert result.outputs == {
        "result": {"event": "clipboard-cleaned", "data": {"by": "Bo", "count": 2}}
    }


class BrokenSink:
    """An EventSink with a bug in it."""

    async def emit(self, name: str, data: Any, *, source: Pipeline, state: RunState) -> None:
        raise RuntimeError("hook store is broken")


def test_a_broken_event_sink_fails_the_emit_step_not_the_process(tools: Tools) -> None:
    error = failure(tools.run(EMIT, {"who": "Ann"}, events=BrokenSink()))
    assert where(error) == ("failed", "told", "t.yaml:7:5", "$.steps[0]")
    assert error.message == (
        "the event `clipboard-cleaned` could not be delivered: RuntimeError: hook store is broken"
    )
    assert error.hint == "this is a fault in the hooks that listen for it, not in this action"


# -- fail -------------------------------------------------------------------------------


def test_fail_stops_the_action_with_its_rendered_message(tools: Tools) -> None:
    result = tools.run(
        """
        inputs: {name: {type: string}}
        steps:
          - id: stop
            fail: "no macro called {{ inputs.name }}"
          - tool: km_echo
            with: {text: never}
        """,
        {"name": "Tidy"},
    )
    error = failure(result)
    assert where(error) == ("failed", "stop", "t.yaml:7:5", "$.steps[0]")
    assert error.message == "no macro called Tidy"
    assert (tools.calls, result.outputs) == ([], {})


# -- return -----------------------------------------------------------------------------


def test_return_from_nested_steps_stops_the_action_with_projected_outputs(
    tools: Tools,
) -> None:
    result = tools.run(
        """
        steps:
          - choose:
              - when: true
                steps:
                  - return: {done: true}
          - tool: km_echo
            with: {text: never}
        outputs: {done: false, missing: "{{ 1 }}"}
        """,
    )
    assert result.outputs == {"done": True, "missing": None}
    assert tools.calls == []


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        pytest.param("outputs: {a: 0}\n", {"a": 1}, id="undeclared-dropped"),
        pytest.param("", {"a": 1, "b": [2]}, id="no-outputs-section"),
    ],
)
def test_return_projection_at_run_time(
    tools: Tools, outputs: str, expected: dict[str, Any]
) -> None:
    # The validator refuses undeclared names; the runtime projects anyway.
    body = "steps:\n  - return: {a: 1, b: '{{ [2] }}'}\n" + outputs
    assert tools.run(tools.compile(body, check=False)).outputs == expected


def test_return_from_inside_a_foreach_ends_the_loop_and_the_action(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - foreach: [a, b, c]
            steps:
              - tool: km_echo
                with: {text: "{{ item }}"}
              - if: item == 'b'
                return: {stopped_at: "{{ loop.index }}"}
        outputs: {stopped_at: null}
        """
    )
    assert result.outputs == {"stopped_at": 2}
    assert tools.calls == [("km_echo", {"text": "a"}), ("km_echo", {"text": "b"})]


def test_return_from_a_parallel_branch_cancels_the_others(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - parallel:
              - steps:
                  - tool: km_gate
                    with: {name: waiting, wait_for: never}
              - steps:
                  - return: {winner: second}
          - set: {after: true}
        outputs: {winner: null}
        """
    )
    assert result.outputs == {"winner": "second"}
    assert tools.cancelled == ["waiting"]


def test_return_in_a_called_action_ends_only_that_action(tools: Tools) -> None:
    library = tools.library(
        early="steps:\n  - return: {v: early}\n  - fail: never\noutputs: {v: late}\n"
    )
    pipeline = tools.compile(
        """
        steps:
          - id: call
            action: early
          - set: {after: "{{ steps.call.result.v }} then more"}
        outputs: {after: "{{ vars.after }}"}
        """,
        library=library,
    )
    assert tools.run(pipeline, resolver=library).outputs == {"after": "early then more"}
