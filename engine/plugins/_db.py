"""The store's database: connecting with the right settings, and versioned migrations.

Every change to the schema is a new function appended to :data:`MIGRATIONS`; a
database records the migrations it has had in ``schema_migrations``, so opening an
old store brings it up to date, and a store written by a newer km-actions is refused
rather than misread. Migrations never change once released.

>>> import sqlite3
>>> conn = connect(":memory:")
>>> migrate(conn)
6
>>> schema_version(conn)
6
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.diagnostics.errors import ConfigError, PluginError
from engine.load.versions import RENAMED_KINDS_1_0, SUPPORTED, groups_1_0, upgraded_permissions

#: Gives the tools a migration reads (the catalog in use), when one needs them.
Tools = Callable[[], Mapping[str, Any]]

BUSY_TIMEOUT_MS = 30_000
_LOCKED_RETRIES = 50


def now() -> str:
    """The current time as stored: ISO 8601, UTC, to the millisecond.

    >>> now().endswith("Z")
    True
    """
    return stamp(datetime.now(UTC))


def stamp(moment: datetime) -> str:
    """A time as stored (see :func:`now`).

    >>> stamp(datetime(2026, 5, 4, 9, 30, tzinfo=UTC))
    '2026-05-04T09:30:00.000Z'
    """
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def connect(path: Path | str, *, durable: bool = True) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (transactions are explicit), WAL, foreign keys on.

    ``durable`` commits wait for the disk (``synchronous=FULL``): installs need it, so a
    power cut after commit cannot lose a commit whose old folder is already gone.
    """
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
    return conn


def _retry_locked(operation: Callable[[], object]) -> None:
    # Switching to WAL needs a moment of exclusive access; a second process opening the
    # store at that instant sees "database is locked" even with a busy timeout.
    for attempt in range(_LOCKED_RETRIES):
        try:
            operation()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _LOCKED_RETRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on any exception).

    IMMEDIATE takes sqlite's write lock at once, so two processes changing the store
    run one after the other instead of failing half-way.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript: it commits any open transaction first, and migrations run in one.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1_plugins(conn: sqlite3.Connection, _tools: Tools) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE versions (
            identifier TEXT NOT NULL,
            version TEXT NOT NULL,
            folder TEXT NOT NULL UNIQUE,
            digest TEXT NOT NULL,
            api_version TEXT NOT NULL,
            plugin_type TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            metadata TEXT NOT NULL,
            cache TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (identifier, version)
        );
        CREATE TABLE plugins (
            identifier TEXT PRIMARY KEY,
            version TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            source_kind TEXT NOT NULL,
            source_ref TEXT NOT NULL,
            source_detail TEXT NOT NULL DEFAULT '{}',
            origin TEXT NOT NULL,
            auto_update INTEGER NOT NULL DEFAULT 0,
            profile TEXT NOT NULL,
            installed_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            FOREIGN KEY (identifier, version) REFERENCES versions (identifier, version)
                DEFERRABLE INITIALLY DEFERRED
        );
        CREATE TABLE files (
            identifier TEXT NOT NULL,
            version TEXT NOT NULL,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            PRIMARY KEY (identifier, version, path),
            FOREIGN KEY (identifier, version) REFERENCES versions (identifier, version)
                ON DELETE CASCADE
        );
        CREATE TABLE dependencies (
            identifier TEXT NOT NULL,
            version TEXT NOT NULL,
            dependency TEXT NOT NULL,
            range TEXT NOT NULL,
            PRIMARY KEY (identifier, version, dependency),
            FOREIGN KEY (identifier, version) REFERENCES versions (identifier, version)
                ON DELETE CASCADE
        );
        CREATE INDEX dependencies_by_target ON dependencies (dependency);
        CREATE TABLE actions (
            identifier TEXT NOT NULL,
            version TEXT NOT NULL,
            name TEXT NOT NULL,
            path TEXT NOT NULL,
            description TEXT NOT NULL,
            signature TEXT NOT NULL,
            PRIMARY KEY (identifier, version, name),
            FOREIGN KEY (identifier, version) REFERENCES versions (identifier, version)
                ON DELETE CASCADE
        );
        CREATE TABLE permissions (
            identifier TEXT NOT NULL REFERENCES plugins (identifier) ON DELETE CASCADE,
            entry TEXT NOT NULL,
            explicit INTEGER NOT NULL,
            PRIMARY KEY (identifier, entry)
        );
        CREATE TABLE configuration (
            identifier TEXT PRIMARY KEY REFERENCES plugins (identifier) ON DELETE CASCADE,
            settings TEXT NOT NULL,
            secrets_digest TEXT
        );
        """,
    )


def _v2_history(conn: sqlite3.Connection, _tools: Tools) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            plugin TEXT NOT NULL,
            action TEXT NOT NULL,
            started_at TEXT NOT NULL,
            duration_ms REAL NOT NULL,
            status TEXT NOT NULL,
            error_kind TEXT
        );
        CREATE INDEX history_by_action ON history (plugin, action);
        CREATE TABLE metrics (
            plugin TEXT NOT NULL,
            action TEXT NOT NULL,
            runs INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            total_ms REAL NOT NULL,
            max_ms REAL NOT NULL,
            last_run TEXT NOT NULL,
            last_status TEXT NOT NULL,
            PRIMARY KEY (plugin, action)
        );
        """,
    )


