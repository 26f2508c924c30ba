"""MCP server figures, side by side in one run: what `km-actions serve` adds to a call, and
how long it takes to answer tools/list with 1,000 installed actions.

1. Executing a 1-step action (one km_calculator call) through ``km-actions serve`` over
   stdio, whose upstream is ``km-actions simulator`` over stdio, against calling the same
   tool directly on another ``km-actions simulator`` over stdio: the same client
   machinery (``mcp.Client``, protocol 2026-07-28), calls interleaved, medians compared.
   Both ways of running the action are shown: ``km_plugin_ecosystem`` execute, and the
   action's own tool (``[tools] per_action``). Target: serve adds <= 1 ms (median).
   The second stdio hop (serve to its upstream) is a whole round trip of its own, so the
   same action is also run on a ``km-actions serve`` without an upstream (the built-in
   simulator answers in-process): one stdio hop, like the direct call, which isolates
   what km-actions itself adds.
   Also the deployment that avoids that hop: km-actions embedded in the Keyboard
   Maestro server's own ``MCPServer`` app (``engine.server.embed.attach``; here a stand-in
   app, benchmarks/_keyboard_maestro_app.py): the same action run by its tool on that
   app, against calling the app's ``km_calculator`` directly, both over one stdio hop.
2. Start-up: from starting ``km-actions serve`` (no upstream: the built-in simulator) to
   its first tools/list answer, with 1,000 installed actions (20 generated plugins of 50,
   as in bench_plugins.py) and with none, rounds interleaved. Target: <= 1.5x.

    python benchmarks/bench_mcp.py [--calls N] [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import tomli_w
from mcp import Client, StdioServerParameters

from engine.plugins.installer import install
from engine.plugins.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plugins import make_plugin

KM_ACTIONS = str(Path(sys.executable).with_name("km-actions"))
EXPRESSION = {"expression": "6 * 7"}
EMBEDDED_APP = str(Path(__file__).resolve().with_name("_keyboard_maestro_app.py"))
ONE_STEP = """api_version: "1.1"
kind: action
name: one-step
description: One call to the calculator.
permissions: [km_calculator]
steps:
  - id: calc
    tool: km_calculator
    with: {expression: "6 * 7"}
outputs:
  result: "{{ steps.calc.result.data.result }}"
