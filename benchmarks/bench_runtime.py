"""Runtime overhead: a 10-step action vs hand-written Python making the same calls.

Both sides make the same ten calls to the same in-process no-op tools with the same
argument values, in the same event loop, interleaved in one run. The hand-written side
is measured two ways: calling the tools through the bridge API (`bridge.call_tool`, as a
program using the tools would; the target compares against this), and calling the
Python functions directly (the floor). Also prints the per-step overhead of a plain
reference, a mixed template, a filtered template and an expression condition.

Every template renders through the code Jinja's code generator wrote, the one path there
is (issue 12: no reader of plain references beside it). All the templated values of a
step (its arguments; an action's outputs) are one generated function: one call, one
evaluation clock, a render context only where the code uses one. Calls are timed one by
one and the median taken (a batch's mean took in every preemption of the shared
machine). Measured in one session on the shared 2-core machine, three runs each, same
method, this benchmark's before/after:

    before (one render call per template):                38.7-38.9 µs against
        5.8 µs through the bridge, 6.68-6.72x (7.1x with the older batch timing)
    after (one function per step's values):               24.9-25.5 µs against
        5.6-5.8 µs, 4.40-4.50x

The fixed cost per run, next (issue 12, runtime target; same method, this benchmark
run alternately against a copy of the tree before and after, three times each):

    before:                                               25.0-25.4 µs against
        5.7-5.8 µs, 4.32-4.48x; given a grant (with limits): 25.7-26.7 µs
    after:                                                24.2-24.3 µs against
        5.7 µs, 4.22-4.28x; given a grant: 24.2-24.4 µs

What changed: a grant's hash is computed once (a run given a grant hashed its two
coverages and its limits field by field to find its guard: ~0.5 µs); the watchdog keys a
run by its state (no token); the limits and secrets context variables are set and
reset by their own methods (no Python call around them); the frame's block is awaited
in `invoke` itself (one coroutine less); the result has slots.

Values that only read and join, next (issue 12, runtime target; same method, this
benchmark run alternately against a copy of the tree before and after, three times
each, on the shared machine while other work ran):

    before:                                               25.1-26.4 µs against
        5.7-6.0 µs, 4.19-4.58x
    after:                                                20.2-22.1 µs against
        5.7-5.9 µs, 3.58-3.72x (3.48-3.58x on a quieter machine)

What changed: a set of values that only reads and joins (plain references, text with
references; no filter, call, operator or test) starts no evaluation clock: nothing in it
checks the clock, and the size limits bound its cost (its two clock readings and two
calls were ~0.3 µs of a plain reference's ~0.7 µs). A plain reference now adds ~0.4 µs
over a constant argument (it was ~0.8).

The 3x target is still missed. Where the 24 µs went before that change: a fixed ~4.5 µs
per run, spread thin: reading the running loop and the current task for the watchdog
(~0.4 µs; the loop read costs a system call, getpid, that no public API avoids),
building the state, the frame, the scope, the secrets and the result (~1.2 µs together),
the inputs (~0.5 µs for three), the prepared-run lookup (~0.3 µs), two context variables
(~0.2 µs), the lazily generated block and outputs called through their wrapper (~0.1 µs
each); ~0.75 µs per step of bookkeeping and the tool call itself (~0.55 µs of it is the
call the hand-written code makes too), and ~1.1 µs per set of templated values (11 per
run), of which the evaluation clock (begin/end) is ~0.29 µs: two clock readings, which
the budget needs (it counts only evaluation time, not tools' or the runtime's), and two
Python calls, which only writing the clock's code into each generated function would
save (a second copy of it; not done). An `if:` expression is evaluated by simpleeval's
interpreter, not compiled code: ~5 µs.

    python benchmarks/bench_runtime.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from engine.compile.compiler import Compiler
from engine.lang.limits import Profile
from engine.load.loader import load_text
from engine.run import run
from engine.tools.bridge.inprocess import InProcessBridge

TEN_STEPS = """
api_version: "1.1"
kind: action
name: ten-steps
inputs:
  name: {type: string}
  count: {type: integer, default: 3}
  loud: {type: boolean, default: false}
