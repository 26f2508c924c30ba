"""The history and metrics of installed actions' runs, kept in the store's database.

Every run of an installed action adds a row to ``history`` (plugin, action, when, how
long, how it ended, the error kind) and updates its line in ``metrics`` (runs, failures,
total and longest time, last run). The history keeps the last :data:`HISTORY_LIMIT`
runs. Rows are written on a connection of their own that does not wait for the disk at
each commit: losing the last few rows to a power cut is acceptable, slowing every run
is not. A row that cannot be written (the database locked by another process for longer
than the busy timeout, a full disk) is logged as a warning: the run itself happened, and
its result stands.

``write_behind=True`` (the MCP server) writes on a thread of its own, so a run's answer
never waits for the database, nor does the server's event loop while another process
holds the store's write lock; reads wait for the writes queued before them, and
:meth:`RunHistory.close` for all of them.

>>> import tempfile
>>> from pathlib import Path
>>> from engine.model import RunResult, RunStatus
>>> from engine.plugins.store import Store
>>> with Store.open(Path(tempfile.mkdtemp())) as store:
...     runs = RunHistory(store)
...     runs.record("demo", "hello", "2026-05-04T09:30:00Z",
...                 RunResult(RunStatus.SUCCEEDED, {}, duration=0.002))
...     [(s["action"], s["runs"], s["mean_ms"]) for s in runs.stats()]
[('demo/hello', 1, 2.0)]
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar

from engine.model import RunResult
from engine.plugins._db import connect, write_transaction
from engine.plugins.store import DB_NAME, Store

HISTORY_LIMIT = 10_000
_TRIM_EVERY = 100

logger = logging.getLogger("km_actions.history")
T = TypeVar("T")


class _Run(NamedTuple):
    """One run, as recorded."""

    plugin: str
    action: str
    started: str
    duration: float
    status: str
    kind: str | None
    failed: int


class RunHistory:
    """Records runs of installed actions and answers questions about them."""

    def __init__(self, store: Store, *, write_behind: bool = False) -> None:
        self.store = store
        self._history: sqlite3.Connection | None = None
        self._runs = 0
        self._write_behind = write_behind
        self._writer: ThreadPoolExecutor | None = None

    def record(self, plugin: str, action: str, started: str, result: RunResult) -> None:
        """Add a run to the history (kept to the last HISTORY_LIMIT) and the metrics."""
        status = result.status.value
        kind = result.error.kind.value if result.error is not None else None
        duration = round(result.duration * 1000, 3)
        failed = int(result.error is not None)
        run = _Run(plugin, action, started, duration, status, kind, failed)
        if self._write_behind:
            self._executor().submit(self._write, run)
        else:
            self._write(run)

    def _write(self, run: _Run) -> None:
        try:
            self._insert(*run)
        except sqlite3.Error as problem:
            logger.warning(
                "the run of %s/%s at %s was not recorded in the history: %s",
                run.plugin, run.action, run.started, problem,
            )  # fmt: skip

    def _insert(
        self,
        plugin: str,
        action: str,
        started: str,
        duration: float,
        status: str,
        kind: str | None,
        failed: int,
    ) -> None:
        conn = self._history_conn()
        with write_transaction(conn):
            cursor = conn.execute(
                "INSERT INTO history (plugin, action, started_at, duration_ms, status, "
                "error_kind) VALUES (?, ?, ?, ?, ?, ?)",
                (plugin, action, started, duration, status, kind),
            )
            conn.execute(
                "INSERT INTO metrics (plugin, action, runs, failures, total_ms, max_ms, "
                "last_run, last_status) VALUES (?, ?, 1, ?, ?, ?, ?, ?) "
                "ON CONFLICT (plugin, action) DO UPDATE SET runs = runs + 1, "
                "failures = failures + excluded.failures, "
                "total_ms = total_ms + excluded.total_ms, "
                "max_ms = MAX(max_ms, excluded.max_ms), last_run = excluded.last_run, "
                "last_status = excluded.last_status",
                (plugin, action, failed, duration, duration, started, status),
            )
            self._runs += 1
            if self._runs % _TRIM_EVERY == 0 and cursor.lastrowid is not None:
                conn.execute(
                    "DELETE FROM history WHERE id <= ?", (cursor.lastrowid - HISTORY_LIMIT,)
                )

    def stats(self) -> list[dict[str, Any]]:
        """Runs, failures and timings per action (for the MCP ``stats`` operation)."""
        return self._read(self._stats)

    def _stats(self) -> list[dict[str, Any]]:
        rows = (
            self._history_conn()
            .execute(
                "SELECT plugin, action, runs, failures, total_ms, max_ms, last_run, last_status "
                "FROM metrics ORDER BY plugin, action"
            )
            .fetchall()
        )
        return [
            {
                "action": f"{r[0]}/{r[1]}",
                "runs": r[2],
                "failures": r[3],
                "mean_ms": round(r[4] / r[2], 3) if r[2] else 0.0,
                "max_ms": r[5],
                "last_run": r[6],
                "last_status": r[7],
            }
            for r in rows
        ]

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent runs, newest first."""
        return self._read(self._recent, limit)

    def _recent(self, limit: int) -> list[dict[str, Any]]:
        rows = (
            self._history_conn()
            .execute(
                "SELECT plugin, action, started_at, duration_ms, status, error_kind FROM history "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        keys = ("plugin", "action", "started_at", "duration_ms", "status", "error_kind")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def _history_conn(self) -> sqlite3.Connection:
        if self._history is None:
            self._history = connect(self.store.root / DB_NAME, durable=False)
        return self._history

    def _read(self, query: Callable[..., T], *args: Any) -> T:
        """``query(*args)``; with write-behind, after the writes queued before it."""
        if not self._write_behind:
            return query(*args)
        answer: Future[T] = self._executor().submit(query, *args)
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