"""


def params(*args: str, home: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=KM_ACTIONS, args=list(args), env={"KM_ACTIONS_HOME": str(home)}
    )


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def overhead(work: Path, calls: int) -> None:
    home, alone = work / "overhead", work / "no-upstream"
    home.mkdir()
    alone.mkdir()
    config = home / "config.toml"
    config.write_text(
        tomli_w.dumps(
            {"upstream": {"command": [KM_ACTIONS, "simulator"]}, "security": {"ceiling": ["all"]}}
        ),
        "utf-8",
    )
    async with (
        Client(params("serve", home=home), cache=None) as served,
        Client(params("simulator", home=home), cache=None) as direct,
        Client(params("serve", home=alone), cache=None) as builtin,
    ):
        for server in (served, builtin):
            created = await server.call_tool(
                "km_plugin_ecosystem", {"operation": "create", "plugin_source": ONE_STEP}
            )
            assert created.structured_content and created.structured_content["success"]
        execute = {"operation": "execute", "action_name": "mcp-created/one-step"}

        async def via_ecosystem() -> None:
            result = await served.call_tool("km_plugin_ecosystem", execute)
            assert result.structured_content and result.structured_content["success"]

        async def via_action_tool() -> None:
            result = await served.call_tool("mcp-created__one-step", {})
            assert result.structured_content and result.structured_content["success"]

        async def upstream_directly() -> None:
            result = await direct.call_tool("km_calculator", EXPRESSION)
            assert result.structured_content and result.structured_content["success"]

        async def no_upstream_hop() -> None:
            result = await builtin.call_tool("mcp-created__one-step", {})
            assert result.structured_content and result.structured_content["success"]

        ways = {
            "upstream tool, directly": upstream_directly,
            "serve, km_plugin_ecosystem execute": via_ecosystem,
            "serve, the action's own tool": via_action_tool,
            "serve, own tool, built-in simulator": no_upstream_hop,
        }
        for call in ways.values():  # warm up: first calls compile and cache
            for _ in range(20):
                await call()
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(calls):
            for name, call in ways.items():
                times[name].append(await timed(call))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["upstream tool, directly"]
    print(f"1. executing a 1-step action over stdio, {calls} interleaved calls each (median):")
    for name, median in medians.items():
        quartiles = statistics.quantiles(times[name], n=4)
        print(
            f"   {name:<36} {median * 1000:6.2f} ms  (quartiles {quartiles[0] * 1000:.2f}"
            f"-{quartiles[2] * 1000:.2f})"
        )
    for name in list(ways)[1:3]:
        added = (medians[name] - base) * 1000
        print(
            f"   {name:<36} adds {added:5.2f} ms ({medians[name] / base:.2f}x): "
            f"{'meets' if added <= 1.0 else 'MISSES'} the <= 1 ms target"
        )
    # One stdio hop each: what km-actions itself adds, without the second hop to an upstream.
    own = (medians["serve, own tool, built-in simulator"] - base) * 1000
    print(
        f"   without the upstream hop (one stdio hop each way, simulator in-process), "
        f"serve adds {own:5.2f} ms"
    )
    ecosystem, action_tool = (
        medians["serve, km_plugin_ecosystem execute"],
        medians["serve, the action's own tool"],
    )
    print(
        f"   the action's own tool vs km_plugin_ecosystem execute: {action_tool / ecosystem:.2f}x"
    )


async def embedded(work: Path, calls: int) -> None:
    home = work / "embedded"
    home.mkdir()
    app = StdioServerParameters(
        command=sys.executable, args=[EMBEDDED_APP], env={"KM_ACTIONS_HOME": str(home)}
    )
    source = ONE_STEP.replace('"6 * 7"', '"6 + 7"')
    async with Client(app, cache=None) as client:
        created = await client.call_tool(
            "km_plugin_ecosystem", {"operation": "create", "plugin_source": source}
        )
        assert created.structured_content and created.structured_content["success"], created

        async def directly() -> None:
            result = await client.call_tool("km_calculator", {"expression": "6 + 7"})
            assert result.structured_content and result.structured_content["success"]

        async def action_tool() -> None:
            result = await client.call_tool("mcp-created__one-step", {})
            assert result.structured_content and result.structured_content["success"]

        ways = {"the app's km_calculator, directly": directly, "the action's tool": action_tool}
        for call in ways.values():
            for _ in range(20):
                await call()
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(calls):
            for name, call in ways.items():
                times[name].append(await timed(call))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print("   embedded in the Keyboard Maestro server's app (one stdio hop each):")
    for name, median in medians.items():
        print(f"     {name:<34} {median * 1000:6.2f} ms")
    direct, action = medians.values()
    added = (action - direct) * 1000
    print(
        f"     the action adds {added:5.2f} ms ({action / direct:.2f}x): "
        f"{'meets' if added <= 1.0 else 'MISSES'} the <= 1 ms target"
    )


async def first_tools_list(home: Path) -> tuple[float, int]:
    """Seconds from starting `km-actions serve` to its first tools/list answer; the tools."""
    started = time.perf_counter()
    async with Client(params("serve", home=home), cache=None) as client:
        listing = await client.list_tools()
        elapsed = time.perf_counter() - started
    return elapsed, len(listing.tools)


async def startup(work: Path, rounds: int) -> None:
    empty, full = work / "empty", work / "full"
    empty.mkdir()
    started = time.perf_counter()
    with Store.open(full) as store:
        for p in range(20):
            install(store, make_plugin(work / "src", f"gen-{p:02d}", 50))
    print(
        f"\n2. tools/list after start-up (store of 20 x 50 actions built in "
        f"{time.perf_counter() - started:.1f} s):"
    )
    times: dict[str, list[float]] = {"empty": [], "full": []}
    counts = {}
    await first_tools_list(empty)  # warm the OS file cache for both
    await first_tools_list(full)
    for _ in range(rounds):
        for label, home in (("empty", empty), ("full", full)):
            elapsed, counts[label] = await first_tools_list(home)
            times[label].append(elapsed)
    medians = {label: statistics.median(values) for label, values in times.items()}
    for label, title in (("empty", "no actions installed"), ("full", "1,000 actions installed")):
        print(
            f"   {title:<24} median {medians[label] * 1000:7.1f} ms  "
            f"({counts[label]} tools, {rounds} rounds, min {min(times[label]) * 1000:.1f})"
        )
    ratio = medians["full"] / medians["empty"]
    print(f"   ratio {ratio:.2f}x: {'meets' if ratio <= 1.5 else 'MISSES'} the <= 1.5x target")


async def run(calls: int, rounds: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    try:
        await overhead(work, calls)
        await embedded(work, calls)
        await startup(work, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    anyio.run(run, args.calls, args.rounds)


if __name__ == "__main__":
    main()
