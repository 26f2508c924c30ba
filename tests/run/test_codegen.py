"""The common step fields: if, timeout, retry, catch and continue_on_error (written
around each step by engine/run/_codegen.py)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.lang.limits import Limits
from engine.run import FakeClock

from .conftest import FAILURE, Tools, failure, where

# -- if ---------------------------------------------------------------------------------

IF = """
inputs: {go: {type: boolean}}
steps:
  - id: maybe
    if: inputs.go
    tool: km_echo
    with: {text: ran}
outputs:
  status: "{{ steps.maybe.status }}"
  result: "{{ steps.maybe.result }}"
  skipped: "{{ steps.maybe.status == 'skipped' }}"
"""


@pytest.mark.parametrize(
    ("go", "outputs", "calls"),
    [
        pytest.param(
            True,
            {
                "status": "succeeded",
                "result": {"success": True, "data": {"text": "ran"}},
                "skipped": False,
            },
            [("km_echo", {"text": "ran"})],
            id="true-runs",
        ),
        pytest.param(
            False,
            {"status": "skipped", "result": None, "skipped": True},
            [],
            id="false-skips",
        ),
    ],
)
def test_if(tools: Tools, go: bool, outputs: dict[str, Any], calls: list[tuple[str, Any]]) -> None:
    result = tools.run(IF, {"go": go})
    assert (result.outputs, tools.calls) == (outputs, calls)


def test_a_skipped_step_does_not_count_its_inner_steps(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - if: "{{ false }}"
            foreach: [1, 2]
            steps: [{tool: km_echo, with: {text: x}}]
          - if: false
            fail: never
        """
    )
    assert (result.ok, result.steps_run, tools.calls) == (True, 2, [])


def test_an_if_that_cannot_be_evaluated_fails_its_step_pointing_at_the_if(tools: Tools) -> None:
    body = (
        "inputs: {v: {type: any}}\nsteps:\n  - id: check\n    if: inputs.v > 1\n    set: {x: 1}\n"
    )
    error = failure(tools.run(body, {"v": "text"}))
    assert where(error) == ("expression-error", "check", "t.yaml:7:9", "$.steps[0].if")
    assert error.message == "cannot compare text with a whole number using `>`"


@pytest.mark.parametrize(
    "recovery",
    [
        pytest.param("    catch:\n      - set: {why: '{{ error.message }}'}\n", id="catch"),
        pytest.param("    continue_on_error: true\n", id="continue-on-error"),
    ],
)
def test_a_failing_if_is_a_failure_the_step_recovers_from(tools: Tools, recovery: str) -> None:
    """The reference: with `catch` or `continue_on_error`, a failure of any kind is
    recorded and the action goes on (an `if:` that fails too; it is not retried)."""
    body = (
        "inputs: {v: {type: any}}\nsteps:\n  - id: check\n    if: inputs.v > 1\n"
        "    set: {x: 1}\n    retry: {max_attempts: 3, on: [expression-error]}\n"
        + recovery
        + "outputs:\n  status: '{{ steps.check.status }}'\n  kind: '{{ steps.check.error.kind }}'\n"
    )
    result = tools.run(body, {"v": "text"})
    assert result.error is None
    assert result.outputs == {"status": "failed", "kind": "expression-error"}
    assert result.steps_run == (2 if "catch" in recovery else 1)


# -- timeout ----------------------------------------------------------------------------


