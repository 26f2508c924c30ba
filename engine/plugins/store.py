"""The plugin store: installed versions on disk, their records in ``state.db``, recovery.

Layout under ``KM_ACTIONS_HOME`` (else the user data folder), every folder mode 0700;
every path in it is built by :mod:`engine.plugins.layout`, from checked names::

    state.db                       SQLite (WAL): plugins, versions, lock, grants, settings,
                                   history and metrics; versioned migrations
    plugins/<id>/<version>-<sha8>/ one immutable folder per installed version
    staging/<unique>/              operations in progress (each locked by its process,
                                   with a journal of what it may leave if interrupted)
    cache/<digest>.pickle          loaded manifests, so start-up parses no YAML
    secrets/<id>.json              secret settings, mode 0600
    recovered/<time>/              what `km-actions verify --repair` moved aside

Opening a store checks its folders against its database and refuses a store that does
not match (nothing changed; see :mod:`engine.plugins._recovery`), then recovers from any
crash: what the journals of interrupted operations name and no committed row refers to is
deleted, and interrupted secret changes are undone. So after a crash at any moment, the
store holds either the state before the operation or the state after it, and no state of
the database can make opening it delete anything else.

>>> import tempfile
>>> with Store.open(Path(tempfile.mkdtemp()) / "home") as store:
...     store.plugins(), oct(store.root.stat().st_mode & 0o777)
([], '0o700')
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets as random_tokens
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

from engine import paths
from engine.diagnostics.errors import ErrorKind, PluginError, StepError
from engine.diagnostics.suggestions import did_you_mean
from engine.plugins import records
from engine.plugins._db import configured_tools, connect, migrate, write_transaction
from engine.plugins._recovery import Journal, recover
from engine.plugins._secrets import read_secrets
from engine.plugins.layout import Layout, inside, is_real_folder, remove_tree
from engine.plugins.lock import LockEntry
from engine.plugins.records import ActionRecord, GrantEntry, InstalledPlugin

FOLDER_MODE = 0o700
DB_NAME = "state.db"


def _private_folder(path: Path, *, may_be_link: bool = False) -> Path:
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if not may_be_link and not is_real_folder(path):  # a link put in its place
        raise OSError(f"{path} is a link or not a folder")
    if path.stat().st_mode & 0o077:
        path.chmod(FOLDER_MODE)
    return path


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

    def journal(self, journal: Journal) -> None:
        """Say what this operation may leave in the store if it is interrupted, before
        it changes anything there (see :mod:`engine.plugins._recovery`)."""
        journal.write(self.path)

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
        self.layout = Layout(root)
        self.plugins_dir = self.layout.plugins_dir
        self.staging_dir = self.layout.staging_dir
        self.cache_dir = self.layout.cache_dir
        self.secrets_dir = self.layout.secrets_dir
        self.recovered: list[str] = []

    @classmethod
    def open(
        cls,
        root: Path | None = None,
        *,
        recover: bool = True,
        catalog: Mapping[str, Any] | None = None,
    ) -> Store:
        """Open (creating if needed) the store at ``root`` (default :func:`paths.home`),
        bring its database up to date, check it against the folders and recover from any
        interrupted operation (``recover=False``: neither, for repairs and tests).
        ``catalog``: the tools the store is used with, should bringing it up to date need
        them (default: those the configuration chooses, :func:`configured_tools`)."""
        root = Path(root) if root is not None else paths.home()
        try:
            _private_folder(root, may_be_link=True)  # the user chose it
            for name in ("plugins", "staging", "cache", "secrets"):
                _private_folder(root / name)
            conn = connect(root / DB_NAME)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise _unavailable(root, exc) from exc
            raise _damaged(root, exc) from exc
        except OSError as exc:
            raise _unavailable(root, exc) from exc
        try:
            migrate(conn, tools=configured_tools if catalog is None else lambda: catalog)
            store = cls(root, conn)
            if recover:
                store.recovered = store.recover()
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            raise _damaged(root, exc) from exc
        except BaseException:
            conn.close()
            raise
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
    def staging_lock(self) -> Iterator[None]:
        """Held while a staging folder is made and locked, and while recovery decides
        which ones are abandoned."""
        fd = os.open(self.staging_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def stage(self) -> Staging:
        """A new, locked staging folder on the store's filesystem."""
        with self.staging_lock():
            path = self.staging_dir / f"{os.getpid()}-{random_tokens.token_hex(6)}"
            path.mkdir(mode=FOLDER_MODE)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(fd, fcntl.LOCK_EX)
        return Staging(path, fd)

    def recover(self) -> list[str]:
        """Check the store against its database, then clean up after interrupted
        operations; returns what was done, in words. Raises :class:`PluginError`
        (``store-mismatch``) and changes nothing when they do not match."""
        return recover(self)

    # -- reading -------------------------------------------------------------------------

    def plugins(self) -> list[InstalledPlugin]:
        """Every installed plugin, by identifier."""
        return records.read_plugins(self.conn)

    def get(self, identifier: str) -> InstalledPlugin | None:
        found = records.read_plugins(self.conn, identifier)
        return found[0] if found else None

    def require(self, identifier: str) -> InstalledPlugin:
        """The installed plugin ``identifier``, or a ``not-found`` error with a did-you-mean."""
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
        """The version folder of an installed plugin (refused unless the database records
        it where the store's layout puts it)."""
        expected = self.layout.version_folder(plugin.identifier, plugin.version, plugin.digest)
        if plugin.folder != expected:
            raise PluginError(
                f"the database puts '{plugin.identifier}' {plugin.version} in "
                f"{plugin.folder!r}, outside the store's layout",
                code="store-damaged",
                hint="run `km-actions verify --repair` to set the store right",
            )
        return self.layout.path(expected)

    def file(self, plugin: InstalledPlugin, relative: str) -> Path:
        """A file of an installed plugin, by its path inside the version folder (refused
        when that path would leave the folder)."""
        return inside(self.folder(plugin), relative)

    def cache_file(self, plugin: InstalledPlugin) -> Path:
        """Where the manifest cache of an installed plugin's version is kept."""
        return self.layout.cache_file(plugin.digest)

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


def _unavailable(root: Path, exc: Exception) -> PluginError:
    return PluginError(
        f"cannot open the plugin store at {root}: {exc}",
        code="store-unavailable",
        hint=f"check that {root} is a folder you can write to, or set "
        f"{paths.ENV_HOME} to another folder",
    )


def _damaged(root: Path, exc: Exception) -> PluginError:
    return PluginError(
        f"the plugin store's database {root / DB_NAME} is damaged: {exc}; nothing was changed",
        code="store-damaged",
        hint="put back a good copy of it if you have one; otherwise `km-actions verify "
        "--repair` moves it and the installed plugins into "
        f"{root / 'recovered'} and starts an empty store (then install them again)",
    )
