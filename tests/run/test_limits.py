"""Every security profile's limits, enforced at run time and reported with kind
limit-exceeded (or timeout) naming the limit and its value."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from engine.diagnostics.errors import ManifestSyntaxError
from engine.lang.limits import UNLIMITED, Limits, Profile
from engine.run import FakeClock

from .conftest import Tools, failure, where

PROFILES = [pytest.param(profile, id=profile.value) for profile in Profile]


def bounding(name: str) -> list[Any]:
    """The profiles whose limit ``name`` a test can reach (``none`` leaves some unbounded,
    or bounded far past what a test should allocate)."""
    return [
        pytest.param(profile, id=profile.value)
        for profile in Profile
        if getattr(profile.limits, name) < min(UNLIMITED, 1_000_000)
    ]


def _limit(profile: Profile, name: str) -> int:
    return int(getattr(profile.limits, name))


def _nested_loops(outer: int, inner: int, step: str) -> tuple[str, dict[str, Any]]:
    body = f"""
inputs: {{outer: {{type: array}}, inner: {{type: array}}}}
steps:
  - foreach: inputs.outer
    as: o
    steps:
      - foreach: inputs.inner
        steps:
          - {step}
"""
    return body, {"outer": list(range(outer)), "inner": list(range(inner))}


@pytest.mark.parametrize("profile", bounding("max_steps"))
def test_max_steps(tools: Tools, profile: Profile) -> None:
    limit = _limit(profile, "max_steps")
    loops = profile.limits.max_loop_iterations
    # 1 + outer × (1 + inner) steps: just past the limit.
    body, inputs = _nested_loops(limit // (loops + 1) + 1, loops, "set: {x: 1}")
    result = tools.run(body, inputs, limits=profile.limits)
    error = failure(result)
    assert (error.kind.value, error.details) == (
        "limit-exceeded",
        {"limit": "max_steps", "value": limit},
    )
    assert error.message == f"the run executed more than {limit} steps (limit max_steps)"
    assert result.steps_run == limit + 1


@pytest.mark.parametrize("profile", bounding("max_tool_calls"))
def test_max_tool_calls(tools: Tools, profile: Profile) -> None:
    limit = _limit(profile, "max_tool_calls")
    inner = min(limit + 1, profile.limits.max_loop_iterations)
    body, inputs = _nested_loops(2, inner, "tool: km_echo\n            with: {text: hi}")
    result = tools.run(body, inputs, limits=profile.limits)
    error = failure(result)
    assert (error.kind.value, error.details) == (
        "limit-exceeded",
        {"limit": "max_tool_calls", "value": limit},
    )
    assert error.message == f"the run made more than {limit:,} tool calls (limit max_tool_calls)"
    assert (len(tools.calls), result.tool_calls) == (limit, limit + 1)


@pytest.mark.parametrize("profile", bounding("max_loop_iterations"))
def test_max_loop_iterations(tools: Tools, profile: Profile) -> None:
    limit = _limit(profile, "max_loop_iterations")
    body = (
        "inputs: {items: {type: array}}\n"
        "steps:\n  - foreach: inputs.items\n    steps: [{set: {x: 1}}]\n"
    )
    error = failure(tools.run(body, {"items": list(range(limit + 1))}, limits=profile.limits))
    assert (error.kind.value, error.details, error.message) == (
        "limit-exceeded",
        {"limit": "max_loop_iterations", "value": limit},
        f"the foreach has {limit + 1:,} items (limit max_loop_iterations: {limit:,})",
    )


@pytest.mark.parametrize("profile", bounding("max_call_depth"))
def test_max_call_depth(tools: Tools, profile: Profile) -> None:
    limit = _limit(profile, "max_call_depth")
    count = limit + 2  # a0 at depth 0 … a<limit+1> at depth limit + 1
    actions = {f"a{i}": f"steps:\n  - action: a{i + 1}\n" for i in range(count - 1)}
    actions[f"a{count - 1}"] = "steps:\n  - set: {x: 1}\n"
    library = tools.library(**actions)
    error = failure(tools.run(library.pipeline("a0"), resolver=library, limits=profile.limits))
    assert (error.kind.value, error.details, error.message) == (
        "limit-exceeded",
        {"limit": "max_call_depth", "value": limit},
        f"actions call each other more than {limit} deep (limit max_call_depth)",
    )
    assert error.first.file == f"a{limit}.yaml"


@pytest.mark.parametrize("profile", bounding("max_parallel_branches"))
def test_max_parallel_branches(tools: Tools, profile: Profile) -> None:
    limit = _limit(profile, "max_parallel_branches")
    branches = "".join(f"      - steps: [{{set: {{v{i}: {i}}}}}]\n" for i in range(limit + 1))
    body = "steps:\n  - parallel:\n" + branches
    error = failure(tools.run(body, limits=profile.limits))
    assert (error.kind.value, error.details, error.message) == (
        "limit-exceeded",
        {"limit": "max_parallel_branches", "value": limit},
        f"the parallel step has {limit + 1} branches (limit max_parallel_branches: {limit})",
    )


@pytest.mark.parametrize("profile", bounding("max_string_length"))
def test_max_string_length(tools: Tools, profile: Profile) -> None:
    limit = _limit(profile, "max_string_length")
    body = 'inputs: {s: {type: string}}\nsteps:\n  - set: {v: "{{ inputs.s }}"}\n'
    error = failure(tools.run(body, {"s": "x" * (limit + 1)}, limits=profile.limits))
    assert (error.kind.value, error.details, error.message) == (
        "limit-exceeded",
        {"limit": "max_string_length", "value": limit},
        f"this would make text of {limit + 1:,} characters; "
        f"the limit (max_string_length) is {limit:,}",
    )
    assert tools.run(body, {"s": "x" * limit}, limits=profile.limits).ok


@pytest.mark.parametrize("profile", bounding("max_collection_size"))
def test_max_collection_size(tools: Tools, profile: Profile) -> None:
    limit = _limit(profile, "max_collection_size")
    body = 'inputs: {l: {type: array}}\nsteps:\n  - set: {v: "{{ inputs.l }}"}\n'
    error = failure(tools.run(body, {"l": [0] * (limit + 1)}, limits=profile.limits))
    assert (error.kind.value, error.details, error.message) == (
        "limit-exceeded",
        {"limit": "max_collection_size", "value": limit},
        f"this would make a list or mapping of {limit + 1:,} items; "
        f"the limit (max_collection_size) is {limit:,}",
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_max_wait(tools: Tools, profile: Profile, clock: FakeClock) -> None:
    limit = profile.limits.max_wait
    body = 'inputs: {s: {type: number}}\nsteps:\n  - wait: "{{ inputs.s }}"\n'
    error = failure(tools.run(body, {"s": limit + 1}, limits=profile.limits, clock=clock))
    assert (error.kind.value, error.details, error.message) == (
        "limit-exceeded",
        {"limit": "max_wait", "value": limit},
        f"the step waits {limit + 1:g} s (limit max_wait: {limit:g} s)",
    )
    assert clock.sleeps == []
    assert tools.run(body, {"s": limit}, limits=profile.limits, clock=clock).ok
    assert clock.sleeps == [limit]


# -- time limits ------------------------------------------------------------------------

SLOW = "steps:\n  - tool: km_slow\n    with: {seconds: 30}\n"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_profile_run_timeout_stops_the_run(tools: Tools, profile: Profile) -> None:
    # Long enough for the run to reach its tool call on a loaded machine (its code is
    # generated on the first run): the call in progress is what must be cancelled.
    limits = profile.limits.with_overrides(run_timeout=0.5)
    error = failure(tools.run(SLOW, limits=limits))
    assert (error.kind.value, error.message, error.details) == (
        "timeout",
        "the action took longer than 0.5 s and was stopped",
        {"limit": "run_timeout", "value": 0.5},
    )
    assert error.hint == (
        "raise the action's `timeout:`, or use a profile with a longer run timeout"
    )
    assert tools.cancelled == ["km_slow"]


@pytest.mark.parametrize(
    ("own", "cap", "expected"),
    [
        pytest.param(0.05, None, 0.05, id="own-timeout-no-cap"),
        pytest.param(0.05, 300.0, 0.05, id="own-timeout-below-cap"),
        pytest.param(60.0, 0.05, 0.05, id="capped-by-profile"),
    ],
)
def test_the_actions_timeout_is_capped_by_the_profile(
    tools: Tools, own: float, cap: float | None, expected: float
) -> None:
    limits = Limits(run_timeout=cap)
    error = failure(tools.run(f"timeout: {own}\n" + SLOW, limits=limits))
    assert (error.kind.value, error.details) == (
        "timeout",
        {"limit": "run_timeout", "value": expected},
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_the_profile_step_timeout_caps_a_steps_timeout(tools: Tools, profile: Profile) -> None:
    limits = profile.limits.with_overrides(step_timeout=0.05)
    error = failure(tools.run(SLOW + "    timeout: 3600\n", limits=limits))
    assert (error.kind.value, error.message) == (
        "timeout",
        "the step took longer than its timeout of 0.05 s",
    )


@pytest.mark.parametrize(
    "third",
    [
        pytest.param("tool: km_echo\n    with: {text: c}", id="plain-tool-step"),
        pytest.param("set: {c: 1}", id="plain-step"),
        pytest.param("if: true\n    set: {c: 1}", id="wrapped-step"),
        pytest.param("set: {c: 1}\n    continue_on_error: true", id="not-its-own-to-catch"),
    ],
)
def test_the_step_past_max_steps_is_refused_before_it_runs(tools: Tools, third: str) -> None:
    body = (
        "steps:\n  - tool: km_echo\n    with: {text: a}\n  - set: {b: 1}\n"
        f"  - id: third\n    {third}\n"
    )
    result = tools.run(body, limits=Limits(max_steps=2))
    error = failure(result)
    assert (error.kind.value, error.step, error.first.json_path, error.message) == (
        "limit-exceeded",
        "third",
        "$.steps[2]",
        "the run executed more than 2 steps (limit max_steps)",
    )
    assert tools.calls == [("km_echo", {"text": "a"})]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_step_without_a_timeout_is_stopped_by_the_profile_step_timeout(
    tools: Tools, profile: Profile
) -> None:
    limits = profile.limits.with_overrides(step_timeout=0.05, run_timeout=None)
    caught = SLOW + "    catch:\n      - set: {caught: true}\n"
    error = failure(tools.run(caught, limits=limits))
    assert (error.kind.value, error.details) == (
        "timeout",
        {"limit": "step_timeout", "value": 0.05},
    )
    assert error.message == (
        "a step ran longer than the profile's step timeout of 0.05 s, so the action was stopped"
    )
    assert where(error)[2].endswith(":5:5")  # the slow step, not the whole action
    assert tools.cancelled == ["km_slow"]


def test_steady_progress_is_not_a_step_timeout(tools: Tools) -> None:
    limits = Profile.STANDARD.limits.with_overrides(step_timeout=0.2, run_timeout=None)
    body = (
        "steps:\n  - repeat:\n      max: 6\n      steps:\n"
        "        - tool: km_slow\n          with: {seconds: 0.1}\n"
    )
    result = tools.run(body, limits=limits)
    assert result.error is None


# -- sizes are what values serialize to ----------------------------------------------------

DOUBLING = (
    "steps:\n  - set: {l: \"{{ ['x'] }}\"}\n"
    + '  - set: {l: "{{ [vars.l, vars.l] }}"}\n' * 30
    + 'outputs: {l: "{{ vars.l }}"}\n'
)
TRACED = [pytest.param(False, id="generated-code"), pytest.param(True, id="traced")]


@pytest.mark.parametrize("trace", TRACED)
def test_a_list_holding_another_many_times_counts_it_every_time(tools: Tools, trace: bool) -> None:
    # Issue 8, finding 8: each list held the previous one twice; measured once per
    # shared part (and at the top level only), 30 steps validated and ran into gigabytes.
    error = tools.run(DOUBLING, trace=trace).error
    assert error is not None, "the run succeeded"  # (its outputs are gigabytes as text)
    assert (error.kind.value, error.details, error.first.json_path, error.message) == (
        "limit-exceeded",
        {"limit": "max_template_output", "value": 1_000_000},
        "$.steps[16].set.l",
        "this would make a list holding about 1,245,174 characters of data; the limit "
        "(max_template_output) is 1,000,000",
    )


BIG = "  - set: {big: \"{{ 'x' * 600000 }}\"}\n"


@pytest.mark.parametrize("trace", TRACED)
@pytest.mark.parametrize(
    ("body", "path", "place", "subject"),
    [
        pytest.param(
            '  - tool: km_free\n    with: {a: "{{ vars.big }}", b: "{{ vars.big }}"}\n',
            "$.steps[1].with",  # at the key: no single argument is at fault
            "t.yaml:7:5",
            "the arguments of km_free",
            id="tool-arguments",
        ),
        pytest.param(
            '  - tool: km_free\n    with:\n      a: 1\n      b: "{{ vars.big }}"\n'
            '      c: "{{ vars.big }}"\n',
            "$.steps[1].with",
            "t.yaml:7:5",
            "the arguments of km_free",
            id="tool-arguments-block",
        ),
        pytest.param(
            '  - action: other\n    with: {a: "{{ vars.big }}", b: "{{ vars.big }}"}\n',
            "$.steps[1].with",
            "t.yaml:7:5",
            "the inputs given to other",
            id="action-inputs",
        ),
        pytest.param(
            'outputs: {a: "{{ vars.big }}", b: "{{ vars.big }}"}\n',
            "$.outputs",  # at the key: no single output is at fault
            "t.yaml:6:1",
            "the outputs",
            id="outputs",
        ),
        pytest.param(
            '  - return: {a: "{{ vars.big }}", b: "{{ vars.big }}"}\noutputs: {a: x, b: y}\n',
            "$.steps[1]",
            "t.yaml:6:5",
            "the outputs",
            id="return",
        ),
    ],
)
def test_values_passed_on_together_are_measured_together(
    tools: Tools, trace: bool, body: str, path: str, place: str, subject: str
) -> None:
    library = tools.library(
        other="inputs: {a: {type: string}, b: {type: string}}\nsteps: [{set: {x: 1}}]\n"
    )
    pipeline = tools.compile("steps:\n" + BIG + body, library=library)
    error = failure(tools.run(pipeline, trace=trace, resolver=library))
    assert (error.kind.value, error.details, error.message) == (
        "limit-exceeded",
        {"limit": "max_template_output", "value": 1_000_000},
        f"{subject} would hold about 1,200,000 characters of data "
        "(limit max_template_output: 1,000,000)",
    )
    assert (error.first.json_path, error.first.location) == (path, place)
    assert tools.calls == []


# -- one run never holds the event loop for long -------------------------------------------

HEAVY = """
inputs: {items: {type: array}}
steps:
  - foreach: inputs.items
    steps:
      - set: {n: "{{ ('a b' * 100000) | title | length }}"}
