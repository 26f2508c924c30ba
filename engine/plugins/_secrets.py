"""Secret settings on disk: ``secrets/<identifier>.json``, mode 0600, changed atomically.

Secrets live outside the database (so a copied ``state.db`` holds none), which makes
changing them a two-place update. A change is made while the store's write lock is
held: the new file is written aside, the current one kept as a ``.prev`` copy, the new
one renamed into place, the database commits the digest of the new content, and only
then is the copy removed. If the process dies in between, :func:`reconcile` (run when
the store opens) puts back the copy whose digest the database recorded.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> change = SecretChange.write(folder, "demo", {"token": "s3cr3t"})
>>> read_secrets(folder, "demo"), change.digest == secrets_digest({"token": "s3cr3t"})
({'token': 's3cr3t'}, True)
>>> change.finish(); oct(secrets_path(folder, "demo").stat().st_mode & 0o777)
'0o600'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets as random_tokens
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.diagnostics.errors import PluginError
from engine.plugins.layout import sync_folder
from engine.validate.names import NameKind, check_name, is_valid_name

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_OWNED = re.compile(r"(.+)\.json(?:\.[0-9a-f]{12}\.(?:new|prev))?")


def secrets_path(folder: Path, identifier: str) -> Path:
    """Where a plugin's secrets are kept (``identifier`` checked: it names the file)."""
    return folder / f"{check_name(identifier, NameKind.PLUGIN)}.json"


def _encode(values: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(values), sort_keys=True, ensure_ascii=False).encode("utf-8")


def secrets_digest(values: Mapping[str, Any]) -> str | None:
    """The sha256 the database records for these secrets (None when there are none).

    >>> secrets_digest({}) is None
    True
    """
    return hashlib.sha256(_encode(values)).hexdigest() if values else None


def read_secrets(folder: Path, identifier: str) -> dict[str, Any]:
    """A plugin's secret settings (empty when it has none)."""
    path = secrets_path(folder, identifier)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PluginError(
            f"the secrets file of '{identifier}' is damaged: {path}",
            code="store-damaged",
            hint=f"set its secret settings again with `km-actions configure {identifier}`"
            f" after deleting {path}",
        ) from exc
    return dict(data) if isinstance(data, dict) else {}


def _digest_of_file(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "damaged"
    return secrets_digest(data) if isinstance(data, dict) else "damaged"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class SecretChange:
    """A secrets file replaced, with the previous content kept until :meth:`finish`."""

    folder: Path
    identifier: str
    digest: str | None
    previous: Path | None

    @classmethod
    def write(cls, folder: Path, identifier: str, values: Mapping[str, Any]) -> SecretChange:
        """Put ``values`` in place (keeping the old file aside); call with the lock held."""
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        target = secrets_path(folder, identifier)
        token = random_tokens.token_hex(6)
        previous: Path | None = None
        if target.exists():
            previous = target.with_name(f"{target.name}.{token}.prev")
            os.link(target, previous)
        if values:
            fresh = target.with_name(f"{target.name}.{token}.new")
            _write_private(fresh, _encode(values))
            os.replace(fresh, target)
        elif previous is not None:
            target.unlink()
        sync_folder(folder)
        return cls(folder, identifier, secrets_digest(values), previous)

    def finish(self) -> None:
        """Drop the previous content (after the database committed)."""
        if self.previous is not None:
            with contextlib.suppress(FileNotFoundError):
                self.previous.unlink()

    def undo(self) -> None:
        """Put the previous content back (the database rolled back)."""
        target = secrets_path(self.folder, self.identifier)
        if self.previous is not None:
            os.replace(self.previous, target)
        else:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()


def remove_secrets(folder: Path, identifier: str) -> None:
    """Delete a plugin's secrets and any leftovers of an interrupted change."""
    for path in _files_of(folder, check_name(identifier, NameKind.PLUGIN)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _files_of(folder: Path, identifier: str) -> list[Path]:
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    return [p for p in entries if (m := _OWNED.fullmatch(p.name)) and m[1] == identifier]


def owners(folder: Path) -> set[str]:
    """The plugins that have secrets files (or leftovers of a change) in ``folder``; files
    named otherwise are not the store's and are left alone."""
    try:
        names = [p.name for p in folder.iterdir()]
    except FileNotFoundError:
        return set()
    found = (m[1] for m in map(_OWNED.fullmatch, names) if m)
    return {name for name in found if is_valid_name(name, NameKind.PLUGIN)}


def reconcile(folder: Path, recorded: Mapping[str, str | None]) -> list[str]:
    """Make each installed plugin's secrets file match the digest the database recorded;
    what was fixed.

    ``recorded`` maps every installed plugin to its secrets digest; a change interrupted
    before its commit is undone. A file edited by hand (no saved copy matches) is kept as
    it is, and so are the files of plugins not in ``recorded``: whether they may go is
    for the store's recovery to decide (:mod:`engine.plugins._recovery`).
    """
    fixed: list[str] = []
    for identifier in sorted(owners(folder) & set(recorded)):
        fixed.extend(_reconcile_one(folder, identifier, recorded[identifier]))
    return fixed


def _reconcile_one(folder: Path, identifier: str, wanted: str | None) -> Iterable[str]:
    target = secrets_path(folder, identifier)
    leftovers = [p for p in _files_of(folder, identifier) if p != target]
    current = _digest_of_file(target)
    if current != wanted:
        for prev in (p for p in leftovers if p.name.endswith(".prev")):
            if _digest_of_file(prev) == wanted:
                os.replace(prev, target)
                yield f"restored the secrets of '{identifier}' from before an interrupted change"
                break
        else:
            if wanted is None and current is not None and leftovers:
                target.unlink()
                yield f"removed secrets of '{identifier}' written by an interrupted change"
    for path in leftovers:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
