"""The lock of an installed version: the sha256 and size of every file, and checking them.

An installed version folder is immutable. Its lock, recorded at install, lets km-actions
notice any later change (an edited action, a file removed or added) and refuse to load
the plugin, naming the file.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "plugin.yaml").write_text("x: 1\\n")
>>> lock = compute_lock(folder)
>>> [(e.path, e.size) for e in lock]
[('plugin.yaml', 5)]
>>> _ = (folder / "plugin.yaml").write_text("x: 2\\n")
>>> [str(p) for p in check_files(folder, lock)]
['plugin.yaml: changed since it was installed']
"""

from __future__ import annotations

import enum
import hashlib
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.diagnostics.errors import Diagnostic, PluginError
from engine.plugins.layout import relative_parts

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class LockEntry:
    """One file of an installed version: its path (relative, with ``/``), sha256, size."""

    path: str
    sha256: str
    size: int


class FileProblem(enum.Enum):
    """How a file differs from the lock."""

    CHANGED = "changed since it was installed"
    MISSING = "missing"
    UNEXPECTED = "added after the install (not in the lock)"


@dataclass(frozen=True, slots=True)
class IntegrityProblem:
    """One file of an installed version that no longer matches the lock."""

    path: str
    problem: FileProblem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem.value}"


def _hash(path: Path | str, *, sync: bool = False) -> tuple[str, int]:
    fd = os.open(path, _READ_FLAGS)
    try:
        if sync:
            os.fsync(fd)
        digest = hashlib.sha256()
        size = 0
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest(), size


def _scan(folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """Regular files under ``folder`` (relative posix path, full path), sorted; and the
    relative paths of links and special files, which a plugin folder never holds."""
    found: list[tuple[str, Path]] = []
    odd: list[str] = []
    pending: list[tuple[Path, str]] = [(folder, "")]
    while pending:
        location, prefix = pending.pop()
        with os.scandir(location) as entries:
            for entry in entries:
                relative = f"{prefix}{entry.name}"
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    pending.append((Path(entry.path), relative + "/"))
                elif stat.S_ISREG(mode):
                    found.append((relative, Path(entry.path)))
                else:
                    odd.append(relative)
    return sorted(found), sorted(odd)


def compute_lock(folder: Path, *, sync: bool = False) -> tuple[LockEntry, ...]:
    """Hash every file under ``folder``; with ``sync``, flush each to disk first."""
    files, odd = _scan(folder)
    if odd:
        raise PluginError(
            f"{odd[0]!r} is a link or a special file; plugins hold plain files only",
            code="plugin-unsafe-file",
            hint="replace it with a copy of the file it points to",
        )
    entries = []
    for relative, path in files:
        digest, size = _hash(path, sync=sync)
        entries.append(LockEntry(relative, digest, size))
    return tuple(entries)


def lock_digest(entries: Iterable[LockEntry]) -> str:
    """One sha256 over the whole lock: it names the version folder (its first 8 digits).

    >>> lock_digest([LockEntry("a", "0" * 64, 1)])[:8]
    '551054d8'
    """
    h = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.path):
        h.update(f"{entry.path}\0{entry.sha256}\0{entry.size}\n".encode())
    return h.hexdigest()


def check_files(
    folder: Path, entries: Sequence[LockEntry], *, extras: bool = True
) -> list[IntegrityProblem]:
    """Every file that differs from the lock (with ``extras``, files added since, too)."""
    problems: list[IntegrityProblem] = []
    base = str(folder)
    for entry in entries:
        try:
            # The text of the path is checked; the file is opened without following a
            # link, and a link on the way can only lead to a file the lock must match.
            digest, size = _hash(os.path.join(base, *relative_parts(entry.path)))
        except FileNotFoundError:
            problems.append(IntegrityProblem(entry.path, FileProblem.MISSING))
            continue
        except (OSError, PluginError):  # a link put in its place, unreadable, or a lock
            # entry (of a damaged database) naming a path outside the folder: never read
            problems.append(IntegrityProblem(entry.path, FileProblem.CHANGED))
            continue
        if digest != entry.sha256 or size != entry.size:
            problems.append(IntegrityProblem(entry.path, FileProblem.CHANGED))
    if extras:
        known = {e.path for e in entries}
        try:
            files, odd = _scan(folder)
        except FileNotFoundError:
            files, odd = [], []
        present = sorted([relative for relative, _ in files] + odd)
        problems.extend(
            IntegrityProblem(p, FileProblem.UNEXPECTED) for p in present if p not in known
        )
    return problems


def integrity_error(
    identifier: str, version: str, problems: Sequence[IntegrityProblem], source: str | None = None
) -> PluginError:
    """The error that refuses a plugin whose files no longer match its lock."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    again = f"`km-actions install {source}`" if source else "`km-actions install` from its source"
    hint = (
        f"installed files must not be edited: reinstall it with {again}, or uninstall it "
        f"(`km-actions uninstall {identifier}`); to change it, change its source and install it "
        "again"
    )
    diagnostics = [
        Diagnostic("plugin-tampered", f"'{identifier}' {version}: {p}", file=p.path, hint=hint)
        for p in problems
    ]
    return PluginError(
        f"'{identifier}' {version} is refused: {first}{more}",
        code="plugin-tampered",
        hint=hint,
        diagnostics=diagnostics,
    )
