"""Recovery when the store opens: only what an interrupted operation said it may leave.

An operation that can leave files no row refers to (an install's new and replaced version
folders; an uninstall's folders and secrets) first writes a :class:`Journal` into its
staging folder, naming them. When the store opens, the journals of staging folders whose
process is gone say what may go: a path they name is deleted only when no row refers to
it. Nothing else is ever deleted, whatever the database holds.

Before anything is cleaned, the store's folders are compared with its database
(:func:`survey`). A store that does not match (an emptied, replaced or damaged
``state.db``; a version folder deleted by hand; rows naming folders outside the store)
is refused with every mismatch listed and nothing changed; ``km-actions verify
--repair`` (:mod:`engine.plugins.repair`) then sets it right by moving, never deleting.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.diagnostics.errors import Diagnostic, EngineError, PluginError
from engine.plugins import records
from engine.plugins._secrets import owners, reconcile, remove_secrets
from engine.plugins.layout import (
    CACHE_SUFFIX,
    CHECKED_SUFFIX,
    Layout,
    is_digest,
    is_real_folder,
    remove_empty,
    remove_tree,
    sync_folder,
)
from engine.plugins.records import FolderRow
from engine.validate.names import NameKind, is_valid_name

if TYPE_CHECKING:
    from engine.plugins.store import Store

JOURNAL_NAME = "journal.json"


class Operation(enum.Enum):
    """What wrote a journal (named in what recovery reports)."""

    INSTALL = "install"
    UNINSTALL = "uninstall"


@dataclass(frozen=True)
class Journal:
    """What an operation may leave behind if it is interrupted: version folders (relative
    to the store root) and plugins whose secrets files it removes."""

    operation: Operation
    folders: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()

    def write(self, staging: Path) -> None:
        """Put the journal in a staging folder, durably, before the operation changes the
        store (a crash after that point finds it)."""
        data = {
            "operation": self.operation.value,
            "folders": self.folders,
            "secrets": self.secrets,
        }
        temporary = staging / f".{JOURNAL_NAME}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, json.dumps(data).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, staging / JOURNAL_NAME)
        sync_folder(staging)

    @classmethod
    def read(cls, staging: Path, layout: Layout) -> Journal | None:
        """The journal of a staging folder; None when it has none, or one that is damaged
        or names anything but version folders and plugins (then nothing is deleted)."""
        if not is_real_folder(staging):
            return None
        try:
            data = json.loads((staging / JOURNAL_NAME).read_bytes())
            operation = Operation(data["operation"])
            folders, secrets = data["folders"], data["secrets"]
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if not (
            isinstance(folders, list)
            and isinstance(secrets, list)
            and all(_is_version_folder(layout, f) for f in folders)
            and all(is_valid_name(s, NameKind.PLUGIN) for s in secrets)
        ):
            return None
        return cls(operation, tuple(folders), tuple(secrets))


def _is_version_folder(layout: Layout, relative: object) -> bool:
    if not isinstance(relative, str):
        return False
    parts = relative.split("/")
    if len(parts) != 3 or parts[0] != "plugins" or not is_valid_name(parts[1], NameKind.PLUGIN):
        return False
    try:
        layout.path(relative)
    except EngineError:
        return False
    return True


@dataclass(frozen=True)
class Mismatch:
    """One way the store's files and its database disagree.

    ``path`` (relative to the root) is a file or folder the database does not account
    for; ``row`` an installed version whose recorded folder is missing or misplaced.
    """

    message: str
    path: str | None = None
    row: FolderRow | None = None


def survey(
    layout: Layout,
    rows: Iterable[FolderRow],
    installed: Iterable[str],
    explained: Iterable[Journal] = (),
) -> list[Mismatch]:
    """Every disagreement between the store's folders and its database, ignoring what
    the journals of operations (running or interrupted) say they may leave."""
    journals = list(explained)
    left_folders = {f for j in journals for f in j.folders}
    left_secrets = {s for j in journals for s in j.secrets}
    found: list[Mismatch] = []
    referenced: set[str] = set()
    for row in rows:
        referenced.add(row.folder)
        found.extend(_row_mismatch(layout, row))
    for owner in sorted(_entries(layout.plugins_dir)):
        relative = f"plugins/{owner.name}"
        if not is_real_folder(owner) or not is_valid_name(owner.name, NameKind.PLUGIN):
            found.append(Mismatch(f"{relative} is not a plugin folder of the store", relative))
            continue
        for version in sorted(_entries(owner)):
            name = f"{relative}/{version.name}"
            if name not in referenced and name not in left_folders:
                found.append(Mismatch(f"{name} holds a plugin the database does not list", name))
    for identifier in sorted(owners(layout.secrets_dir) - set(installed) - left_secrets):
        found.append(
            Mismatch(
                f"secrets/{identifier}.json holds secret settings of '{identifier}', which "
                "the database does not list",
                f"secrets/{identifier}.json",
            )
        )
    return found


def _row_mismatch(layout: Layout, row: FolderRow) -> list[Mismatch]:
    what = f"'{row.identifier}' {row.version}"
    try:
        expected = layout.version_folder(row.identifier, row.version, row.digest)
    except EngineError:
        expected = None
    if row.folder != expected:
        shown = json.dumps(row.folder, ensure_ascii=True)
        return [
            Mismatch(f"the database puts {what} in {shown}, outside the store's layout", row=row)
        ]
    if not is_real_folder(layout.root / expected):
        return [Mismatch(f"{expected} is missing, though the database lists {what} there", row=row)]
    return []


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except FileNotFoundError:
        return []


def mismatch_error(root: Path, found: list[Mismatch]) -> PluginError:
    """The error that refuses a store whose folders do not match its database."""
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    hint = (
        f"if {root / 'state.db'} was replaced or emptied, put the right copy back; otherwise "
        "run `km-actions verify --repair`, which moves what the database does not list into "
        f"{root / 'recovered'} and forgets plugins whose files are gone (it moves, never deletes)"
    )
    return PluginError(
        f"the plugin store does not match its database: {found[0].message}{more}; "
        "nothing was changed",
        code="store-mismatch",
        hint=hint,
        diagnostics=[Diagnostic("store-mismatch", m.message, hint=hint) for m in found],
    )


@dataclass(frozen=True)
class _StagingEntry:
    path: Path
    abandoned: bool
    journal: Journal | None


def recover(store: Store) -> list[str]:
    """Check the store against its database (refusing it when they disagree), then clean
    up after interrupted operations; what was done, in words."""
    with store.transaction() as conn, store.staging_lock():
        staging = [
            _StagingEntry(entry, abandoned, Journal.read(entry, store.layout))
            for entry in sorted(_entries(store.staging_dir))
            for abandoned in (is_abandoned(entry),)
        ]
        rows = records.read_folders(conn)
        installed = records.read_secret_digests(conn)
        journals = [s.journal for s in staging if s.journal is not None]
        found = survey(store.layout, rows, installed, journals)
        if found:
            raise mismatch_error(store.root, found)
        done = _finish_interrupted(store, staging, {r.folder for r in rows}, installed)
        _remove_stale_caches(store.layout, {r.digest for r in rows if r.cache is not None})
        done.extend(reconcile(store.secrets_dir, installed))
    return done


def _finish_interrupted(
    store: Store,
    staging: list[_StagingEntry],
    referenced: set[str],
    installed: Mapping[str, str | None],
) -> list[str]:
    done: list[str] = []
    for entry in (s for s in staging if s.abandoned):
        journal = entry.journal or Journal(Operation.INSTALL)
        done.append(f"removed the unfinished {journal.operation.value} {entry.path.name}")
        for folder in journal.folders:
            path = store.layout.path(folder)
            if folder not in referenced and os.path.lexists(path):
                remove_tree(path)
                done.append(f"removed {folder}, which no installed plugin uses")
        for identifier in journal.secrets:
            if identifier not in installed and identifier in owners(store.secrets_dir):
                remove_secrets(store.secrets_dir, identifier)
                done.append(f"removed the secrets of '{identifier}', which is not installed")
        if is_real_folder(entry.path):
            remove_tree(entry.path)
        else:
            entry.path.unlink()
        for folder in journal.folders:
            remove_empty(store.layout.root / folder.rsplit("/", 1)[0])
    return done


def _remove_stale_caches(layout: Layout, digests: set[str]) -> None:
    """Caches are built by the store from installed files: one that no installed version
    names (or a partial write) is the store's own leftover, never the user's data."""
    for cache in _entries(layout.cache_dir):
        name = cache.name
        suffix = CHECKED_SUFFIX if name.endswith(CHECKED_SUFFIX) else CACHE_SUFFIX
        stem = name.removesuffix(suffix)
        is_ours = name.endswith(suffix) and is_digest(stem)
        is_partial = name.startswith(".") and name.endswith(".part")
        if (is_ours and stem not in digests) or is_partial:
            cache.unlink(missing_ok=True)


def is_abandoned(entry: Path) -> bool:
    """True when no live process holds the staging entry's lock."""
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        return exc.errno != errno.ENOENT
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True