steps:
  - id: a
    tool: km_text
    with: {text: "{{ inputs.name }}", count: "{{ inputs.count }}"}
  - id: b
    tool: km_text
    with: {text: "Hello {{ inputs.name }}!", count: 1}
  - tool: km_text
    with: {text: "{{ steps.a.result.data.text }}", count: "{{ inputs.count }}"}
  - tool: km_flag
    with: {flag: "{{ inputs.loud }}", label: "static label"}
  - tool: km_text
    with: {text: "{{ inputs.name }} / {{ inputs.count }}", count: 2}
  - tool: km_text
    with: {text: "{{ steps.b.result.data.text }}", count: "{{ inputs.count }}"}
  - tool: km_flag
    with: {flag: true, label: "{{ inputs.name }}"}
  - tool: km_text
    with: {text: "Bye {{ inputs.name }}", count: "{{ inputs.count }}"}
  - tool: km_text
    with: {text: "{{ inputs.name }}", count: 4}
  - tool: km_flag
    with: {flag: "{{ inputs.loud }}", label: "{{ steps.a.result.data.text }}"}
outputs:
  first: "{{ steps.a.result.data.text }}"
"""

TEXT_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "count": {"type": "integer"}},
    "required": ["text"],
    "additionalProperties": False,
}
FLAG_SCHEMA = {
    "type": "object",
    "properties": {"flag": {"type": "boolean"}, "label": {"type": "string"}},
    "additionalProperties": False,
}


async def km_text(text: str, count: int = 1) -> dict[str, Any]:
    return {"success": True, "data": {"text": text}}


async def km_flag(flag: bool, label: str = "") -> dict[str, Any]:
    return {"success": True, "data": {"flag": flag}}


async def hand_written(inputs: dict[str, Any]) -> dict[str, Any]:
    """The same ten calls with the same argument values, written by hand."""
    name, count, loud = inputs["name"], inputs.get("count", 3), inputs.get("loud", False)
    a = await km_text(text=name, count=count)
    b = await km_text(text=f"Hello {name}!", count=1)
    await km_text(text=a["data"]["text"], count=count)
    await km_flag(flag=loud, label="static label")
    await km_text(text=f"{name} / {count}", count=2)
    await km_text(text=b["data"]["text"], count=count)
    await km_flag(flag=True, label=name)
    await km_text(text=f"Bye {name}", count=count)
    await km_text(text=name, count=4)
    await km_flag(flag=loud, label=a["data"]["text"])
    return {"first": a["data"]["text"]}


async def hand_written_via_bridge(bridge: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """The same ten calls through the bridge API, as a Python program would make them."""
    call = bridge.call_tool
    name, count, loud = inputs["name"], inputs.get("count", 3), inputs.get("loud", False)
    a = await call("km_text", {"text": name, "count": count})
    b = await call("km_text", {"text": f"Hello {name}!", "count": 1})
    await call("km_text", {"text": a["data"]["text"], "count": count})
    await call("km_flag", {"flag": loud, "label": "static label"})
    await call("km_text", {"text": f"{name} / {count}", "count": 2})
    await call("km_text", {"text": b["data"]["text"], "count": count})
    await call("km_flag", {"flag": True, "label": name})
    await call("km_text", {"text": f"Bye {name}", "count": count})
    await call("km_text", {"text": name, "count": 4})
    await call("km_flag", {"flag": loud, "label": a["data"]["text"]})
    return {"first": a["data"]["text"]}


def one_step(with_text: str, condition: str | None = None) -> str:
    cond = f"\n    if: {condition}" if condition else ""
    return f"""
api_version: "1.1"
kind: action
name: one
inputs:
  name: {{type: string}}
  count: {{type: integer, default: 3}}
steps:
  - tool: km_text{cond}
    with: {{text: {with_text}}}
