"""Packing a plugin folder into a deterministic .zip or .tar.gz that install accepts."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from engine.plugins._archive_checks import (
    ArchiveError,
    ArchiveLimits,
    Checker,
    Kind,
    too_large_member,
)
from engine.plugins._archive_read import sha256_file
from engine.plugins.archives import extract_archive

_EXCLUDED = frozenset({"__pycache__", ".git", ".DS_Store"})
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class _Source:
    path: PurePosixPath
    kind: Kind
    location: Path


def create_archive(
    folder: Path,
    out: Path,
    *,
    fmt: Literal["zip", "tar.gz"],
    limits: ArchiveLimits = ArchiveLimits(),  # noqa: B008 (frozen, so safe to share)
) -> str:
    """Pack ``folder`` into a deterministic archive at ``out``; return its sha256 (hex).

    Members are sorted, with fixed times, owners and modes (0644 files, 0755 folders),
    so packing the same folder twice gives the same bytes. ``__pycache__``, ``.git`` and
    ``.DS_Store`` are left out; links and special files are refused, as is anything
    :func:`extract_archive` would refuse.

    >>> import tempfile
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = (work / "p").mkdir(), (work / "p" / "a.yaml").write_text("x: 1\\n")
    >>> create_archive(work / "p", work / "1.tar.gz", fmt="tar.gz") == create_archive(
    ...     work / "p", work / "2.tar.gz", fmt="tar.gz")
    True
    """
    sources = _collect(folder, out, limits)
    if not out.parent.is_dir():
        raise ArchiveError(
            f"cannot write {str(out)!r}: the folder {str(out.parent)!r} does not exist",
            code="archive-destination",
            hint="create the folder first, or write the archive somewhere else",
        )
    partial = tempfile.NamedTemporaryFile(  # noqa: SIM115 (renamed or removed below)
        dir=out.parent, prefix=f".{out.name}.", suffix=".part", delete=False
    )
    try:
        with partial:
            if fmt == "zip":
                _write_zip(partial, sources, limits)
            else:
                _write_tar_gz(partial, sources, limits)
        _check_installable(Path(partial.name), limits)
        os.replace(partial.name, out)
    except BaseException:
        os.unlink(partial.name)
        raise
    return sha256_file(out)


def _check_installable(archive: Path, limits: ArchiveLimits) -> None:
    """Extract the new archive once, so that pack never makes what install refuses."""
    with tempfile.TemporaryDirectory(prefix="km-actions-pack-") as scratch:
        try:
            extract_archive(archive, Path(scratch) / "check", limits=limits)
        except ArchiveError as exc:
            raise ArchiveError(
                f"the packed archive would be refused when installed: {exc.message}",
                code=exc.code,
                hint=exc.hint,
            ) from exc


def _collect(folder: Path, out: Path, limits: ArchiveLimits) -> list[_Source]:
    if not folder.is_dir() or folder.is_symlink():
        raise ArchiveError(
            f"cannot pack {str(folder)!r}: it is not a folder",
            code="archive-unreadable",
            hint="give the path of the plugin folder",
        )
    if out.resolve().is_relative_to(folder.resolve()):
        raise ArchiveError(
            f"cannot write {str(out)!r} inside the folder it packs",
            code="archive-destination",
            hint="write the archive next to the plugin folder",
        )
    checker = Checker(limits, "in the folder")
    sources: list[_Source] = []
    pending = [(folder, PurePosixPath())]
    while pending:
        location, relative = pending.pop()
        with os.scandir(location) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            if entry.name not in _EXCLUDED:
                source = _source(entry, relative / entry.name, checker)
                sources.append(source)
                if source.kind is Kind.DIRECTORY:
                    pending.append((source.location, source.path))
    total = sum(s.location.stat().st_size for s in sources if s.kind is Kind.FILE)
    if total > limits.max_total_size:
        raise ArchiveError(
            f"the folder holds {total:,} bytes of files, more than {limits.max_total_size:,}",
            code="archive-too-large",
            hint="keep large files out of the plugin",
        )
    return sorted(sources, key=lambda s: s.path.parts)


def _source(entry: os.DirEntry[str], path: PurePosixPath, checker: Checker) -> _Source:
    info = entry.stat(follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode):
        kind = Kind.SYMLINK
    elif stat.S_ISDIR(info.st_mode):
        kind = Kind.DIRECTORY
    elif stat.S_ISREG(info.st_mode):
        kind = Kind.FILE
    else:
        kind = Kind.SPECIAL
    name = f"{path}/" if kind is Kind.DIRECTORY else str(path)
    size = info.st_size if kind is Kind.FILE else 0
    checker.admit(name, kind, size)
    return _Source(path, kind, Path(entry.path))


def _read_source(source: _Source, limits: ArchiveLimits) -> bytes:
    fd = os.open(source.location, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limits.max_member_size + 1)
    if len(data) > limits.max_member_size:
        raise too_large_member(str(source.path), limits, "in the folder")
    return data


def _write_zip(out: IO[bytes], sources: list[_Source], limits: ArchiveLimits) -> None:
    with zipfile.ZipFile(out, "w") as archive:
        for source in sources:
            is_folder = source.kind is Kind.DIRECTORY
            info = zipfile.ZipInfo(
                f"{source.path}/" if is_folder else str(source.path), _FIXED_ZIP_TIME
            )
            info.create_system = 3  # unix, so the modes below are read back
            if is_folder:
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                archive.writestr(info, b"")
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                data = _read_source(source, limits)
                archive.writestr(info, data, zipfile.ZIP_DEFLATED, 9)


def _write_tar_gz(out: IO[bytes], sources: list[_Source], limits: ArchiveLimits) -> None:
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for source in sources:
            info = tarfile.TarInfo(str(source.path))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if source.kind is Kind.DIRECTORY:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                data = _read_source(source, limits)
                info.mode, info.size = 0o644, len(data)
                archive.addfile(info, io.BytesIO(data))
