"""The trace: only when asked, one entry per step run, with status, attempts, duration
(on the run's clock) and rendered arguments (engine/run/_steps.py), recorded by the
generated code every run takes (engine/run/_codegen.py)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from engine.run import FakeClock

from .conftest import FAILURE, Tools

TRACED = """
inputs: {who: {type: string}}
steps:
  - id: greet
    name: Say hello
    tool: km_echo
    with: {text: "hi {{ inputs.who }}"}
  - id: skip
    if: false
    set: {x: 1}
  - foreach: [1, 2]
    steps:
      - set: {last: "{{ item }}"}
  - id: nap
    wait: 1.5
  - id: flaky
    tool: km_flaky
    retry: {max_attempts: 2, interval: 0.5}
  - id: risky
    fail: "bad {{ inputs.who }}"
    continue_on_error: true
  - id: call
    action: inner
"""

INNER = """
steps:
  - id: e
    tool: km_echo
    with: {text: inner}
outputs: {v: "{{ steps.e.result.data.text }}"}
"""


def _entry(step: str | None, kind: str, path: str, line: int, **more: Any) -> dict[str, Any]:
    entry = {
        "action": "t",
        "step": step,
        "name": None,
        "kind": kind,
        "path": path,
        "file": "t.yaml",
        "line": line,
        "status": "succeeded",
        "attempts": 1,
        "duration_ms": 0.0,
    }
    entry.update(more)
    return entry


def test_the_trace_has_an_entry_for_every_step_run(tools: Tools, clock: FakeClock) -> None:
    tools.flaky_failures = 1
    library = tools.library(inner=INNER)
    pipeline = tools.compile(TRACED, library=library)
    result = tools.run(pipeline, {"who": "Ann"}, trace=True, clock=clock, resolver=library)
    flaky_error = {
        "kind": "tool-failed",
        "message": "km_flaky failed: Keyboard Maestro Engine is not running (KM_CONNECTION_FAILED)",
    }
    inner_result = {"success": True, "data": {"text": "inner"}}
    assert result.trace == [
        _entry(
            "greet",
            "tool",
            "$.steps[0]",
            7,
            name="Say hello",
            tool="km_echo",
            arguments={"text": "hi Ann"},
            result={"success": True, "data": {"text": "hi Ann"}},
        ),
        _entry("skip", "set", "$.steps[1]", 11, status="skipped"),
        _entry(None, "set", "$.steps[2].steps[0]", 16),
        _entry(None, "set", "$.steps[2].steps[0]", 16),
        _entry(None, "foreach", "$.steps[2]", 14),
        _entry("nap", "wait", "$.steps[3]", 17, duration_ms=1500.0),
        _entry(
            "flaky",
            "tool",
            "$.steps[4]",
            19,
            status="retrying",
            tool="km_flaky",
            arguments={},
            error=flaky_error,
        ),
        _entry(
            "flaky",
            "tool",
            "$.steps[4]",
            19,
            attempts=2,
            duration_ms=500.0,
            tool="km_flaky",
            arguments={},
            result={"success": True, "data": {"ok": True}},
        ),
        _entry(
            "risky",
            "fail",
            "$.steps[5]",
            22,
            status="failed",
            error={"kind": "failed", "message": "bad Ann"},
        ),
        _entry(
            "e",
            "tool",
            "$.steps[0]",
            6,
            action="inner",
            file="inner.yaml",  # the called action's steps name its file
            tool="km_echo",
            arguments={"text": "inner"},
            result=inner_result,
        ),
        _entry("call", "action", "$.steps[6]", 25, result={"v": "inner"}),
    ]
    assert result.to_dict()["trace"] == result.trace


def test_no_trace_unless_asked(tools: Tools) -> None:
    result = tools.run("steps:\n  - tool: km_echo\n    with: {text: x}\n")
    assert result.trace is None
    assert "trace" not in result.to_dict()


def test_a_failing_plain_tool_step_is_traced_with_its_arguments(tools: Tools) -> None:
    result = tools.run(
        "steps:\n  - id: add\n    tool: km_add\n    with: {a: '{{ 1 }}', b: 2}\n"
        "  - tool: km_fail\n",
        trace=True,
        clock=FakeClock(),
    )
    assert result.trace is not None
    assert [(e["step"], e["status"], e.get("arguments")) for e in result.trace] == [
        ("add", "succeeded", {"a": 1, "b": 2}),
        (None, "failed", {}),
    ]
    assert result.trace[1]["error"] == {
        "kind": "tool-failed",
        "message": f"km_fail failed: {FAILURE['message']} ({FAILURE['code']})",
    }


MIXED_ARGUMENTS = """
inputs: {who: {type: string}, n: {type: integer}}
steps:
  - id: add
    tool: km_add
    with: {a: "{{ inputs.n }}", b: 2}
  - id: free
    tool: km_free
    with:
      first: "{{ inputs.who }}"
      second: fixed
      third: [1, 2]
      fourth: "{{ inputs.n + 1 }}"
      fifth: 5
