"""The history and metrics of installed actions' runs, kept in the store's database.

Every run of an installed action adds a row to ``history`` (plugin, action, when, how
long, how it ended, the error kind) and updates its line in ``metrics`` (runs, failures,
total and longest time, last run). The history keeps the last :data:`HISTORY_LIMIT`
runs. Rows are written on a connection of their own that does not wait for the disk at
each commit: losing the last few rows to a power cut is acceptable, slowing every run
is not.

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

import sqlite3
from typing import Any

from engine.model import RunResult
from engine.plugins._db import connect, write_transaction
from engine.plugins.store import DB_NAME, Store

HISTORY_LIMIT = 10_000
_TRIM_EVERY = 100


class RunHistory:
    """Records runs of installed actions and answers questions about them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._history: sqlite3.Connection | None = None
        self._runs = 0

    def record(self, plugin: str, action: str, started: str, result: RunResult) -> None:
        """Add a run to the history (kept to the last HISTORY_LIMIT) and the metrics."""
        conn = self._history_conn()
        status = result.status.value
        kind = result.error.kind.value if result.error is not None else None
        duration = round(result.duration * 1000, 3)
        failed = int(result.error is not None)
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

    def close(self) -> None:
        """Close the history's connection (opened again when needed)."""
        if self._history is not None:
            self._history.close()
            self._history = None