def test_a_step_slower_than_its_timeout_fails_with_kind_timeout(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - id: slow
            tool: km_slow
            with: {seconds: 30}
            timeout: 0.05
        """
    )
    error = failure(result)
    assert where(error) == ("timeout", "slow", "t.yaml:6:5", "$.steps[0]")
    assert error.message == "the step took longer than its timeout of 0.05 s"
    assert error.hint == "raise `timeout:` on the step, or find out why the tool is slow"
    assert error.details == {"timeout": 0.05}
    assert tools.cancelled == ["km_slow"]


def test_a_step_timeout_is_capped_by_the_profile_step_timeout(tools: Tools) -> None:
    body = "steps:\n  - id: slow\n    tool: km_slow\n    with: {seconds: 30}\n    timeout: 600\n"
    error = failure(tools.run(body, limits=Limits(step_timeout=0.05)))
    assert (error.kind.value, error.message, error.details) == (
        "timeout",
        "the step took longer than its timeout of 0.05 s",
        {"timeout": 0.05},
    )


def test_a_step_timeout_from_a_template(tools: Tools) -> None:
    body = """
    inputs: {seconds: {type: number}}
    steps:
      - id: slow
        tool: km_slow
        with: {seconds: 30}
        timeout: "{{ inputs.seconds / 2 }}"
    """
    error = failure(tools.run(body, {"seconds": 0.1}))
    assert (error.kind.value, error.message) == (
        "timeout",
        "the step took longer than its timeout of 0.05 s",
    )
    error = failure(tools.run(body, {"seconds": -2}))
    assert where(error) == ("invalid-arguments", "slow", "t.yaml:10:14", "$.steps[0].timeout")
    assert error.message == (
        "`timeout` must be a number above 0 and at most 86400, but "
        "`{{ inputs.seconds / 2 }}` gave -1.0"
    )


def test_a_fast_step_within_its_timeout_succeeds(tools: Tools) -> None:
    body = "steps:\n  - id: quick\n    tool: km_echo\n    with: {text: hi}\n    timeout: 30\n"
    assert tools.run(body).ok


def test_a_timed_out_step_can_be_caught(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - id: slow
            tool: km_slow
            with: {seconds: 30}
            timeout: 0.05
            catch:
              - set: {why: "{{ error.kind }}: {{ error.message }}"}
        outputs: {why: "{{ vars.why }}", status: "{{ steps.slow.status }}"}
        """
    )
    assert result.outputs == {
        "why": "timeout: the step took longer than its timeout of 0.05 s",
        "status": "failed",
    }


# -- retry ------------------------------------------------------------------------------


def _flaky(retry: str) -> str:
    return f"steps:\n  - id: flaky\n    tool: km_flaky\n    retry: {retry}\n" + (
        'outputs: {data: "{{ steps.flaky.result.data }}"}\n'
    )


def test_retry_until_the_tool_succeeds(tools: Tools, clock: FakeClock) -> None:
    tools.flaky_failures = 2
    result = tools.run(
        _flaky("{max_attempts: 3, interval: 0.5, backoff_rate: 2}"), clock=clock, trace=True
    )
    assert result.outputs == {"data": {"ok": True}}
    assert (len(tools.calls), clock.sleeps) == (3, [0.5, 1.0])
    assert result.trace is not None
    assert [(e["status"], e["attempts"]) for e in result.trace] == [
        ("retrying", 1),
        ("retrying", 2),
        ("succeeded", 3),
    ]


def test_retry_gives_up_after_max_attempts(tools: Tools, clock: FakeClock) -> None:
    tools.flaky_failures = 10
    error = failure(tools.run(_flaky("{max_attempts: 4, interval: 1}"), clock=clock))
    assert where(error) == ("tool-failed", "flaky", "t.yaml:5:5", "$.steps[0]")
    assert error.details["attempts"] == 4
    assert (len(tools.calls), clock.sleeps) == (4, [1.0, 2.0, 4.0])


def test_retry_numbers_from_templates(tools: Tools, clock: FakeClock) -> None:
    tools.flaky_failures = 10
    body = "inputs: {n: {type: integer}, wait: {type: any}}\n" + _flaky(
        '{max_attempts: "{{ inputs.n }}", interval: "{{ inputs.wait }}", backoff_rate: 1}'
    )
    error = failure(tools.run(body, {"n": 3, "wait": "0.5"}, clock=clock))
    assert (error.details["attempts"], clock.sleeps) == (3, [0.5, 0.5])


def test_a_templated_retry_number_that_does_not_fit_fails_the_step_unretried(
    tools: Tools, clock: FakeClock
) -> None:
    tools.flaky_failures = 10
    body = "inputs: {n: {type: integer}}\n" + _flaky('{max_attempts: "{{ inputs.n }}"}')
    error = failure(tools.run(body, {"n": 11}, clock=clock))
    assert where(error) == (
        "invalid-arguments",
        "flaky",
        "t.yaml:8:27",
        "$.steps[0].retry.max_attempts",
    )
    assert error.message == (
        "`max_attempts` of `retry` must be a whole number from 1 to 10, but "
        "`{{ inputs.n }}` gave 11"
    )
    assert (tools.calls, clock.sleeps) == ([], [])