"""


async def timed(function: Any, rounds: int) -> list[float]:
    """Microseconds of each of ``rounds`` × 100 calls, timed one by one: on a shared
    machine a batch's mean takes in every time the process was preempted, which the
    median of single calls leaves out (the clock reading costs ~0.1 µs, on both sides)."""
    samples = []
    clock = time.perf_counter_ns
    for _ in range(rounds * 100):
        started = clock()
        await function()
        samples.append((clock() - started) / 1000)
    return samples


async def main(rounds: int) -> None:
    bridge = InProcessBridge()
    bridge.register("km_text", km_text, TEXT_SCHEMA)
    bridge.register("km_flag", km_flag, FLAG_SCHEMA)
    compiler = Compiler(catalog=bridge.catalog())
    limits = Profile.STANDARD.limits
    pipeline = compiler.compile(load_text(TEN_STEPS))
    inputs = {"name": "Ann", "count": 3, "loud": False}

    async def engine_run() -> None:
        result = await run(pipeline, inputs, bridge=bridge, limits=limits)
        if result.error is not None:
            raise result.error

    async def timed_run() -> None:  # as installed actions run: the history's timeline kept
        result = await run(pipeline, inputs, bridge=bridge, limits=limits, timeline=True)
        if result.error is not None:
            raise result.error

    async def python_run() -> None:
        await hand_written(inputs)

    async def bridge_run() -> None:
        await hand_written_via_bridge(bridge, inputs)

    for _ in range(200):  # warm up all four
        await engine_run()
        await timed_run()
        await python_run()
        await bridge_run()
    engine_samples: list[float] = []
    timeline_samples: list[float] = []
    python_samples: list[float] = []
    bridge_samples: list[float] = []
    for _ in range(rounds):  # interleave, so all see the same machine state
        engine_samples += await timed(engine_run, 1)
        timeline_samples += await timed(timed_run, 1)
        bridge_samples += await timed(bridge_run, 1)
        python_samples += await timed(python_run, 1)
    e = statistics.median(engine_samples)
    t = statistics.median(timeline_samples)
    b = statistics.median(bridge_samples)
    p = statistics.median(python_samples)
    print(
        f"10-step action, median per run: engine {e:.1f} µs; hand-written through the "
        f"bridge {b:.1f} µs, ratio {e / b:.2f}x (target <= 3x); hand-written calling the "
        f"functions directly {p:.1f} µs, ratio {e / p:.2f}x"
    )
    print(
        f"  keeping each step's timing for the history (installed actions): {t:.1f} µs, "
        f"+{t - e:.1f} µs"
    )

    variants = {
        "constant argument": one_step('"plain text"'),
        "plain reference": one_step('"{{ inputs.name }}"'),
        "mixed template": one_step('"Hello {{ inputs.name }}, {{ inputs.count }} times"'),
        "filtered template": one_step('"{{ inputs.name | upper }}"'),
        "expression (if)": one_step('"plain text"', "inputs.count > 2 and inputs.name != ''"),
    }
    baseline = None
    print("per-step cost, median of one-step runs:")
    for label, text in variants.items():
        p1 = compiler.compile(load_text(text))

        async def one(p1: Any = p1) -> None:
            await run(p1, {"name": "Ann"}, bridge=bridge, limits=limits)

        for _ in range(200):
            await one()
        samples = await timed(one, rounds)
        median = statistics.median(samples)
        if baseline is None:
            baseline = median
            print(f"  {label:<20} {median:7.2f} µs per run (baseline)")
        else:
            print(f"  {label:<20} {median:7.2f} µs per run, +{median - baseline:.2f} µs")


async def scale(pipeline: Any, bridge: Any, inputs: dict[str, Any]) -> None:
    """Memory across 100,000 executions, and 1,000 executions at once."""
    import gc
    import tracemalloc

    for _ in range(2_000):
        await run(pipeline, inputs, bridge=bridge)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(100_000):
        await run(pipeline, inputs, bridge=bridge)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(
        f"memory retained after 100,000 more executions (tracemalloc, after warm-up): "
        f"{(after - before) / 1024:+.1f} KiB"
    )
    started = time.perf_counter()
    results = await asyncio.gather(*(run(pipeline, inputs, bridge=bridge) for _ in range(1_000)))
    ok = sum(1 for r in results if r.error is None)
    print(
        f"1,000 concurrent executions: {ok} succeeded in "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument(
        "--scale",
        action="store_true",
        help="also measure memory over 100,000 runs and 1,000 at once",
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds))
    if arguments.scale:
        scale_bridge = InProcessBridge()
        scale_bridge.register("km_text", km_text, TEXT_SCHEMA)
        scale_bridge.register("km_flag", km_flag, FLAG_SCHEMA)
        scale_pipeline = Compiler(catalog=scale_bridge.catalog()).compile(load_text(TEN_STEPS))
        asyncio.run(scale(scale_pipeline, scale_bridge, {"name": "Ann", "count": 3}))
