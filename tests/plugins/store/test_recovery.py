"""No state of the database makes opening the store delete anything: a store that does
not match its database is refused, and `km-actions verify --repair` moves, never deletes."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from engine.cli import main
from engine.diagnostics.errors import PluginError
from engine.plugins._recovery import Journal, Operation
from engine.plugins.installer import install
from engine.plugins.lifecycle import configure, uninstall
from engine.plugins.repair import repair
from engine.plugins.store import Store
from tests.plugins.store.conftest import CLIPBOARD_TOOLS, MakePlugin

Capture = pytest.CaptureFixture[str]
TOKEN = {"share_token": "tok-12345678"}


def _files(home: Path) -> dict[str, bytes | None]:
    """Everything under the store but its database: path → content (None: a folder)."""
    out: dict[str, bytes | None] = {}
    for path in sorted(home.rglob("*")):
        relative = path.relative_to(home).as_posix()
        if not relative.startswith("state.db"):
            out[relative] = None if path.is_dir() else path.read_bytes()
    return out


@pytest.fixture
def installed(home: Path) -> str:
    """clipboard-tools installed and given a secret setting; its version folder."""
    with Store.open(home) as store:
        install(store, CLIPBOARD_TOOLS)
        configure(store, "clipboard-tools", TOKEN)
        return store.require("clipboard-tools").folder


def _cli(argv: list[str], capsys: Capture) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_an_emptied_database_is_refused_and_nothing_is_deleted(
    home: Path, installed: str, capsys: Capture
) -> None:
    before = _files(home)
    (home / "state.db").write_bytes(b"")  # `: > state.db`
    code, out, err = _cli(["list"], capsys)
    assert (code, out) == (1, "")
    assert err.startswith(
        f"error[store-mismatch]: the plugin store does not match its database: {installed} "
        "holds a plugin the database does not list (and 1 more); nothing was changed\n"
    )
    assert "run `km-actions verify --repair`, which moves what the database does not list" in err
    assert _files(home) == before


def test_every_mismatch_is_listed(home: Path, installed: str) -> None:
    (home / "state.db").write_bytes(b"")
    with pytest.raises(PluginError) as caught:
        Store.open(home)
    assert [d.message for d in caught.value.diagnostics] == [
        f"{installed} holds a plugin the database does not list",
        "secrets/clipboard-tools.json holds secret settings of 'clipboard-tools', which the "
        "database does not list",
    ]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda raw: raw[: len(raw) // 2], id="truncated"),
        pytest.param(lambda raw: b"not a database at all" * 100, id="garbage"),
    ],
)
def test_a_damaged_database_is_refused_and_nothing_is_deleted(
    home: Path, installed: str, capsys: Capture, damage: object
) -> None:
    with Store.open(home) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _files(home)
    database = home / "state.db"
    database.write_bytes(damage(database.read_bytes()))  # type: ignore[operator]
    code, _, err = _cli(["list"], capsys)
    assert code == 1
    assert err.startswith(f"error[store-damaged]: the plugin store's database {database} is ")
    assert "otherwise `km-actions verify --repair` moves it and the installed plugins" in err
    assert _files(home) == before


def test_a_database_from_a_newer_km_actions_deletes_nothing(
    home: Path, installed: str, capsys: Capture
) -> None:
    with Store.open(home) as store:
        store.conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'later')")
    before = _files(home)
    code, _, err = _cli(["list"], capsys)
    assert code == 1
    assert err.startswith("error[store-too-new]: the plugin store was written by a newer")
    assert _files(home) == before
    with pytest.raises(PluginError) as caught:
        repair(home)
    assert caught.value.code == "store-too-new"
    assert _files(home) == before


def test_a_row_whose_folder_is_missing_is_refused(home: Path, installed: str) -> None:
    (home / installed).chmod(0o700)
    for path in sorted((home / installed).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (home / installed).rmdir()
    with pytest.raises(PluginError) as caught:
        Store.open(home)
    assert caught.value.code == "store-mismatch"
    assert caught.value.message == (
        "the plugin store does not match its database: "
        f"{installed} is missing, though the database lists 'clipboard-tools' 1.0.0 there; "
        "nothing was changed"
    )
    assert (home / "secrets" / "clipboard-tools.json").exists()


def test_a_row_naming_a_folder_outside_the_store_is_refused(
    home: Path, installed: str, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    (victim / "keep").mkdir(parents=True)
    with Store.open(home) as store:
        store.conn.execute("UPDATE versions SET folder = ?", ("../../victim",))
    with pytest.raises(PluginError) as caught:
        Store.open(home)
    assert caught.value.message.startswith(
        "the plugin store does not match its database: the database puts 'clipboard-tools' "
        '1.0.0 in "../../victim", outside the store\'s layout (and 1 more)'
    )
    with Store.open(home, recover=False) as store:  # what an operation would do
        with pytest.raises(PluginError) as refused:
            uninstall(store, "clipboard-tools")
        assert refused.value.code == "store-damaged"
    assert (victim / "keep").is_dir()


def test_repair_moves_what_the_database_does_not_list(
    home: Path, installed: str, capsys: Capture
) -> None:
    (home / "state.db").write_bytes(b"")
    code, out, err = _cli(["verify", "--repair"], capsys)
    assert (code, err) == (0, "")
    report = next((home / "recovered").iterdir())
    assert out.splitlines() == [
        f"moved {installed} to {report / installed}",
        f"moved secrets/clipboard-tools.json to {report / 'secrets/clipboard-tools.json'}",
        f"Install again what you need from {report} (`km-actions install <folder>`), or from "
        "where it came.",
        "No plugins are installed.",
    ]
    assert json.loads((report / "secrets/clipboard-tools.json").read_text()) == TOKEN
    with Store.open(home) as store:
        install(store, report / installed)
        assert [p.identifier for p in store.plugins()] == ["clipboard-tools"]
    assert _cli(["verify", "--repair"], capsys)[1].splitlines() == [
        "The store matches its database: nothing to repair.",
        "clipboard-tools 1.0.0: ok",
    ]


def test_repair_forgets_a_plugin_whose_folder_is_gone(
    home: Path, installed: str, make_plugin: MakePlugin
) -> None:
    with Store.open(home) as store:
        install(store, make_plugin("other"))
        configure(store, "clipboard-tools", {"preview_length": 10})
    os.rename(home / installed, home / "elsewhere")
    found = repair(home)
    assert found.forgotten == ["'clipboard-tools' 1.0.0"]
    assert found.moved == ["secrets/clipboard-tools.json"]
    record = json.loads((found.folder / "clipboard-tools.json").read_text())
    assert record["settings"] == {"preview_length": 10}
    assert record["source"] == str(CLIPBOARD_TOOLS)
    with Store.open(home) as store:
        assert [p.identifier for p in store.plugins()] == ["other"]
    assert (home / "elsewhere" / "plugin.yaml").exists()


def test_repair_replaces_a_damaged_database(home: Path, installed: str) -> None:
    (home / "state.db").write_bytes(b"garbage" * 1000)
    found = repair(home)
    assert found.moved[:2] == ["state.db", installed]
    assert (found.folder / "state.db").read_bytes() == b"garbage" * 1000
    with Store.open(home) as store:
        assert store.plugins() == []


def test_recovery_removes_only_what_an_interrupted_operation_named(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("demo"))
    kept = store.require("demo").folder
    interrupted = store.staging_dir / "123-abandoned"
    (interrupted / "package").mkdir(parents=True)
    Journal(Operation.UNINSTALL, ("plugins/ghost/1.0.0-deadbeef", kept), ("ghost",)).write(
        interrupted
    )
    (store.plugins_dir / "ghost" / "1.0.0-deadbeef").mkdir(parents=True)
    (store.secrets_dir / "ghost.json").write_text("{}")
    (store.cache_dir / f"{'0' * 64}.pickle").write_bytes(b"x")
    (store.cache_dir / f"{'0' * 64}.checked").write_bytes(b"x")
    (store.cache_dir / "notes.txt").write_text("not the store's")
    done = store.recover()
    assert done == [
        "removed the unfinished uninstall 123-abandoned",
        "removed plugins/ghost/1.0.0-deadbeef, which no installed plugin uses",
        "removed the secrets of 'ghost', which is not installed",
    ]
    assert not (store.plugins_dir / "ghost").exists()
    assert (store.root / kept).is_dir()  # named, but a row still uses it
    digest = store.require("demo").digest
    assert sorted(p.name for p in store.cache_dir.iterdir()) == [
        f"{digest}.checked",
        f"{digest}.pickle",
        "notes.txt",
    ]
    assert store.recover() == []


def test_a_damaged_journal_deletes_nothing(store: Store) -> None:
    interrupted = store.staging_dir / "123-abandoned"
    interrupted.mkdir()
    (interrupted / "journal.json").write_text(
        json.dumps({"operation": "install", "folders": ["plugins/../../x"], "secrets": []})
    )
    (store.plugins_dir / "ghost" / "1.0.0-deadbeef").mkdir(parents=True)
    with pytest.raises(PluginError) as caught:
        store.recover()
    assert caught.value.code == "store-mismatch"
    assert (store.plugins_dir / "ghost" / "1.0.0-deadbeef").is_dir()


def test_a_link_in_the_plugins_folder_is_refused(home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "1.0.0-deadbeef").mkdir(parents=True)
    Store.open(home).close()
    (home / "plugins" / "linked").symlink_to(outside)
    with pytest.raises(PluginError) as caught:
        Store.open(home)
    assert caught.value.message == (
        "the plugin store does not match its database: plugins/linked is not a plugin "
        "folder of the store; nothing was changed"
    )
    found = repair(home)
    assert found.moved == ["plugins/linked"]
    assert (found.folder / "plugins" / "linked").is_symlink()
    assert (outside / "1.0.0-deadbeef").is_dir()


def test_a_store_folder_replaced_by_a_link_is_refused(home: Path, tmp_path: Path) -> None:
    Store.open(home).close()
    (home / "secrets").rmdir()
    (home / "secrets").symlink_to(tmp_path)
    with pytest.raises(PluginError) as caught:
        Store.open(home)
    assert caught.value.code == "store-unavailable"
    assert caught.value.message == (
        f"cannot open the plugin store at {home}: {home / 'secrets'} is a link or not a folder"
    )


def test_a_missing_table_is_reported_as_damage(home: Path, installed: str) -> None:
    with sqlite3.connect(home / "state.db") as conn:
        conn.execute("DROP TABLE plugins")
    with pytest.raises(PluginError) as caught:
        Store.open(home)
    assert caught.value.code == "store-damaged"


def test_the_store_itself_may_be_a_link(tmp_path: Path, make_plugin: MakePlugin) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    with Store.open(tmp_path / "linked") as store:
        install(store, make_plugin("demo"))
    with Store.open(tmp_path / "linked") as store:
        assert [p.identifier for p in store.plugins()] == ["demo"]


def test_a_link_in_staging_is_removed_not_followed(store: Store, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    Journal(Operation.INSTALL, ("plugins/x/1.0.0-deadbeef",)).write(outside)
    (store.plugins_dir / "x" / "1.0.0-deadbeef").mkdir(parents=True)
    (store.staging_dir / "123-link").symlink_to(outside)
    with pytest.raises(PluginError) as caught:  # its journal is not read through the link
        store.recover()
    assert caught.value.code == "store-mismatch"
    (store.plugins_dir / "x" / "1.0.0-deadbeef").rmdir()
    assert store.recover() == ["removed the unfinished install 123-link"]
    assert (outside / "journal.json").exists()


@pytest.mark.parametrize(
    "folders",
    [[3], ["plugins/demo/.."], ["plugins/Demo/1.0.0-deadbeef"], ["cache/x"]],
    ids=["not-text", "dot-dot", "not-an-identifier", "not-a-version-folder"],
)
def test_a_journal_naming_anything_else_is_ignored(store: Store, folders: list[object]) -> None:
    interrupted = store.staging_dir / "123-abandoned"
    interrupted.mkdir()
    (interrupted / "journal.json").write_text(
        json.dumps({"operation": "install", "folders": folders, "secrets": []})
    )
    assert Journal.read(interrupted, store.layout) is None


def test_a_row_with_a_damaged_digest_is_refused(home: Path, installed: str) -> None:
    with Store.open(home) as store:
        store.conn.execute("UPDATE versions SET digest = 'not-a-digest'")
    with pytest.raises(PluginError) as caught:
        Store.open(home)
    assert caught.value.first.message == (
        f"the database puts 'clipboard-tools' 1.0.0 in \"{installed}\", outside the store's layout"
    )


def test_repair_forgets_a_stray_version_row(home: Path, installed: str) -> None:
    with Store.open(home) as store:
        store.conn.execute(
            "INSERT INTO versions SELECT identifier, '0.9.0', 'plugins/clipboard-tools/"
            "0.9.0-' || substr(digest, 1, 8), digest, api_version, plugin_type, name, "
            "description, metadata, cache, created_at FROM versions"
        )
    found = repair(home)
    assert (found.forgotten, found.moved) == (["'clipboard-tools' 0.9.0"], [])
    with Store.open(home) as store:
        assert [p.version for p in store.plugins()] == ["1.0.0"]


def test_repair_moves_a_database_with_damaged_pages(home: Path, installed: str) -> None:
    with Store.open(home) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    database = home / "state.db"
    raw = bytearray(database.read_bytes())
    page = len(raw) // pages
    raw[page * 2 : page * 3] = b"\xff" * page  # one table's page: opening still works
    database.write_bytes(bytes(raw))
    found = repair(home)
    assert found.moved[0] == "state.db"
    with Store.open(home) as store:
        assert store.plugins() == []


def test_a_database_that_is_a_folder_is_unavailable(home: Path) -> None:
    (home / "state.db").mkdir(parents=True)
    with pytest.raises(PluginError) as caught:
        Store.open(home)
    assert caught.value.code == "store-unavailable"
