"""``km-actions stats``, ``history`` and ``trace``: how installed actions have been running.

Exit status: 0 success, 1 a failure the command reports (the store cannot be opened, no
such run, a window it cannot read), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from typing import Any

from engine.cli._say import failed
from engine.diagnostics.errors import EngineError
from engine.diagnostics.words import counted


def add_parsers(sub: Any) -> None:
    s = sub.add_parser(
        "stats",
        help="runs, error rates, timings and slowest steps of installed actions",
        description="Per action, over a window of the history: runs, failures and the error "
        "rate, the kinds of failure, the duration's p50, p95 and maximum (nearest rank), "
        "and the slowest steps.",
    )
    _which(s)
    _since(s)
    s.add_argument("--slowest", type=int, default=3, metavar="N", help="steps listed per action")
    s.add_argument("--recent", type=int, default=10, help="recent runs listed with --json")
    _json(s)
    s.set_defaults(handler=cmd_stats)

    h = sub.add_parser(
        "history",
        help="the recent runs of installed actions",
        description="The runs the history keeps, newest first, with their ids for "
        "`km-actions trace`. Failed runs are kept longer than successful ones.",
    )
    _which(h)
    _since(h)
    h.add_argument("--failed", action="store_true", help="only runs that failed")
    h.add_argument("--limit", type=int, default=20, metavar="N", help="how many runs (default 20)")
    _json(h)
    h.set_defaults(handler=cmd_history)

    t = sub.add_parser(
        "trace",
        help="one past run, step by step",
        description="A run the history keeps: how it ended, and each step with its status, "
        "start and duration (no values: the history keeps none; secrets are never shown).",
    )
    t.add_argument(
        "run", type=int, metavar="RUN_ID", help="the run's id (see `km-actions history`)"
    )
    _json(t)
    t.set_defaults(handler=cmd_trace)


def _which(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", metavar="ACTION", help="a plugin, or plugin/action")


def _since(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--since",
        "--window",
        metavar="WHEN",
        help="how far back (30m, 1h, 7d, 2w) or since when (2026-05-04); default: all kept",
    )


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print as JSON")


def _filters(args: argparse.Namespace) -> dict[str, str | None]:
    plugin, _, action = (args.action or "").partition("/")
    return {"plugin": plugin or None, "action": action or None}


def _with_history(command: str, ask: Callable[[Any], Any]) -> tuple[int, Any]:
    """``ask(history)`` on the store's history; (0, answer) or (1, None) once reported."""
    from engine.plugins.history import RunHistory
    from engine.plugins.store import Store

    try:
        store = Store.open()
    except EngineError as error:
        return failed(command, error), None
    with store:
        history = RunHistory(store)
        try:
            return 0, ask(history)
        except EngineError as error:
            return failed(command, error), None
        finally:
            history.close()


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


# -- stats ---------------------------------------------------------------------------------

STATS_HEAD = (
    f"{'action':<40} {'runs':>6} {'failed':>6} {'error':>6} {'p50 ms':>9} {'p95 ms':>9} "
    f"{'max ms':>9}"
)


def cmd_stats(args: argparse.Namespace) -> int:
    which = _filters(args)

    def ask(history: Any) -> dict[str, Any]:
        stats = history.stats(since=args.since, slowest=args.slowest, **which)
        return {**stats, "recent": history.history(args.recent, **which)}

    code, data = _with_history("stats", ask)
    if code:
        return code
    if args.json:
        _print_json(data)
        return 0
    window = data["window"]
    if not data["actions"]:
        print("no runs of installed actions" + (" in this window" if window["since"] else " yet"))
        return 0
    print(_window_line(window))
    print(STATS_HEAD)
    for row in data["actions"]:
        d = row["duration_ms"]
        print(
            f"{row['action']:<40} {row['runs']:>6} {row['failures']:>6} "
            f"{row['error_rate']:>6.1%} {d['p50']:>9.2f} {d['p95']:>9.2f} {d['max']:>9.2f}"
        )
    for row in data["actions"]:
        _print_details(row)
    return 0


def _window_line(window: Mapping[str, Any]) -> str:
    since = window["since"]
    line = f"runs since {since}" if since else "every run kept"
    line += f", until {window['until']}"
    if window.get("note"):
        line += f" ({window['note']})"
    return line