def test_retry_delays_are_capped_by_max_delay(tools: Tools, clock: FakeClock) -> None:
    tools.flaky_failures = 10
    tools.run(_flaky("{max_attempts: 4, interval: 1, backoff_rate: 10, max_delay: 5}"), clock=clock)
    assert clock.sleeps == [1.0, 5.0, 5.0]


def test_retry_jitter_moves_each_delay_but_never_past_max_delay(tools: Tools) -> None:
    tools.flaky_failures = 10
    clock = FakeClock(randoms=[0.0, 1.0, 1.0])
    retry = "{max_attempts: 4, interval: 1, backoff_rate: 3, max_delay: 5, jitter: 0.5}"
    tools.run(_flaky(retry), clock=clock)
    # 1 × (1 - 0.5), 3 × (1 + 0.5), min(5 × (1 + 0.5), 5)
    assert clock.sleeps == [0.5, 4.5, 5.0]


@pytest.mark.parametrize(
    ("step", "on", "kind", "attempts"),
    [
        pytest.param("tool: km_fail", "[timeout]", "tool-failed", 1, id="kind-not-listed"),
        pytest.param("tool: km_fail", "[tool-failed]", "tool-failed", 3, id="kind-listed"),
        pytest.param("fail: stop", "[failed]", "failed", 3, id="fail-step-retried"),
        pytest.param(
            "tool: km_add\n    with: {a: x, b: 1}",
            None,
            "invalid-arguments",
            1,
            id="default-skips-invalid-arguments",
        ),
        pytest.param("tool: km_raise", None, "tool-failed", 3, id="default-retries-tool-failed"),
    ],
)
def test_retry_on_filters_error_kinds(
    tools: Tools, clock: FakeClock, step: str, on: str | None, kind: str, attempts: int
) -> None:
    retry = "{max_attempts: 3, interval: 1" + (f", on: {on}" if on else "") + "}"
    pipeline = tools.compile(f"steps:\n  - id: s\n    {step}\n    retry: {retry}\n", check=False)
    error = failure(tools.run(pipeline, clock=clock))
    assert error.kind.value == kind
    assert len(clock.sleeps) == attempts - 1
    assert error.details.get("attempts", 1) == attempts


# -- catch ------------------------------------------------------------------------------


def test_catch_runs_with_the_error_in_scope_and_the_action_goes_on(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - id: read
            tool: km_fail
            catch:
              - set:
                  seen: >-
                    {{ {'kind': error.kind, 'message': error.message, 'step': error.step,
                    'code': error.code, 'suggestion': error.suggestion} }}
          - tool: km_echo
            with: {text: after}
        outputs:
          seen: "{{ vars.seen }}"
          status: "{{ steps.read.status }}"
          error: "{{ steps.read.error }}"
        """
    )
    described = {
        "kind": "tool-failed",
        "message": "km_fail failed: Keyboard Maestro Engine is not running (KM_CONNECTION_FAILED)",
        "step": "read",
        "code": "KM_CONNECTION_FAILED",
        "suggestion": "Start the Keyboard Maestro Engine and try again",
    }
    assert result.outputs == {"seen": described, "status": "failed", "error": described}
    assert tools.calls == [("km_fail", {}), ("km_echo", {"text": "after"})]


def test_catch_runs_after_the_retries_are_spent(tools: Tools, clock: FakeClock) -> None:
    tools.flaky_failures = 5
    result = tools.run(
        """
        steps:
          - id: flaky
            tool: km_flaky
            retry: {max_attempts: 2, interval: 1}
            catch: [{set: {gave_up: true}}]
        outputs: {gave_up: "{{ vars.gave_up }}"}
        """,
        clock=clock,
    )
    assert (result.outputs, len(tools.calls), clock.sleeps) == ({"gave_up": True}, 2, [1.0])


def test_a_catch_that_fails_fails_the_action_with_its_own_error(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - id: read
            tool: km_fail
            catch:
              - id: handler
                fail: "could not recover from {{ error.code }}"
          - set: {after: true}
        """
    )
    error = failure(result)
    assert where(error) == ("failed", "handler", "t.yaml:9:9", "$.steps[0].catch[0]")
    assert error.message == "could not recover from KM_CONNECTION_FAILED"


