#!/usr/bin/env python3
"""Run every shipped action through the real Keyboard Maestro MCP server, and record each outcome.

    python scripts/km_server/record_actions.py --server PATH_TO_CHECKOUT \
        [--python SERVER_VENV_PYTHON] [--out tests/data/km_server/actions] [--only RUN ...]

Each run of the table in ``tests/simulator/km_server_actions.py`` (``RUNS``: an action file,
its inputs and, for a plugin's action, its settings) starts the server afresh, exactly as
``record.py`` does (a copy of the checkout, a temporary home and working directory, its own
network namespace, ``osascript`` routed to the stand-in whose model starts from
``tests/data/km_server/seeds/default.json``; or no ``osascript`` at all for a run marked
``standin=False``), connects to it with km-actions' own upstream bridge
(``engine.tools.bridge.upstream.UpstreamBridge``, the command ``[upstream]`` would name), runs the
action as ``km-actions run FILE`` does, and writes the outcome (status, outputs, error kind
and code, every call with its arguments and the server's answer) to ``OUT/<run>.json``.
``tests/simulator/test_shipped_actions.py`` runs the same table on the simulator and
compares. A recording whose outcome is unchanged (by the same comparison) is kept as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import record  # noqa: E402  (the recorder of single calls: its server set-up is reused)

from tests.simulator.km_server_actions import (  # noqa: E402
    RECORDINGS,
    RUNS,
    SEED,
    Run,
    compare_outcomes,
    recording_path,
    run_action,
)

CONNECT_TIMEOUT = 60.0


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    runs = list(RUNS)
    if args.only:
        unknown = set(args.only) - {r.name for r in runs}
        if unknown:
            print(f"unknown run(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        runs = [r for r in runs if r.name in args.only]
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="km-record-actions-") as scratch:
        server = Path(scratch) / "server"
        shutil.copytree(Path(args.server).resolve(), server, ignore=record._IGNORED)
        isolate = record._can_isolate() and not args.no_isolate_network
        setup = record.Setup(server, args.python, out, isolate)
        setup.commit = record._meta(Path(args.server).resolve(), setup)["server"]["commit"]
        for run in runs:
            print(f"running {run.name} ...", file=sys.stderr, flush=True)
            recorded = asyncio.run(_record(setup, run, Path(scratch) / run.name))
            _keep_or_write(out / recording_path(run).name, recorded)
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="a checkout of Keyboard-Maestro-MCP-2")
    parser.add_argument("--python", default=sys.executable, help="the server venv's python")
    parser.add_argument("--out", default=str(RECORDINGS), help="where the recordings go")
    parser.add_argument("--only", nargs="*", help="record these runs only")
    parser.add_argument("--no-isolate-network", action="store_true")
    return parser.parse_args(argv)


async def _record(setup: record.Setup, run: Run, work: Path) -> dict[str, Any]:
    """One run on a fresh server: its outcome, with what it ran on."""
    from engine.tools.bridge.upstream import UpstreamBridge  # imports mcp: only when recording

    home = work / "home"
    (home / record.PLUGINS).mkdir(parents=True)
    state_file, log_file = work / "state.json", work / "osascript.jsonl"
    shutil.copyfile(record.SEEDS / f"{SEED}.json", state_file)
    log_file.touch()
    env = record._environment(setup, state_file, log_file, home, standin=run.standin)
    command, args = record._command(setup)
    bridge = UpstreamBridge(
        [command, *args],
        env=env,
        cwd=home,
        call_timeout=record.CALL_TIMEOUT,
        connect_timeout=CONNECT_TIMEOUT,
    )
    async with bridge:
        result = await run_action(run, bridge)
    places = {str(home): "{home}", str(setup.server): "{server}"}
    return {
        "server_commit": setup.commit,
        **run.to_dict(),
        "outcome": record._relocated(result, places),
    }


def _keep_or_write(path: Path, recorded: dict[str, Any]) -> None:
    """Keep an existing recording of the same run whose outcome is the same."""
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        same_run = {k: v for k, v in old.items() if k != "outcome"} == {
            k: v for k, v in recorded.items() if k != "outcome"
        }
        if same_run and not compare_outcomes(old["outcome"], recorded["outcome"]):
            return
    record._write(path, recorded)


if __name__ == "__main__":
    sys.exit(main())