def _print_details(row: Mapping[str, Any]) -> None:
    kinds = ", ".join(f"{kind} {count}" for kind, count in row["failure_kinds"].items())
    print(f"\n{row['action']}")
    if kinds:
        print(f"  failures: {kinds}")
    steps = row["slowest_steps"]
    if not steps:
        return
    print("  slowest steps (mean ms, max ms, share of the run time, calls):")
    for step in steps:
        where = step["step"] + (f" [{step['action']}]" if step["action"] != row["action"] else "")
        tool = f" ({step['tool']})" if step["tool"] else ""
        print(
            f"    {where + tool:<46} {step['mean_ms']:>9.2f} {step['max_ms']:>9.2f} "
            f"{step['share']:>6.0%} {step['calls']:>6}"
        )


# -- history and trace ---------------------------------------------------------------------


def cmd_history(args: argparse.Namespace) -> int:
    which = _filters(args)
    code, runs = _with_history(
        "history",
        lambda history: history.history(args.limit, failed=args.failed, since=args.since, **which),
    )
    if code:
        return code
    if args.json:
        _print_json(runs)
        return 0
    if not runs:
        print("no runs kept" + (" that match" if args.action or args.failed or args.since else ""))
        return 0
    print(f"{'id':>6}  {'started':<24}  {'status':<9} {'ms':>9}  action")
    for run in runs:
        line = (
            f"{run['id']:>6}  {run['started_at']:<24}  {run['status']:<9} "
            f"{run['duration_ms']:>9.2f}  {run['plugin']}/{run['action']}"
        )
        if run["error_kind"]:
            line += f": {run['error_kind']}: {run['error_message'] or ''}".rstrip()
        print(line)
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from engine.plugins.history import run_not_kept

    code, run = _with_history("trace", lambda history: history.run(args.run))
    if code:
        return code
    if run is None:
        error = run_not_kept(args.run, "see the ids of the runs kept with `km-actions history`")
        return failed("trace", error)
    if args.json:
        _print_json(run)
        return 0
    _print_run(run)
    return 0


def _print_run(run: Mapping[str, Any]) -> None:
    print(
        f"run {run['id']}: {run['plugin']}/{run['action']}, {run['status']} after "
        f"{run['duration_ms']:.2f} ms"
    )
    counts = f"{counted(run['steps_run'], 'step')}, {counted(run['tool_calls'], 'tool call')}"
    if run["steps_run"] is None:
        counts = "steps not recorded"
    backend = (
        f" ({run['backend']}{', dry run' if run['dry_run'] else ''})" if run["backend"] else ""
    )
    print(f"  started {run['started_at']}; {counts}{backend}")
    error = run["error"]
    if error:
        where = f" at {error['location']}" if error.get("location") else ""
        print(f"  error[{error['kind']}]{where}: {error['message']}")
        if error.get("hint"):
            print(f"     = hint: {error['hint']}")
    trace = run["trace"]
    if trace is None:
        print("  (no steps: this run was recorded by an older km-actions)")
        return
    if not trace:
        return
    print(f"  {'start ms':>9} {'ms':>9}  {'status':<9}  step")
    omitted = run["omitted"]
    for index, step in enumerate(trace):
        if omitted and index == len(trace) // 2:
            print(f"  … {omitted} steps left out …")
        _print_step(step, run)


def _print_step(step: Mapping[str, Any], run: Mapping[str, Any]) -> None:
    name = step.get("step") or step.get("name") or f"{step['kind']} step at {step['path']}"
    what = step["kind"] + (f" {step['tool']}" if step.get("tool") else "")
    owner = f"{run['plugin']}/{run['action']}"
    place = f"line {step['line']}" if step.get("line") else step["path"]
    if step["action"] != owner:
        place += f" of {step['action']}"
    tries = f", {step['attempts']} attempts" if step.get("attempts", 1) > 1 else ""
    print(
        f"  {step['start_ms']:>9.2f} {step['duration_ms']:>9.2f}  {step['status']:<9}  "
        f"{name}: {what} ({place}{tries})"
    )
    error = step.get("error")
    if error:
        print(f"  {'':>9} {'':>9}  {'':<9}    {error['kind']}: {error['message']}")