# -- continue_on_error ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "kind"),
    [
        pytest.param("tool: km_fail", "tool-failed", id="tool-failed"),
        pytest.param("fail: on purpose", "failed", id="fail"),
        pytest.param("wait: '{{ 0 }}'", "invalid-arguments", id="invalid-arguments"),
        pytest.param("set: {v: '{{ vars.nope.deeper }}'}", "template-error", id="template"),
    ],
)
def test_continue_on_error_records_the_failure_and_goes_on(
    tools: Tools, step: str, kind: str
) -> None:
    pipeline = tools.compile(
        f"""
steps:
  - id: risky
    {step}
    continue_on_error: true
  - tool: km_echo
    with: {{text: after}}
outputs:
  status: "{{{{ steps.risky.status }}}}"
  kind: "{{{{ steps.risky.error.kind }}}}"
""",
        check=False,
    )
    result = tools.run(pipeline)
    assert result.outputs == {"status": "failed", "kind": kind}
    assert tools.calls[-1] == ("km_echo", {"text": "after"})


def test_continue_on_error_also_covers_a_failing_catch(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - id: read
            tool: km_fail
            continue_on_error: true
            catch: [{fail: "the catch failed too"}]
          - set: {after: true}
        outputs: {after: "{{ vars.after }}", code: "{{ steps.read.error.code }}"}
        """
    )
    assert result.outputs == {"after": True, "code": FAILURE["code"]}


# -- the evaluation clock ---------------------------------------------------------------


@pytest.fixture
def begun(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The depth of the evaluation clock each time generated values code starts it (for
    the template engines made after this: their code refers to the counting begin)."""
    from engine.lang import _template_values
    from engine.lang.sandbox import budget

    starts: list[int] = []

    def begin() -> budget.Clock:
        starts.append(budget._CLOCKS.clock.depth)
        return budget.begin()

    monkeypatch.setattr(_template_values, "begin", begin)
    return starts


def test_named_values_are_rendered_under_one_clock_and_none_is_no_code(
    begun: list[int],
) -> None:
    """make_fields computes its templated values with one function Jinja's code
    generator wrote: one evaluation clock around all of them, released after; with no
    values it generates no clock at all (an empty `try:` once made the generated code
    not compile)."""
    from engine.lang import templates
    from engine.lang.sandbox import budget
    from engine.run._codegen import make_fields

    engine = templates.TemplateEngine()
    render = engine.compile("{{ inputs.n + 1 }}")
    fields = make_fields([("a", render), ("b", render), ("c", lambda scope: 3)])
    assert fields({"inputs": {"n": 1}}) == {"a": 2, "b": 2, "c": 3}
    assert begun == [0]  # one clock, not nested in another, for both values
    assert budget._CLOCKS.clock.depth == 0
    assert make_fields([])({}) == {}


@pytest.mark.parametrize(
    ("texts", "timed"),
    [
        pytest.param(["{{ inputs.name }}", "{{ inputs['n'] }}"], False, id="plain-references"),
        pytest.param(["Hello {{ inputs.name }}!", "{{ inputs.items[0] }}"], False, id="text"),
        pytest.param(["{{ inputs.name }}", "{{ inputs.name | upper }}"], True, id="a-filter"),
        pytest.param(["{{ inputs.n * 2 }}"], True, id="an-operator"),
        pytest.param(["{{ inputs.name.upper() }}"], True, id="a-call"),
        pytest.param(["{{ inputs.n is number }}"], True, id="a-test"),
        pytest.param(["{{ inputs.n if inputs.n else 0 }}"], True, id="a-condition"),
    ],
)
def test_only_values_that_can_check_the_evaluation_clock_start_it(
    begun: list[int], texts: list[str], timed: bool
) -> None:
    """A set of values that only reads and joins calls nothing that checks the clock
    (filters, calls, operators, tests do), and its cost is bounded by the size limits:
    its code starts no clock (two clock readings and two calls were a third of a plain
    reference's cost); any other set runs under one."""
    from engine.lang import templates
    from engine.lang.sandbox import budget

    engine = templates.TemplateEngine()
    values = templates.together([(engine.compile(text), None) for text in texts])
    scope = {"inputs": {"name": "Ann", "n": 2, "items": ["a"]}}
    assert len(values(scope)) == len(texts)
    assert begun == ([0] if timed else [])
    assert budget._CLOCKS.clock.depth == 0
