"""Reading archives: format detection, byte budgets, bounded gunzip and member kinds.

Damage found while reading is reported as :class:`ArchiveError`.
"""

from __future__ import annotations

import hashlib
import io
import stat
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

from engine.plugins._archive_checks import MB, ArchiveError, ArchiveLimits, Kind, too_large_member

CHUNK = 64 * 1024

_OTHER_FORMATS = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"(\xb5/\xfd": "zstd",
    b"7z\xbc\xaf'\x1c": "7z",
    b"Rar!": "rar",
}
# Reading a damaged archive raises any of these from zipfile, tarfile, zlib or gzip.
READ_ERRORS = (
    zipfile.BadZipFile,
    tarfile.TarError,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    OverflowError,
    NotImplementedError,  # zip features zipfile cannot read: reported as unsupported
)
# A block of zeros: the proper end of a tar archive (tarfile does not export the name).
END_OF_ARCHIVE: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]


def sha256_file(path: Path) -> str:
    """The sha256 of a file as hex, read in chunks.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def damaged(exc: BaseException, member: str | None = None) -> ArchiveError:
    """The error for a damaged archive, or for a feature that is not supported."""
    where = f" (while reading {member!r})" if member else ""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, NotImplementedError):
        return ArchiveError(
            f"the archive uses a feature that is not supported{where}: {detail}",
            code="archive-unsupported",
            hint="re-create it with `km-actions pack`, or as a plain .zip or .tar.gz",
        )
    return ArchiveError(
        f"the archive is damaged or truncated{where}: {detail}",
        code="archive-corrupt",
        hint="download it again, or re-create it with `km-actions pack`",
    )


def detect(head: bytes) -> Literal["zip", "tar", "tar.gz"]:
    """The format of an archive, from its first bytes (never from its file name)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    if head[257:262] == b"ustar":
        return "tar"
    for magic, name in _OTHER_FORMATS.items():
        if head.startswith(magic):
            raise ArchiveError(
                f"this is a {name} archive, which is not supported",
                code="archive-unsupported",
                hint="repack it as .zip or .tar.gz",
            )
    raise ArchiveError(
        "the file is not a zip, tar or tar.gz archive",
        code="archive-unsupported",
        hint="install from a .zip or .tar.gz file, or from a folder",
    )


class Budget:
    """Counts the bytes actually produced, against the size and ratio limits."""

    def __init__(self, limits: ArchiveLimits, archive_size: int) -> None:
        self.limits = limits
        self.archive_size = archive_size
        self.total = 0

    def check_overall(self, produced: int) -> None:
        limits = self.limits
        if produced > limits.ratio_threshold and produced > limits.max_ratio * self.archive_size:
            raise ArchiveError(
                f"the archive unpacks to more than {limits.max_ratio:g} times its own size "
                f"({self.archive_size:,} bytes); this looks like a zip bomb",
                code="archive-ratio",
                hint="plugin files compress far less than that; re-create the archive",
            )

    def add(self, raw: str, written: int, chunk: int, packed: int | None) -> None:
        limits = self.limits
        self.total += chunk
        if written > limits.max_member_size:
            raise too_large_member(raw, limits, "in the archive")
        if self.total > limits.max_total_size:
            raise ArchiveError(
                f"the archive unpacks to more than {limits.max_total_size:,} bytes",
                code="archive-too-large",
                hint="keep large files out of the plugin",
            )
        if (
            packed is not None
            and written > limits.ratio_threshold
            and written > limits.max_ratio * max(packed, 1)
        ):
            raise ArchiveError(
                f"{raw!r} in the archive unpacks to more than {limits.max_ratio:g} times its "
                "compressed size; this looks like a zip bomb",
                code="archive-ratio",
                hint="plugin files compress far less than that; re-create the archive",
            )
        self.check_overall(self.total)


class Inflow(io.RawIOBase):
    """The tar stream, gunzipped here with bounded output, counted and capped.

    tarfile reads pax and long-name headers whole, at the size their header claims;
    capping the stream keeps a lying header from making it allocate without bound.
    """

    def __init__(self, source: BinaryIO, gzipped: bool, budget: Budget) -> None:
        super().__init__()
        self.source = source
        self.inflater = zlib.decompressobj(wbits=31) if gzipped else None
        self.budget = budget
        limits = budget.limits
        self.cap = limits.max_total_size + (limits.max_members + 2) * 8 * 512 + MB
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._next(len(view))
        view[: len(data)] = data
        return len(data)

    def _next(self, size: int) -> bytes:
        if self.inflater is None:
            data = self.source.read(size)
        else:
            data = self._inflate(self.inflater, size)
        self.produced += len(data)
        if self.produced > self.cap:
            raise ArchiveError(
                f"the archive unpacks to more than {self.cap:,} bytes",
                code="archive-too-large",
                hint="keep large files out of the plugin",
            )
        self.budget.check_overall(self.produced)
        return data

    def _inflate(self, inflater: zlib._Decompress, size: int) -> bytes:
        while True:
            if inflater.eof:
                return b""
            compressed = inflater.unconsumed_tail or self.source.read(CHUNK)
            if not compressed:
                raise ArchiveError(
                    "the archive is damaged or truncated: the gzip data ends early",
                    code="archive-corrupt",
                    hint="download it again, or re-create it with `km-actions pack`",
                )
            data = inflater.decompress(compressed, size)
            if data:
                return data


def zip_kind(info: zipfile.ZipInfo) -> Kind:
    """What a zip member is, from its Unix mode, its name and its DOS folder flag."""
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return Kind.SYMLINK
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return Kind.SPECIAL
    if info.orig_filename.endswith("/") or kind == stat.S_IFDIR or info.external_attr & 0x10:
        return Kind.DIRECTORY
    return Kind.FILE


def tar_kind(member: tarfile.TarInfo) -> Kind:
    """What a tar member is, from its type."""
    if member.issym():
        return Kind.SYMLINK
    if member.islnk():
        return Kind.HARDLINK
    if member.isdir():
        return Kind.DIRECTORY
    if member.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE):
        return Kind.FILE
    return Kind.SPECIAL  # devices, FIFOs, sparse files, volume labels, unknown types


def check_zip_directory(handle: BinaryIO, size: int, limits: ArchiveLimits) -> None:
    """Refuse a zip whose central directory is too big, before zipfile parses it all."""
    tail_length = min(size, 22 + 0xFFFF)
    handle.seek(size - tail_length)
    tail = handle.read(tail_length)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return  # zipfile reports the damage
    entries, directory_size = struct.unpack_from("<HI", tail, at + 10)
    locator = at - 20
    is_zip64 = entries == 0xFFFF or directory_size == 0xFFFFFFFF
    if is_zip64 and locator >= 0 and tail[locator:at].startswith(b"PK\x06\x07"):
        (offset,) = struct.unpack_from("<Q", tail, locator + 8)
        handle.seek(min(offset, size))
        record = handle.read(56)
        if len(record) == 56 and record.startswith(b"PK\x06\x06"):
            entries, directory_size = struct.unpack_from("<QQ", record, 32)
    per_entry = 46 + limits.max_path_length + 1024
    if entries > limits.max_members or directory_size > limits.max_members * per_entry:
        raise ArchiveError(
            f"there are more than {limits.max_members} files and folders in the archive",
            code="archive-too-many-files",
            hint="a plugin needs far fewer files; remove what it does not use",
        )
