"""Step kinds that steer a run: choose, repeat, wait, emit, fail and return
(each in its module of engine/steps/kinds/)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.diagnostics.errors import CompileError, ErrorKind
from engine.lang.limits import Limits
from engine.run import FakeClock
from engine.run._state import RunState
from engine.run.model import Pipeline

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
        pytest.param(True, "`wait` must be a number, but `{{ inputs.d }}` gave true", id="boolean"),
        pytest.param(
            [1], "`wait` must be a number, but `{{ inputs.d }}` gave a list ([1])", id="list"
        ),
        pytest.param(None, "`wait` must be a number, but `{{ inputs.d }}` gave null", id="null"),
        pytest.param(
            "soon", '`wait` must be a number, but `{{ inputs.d }}` gave text ("soon")', id="word"
        ),
        pytest.param(0, "`wait` must be a number above 0, but `{{ inputs.d }}` gave 0", id="zero"),
        pytest.param(
            -1, "`wait` must be a number above 0, but `{{ inputs.d }}` gave -1", id="negative"
        ),
        pytest.param(
            "nan", '`wait` must be a number, but `{{ inputs.d }}` gave text ("nan")', id="nan"
        ),
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
    assert where(error) == ("invalid-arguments", "pause", "t.yaml:7:11", "$.steps[0].wait")
    assert error.message == message
    assert error.hint == "make the template give a number above 0, or write the number itself"
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("written", "message"),
    [
        pytest.param(
            "[1]", "`max` of `repeat` must be a whole number, not a list ([1])", id="list"
        ),
        pytest.param("true", "`max` of `repeat` must be a whole number, not true", id="boolean"),
        pytest.param("0", "`max` of `repeat` must be a whole number at least 1, not 0", id="zero"),
    ],
)
def test_a_written_number_that_validation_would_refuse_does_not_compile(
    tools: Tools, written: str, message: str
) -> None:
    """(Compiled without validation, as `validation_level: none` does.)"""
    body = f"steps:\n  - repeat: {{max: {written}, steps: [{{set: {{a: 1}}}}]}}\n"
    with pytest.raises(CompileError) as refused:
        tools.compile(body, check=False)
    assert (str(refused.value.first), refused.value.first.path) == (
        f"t.yaml:5:19: error[compile-error]: {message}",
        ("steps", 0, "repeat", "max"),
    )


@pytest.mark.parametrize(
    ("step", "where", "column"),
    [
        pytest.param("set: oops", ("set",), 10, id="set"),
        pytest.param("return: oops", ("return",), 13, id="return"),
        pytest.param("{tool: km_list_macros, with: oops}", ("with",), 34, id="tool-with"),
        pytest.param("{emit: done, with: oops}", ("with",), 24, id="emit-with"),
        pytest.param("parallel: oops", ("parallel",), 15, id="parallel"),
        pytest.param("choose: oops", ("choose",), 13, id="choose"),
        pytest.param("repeat: oops", ("repeat",), 13, id="repeat"),
    ],
)
def test_a_malformed_step_after_one_that_stops_the_action_does_not_compile(
    tools: Tools, step: str, where: tuple[str, ...], column: int
) -> None:
    """Validation warns that such a step never runs and does not check it further; the
    compiler refuses it where it is (it raised AttributeError or TypeError before)."""
    with pytest.raises(CompileError) as refused:
        tools.compile(f"steps:\n  - return: {{}}\n  - {step}\n")
    assert (str(refused.value.first), refused.value.first.path) == (
        f"t.yaml:6:{column}: error[compile-error]: only a valid action manifest can be compiled",
        ("steps", 1, *where),
    )


# -- a step's numbers may be templates (docs/reference.md, "Numbers from templates") -----


@pytest.mark.parametrize(
    ("times", "rounds"),
    [
        pytest.param(3, [1, 2, 3], id="number"),
        pytest.param("2", [1, 2], id="text-holding-a-whole-number"),
        pytest.param(1.0, [1], id="a-whole-float"),
    ],
)
def test_repeat_max_from_a_template(tools: Tools, times: Any, rounds: list[int]) -> None:
    body = """
    inputs: {times: {type: any}}
    steps:
      - set: {seen: "{{ [] }}"}
      - repeat:
          max: "{{ inputs.times }}"
          steps: [{set: {seen: "{{ vars.seen + [loop.index] }}"}}]
    outputs: {seen: "{{ vars.seen }}"}
    """
    assert tools.run(body, {"times": times}).outputs == {"seen": rounds}


@pytest.mark.parametrize(
    ("times", "message"),
    [
        pytest.param(
            "three",
            "`max` of `repeat` must be a whole number, but `{{ inputs.times }}` gave text "
            '("three")',
            id="word",
        ),
        pytest.param(
            2.5,
            "`max` of `repeat` must be a whole number, but `{{ inputs.times }}` gave 2.5",
            id="fraction",
        ),
        pytest.param(
            0,
            "`max` of `repeat` must be a whole number at least 1, but `{{ inputs.times }}` gave 0",
            id="zero",
        ),
        pytest.param(
            [2],
            "`max` of `repeat` must be a whole number, but `{{ inputs.times }}` gave a list ([2])",
            id="list",
        ),
    ],
)
def test_repeat_max_from_a_template_is_checked_when_the_step_runs(
    tools: Tools, times: Any, message: str
) -> None:
    body = """
    inputs: {times: {type: any}}
    steps:
      - id: again
        repeat:
          max: "{{ inputs.times }}"
          steps: [{tool: km_echo, with: {text: hi}}]
    """
    error = failure(tools.run(body, {"times": times}))
    assert where(error) == ("invalid-arguments", "again", "t.yaml:9:12", "$.steps[0].repeat.max")
    assert (error.message, error.hint) == (
        message,
        "make the template give a whole number at least 1, or write the number itself",
    )
    assert tools.calls == []


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