"""


@pytest.mark.parametrize("trace", [False, True])
def test_a_tool_step_s_arguments_keep_the_order_written(tools: Tools, trace: bool) -> None:
    """Templated and constant arguments, interleaved: the trace (and the tool) gets them
    in the order `with:` writes them, not the constant ones first."""
    result = tools.run(MIXED_ARGUMENTS, {"who": "Ann", "n": 1}, trace=trace)
    assert result.error is None
    written = [["a", "b"], ["first", "second", "third", "fourth", "fifth"]]
    assert [list(arguments) for _tool, arguments in tools.calls] == written
    if trace:
        assert result.trace is not None
        assert [e["arguments"] for e in result.trace] == [
            {"a": 1, "b": 2},
            {"first": "Ann", "second": "fixed", "third": [1, 2], "fourth": 2, "fifth": 5},
        ]
        assert [list(e["arguments"]) for e in result.trace] == written


# -- the timeline (what the history keeps of each step: no values) --------------------------


def _times(result: Any) -> list[tuple[Any, ...]]:
    assert result.timeline is not None
    return [
        (
            s.action,
            s.step,
            s.kind,
            s.path,
            s.line,
            s.tool,
            s.status,
            s.attempts,
            s.duration,
            s.error,
        )
        for s in result.timeline.steps()
    ]


def test_the_timeline_has_every_step_run_with_no_values(tools: Tools, clock: FakeClock) -> None:
    tools.flaky_failures = 1
    library = tools.library(inner=INNER)
    pipeline = tools.compile(TRACED, library=library)
    result = tools.run(pipeline, {"who": "Ann"}, timeline=True, clock=clock, resolver=library)
    assert result.trace is None  # a timeline is not a trace
    # The failed first try of `flaky` is no step of its own: the step, with 2 attempts, is.
    assert _times(result) == [
        ("t", "greet", "tool", "$.steps[0]", 7, "km_echo", "succeeded", 1, 0.0, None),
        ("t", "skip", "set", "$.steps[1]", 11, None, "skipped", 1, 0.0, None),
        ("t", None, "set", "$.steps[2].steps[0]", 16, None, "succeeded", 1, 0.0, None),
        ("t", None, "set", "$.steps[2].steps[0]", 16, None, "succeeded", 1, 0.0, None),
        ("t", None, "foreach", "$.steps[2]", 14, None, "succeeded", 1, 0.0, None),
        ("t", "nap", "wait", "$.steps[3]", 17, None, "succeeded", 1, 1.5, None),
        ("t", "flaky", "tool", "$.steps[4]", 19, "km_flaky", "succeeded", 2, 0.5, None),
        ("t", "risky", "fail", "$.steps[5]", 22, None, "failed", 1, 0.0, ("failed", "bad Ann")),
        ("inner", "e", "tool", "$.steps[0]", 6, "km_echo", "succeeded", 1, 0.0, None),
        ("t", "call", "action", "$.steps[6]", 25, None, "succeeded", 1, 0.0, None),
    ]
    assert [s.start for s in result.timeline.steps()] == [0, 0, 0, 0, 0, 0, 1.5, 2.0, 2.0, 2.0]
    assert "timeline" not in result.to_dict()  # never part of what a caller gets


def test_no_timeline_unless_asked(tools: Tools) -> None:
    assert tools.run("steps:\n  - tool: km_echo\n    with: {text: x}\n").timeline is None


PLAIN_TOOLS = """
inputs: {a: {type: integer}}
steps:
  - id: add
    tool: km_add
    with: {a: "{{ inputs.a }}", b: 2}
  - tool: km_echo
    with: {text: "sum {{ steps.add.result.data.sum }}"}
  - tool: km_fail
