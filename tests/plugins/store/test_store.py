"""The store: folders and modes, database settings, versioned migrations, recovery."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from engine.diagnostics.errors import PluginError
from engine.plugins._db import MIGRATIONS, connect, migrate, schema_version
from engine.plugins._secrets import SecretChange, read_secrets, reconcile, secrets_digest
from engine.plugins.store import Store
from tests.plugins.store.conftest import MakePlugin


def test_folders_are_private(home: Path) -> None:
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    with Store.open(home):
        pass
    for folder in (home, home / "plugins", home / "staging", home / "cache", home / "secrets"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_database_settings(store: Store) -> None:
    conn = store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (30_000,)
    assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert schema_version(conn) == len(MIGRATIONS)


def test_a_store_of_schema_1_is_migrated_keeping_its_data(
    home: Path, make_plugin: MakePlugin
) -> None:
    home.mkdir()
    conn = connect(home / "state.db")
    assert migrate(conn, MIGRATIONS[:1]) == 1
    conn.execute(
        "INSERT INTO versions VALUES ('old', '1.0.0', 'plugins/old/1.0.0-00000000', 'd', '1.0', "
        "'action', 'Old', '', '{}', NULL, 'then')"
    )
    conn.execute(
        "INSERT INTO plugins VALUES ('old', '1.0.0', 1, 'folder', '/x', '{}', 'file', 0, "
        "'standard', 'then', 'then')"
    )
    conn.close()
    with Store.open(home, recover=False) as store:
        assert schema_version(store.conn) == len(MIGRATIONS)
        assert [p.identifier for p in store.plugins()] == ["old"]
        steps = store.conn.execute(
            "SELECT version, description FROM schema_migrations ORDER BY version"
        ).fetchall()
        assert steps == [(n, description) for n, (description, _) in enumerate(MIGRATIONS, 1)]
        store.conn.execute(
            "INSERT INTO history (plugin, action, started_at, duration_ms, status) "
            "VALUES ('old', 'x', 'now', 1.0, 'succeeded')"
        )


def test_runs_recorded_with_snake_case_kinds_are_counted_under_the_one_spelling(
    home: Path,
) -> None:
    home.mkdir()
    conn = connect(home / "state.db")
    migrate(conn, MIGRATIONS[:4])
    detail = '{"error": {"kind": "tool_failed", "message": "busy"}, "trace": []}'
    conn.execute(
        "INSERT INTO history (plugin, action, started_at, duration_ms, status, error_kind, "
        "failed, detail) VALUES ('p', 'a', 'then', 1.0, 'failed', 'tool_failed', 1, ?)",
        (detail,),
    )
    conn.close()
    with Store.open(home, recover=False) as store:
        row = store.conn.execute("SELECT error_kind, detail FROM history").fetchone()
    assert row == (
        "tool-failed",
        '{"error": {"kind": "tool-failed", "message": "busy"}, "trace": []}',
    )


def test_migrating_twice_changes_nothing(home: Path) -> None:
    home.mkdir()
    conn = connect(home / "state.db")
    latest = len(MIGRATIONS)
    assert (migrate(conn), migrate(conn)) == (latest, latest)
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone() == (latest,)


def test_a_store_from_a_newer_km_actions_is_refused(home: Path) -> None:
    home.mkdir()
    conn = connect(home / "state.db")
    migrate(conn)
    future = len(MIGRATIONS) + 1
    conn.execute(f"INSERT INTO schema_migrations VALUES ({future}, 'from the future', 'later')")
    conn.close()
    with pytest.raises(PluginError) as caught:
        Store.open(home)
    assert caught.value.code == "store-too-new"
    assert caught.value.message == (
        f"the plugin store was written by a newer km-actions (store schema {future}; this "
        f"km-actions knows up to {len(MIGRATIONS)})"
    )


def test_a_failing_migration_leaves_the_old_schema(home: Path) -> None:
    home.mkdir()
    conn = connect(home / "state.db")
    migrate(conn, MIGRATIONS[:1])

    def broken(conn: sqlite3.Connection, _tools: object) -> None:
        conn.execute("CREATE TABLE half (x)")
        conn.execute("THIS IS NOT SQL")

    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, (*MIGRATIONS, ("broken", broken)))
    assert schema_version(conn) == 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None


def test_an_unusable_home_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PluginError) as caught:
        Store.open(blocker / "home")
    assert caught.value.code == "store-unavailable"
    assert "KM_ACTIONS_HOME" in str(caught.value.hint)


def test_recovery_leaves_a_staging_folder_in_use(store: Store, home: Path) -> None:
    staging = store.stage()
    try:
        with Store.open(home) as other:  # another opener (a process would see the same lock)
            assert other.recovered == []
        assert staging.path.exists()
    finally:
        staging.close()
    assert not staging.path.exists()


def test_secret_changes_are_undone_unless_committed(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    first = SecretChange.write(folder, "demo", {"token": "one"})
    first.finish()
    interrupted = SecretChange.write(folder, "demo", {"token": "two"})
    # The database still records the first digest: the second change never committed.
    fixed = reconcile(folder, {"demo": secrets_digest({"token": "one"})})
    assert fixed == ["restored the secrets of 'demo' from before an interrupted change"]
    assert read_secrets(folder, "demo") == {"token": "one"}
    assert interrupted.previous is not None and not interrupted.previous.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["demo.json"]


def test_a_committed_secret_change_is_kept(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    SecretChange.write(folder, "demo", {"token": "one"}).finish()
    SecretChange.write(folder, "demo", {"token": "two"})  # committed, not yet finished
    assert reconcile(folder, {"demo": secrets_digest({"token": "two"})}) == []
    assert read_secrets(folder, "demo") == {"token": "two"}
    assert sorted(p.name for p in folder.iterdir()) == ["demo.json"]


def test_a_damaged_secrets_file_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "demo.json").write_text("{not json")
    with pytest.raises(PluginError) as caught:
        read_secrets(folder, "demo")
    assert caught.value.code == "store-damaged"


def test_secrets_file_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    SecretChange.write(folder, "demo", {"token": "x"}).finish()
    path = folder / "demo.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text()) == {"token": "x"}