def _v3_run_traces(conn: sqlite3.Connection, _tools: Tools) -> None:
    # Each run keeps how it ended (the error's message, masked), its counts, a bounded
    # trace without values (`detail`, JSON) and its time per step (`history_steps`);
    # failures are kept longer than successes (`failed`), and `history_trimmed` says from
    # when the successes kept are complete (engine.plugins.history).
    _run_script(
        conn,
        """
        ALTER TABLE history ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE history ADD COLUMN error_message TEXT;
        ALTER TABLE history ADD COLUMN steps_run INTEGER;
        ALTER TABLE history ADD COLUMN tool_calls INTEGER;
        ALTER TABLE history ADD COLUMN detail TEXT;
        UPDATE history SET failed = (status != 'succeeded');
        DROP INDEX history_by_action;
        CREATE INDEX history_by_action ON history (plugin, action, started_at);
        CREATE INDEX history_by_time ON history (started_at);
        CREATE INDEX history_by_outcome ON history (failed);
        CREATE TABLE history_steps (
            run INTEGER NOT NULL REFERENCES history (id) ON DELETE CASCADE,
            action TEXT NOT NULL,
            path TEXT NOT NULL,
            label TEXT NOT NULL,
            kind TEXT NOT NULL,
            tool TEXT,
            calls INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            total_ms REAL NOT NULL,
            max_ms REAL NOT NULL,
            PRIMARY KEY (run, action, path)
        );
        CREATE TABLE history_trimmed (
            failed INTEGER PRIMARY KEY,
            run INTEGER NOT NULL,
            started_at TEXT NOT NULL
        );
        """,
    )


def _v4_certifications(conn: sqlite3.Connection, _tools: Tools) -> None:
    # What certifying each installed version found (engine.plugins.certify), kept at
    # install: the outcome, the package's sha256 and a summary (JSON) for `describe`.
    _run_script(
        conn,
        """
        CREATE TABLE certifications (
            identifier TEXT NOT NULL,
            version TEXT NOT NULL,
            certified INTEGER NOT NULL,
            sha256 TEXT,
            summary TEXT NOT NULL,
            PRIMARY KEY (identifier, version),
            FOREIGN KEY (identifier, version) REFERENCES versions (identifier, version)
                ON DELETE CASCADE
        );
        """,
    )


# The error kinds spelt with underscores before km-actions wrote every code one way.
_SNAKE_KINDS = tuple(RENAMED_KINDS_1_0)


