"""Statistics of the runs the history keeps: per action, over a window of time.

Per action: runs, failures, the error rate, the kinds of failure, the duration's p50,
p95, maximum and mean, and the slowest steps (by the total time spent in them, nested
steps included in the step around them). Percentiles use the **nearest-rank** method:
the p-th percentile of n durations is the smallest one with at least p % of them at or
below it, the ⌈p·n/100⌉-th in ascending order, so it is always a duration a run
really took:

>>> percentile([4.0, 1.0, 3.0, 2.0], 50), percentile([4.0, 1.0, 3.0, 2.0], 95)
(2.0, 4.0)

Failures are kept longer than successes (see :mod:`engine.plugins.history`), so a
window reaching back before the oldest success kept would overstate the error rate:
the window then starts where the successes kept begin, and says so.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from engine.diagnostics.errors import EngineError
from engine.plugins._db import stamp

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"(\d{1,6})([smhdw])")


def percentile(values: Iterable[float], p: int) -> float:
    """The ``p``-th percentile (0 < p <= 100) of ``values`` (not empty), nearest rank."""
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))  # ⌈p·n/100⌉ in whole numbers: no rounding
    return ordered[rank - 1]


def parse_since(text: str, now: datetime) -> str:
    """The start of a window: ``90m``, ``1h``, ``7d``, ``2w`` (before ``now``), or a date
    or time (``2026-05-04``, ``2026-05-04T09:30``, UTC unless it says otherwise).

    >>> parse_since("1h", datetime(2026, 5, 4, 9, 30, tzinfo=UTC))
    '2026-05-04T08:30:00.000Z'
    >>> parse_since("2026-05-01", datetime(2026, 5, 4, tzinfo=UTC))
    '2026-05-01T00:00:00.000Z'
    """
    given = text.strip()
    found = _DURATION.fullmatch(given)
    if found is not None:
        amount, unit = int(found.group(1)), _UNITS[found.group(2)]
        return stamp(now - timedelta(**{unit: amount}))
    try:
        moment = datetime.fromisoformat(given.replace("Z", "+00:00"))
    except ValueError:
        raise EngineError(
            f"cannot read {given!r} as a window",
            code="invalid-parameter",
            hint="give how far back (30m, 1h, 7d, 2w) or since when (2026-05-04 or "
            "2026-05-04T09:30)",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return stamp(moment)


class Window:
    """Which runs a question is about: an action or plugin, and since when."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        since: str | None,
        until: str,
        plugin: str | None = None,
        action: str | None = None,
    ) -> None:
        row = conn.execute(
            "SELECT run, started_at FROM history_trimmed WHERE failed = 0"
        ).fetchone()
        trimmed, trimmed_at = row if row else (0, None)
        # The successes up to run `trimmed` are gone: a window reaching back to them
        # starts after it.
        self.shortened = trimmed_at is not None and (since is None or since <= trimmed_at)
        self.after = trimmed if self.shortened else 0
        self.trimmed_at = trimmed_at if self.shortened else None
        self.since = since
        self.until = until
        self.plugin = plugin
        self.action = action

    def where(self, table: str = "history") -> tuple[str, list[Any]]:
        """The SQL condition for runs in the window, and its parameters."""
        clauses = [f"{table}.started_at >= ?", f"{table}.id > ?"]
        params: list[Any] = [self.since or "", self.after]
        if self.plugin is not None:
            clauses.append(f"{table}.plugin = ?")
            params.append(self.plugin)
        if self.action is not None:
            clauses.append(f"{table}.action = ?")
            params.append(self.action)
        return " AND ".join(clauses), params

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "since": self.trimmed_at if self.shortened else self.since,
            "until": self.until,
            "shortened": self.shortened,
        }
        if self.shortened:
            out["note"] = (
                f"successful runs up to {self.trimmed_at} are no longer kept, so the window "
                "starts after them"
            )
        return out


def action_stats(conn: sqlite3.Connection, window: Window, slowest: int) -> list[dict[str, Any]]:
    """The statistics of every action with runs in ``window`` (see the module docs)."""
    where, params = window.where()
    rows = conn.execute(
        "SELECT plugin, action, duration_ms, failed, error_kind, started_at, status "
        f"FROM history WHERE {where} ORDER BY plugin, action, id",
        params,
    ).fetchall()
    steps = _slowest_steps(conn, window, slowest)
    totals = _all_time(conn, window)
    out = []
    for (plugin, action), group in groupby(rows, key=lambda r: (r[0], r[1])):
        runs = list(group)
        out.append(_one_action(plugin, action, runs, steps.get((plugin, action), [])))
        out[-1]["all_time"] = totals.get((plugin, action))
    return out


def _one_action(
    plugin: str, action: str, runs: Sequence[Sequence[Any]], steps: list[dict[str, Any]]
) -> dict[str, Any]:
    durations = [r[2] for r in runs]
    failures = sum(r[3] for r in runs)
    kinds = Counter(r[4] or "unknown" for r in runs if r[3])
    total = sum(durations)
    for step in steps:
        step["share"] = round(step["total_ms"] / total, 4) if total else 0.0
    last = runs[-1]
    return {
        "action": f"{plugin}/{action}",
        "runs": len(runs),
        "failures": failures,
        "error_rate": round(failures / len(runs), 4),
        "failure_kinds": dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
        "duration_ms": {
            "p50": percentile(durations, 50),
            "p95": percentile(durations, 95),
            "max": max(durations),
            "mean": round(total / len(runs), 3),
        },
        "slowest_steps": steps,
        "last_run": last[5],
        "last_status": last[6],
    }


def _slowest_steps(
    conn: sqlite3.Connection, window: Window, slowest: int
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    where, params = window.where("h")
    rows = conn.execute(
        "SELECT h.plugin, h.action, s.action, s.path, MIN(s.label), MIN(s.kind), MIN(s.tool), "
        "COUNT(*), SUM(s.calls), SUM(s.failures), SUM(s.total_ms), MAX(s.max_ms) "
        f"FROM history_steps s JOIN history h ON h.id = s.run WHERE {where} "
        "GROUP BY h.plugin, h.action, s.action, s.path "
        "ORDER BY h.plugin, h.action, SUM(s.total_ms) DESC, s.path",
        params,
    ).fetchall()
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (plugin, action), group in groupby(rows, key=lambda r: (r[0], r[1])):
        out[(plugin, action)] = [_step(row) for row in list(group)[:slowest]]
    return out


def _step(row: Sequence[Any]) -> dict[str, Any]:
    _, _, owner, path, label, kind, tool, runs, calls, failures, total, top = row
    return {
        "step": label,
        "action": owner,
        "path": path,
        "kind": kind,
        "tool": tool,
        "runs": runs,
        "calls": calls,
        "failures": failures,
        "mean_ms": round(total / calls, 3),
        "max_ms": round(top, 3),
        "total_ms": round(total, 3),
    }


def _all_time(conn: sqlite3.Connection, window: Window) -> dict[tuple[str, str], dict[str, Any]]:
    """Every run ever recorded (the metrics: never trimmed)."""
    rows = conn.execute("SELECT plugin, action, runs, failures, total_ms, max_ms FROM metrics")
    return {
        (r[0], r[1]): {
            "runs": r[2],
            "failures": r[3],
            "mean_ms": round(r[4] / r[2], 3) if r[2] else 0.0,
            "max_ms": r[5],
        }
        for r in rows
        if (window.plugin is None or r[0] == window.plugin)
        and (window.action is None or r[1] == window.action)
    }
