"""Writing extracted members under the destination only, and undoing it on failure.

Folders and new files are created through directory descriptors with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from engine.plugins._archive_checks import ArchiveError, Kind

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC


class Writer:
    """Creates folders and new files under ``dest`` only, and can undo all of it."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.created_root = _prepare_destination(dest)
        try:
            self.root = os.open(dest, _DIR_FLAGS)
        except OSError:
            if self.created_root:
                os.rmdir(dest)
            raise
        self.folders: dict[tuple[str, ...], int] = {(): self.root}
        self.written: list[tuple[PurePosixPath, Kind]] = []

    def folder(self, parts: tuple[str, ...]) -> int:
        """A descriptor for the folder ``parts``, creating missing folders."""
        fd = self.folders.get(parts)
        if fd is not None:
            return fd
        parent = self.folder(parts[:-1])
        try:
            os.mkdir(parts[-1], 0o755, dir_fd=parent)
            self.written.append((PurePosixPath(*parts), Kind.DIRECTORY))
        except FileExistsError:
            pass  # opened below with O_NOFOLLOW, so never through a link
        fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
        self.folders[parts] = fd
        return fd

    def file(self, path: PurePosixPath, chunks: Iterator[bytes]) -> None:
        parent = self.folder(path.parts[:-1])
        fd = os.open(path.name, _NEW_FILE_FLAGS, 0o644, dir_fd=parent)
        self.written.append((path, Kind.FILE))
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def abort(self) -> None:
        """Remove everything written (best effort: the first error is the one to report)."""
        for path, kind in reversed(self.written):
            parent = self.folders.get(path.parts[:-1])
            own = self.folders.pop(path.parts, None)
            try:
                if own is not None:
                    os.close(own)
                if parent is None:
                    continue
                if kind is Kind.FILE:
                    os.unlink(path.name, dir_fd=parent)
                else:
                    os.rmdir(path.name, dir_fd=parent)
            except OSError:
                continue
        self.written.clear()
        self.close()
        if self.created_root:
            with contextlib.suppress(OSError):
                self.dest.rmdir()

    def close(self) -> None:
        for fd in self.folders.values():
            os.close(fd)
        self.folders.clear()

    def paths(self) -> list[PurePosixPath]:
        return [path for path, _ in self.written]


def _prepare_destination(dest: Path) -> bool:
    """Check that ``dest`` is a missing or empty real folder; True when created here."""
    try:
        info = dest.lstat()
    except FileNotFoundError:
        try:
            dest.mkdir(parents=True)
        except OSError as exc:
            raise _bad_destination(dest, f"it cannot be created ({exc.strerror})") from exc
        return True
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise _bad_destination(dest, "it is not a folder")
    with os.scandir(dest) as entries:
        if next(entries, None) is not None:
            raise _bad_destination(dest, "it is not empty")
    return False


def _bad_destination(dest: Path, why: str) -> ArchiveError:
    return ArchiveError(
        f"cannot extract into {str(dest)!r}: {why}",
        code="archive-destination",
        hint="extract into a new or empty folder",
    )
