"""The history and metrics of installed actions' runs, kept in the store's database.

Every run of an installed action adds a row to ``history`` (plugin, action, when, how
long, how it ended, the error's kind and message, its counts, and a trace without
values: see :mod:`engine.plugins._run_record`), its time per step to
``history_steps``, and updates its line in ``metrics`` (all-time runs, failures, total
and longest time, last run). Nothing a run was given or gave back is stored: no inputs,
arguments, results or outputs, and the error messages are masked by the run.

**Retention**: successful runs are kept for :data:`SUCCESS_DAYS` days and at most
:data:`SUCCESSES_KEPT` of them; failed (and cancelled) runs for :data:`FAILURE_DAYS`
days and at most :data:`FAILURES_KEPT`, so a failure stays to be looked at long after
the successes around it are gone. The metrics are never trimmed. Statistics over a
window (:mod:`engine.plugins._run_stats`) never reach back past the successes kept.

Rows are written on a connection of their own that does not wait for the disk at each
commit: losing the last few rows to a power cut is acceptable, slowing every run is
not. A row that cannot be written (the database locked by another process for longer
than the busy timeout, a full disk) is logged as a warning: the run itself happened,
and its result stands.

``write_behind=True`` (the MCP server) writes on a thread of its own, so a run's answer
never waits for the database (nor for turning its timeline into rows), nor does the
server's event loop while another process holds the store's write lock; reads wait for
the writes queued before them, and :meth:`RunHistory.close` for all of them.

>>> import tempfile
>>> from pathlib import Path
>>> from engine.run.model import RunResult, RunStatus
>>> from engine.plugins.store import Store
>>> with Store.open(Path(tempfile.mkdtemp())) as store:
...     runs = RunHistory(store)
...     runs.record("demo", "hello", "2026-05-04T09:30:00.000Z",
...                 RunResult(RunStatus.SUCCEEDED, {}, duration=0.002))
...     [(s["action"], s["runs"], s["duration_ms"]["p50"]) for s in runs.stats()["actions"]]
[('demo/hello', 1, 2.0)]
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from engine.diagnostics.errors import EngineError
from engine.plugins._db import connect, stamp, write_transaction
from engine.plugins._run_record import RunRecord, run_record
from engine.plugins._run_stats import Window, action_stats, parse_since
from engine.plugins.store import DB_NAME, Store
from engine.run.model import RunResult

#: Successful runs kept: at most this many, none older than SUCCESS_DAYS days.
SUCCESSES_KEPT = 5_000
SUCCESS_DAYS = 7
#: Failed and cancelled runs kept: at most this many, none older than FAILURE_DAYS days.
FAILURES_KEPT = 5_000
FAILURE_DAYS = 90
_TRIM_EVERY = 100

logger = logging.getLogger("km_actions.history")
T = TypeVar("T")
Now = Callable[[], datetime]

_RUN_COLUMNS = (
    "id",
    "plugin",
    "action",
    "started_at",
    "duration_ms",
    "status",
    "error_kind",
    "error_message",
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def run_not_kept(run_id: int, listing: str) -> EngineError:
    """The error for a run id the history does not hold (``listing``: how to see the ids).

    >>> print(run_not_kept(7, "see them with `km-actions history`").hint)
    see them with `km-actions history`; successful runs are kept for 7 days, failed ones for 90
    """
    return EngineError(
        f"the history keeps no run {run_id}",
        code="not-found",
        hint=f"{listing}; successful runs are kept for {SUCCESS_DAYS} days, failed ones for "
        f"{FAILURE_DAYS}",
    )


class RunHistory:
    """Records runs of installed actions and answers questions about them (``now``:
    the clock windows and retention are measured by)."""

    def __init__(self, store: Store, *, write_behind: bool = False, now: Now = _utc_now) -> None:
        self.store = store
        self.now = now
        self._history: sqlite3.Connection | None = None
        self._write_behind = write_behind
        self._writer: ThreadPoolExecutor | None = None

    def record(self, plugin: str, action: str, started: str, result: RunResult) -> None:
        """Add a run (see the module docs): at once, or queued with write-behind."""
        if self._write_behind:
            self._executor().submit(self._write, plugin, action, started, result)
        else:
            self._write(plugin, action, started, result)

    def _write(self, plugin: str, action: str, started: str, result: RunResult) -> None:
        try:
            self._insert(run_record(plugin, action, started, result))
        except sqlite3.Error as problem:
            logger.warning(
                "the run of %s/%s at %s was not recorded in the history: %s",
                plugin, action, started, problem,
            )  # fmt: skip

    def _insert(self, run: RunRecord) -> None:
        conn = self._history_conn()
        with write_transaction(conn):
            cursor = conn.execute(
                "INSERT INTO history (plugin, action, started_at, duration_ms, status, "
                "error_kind, failed, error_message, steps_run, tool_calls, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.plugin, run.action, run.started, run.duration_ms, run.status,
                    run.error_kind, run.failed, run.error_message, run.steps_run,
                    run.tool_calls, json.dumps(run.detail, ensure_ascii=False),
                ),
            )  # fmt: skip
            conn.executemany(
                "INSERT INTO history_steps (run, action, path, label, kind, tool, calls, "
                "failures, total_ms, max_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(cursor.lastrowid, *row) for row in run.steps],
            )
            conn.execute(
                "INSERT INTO metrics (plugin, action, runs, failures, total_ms, max_ms, "
                "last_run, last_status) VALUES (?, ?, 1, ?, ?, ?, ?, ?) "
                "ON CONFLICT (plugin, action) DO UPDATE SET runs = runs + 1, "
                "failures = failures + excluded.failures, "
                "total_ms = total_ms + excluded.total_ms, "
                "max_ms = MAX(max_ms, excluded.max_ms), last_run = excluded.last_run, "
                "last_status = excluded.last_status",
                (run.plugin, run.action, run.failed, run.duration_ms, run.duration_ms,
                 run.started, run.status),
            )  # fmt: skip
            # Every _TRIM_EVERY-th run of the store, whichever process records it (the
            # command line records one run per process).
            if cursor.lastrowid is not None and cursor.lastrowid % _TRIM_EVERY == 0:
                self._trim(conn)

    def _trim(self, conn: sqlite3.Connection) -> None:
        """Apply the retention rules (see the module docs), and remember the newest run
        trimmed of each outcome: statistics never count failures without their
        successes."""
        now = self.now()
        for failed, kept, days in ((0, SUCCESSES_KEPT, SUCCESS_DAYS),
                                   (1, FAILURES_KEPT, FAILURE_DAYS)):  # fmt: skip
            row = conn.execute(
                "SELECT id FROM history WHERE failed = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                (failed, kept),
            ).fetchone()
            # Beyond the newest `kept`, or older than `days`.
            condition = "failed = ? AND (id <= ? OR started_at < ?)"
            params = (failed, row[0] if row else 0, stamp(now - timedelta(days=days)))
            newest = conn.execute(
                f"SELECT id, started_at FROM history WHERE {condition} ORDER BY id DESC LIMIT 1",
                params,
            ).fetchone()
            if newest is None:
                continue
            conn.execute(f"DELETE FROM history WHERE {condition}", params)
            conn.execute(
                "INSERT INTO history_trimmed (failed, run, started_at) VALUES (?, ?, ?) "
                "ON CONFLICT (failed) DO UPDATE SET run = excluded.run, "
                "started_at = excluded.started_at WHERE excluded.run > run",
                (failed, *newest),
            )

    # -- questions -----------------------------------------------------------------------

    def stats(
        self,
        *,
        since: str | None = None,
        plugin: str | None = None,
        action: str | None = None,
        slowest: int = 3,
    ) -> dict[str, Any]:
        """Per action, over the window (``since``: see
        :func:`~engine.plugins._run_stats.parse_since`; ``None``: every run kept): runs,
        failures, error rate, failure kinds, p50/p95/max/mean duration, the ``slowest``
        steps, and the all-time counts. Raises ``EngineError`` for a ``since`` it cannot
        read."""
        now = self.now()
        start = parse_since(since, now) if since else None

        def query() -> dict[str, Any]:
            conn = self._history_conn()
            window = Window(conn, since=start, until=stamp(now), plugin=plugin, action=action)
            return {"window": window.to_dict(), "actions": action_stats(conn, window, slowest)}

        return self._read(query)

    def history(
        self,
        limit: int = 100,
        *,
        plugin: str | None = None,
        action: str | None = None,
        failed: bool = False,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        """The most recent runs (of ``plugin``, of its ``action``; only failed ones), newest
        first."""
        start = parse_since(since, self.now()) if since else ""
        clauses, params = ["started_at >= ?"], [start]
        for column, value in (("plugin", plugin), ("action", action)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if failed:
            clauses.append("failed = 1")
        sql = (
            f"SELECT {', '.join(_RUN_COLUMNS)} FROM history WHERE {' AND '.join(clauses)} "
            "ORDER BY started_at DESC, id DESC LIMIT ?"
        )

        def query() -> list[dict[str, Any]]:
            rows = self._history_conn().execute(sql, [*params, limit]).fetchall()
            return [dict(zip(_RUN_COLUMNS, row, strict=True)) for row in rows]

        return self._read(query)

    def run(self, run_id: int) -> dict[str, Any] | None:
        """One run as kept: its row, counts, error and trace (None if it is not kept)."""

        def query() -> dict[str, Any] | None:
            row = (
                self._history_conn()
                .execute(
                    f"SELECT {', '.join(_RUN_COLUMNS)}, steps_run, tool_calls, detail "
                    "FROM history WHERE id = ?",
                    (run_id,),
                )
                .fetchone()
            )
            if row is None:
                return None
            out = dict(zip(_RUN_COLUMNS, row[: len(_RUN_COLUMNS)], strict=True))
            out["steps_run"], out["tool_calls"] = row[-3], row[-2]
            detail = json.loads(row[-1]) if row[-1] else {}
            out["backend"] = detail.get("backend")
            out["dry_run"] = bool(detail.get("dry_run"))
            out["error"] = detail.get("error")
            # A run recorded by a km-actions older than traces has none (None, not []).
            out["trace"] = detail.get("trace")
            out["omitted"] = detail.get("omitted", 0)
            return out

        return self._read(query)

    # -- connection and writer thread ----------------------------------------------------

    def _history_conn(self) -> sqlite3.Connection:
        if self._history is None:
            self._history = connect(self.store.root / DB_NAME, durable=False)
        return self._history

    def _read(self, query: Callable[[], T]) -> T:
        """``query()``; with write-behind, after the writes queued before it."""
        if not self._write_behind:
            return query()
        answer: Future[T] = self._executor().submit(query)
        return answer.result()

    def _executor(self) -> ThreadPoolExecutor:
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="km-actions-history")
        return self._writer

    def close(self) -> None:
        """Finish the writes queued, then close the history's connection (both start
        again when needed)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)
        if self._history is not None:
            self._history.close()
            self._history = None