"""


def test_a_trace_leaves_the_timeline_as_it_is(tools: Tools) -> None:
    pipeline = tools.compile(PLAIN_TOOLS)
    plain = tools.run(pipeline, {"a": 1}, timeline=True, clock=FakeClock())
    traced = tools.run(pipeline, {"a": 1}, timeline=True, trace=True, clock=FakeClock())
    failed = ("tool-failed", f"km_fail failed: {FAILURE['message']} ({FAILURE['code']})")
    expected = [
        ("t", "add", "tool", "$.steps[0]", 7, "km_add", "succeeded", 1, 0.0, None),
        ("t", None, "tool", "$.steps[1]", 10, "km_echo", "succeeded", 1, 0.0, None),
        ("t", None, "tool", "$.steps[2]", 12, "km_fail", "failed", 1, 0.0, failed),
    ]
    assert _times(plain) == _times(traced) == expected


def test_a_step_that_raises_is_in_the_generated_timeline(tools: Tools) -> None:
    def broken(text: str) -> dict[str, Any]:
        raise RuntimeError("the tool broke")

    tools.bridge.register("km_broken", broken, {"type": "object", "properties": {}})
    result = tools.run("steps:\n  - tool: km_broken\n    with: {text: x}\n", timeline=True)
    (step,) = _times(result)
    assert step[6] == "failed"
    assert step[9] == ("tool-failed", "km_broken raised RuntimeError: the tool broke")


def test_the_timeline_masks_secrets_in_step_errors(tools: Tools) -> None:
    body = """
    inputs: {pw: {type: string, secret: true}}
    steps:
      - fail: "refused {{ inputs.pw }}"
        continue_on_error: true
      - fail: "again {{ inputs.pw }}"
    """
    result = tools.run(body, {"pw": "hunter2-hunter2"}, timeline=True)
    assert [s.error for s in result.timeline.steps()] == [  # type: ignore[union-attr]
        ("failed", "refused ••••••"),
        ("failed", "again ••••••"),
    ]


@pytest.mark.parametrize("trace", [False, True], ids=["plain", "traced"])
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param("", id="plain-step"),
        pytest.param("    if: true\n", id="if"),
        pytest.param("    retry: {max_attempts: 2}\n    timeout: 5\n", id="retry-timeout"),
        pytest.param("    catch:\n      - set: {x: 1}\n", id="catch"),
    ],
)
def test_every_run_calls_its_tools_from_the_generated_code(
    tools: Tools, trace: bool, fields: str
) -> None:
    """A traced run takes the code production runs (the fuzz tests trace every run)."""
    callers: list[str] = []

    async def km_where(text: str) -> dict[str, Any]:
        frame = inspect.currentframe()
        assert frame is not None
        caller = frame.f_back  # the first one past the bridge (the first call passes it)
        while caller is not None and "/engine/tools/bridge/" in caller.f_code.co_filename:
            caller = caller.f_back
        assert caller is not None
        callers.append(caller.f_code.co_filename)
        return {"success": True, "data": {"text": text}}

    tools.bridge.register(
        "km_where", km_where, {"type": "object", "properties": {"text": {"type": "string"}}}
    )
    text = f"steps:\n  - tool: km_where\n    with: {{text: x}}\n{fields}"
    result = tools.run(text, trace=trace)
    assert result.error is None
    assert [caller.split(" ")[:2] for caller in callers] == [["<km-actions", "block"]]
