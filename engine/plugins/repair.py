"""Setting right a store whose folders do not match its database, by moving, never deleting.

``km-actions verify --repair`` runs :func:`repair` when opening the store was refused
(``store-mismatch`` or ``store-damaged``). Everything it takes away goes into one new
folder, ``recovered/<time>/``, under the same names:

- a damaged ``state.db`` (with its ``-wal`` and ``-shm`` files): a new, empty one replaces it;
- version folders and secrets files the database does not list (``plugins/…``,
  ``secrets/…``), so a plugin can be installed again from its folder there;
- for each installed plugin whose folder is missing or misplaced, its record in the
  database (``<id>.json``: version, source and non-secret settings) before it is
  forgotten.

A store from a newer km-actions is never repaired: upgrading km-actions reads it.

>>> import tempfile
>>> from engine.plugins.store import Store
>>> root = Path(tempfile.mkdtemp())
>>> Store.open(root).close()
>>> (root / "plugins" / "ghost" / "1.0.0-deadbeef").mkdir(parents=True)
>>> repair(root).moved[0]
'plugins/ghost/1.0.0-deadbeef'
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from engine import paths
from engine.diagnostics.errors import PluginError
from engine.plugins import records
from engine.plugins._recovery import Journal, Mismatch, survey
from engine.plugins.layout import inside, remove_empty
from engine.plugins.store import DB_NAME, FOLDER_MODE, Store

_DB_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm")


@dataclass
class RepairReport:
    """What a repair did: paths moved (relative to the store root, and to ``folder``),
    plugins forgotten, and what recovery did afterwards, in words."""

    folder: Path
    moved: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.moved or self.forgotten or self.done)


def repair(root: Path | None = None) -> RepairReport:
    """Make the store at ``root`` (default :func:`paths.home`) match its database again;
    see the module docs. Raises :class:`PluginError` for a store it cannot repair."""
    root = Path(root) if root is not None else paths.home()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    report = RepairReport(root / "recovered" / stamp)
    store = _open(root, report)
    with store:
        with store.transaction() as conn, store.staging_lock():
            journals = [
                j for e in store.staging_dir.iterdir() if (j := Journal.read(e, store.layout))
            ]
            for mismatch in _survey(store, journals):
                if mismatch.row is not None:
                    _forget(store, conn, mismatch, report)
            for mismatch in _survey(store, journals):
                if mismatch.path is not None:
                    _move(store, mismatch.path, report)
        report.done = store.recover()
    return report


def _survey(store: Store, journals: list[Journal]) -> list[Mismatch]:
    return survey(
        store.layout,
        records.read_folders(store.conn),
        records.read_secret_digests(store.conn),
        journals,
    )


def _open(root: Path, report: RepairReport) -> Store:
    """The store without its checks; a damaged database is moved aside for a new one."""
    try:
        store = Store.open(root, recover=False)
    except PluginError as error:
        if error.code != "store-damaged":
            raise
    else:
        try:
            if store.conn.execute("PRAGMA quick_check").fetchone() == ("ok",):
                records.read_folders(store.conn)
                records.read_secret_digests(store.conn)
                return store
        except sqlite3.DatabaseError:
            pass
        store.close()
    for name in _DB_FILES:
        if os.path.lexists(root / name):
            _move_file(root, name, report)
    return Store.open(root, recover=False)


def _forget(
    store: Store, conn: sqlite3.Connection, mismatch: Mismatch, report: RepairReport
) -> None:
    """Keep an installed plugin's record (not its secrets: they stay in their file) in the
    report's folder, then remove it from the database."""
    row = mismatch.row
    assert row is not None  # only rows are forgotten
    plugin = store.get(row.identifier)
    saved: dict[str, object] = {"identifier": row.identifier, "version": row.version}
    if plugin is not None and plugin.version == row.version:
        saved |= {
            "source": plugin.source_ref,
            "settings": store.settings(row.identifier),
            "problem": mismatch.message,
        }
        name = f"{row.identifier}.json"
        _private(report.folder)
        (report.folder / name).write_text(json.dumps(saved, indent=2) + "\n", "utf-8")
        records.delete_plugin(conn, row.identifier)
    else:  # a version no plugin uses any more
        records.delete_version(conn, row.identifier, row.version)
    report.forgotten.append(f"'{row.identifier}' {row.version}")


def _move(store: Store, relative: str, report: RepairReport) -> None:
    if relative.startswith("secrets/"):
        identifier = relative.removeprefix("secrets/").removesuffix(".json")
        for path in sorted(store.secrets_dir.iterdir()):
            if path.name == f"{identifier}.json" or path.name.startswith(f"{identifier}.json."):
                _move_file(store.root, f"secrets/{path.name}", report)
        return
    _move_file(store.root, relative, report)
    remove_empty(store.root / relative.rsplit("/", 1)[0])


def _move_file(root: Path, relative: str, report: RepairReport) -> None:
    """Move one file or folder (a link is moved as a link, never followed)."""
    parent, _, name = relative.rpartition("/")
    source = (inside(root, parent) if parent else root) / name
    target = report.folder / relative
    _private(target.parent)
    os.rename(source, target)
    report.moved.append(relative)


def _private(folder: Path) -> None:
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
