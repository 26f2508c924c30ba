"""The plugin store: installed versions on disk, their records in ``state.db``, recovery.

Layout under ``KM_ACTIONS_HOME`` (else the user data folder), every folder mode 0700::

    state.db                       SQLite (WAL): plugins, versions, lock, grants, settings,
                                   history and metrics; versioned migrations
    plugins/<id>/<version>-<sha8>/ one immutable folder per installed version
    staging/<unique>/              installs in progress (each locked by its process)
    cache/<digest>.pickle          loaded manifests, so start-up parses no YAML
    secrets/<id>.json              secret settings, mode 0600

Opening a store recovers from any crash: staging leftovers (of processes that are gone)
and version folders that no committed row refers to are deleted, and interrupted
secret changes are undone. So after a crash at any moment, the store holds either the
state before the operation or the state after it.

>>> import tempfile
>>> with Store.open(Path(tempfile.mkdtemp()) / "home") as store:
...     store.plugins(), oct(store.root.stat().st_mode & 0o777)
([], '0o700')
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets as random_tokens
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

from engine import paths
from engine.errors import ErrorKind, PluginError, StepError
from engine.plugins import _records as records
from engine.plugins._db import connect, migrate, write_transaction
from engine.plugins._records import ActionRecord, GrantEntry, InstalledPlugin
from engine.plugins._secrets import read_secrets, reconcile
from engine.plugins.lock import LockEntry
from engine.suggest import did_you_mean

FOLDER_MODE = 0o700
DB_NAME = "state.db"


def _private_folder(path: Path) -> Path:
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(FOLDER_MODE)
    return path


def cache_name(digest: str) -> str:
    """The file under ``cache/`` holding a version's loaded manifests."""
    return f"{digest}.pickle"


def remove_tree(path: Path) -> None:
    """Delete a folder and everything in it (gone already is fine)."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)


class Staging:
    """A private folder under ``staging/`` for one install in progress.

    Its process holds an exclusive ``flock`` on it, so recovery in another process
    leaves it alone; when the process dies, the lock goes with it.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @property
    def package(self) -> Path:
        """Where the plugin's files go (renamed into ``plugins/`` on commit)."""
        return self.path / "package"

    def scratch(self, name: str) -> Path:
        """Another path inside this staging folder."""
        return self.path / name

    def close(self) -> None:
        """Delete what is left of the staging folder and release it."""
        if self._fd >= 0:
            remove_tree(self.path)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Store:
    """An open plugin store. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        self.root = root
        self.conn = conn
        self.plugins_dir = root / "plugins"
        self.staging_dir = root / "staging"
        self.cache_dir = root / "cache"
        self.secrets_dir = root / "secrets"
        self.recovered: list[str] = []

    @classmethod
    def open(cls, root: Path | None = None, *, recover: bool = True) -> Store:
        """Open (creating if needed) the store at ``root`` (default :func:`paths.home`),
        bring its database up to date, and recover from any interrupted operation."""
        root = Path(root) if root is not None else paths.home()
        try:
            _private_folder(root)
            for name in ("plugins", "staging", "cache", "secrets"):
                _private_folder(root / name)
            conn = connect(root / DB_NAME)
        except (OSError, sqlite3.Error) as exc:
            raise PluginError(
                f"cannot open the plugin store at {root}: {exc}",
                code="store-unavailable",
                hint=f"check that {root} is a folder you can write to, or set "
                f"{paths.ENV_HOME} to another folder",
            ) from exc
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        store = cls(root, conn)
        if recover:
            store.recovered = store.recover()
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """The store's write lock, as one transaction (``BEGIN IMMEDIATE``)."""
        return write_transaction(self.conn)

    # -- staging and recovery ------------------------------------------------------------

    @contextlib.contextmanager
    def _staging_lock(self) -> Iterator[None]:
        fd = os.open(self.staging_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def stage(self) -> Staging:
        """A new, locked staging folder on the store's filesystem."""
        with self._staging_lock():
            path = self.staging_dir / f"{os.getpid()}-{random_tokens.token_hex(6)}"
            path.mkdir(mode=FOLDER_MODE)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(fd, fcntl.LOCK_EX)
        return Staging(path, fd)

    def recover(self) -> list[str]:
        """Clean up after interrupted operations; returns what was done, in words."""
        done: list[str] = []
        with self._staging_lock():
            for entry in sorted(self.staging_dir.iterdir()):
                if _is_abandoned(entry):
                    if entry.is_dir() and not entry.is_symlink():
                        remove_tree(entry)
                    else:
                        entry.unlink()
                    done.append(f"removed the unfinished install {entry.name}")
        with self.transaction() as conn:
            referenced = {row[0] for row in conn.execute("SELECT folder FROM versions")}
            caches = {
                cache_name(row[0])
                for row in conn.execute("SELECT digest FROM versions WHERE cache IS NOT NULL")
            }
            for owner in sorted(self.plugins_dir.iterdir()):
                for version in sorted(owner.iterdir()) if owner.is_dir() else []:
                    relative = f"plugins/{owner.name}/{version.name}"
                    if relative not in referenced:
                        remove_tree(version)
                        done.append(f"removed {relative}, which no installed plugin uses")
                with contextlib.suppress(OSError):
                    owner.rmdir()  # only when empty
            for cache in sorted(self.cache_dir.iterdir()):
                if cache.name not in caches:
                    cache.unlink()
            done.extend(reconcile(self.secrets_dir, records.read_secret_digests(conn)))
        return done

    # -- reading -------------------------------------------------------------------------

    def plugins(self) -> list[InstalledPlugin]:
        """Every installed plugin, by identifier."""
        return records.read_plugins(self.conn)

    def get(self, identifier: str) -> InstalledPlugin | None:
        found = records.read_plugins(self.conn, identifier)
        return found[0] if found else None

    def require(self, identifier: str) -> InstalledPlugin:
        """The installed plugin ``identifier``, or a ``not_found`` error with a did-you-mean."""
        found = self.get(identifier)
        if found is None:
            names = [p.identifier for p in self.plugins()]
            raise StepError(
                ErrorKind.NOT_FOUND,
                f"no plugin '{identifier}' is installed",
                hint=did_you_mean(identifier, names, listing=False)
                or "see what is installed with `km-actions list`",
                details={"plugin": identifier},
            )
        return found

    def folder(self, plugin: InstalledPlugin) -> Path:
        """The version folder of an installed plugin."""
        return self.root / plugin.folder

    def lock(self, plugin: InstalledPlugin) -> tuple[LockEntry, ...]:
        return records.read_files(self.conn, plugin.identifier, plugin.version)

    def actions(self, plugin: InstalledPlugin) -> list[ActionRecord]:
        return records.read_actions(self.conn, plugin.identifier, plugin.version)

    def grant(self, identifier: str) -> tuple[GrantEntry, ...]:
        return records.read_grant(self.conn, identifier)

    def settings(self, identifier: str) -> dict[str, Any]:
        """The non-secret settings stored for a plugin (defaults not applied)."""
        return records.read_settings(self.conn, identifier)[0]

    def secrets(self, identifier: str) -> dict[str, Any]:
        """The secret settings of a plugin (never show these: mask them)."""
        return read_secrets(self.secrets_dir, identifier)

    def dependents(self, identifier: str) -> list[str]:
        return records.dependents_of(self.conn, identifier)


def _is_abandoned(entry: Path) -> bool:
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
