"""Safe plugin archives: extract .zip, .tar and .tar.gz member by member; pack them.

Extraction never calls ``extractall``/``extract`` (Python 3.11's tar filters have known
bypasses): each member is checked, then written by km-actions itself, regular files and
folders only, through directory file descriptors with ``O_NOFOLLOW``, into a folder
that was empty. Every bound is counted on the bytes actually read, never on what a
header claims. On any error, everything written so far is removed.

This module extracts; the member checks, reading and writing live in ``_archive_checks``,
``_archive_read`` and ``_archive_write`` next to it, and their public names are
re-exported here. Packing (:mod:`engine.plugins.packing`) sits above: it extracts each
archive it makes once, so that pack never makes what install refuses.

>>> import tempfile
>>> from engine.plugins.packing import create_archive
>>> work = Path(tempfile.mkdtemp())
>>> _ = (work / "src").mkdir(), (work / "src" / "plugin.yaml").write_text("name: demo\\n")
>>> digest = create_archive(work / "src", work / "demo.zip", fmt="zip")
>>> digest == sha256_file(work / "demo.zip")
True
>>> extract_archive(work / "demo.zip", work / "out")
[PurePosixPath('plugin.yaml')]
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, Self

from engine.plugins._archive_checks import (
    ArchiveError,
    ArchiveLimits,
    Checker,
    Kind,
    hard_link_error,
)
from engine.plugins._archive_read import (
    CHUNK,
    END_OF_ARCHIVE,
    READ_ERRORS,
    Budget,
    Inflow,
    check_zip_directory,
    damaged,
    detect,
    sha256_file,
    tar_kind,
    zip_kind,
)
from engine.plugins._archive_write import Writer

__all__ = [
    "ArchiveError",
    "ArchiveLimits",
    "extract_archive",
    "sha256_file",
]


def extract_archive(
    archive: Path,
    dest: Path,
    *,
    limits: ArchiveLimits = ArchiveLimits(),  # noqa: B008 (frozen, so safe to share)
    one_name: bool = False,
) -> list[PurePosixPath]:
    """Extract a zip, tar or tar.gz archive (told apart by content) into ``dest``.

    ``one_name``: refuse an archive that is a hard link (has other names on the disk),
    checked on the opened file: an MCP caller named it (see :func:`hard_link_error`).

    ``dest`` must be missing or an empty folder. Returns the relative paths created
    (files and folders), in the order they were written. Raises :class:`ArchiveError`
    and leaves ``dest`` as it was.

    >>> import io, tempfile, zipfile
    >>> work = Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(work / "evil.zip", "w") as z:
    ...     z.writestr("../../etc/cron.d/x", "boom")
    >>> extract_archive(work / "evil.zip", work / "out")
    Traceback (most recent call last):
    ...
    engine.plugins.archives.ArchiveError: unsafe name '../../etc/cron.d/x' in the archive: ...
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(archive, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ArchiveError(
            f"cannot read the archive {str(archive)!r}: {exc.strerror}",
            code="archive-unreadable",
            hint="check the path and its permissions",
        ) from exc
    handle = os.fdopen(fd, "rb")
    try:
        info = os.fstat(fd)
        size = info.st_size
        if not stat.S_ISREG(info.st_mode):
            raise ArchiveError(
                f"{str(archive)!r} is not a regular file",
                code="archive-unreadable",
                hint="give the path of a .zip or .tar.gz file",
            )
        if one_name and info.st_nlink > 1:
            raise hard_link_error(archive.name, info.st_nlink)
        fmt = detect(handle.read(512))
        handle.seek(0)
        writer = Writer(dest)
        try:
            budget = Budget(limits, size)
            if fmt == "zip":
                _extract_zip(handle, size, writer, budget)
            else:
                _extract_tar(handle, fmt == "tar.gz", writer, budget)
        except BaseException:
            writer.abort()
            raise
        writer.close()
        return writer.paths()
    finally:
        handle.close()


def _extract_zip(handle: BinaryIO, size: int, writer: Writer, budget: Budget) -> None:
    limits = budget.limits
    check_zip_directory(handle, size, limits)
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except READ_ERRORS as exc:
        raise damaged(exc) from exc
    with archive:
        checker = Checker(limits)
        plan: list[tuple[zipfile.ZipInfo, PurePosixPath | None, Kind]] = []
        claimed = 0
        for info in archive.infolist():  # check every name before writing anything
            kind = zip_kind(info)
            path = checker.admit(info.orig_filename, kind, info.file_size)
            _check_zip_member(info, kind, limits)
            claimed += info.file_size if kind is Kind.FILE else 0
            plan.append((info, path, kind))
        if claimed > limits.max_total_size:
            raise ArchiveError(
                f"the archive unpacks to more than {limits.max_total_size:,} bytes "
                f"(its headers say {claimed:,})",
                code="archive-too-large",
                hint="keep large files out of the plugin",
            )
        for info, path, kind in plan:
            if path is None:
                continue
            if kind is Kind.DIRECTORY:
                writer.folder(path.parts)
                continue
            with _open_zip_member(archive, info) as opened:
                chunks = _counted(opened.read, info.orig_filename, budget, info.compress_size)
                writer.file(path, chunks)


def _check_zip_member(info: zipfile.ZipInfo, kind: Kind, limits: ArchiveLimits) -> None:
    name = info.orig_filename
    if kind is not Kind.FILE:
        return
    if info.flag_bits & 0x1:
        raise ArchiveError(
            f"{name!r} in the archive is encrypted",
            code="archive-unsupported",
            hint="re-create the archive without a password",
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveError(
            f"{name!r} in the archive uses compression method {info.compress_type}, which is "
            "not supported",
            code="archive-unsupported",
            hint="re-create the archive with standard (deflate) compression",
        )
    if info.file_size > limits.ratio_threshold and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        raise ArchiveError(
            f"{name!r} in the archive says it unpacks to more than {limits.max_ratio:g} times "
            "its compressed size; this looks like a zip bomb",
            code="archive-ratio",
            hint="plugin files compress far less than that; re-create the archive",
        )


def _open_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    try:
        return archive.open(info)
    except READ_ERRORS as exc:
        raise damaged(exc, info.orig_filename) from exc


def _counted(
    read: Callable[[int], bytes], raw: str, budget: Budget, packed: int | None
) -> Iterator[bytes]:
    """Chunks of one member, counted against the limits as they are read."""
    written = 0
    while True:
        try:
            chunk = read(CHUNK)
        except READ_ERRORS as exc:
            raise damaged(exc, raw) from exc
        if not chunk:
            return
        written += len(chunk)
        budget.add(raw, written, len(chunk), packed)
        yield chunk


def _extract_tar(handle: BinaryIO, gzipped: bool, writer: Writer, budget: Budget) -> None:
    inflow = Inflow(handle, gzipped, budget)
    stream = io.BufferedReader(inflow, CHUNK)
    try:
        head = stream.peek(512)[:512]
    except READ_ERRORS as exc:
        raise damaged(exc) from exc
    if gzipped and len(head) >= 262 and head[257:262] != b"ustar" and head.strip(b"\0"):
        raise ArchiveError(
            "the file is gzip-compressed but does not hold a tar archive",
            code="archive-unsupported",
            hint="install from a .zip or .tar.gz file, or from a folder",
        )
    checker = Checker(budget.limits)
    with _open_tar(stream) as archive:
        for member in _tar_members(archive):
            kind = tar_kind(member)
            path = checker.admit(member.name, kind, member.size)
            if path is None:
                continue
            if kind is Kind.DIRECTORY:
                writer.folder(path.parts)
                continue
            data = _open_tar_member(archive, member)
            writer.file(path, _counted(data.read, member.name, budget, None))
    _drain(stream)


class _StrictTarInfo(tarfile.TarInfo):
    """Reports a bad or truncated header as damage (tarfile takes it for the end)."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        try:
            return super().fromtarfile(tarfile_)
        except END_OF_ARCHIVE:
            raise
        except tarfile.HeaderError as exc:
            raise damaged(exc) from exc


def _open_tar(stream: IO[bytes]) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=stream, mode="r|", tarinfo=_StrictTarInfo)
    except READ_ERRORS as exc:
        raise damaged(exc) from exc


def _tar_members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while True:
        try:
            member = archive.next()
        except READ_ERRORS as exc:
            raise damaged(exc) from exc
        if member is None:
            return
        yield member


def _open_tar_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    try:
        data = archive.extractfile(member)
    except READ_ERRORS as exc:
        raise damaged(exc, member.name) from exc
    if data is None:  # only for links and special files, rejected before
        raise damaged(ValueError("no data for a regular file"), member.name)
    return data


def _drain(stream: IO[bytes]) -> None:
    """Read to the end of the stream, so that gzip checks its CRC and length."""
    try:
        while stream.read(CHUNK):
            pass
    except READ_ERRORS as exc:
        raise damaged(exc) from exc