"""


def _one_heavy_step(tools: Tools, trace: bool) -> tuple[float, float]:
    """How long one step of HEAVY takes here and now (the best of three runs of one item),
    in seconds of the clock and of this thread's CPU: the units the bounds below are
    counted in, so that a busy machine, or coverage's tracing, slows the bounds as it
    slows the steps."""
    times, cpu_times = [], []
    for _ in range(3):
        started, cpu_started = time.monotonic(), time.thread_time()
        result = tools.run(HEAVY, {"items": [0]}, trace=trace)
        times.append(time.monotonic() - started)
        cpu_times.append(time.thread_time() - cpu_started)
        assert result.error is None, result.error
    return min(times), min(cpu_times)


@pytest.mark.parametrize("trace", TRACED)
def test_a_run_that_computes_for_long_lets_other_work_run_and_its_timeout_holds(
    tools: Tools, trace: bool
) -> None:
    # Each step computes for a while (about 0.07 s on a quiet machine, far below the 1 s
    # evaluation budget even under load with coverage), 60 of them: the run must let the
    # event loop go round between steps (other runs, MCP requests and the watchdog share
    # it), and stop soon after its timeout.
    step, step_cpu = _one_heavy_step(tools, trace)
    timeout = max(1.0, 4 * step)  # several steps fit before it, and 40 steps do not
    limits = Profile.STANDARD.limits.with_overrides(run_timeout=timeout)

    async def main() -> tuple[Any, float, float]:
        # How long the loop is held, in CPU seconds of this thread (the one the loop and
        # the evaluation run on): on a busy machine (the suite's other workers, other
        # processes) the clock also counts the time the OS gave the CPU to others, which
        # has nothing to do with the run; before the fix the gap was every step's work.
        ticks: list[float] = []

        async def ticker() -> None:
            while True:
                ticks.append(time.thread_time())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        started = time.monotonic()
        result = await tools.run_async(
            HEAVY, {"items": list(range(60))}, limits=limits, trace=trace
        )
        elapsed = time.monotonic() - started
        task.cancel()
        longest = max(later - earlier for earlier, later in itertools.pairwise(ticks))
        return result, elapsed, longest

    result, elapsed, longest = asyncio.run(main())
    error = failure(result)
    assert (error.kind.value, error.details) == (
        "timeout",
        {"limit": "run_timeout", "value": timeout},
    )
    # Stopped within about one step of its timeout, the loop never held for much longer
    # than one step (before the fix: the whole run, every step, in one go).
    assert elapsed < timeout + 2 * step + 0.5
    assert longest < 3 * step_cpu + 0.2


def test_typed_arguments_passed_on_together_are_measured_together(tools: Tools) -> None:
    string = {"type": "string"}
    tools.register(
        "km_pair",
        lambda first, second, label, count: {"success": True},
        {
            "type": "object",
            "properties": {
                "first": string,
                "second": string,
                "label": string,
                "count": {"type": "integer"},
            },
        },
    )
    body = (
        "steps:\n" + BIG + '  - tool: km_pair\n    with: {first: "{{ vars.big }}", second: '
        '"{{ vars.big }}", label: abc, count: "{{ 1 + 1 }}"}\n'
    )
    for trace in (False, True):
        error = failure(tools.run(body, trace=trace))
        assert error.message == (
            "the arguments of km_pair would hold about 1,200,003 characters of data "
            "(limit max_template_output: 1,000,000)"
        )
    assert tools.calls == []


def test_a_value_that_holds_itself_cannot_be_passed_on(tools: Tools) -> None:
    looped: list[Any] = []
    looped.append(looped)
    tools.register("km_loop", lambda: {"success": True, "data": looped}, {"type": "object"})
    body = (
        "steps:\n  - id: loop\n    tool: km_loop\n  - tool: km_free\n"
        '    with: {a: "{{ steps.loop.result.data }}", b: "{{ steps.loop.result.data }}"}\n'
    )
    for trace in (False, True):
        error = failure(tools.run(body, trace=trace))
        # Found as the template renders it (before: "the value is nested too deeply").
        assert (error.kind.value, error.message, error.hint) == (
            "template-error",
            "the value contains itself, so it has no end as text",
            "build a new value instead of nesting one inside itself",
        )


def test_a_number_written_with_too_many_digits_never_reaches_a_run(tools: Tools) -> None:
    # The loader refuses it (with its line and column) before any step could compute with it.
    with pytest.raises(ManifestSyntaxError) as caught:
        tools.run("steps:\n  - set: {n: 0x" + "f" * 100000 + "}\n")
    assert str(caught.value.diagnostics[0].message) == (
        "the whole number has 100,000 digits; at most 1,000 are allowed"
    )


def test_the_data_of_an_event_is_measured(tools: Tools) -> None:
    body = (
        "steps:\n" + BIG + '  - emit: seen\n    with: {a: "{{ vars.big }}", b: "{{ vars.big }}"}\n'
    )
    error = failure(tools.run(body))
    assert (error.message, error.first.json_path) == (
        "the data of the event `seen` would hold about 1,200,000 characters of data "
        "(limit max_template_output: 1,000,000)",
        "$.steps[1].with",
    )
    assert tools.run("steps:\n" + BIG + "  - emit: seen\n    with: {a: 1}\n").ok