def _v5_kebab_kinds(conn: sqlite3.Connection, _tools: Tools) -> None:
    # Error kinds are codes, and codes are kebab-case (tool-failed): the runs recorded
    # before say so too, so that `stats` counts each kind under one name.
    for old in _SNAKE_KINDS:
        new = old.replace("_", "-")
        conn.execute("UPDATE history SET error_kind = ? WHERE error_kind = ?", (new, old))
        conn.execute(
            "UPDATE history SET detail = replace(detail, ?, ?) WHERE detail LIKE ?",
            (f'"{old}"', f'"{new}"', f'%"{old}"%'),
        )


def _v6_grants_of_1_0(conn: sqlite3.Connection, tools: Tools) -> None:
    # The grant of a plugin written for api_version 1.0 was given in 1.0's words: a class
    # group (write) meant every tool of that whole-tool class. 1.1 groups cover
    # operations, so it becomes the tools the group covered that the catalog in use has
    # (with the 2025 server's tools for a user who chose them), as its manifest now reads.
    plugins = conn.execute(
        "SELECT p.identifier FROM plugins p JOIN versions v "
        "ON v.identifier = p.identifier AND v.version = p.version WHERE v.api_version = ?",
        (SUPPORTED[0],),
    ).fetchall()
    for (identifier,) in plugins:
        rows = conn.execute(
            "SELECT entry, explicit FROM permissions WHERE identifier = ? ORDER BY rowid",
            (identifier,),
        ).fetchall()
        entries = [entry for entry, _ in rows]
        if not any(entry in groups_1_0() for entry in entries):
            continue
        catalog = tools()
        explicit = dict(rows)
        conn.execute("DELETE FROM permissions WHERE identifier = ?", (identifier,))
        conn.executemany(
            "INSERT INTO permissions (identifier, entry, explicit) VALUES (?, ?, ?)",
            [
                (identifier, entry, explicit.get(entry, 1))
                for entry in upgraded_permissions(entries, catalog)
            ],
        )


Migration = tuple[str, Callable[[sqlite3.Connection, Tools], None]]


def configured_tools() -> Mapping[str, Any]:
    """The tools the store is used with unless told: those offline checks use (the saved
    tool list of the server last connected to, else the catalog km-actions ships with
    the tools ``[catalog] tools`` chooses); the current server's when the configuration
    cannot be read (the command that reads it next says why)."""
    from engine.tools.config import load_settings
    from engine.tools.saved_tools import offline_catalog

    try:
        shipped = load_settings().shipped_catalog()
    except ConfigError:
        shipped = None
    return offline_catalog(shipped=shipped)[0]


# Append only: the position (from 1) is the schema version a migration brings a store to.
MIGRATIONS: tuple[Migration, ...] = (
    ("plugins, versions, lock, dependencies, actions, permissions, configuration", _v1_plugins),
    ("execution history and metrics", _v2_history),
    ("run traces, time per step, retention by outcome", _v3_run_traces),
    ("certification of each installed version", _v4_certifications),
    ("error kinds spelt as codes are (tool-failed)", _v5_kebab_kinds),
    (
        "grants of api_version 1.0 plugins: class groups as the tools they covered",
        _v6_grants_of_1_0,
    ),
)


def schema_version(conn: sqlite3.Connection) -> int:
    """The highest migration applied (0 for a new database)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(
    conn: sqlite3.Connection,
    migrations: tuple[Migration, ...] = MIGRATIONS,
    *,
    tools: Tools = configured_tools,
) -> int:
    """Apply every migration the database has not had, in one transaction; the version.
    ``tools`` gives the catalog a migration that needs one reads (only then is it called).

    Raises :class:`PluginError` (``store-too-new``) for a database from a newer km-actions.
    """
    with write_transaction(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = schema_version(conn)
        if current > len(migrations):
            raise PluginError(
                f"the plugin store was written by a newer km-actions (store schema "
                f"{current}; this km-actions knows up to {len(migrations)})",
                code="store-too-new",
                hint="upgrade km-actions (`pip install .` in a newer checkout of it), or point "
                "KM_ACTIONS_HOME at another folder",
            )
        for version, (description, apply) in enumerate(migrations, start=1):
            if version > current:
                apply(conn, tools)
                conn.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (?, ?, ?)",
                    (version, description, now()),
                )
    return max(current, len(migrations))
