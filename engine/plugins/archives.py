"""Safe plugin archives: extract .zip, .tar and .tar.gz member by member; pack them.

Extraction never calls ``extractall``/``extract`` (Python 3.11's tar filters have known
bypasses): each member is checked, then written by this module, regular files and
folders only, through directory file descriptors with ``O_NOFOLLOW``, into a folder
that was empty. Every bound is counted on the bytes actually read, never on what a
header claims. On any error, everything written so far is removed.

>>> import tempfile
>>> work = Path(tempfile.mkdtemp())
>>> _ = (work / "src").mkdir(), (work / "src" / "plugin.yaml").write_text("name: demo\\n")
>>> digest = create_archive(work / "src", work / "demo.zip", fmt="zip")
>>> digest == sha256_file(work / "demo.zip")
True
>>> extract_archive(work / "demo.zip", work / "out")
[PurePosixPath('plugin.yaml')]
"""

from __future__ import annotations

import contextlib
import enum
import gzip
import hashlib
import io
import os
import re
import stat
import struct
import tarfile
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, BinaryIO, Literal, Self

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

from engine.errors import PluginError

MB = 1024 * 1024
_CHUNK = 64 * 1024
_EXCLUDED = frozenset({"__pycache__", ".git", ".DS_Store"})
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_DRIVE = re.compile(r"[A-Za-z]:")
_OTHER_FORMATS = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"(\xb5/\xfd": "zstd",
    b"7z\xbc\xaf'\x1c": "7z",
    b"Rar!": "rar",
}
# Reading a damaged archive raises any of these from zipfile, tarfile, zlib or gzip.
_READ_ERRORS = (
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
_END_OF_ARCHIVE: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]
_REPACK_HINT = "re-create the archive with `km-actions pack`, from a folder of plain files"


class ArchiveError(PluginError):
    """An archive cannot be extracted or created safely.

    Codes: ``archive-unsupported``, ``archive-corrupt``, ``archive-unsafe-path``,
    ``archive-link``, ``archive-special-file``, ``archive-duplicate``,
    ``archive-too-many-files``, ``archive-too-large``, ``archive-ratio``, and for the
    folders around it ``archive-unreadable`` and ``archive-destination``.
    """

    code = "archive-corrupt"


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Bounds on what one archive may unpack to.

    >>> ArchiveLimits().max_members, ArchiveLimits(max_members=10).max_members
    (2000, 10)
    """

    max_members: int = 2_000
    max_member_size: int = 10 * MB
    max_total_size: int = 50 * MB
    max_ratio: float = 100.0
    ratio_threshold: int = 1 * MB  # ratios are judged only past this many bytes
    max_depth: int = 20
    max_path_length: int = 1_024
    max_name_length: int = 255


class _Kind(enum.Enum):
    FILE = "file"
    DIRECTORY = "folder"
    SYMLINK = "symbolic link"
    HARDLINK = "hard link"
    SPECIAL = "special file"


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


# -- names ---------------------------------------------------------------------------


def _safe_path(raw: str, limits: ArchiveLimits, where: str) -> PurePosixPath | None:
    """The relative path a member name stands for (None for the archive root, "./")."""

    def _unsafe(raw: str, why: str, hint: str) -> ArchiveError:
        return ArchiveError(
            f"unsafe name {raw!r} {where}: {why}", code="archive-unsafe-path", hint=hint
        )

    if not raw:
        raise _unsafe(raw, "the name is empty", _REPACK_HINT)
    if "\x00" in raw:
        raise _unsafe(raw, "the name contains a NUL byte", _REPACK_HINT)
    if "\\" in raw:
        raise _unsafe(raw, "the name contains a backslash", "use '/' between folder names")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise _unsafe(raw, "the name contains a control character", "rename the file")
    if raw.startswith("/"):
        raise _unsafe(raw, "the path is absolute", "store paths relative to the plugin folder")
    if _DRIVE.match(raw):
        raise _unsafe(raw, "the path starts with a drive letter", "store relative paths")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise _unsafe(raw, "the name is not valid UTF-8", "rename the file") from None
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _unsafe(raw, "the path goes up with '..'", "store paths inside the plugin folder")
    if not parts:
        return None
    if len(parts) > limits.max_depth:
        raise _unsafe(
            raw,
            f"it is nested {len(parts)} levels deep (the limit is {limits.max_depth})",
            "flatten the plugin's folders",
        )
    if any(len(part.encode()) > limits.max_name_length for part in parts):
        raise _unsafe(
            raw, f"a name is longer than {limits.max_name_length} bytes", "use shorter names"
        )
    path = PurePosixPath(*parts)
    if len(str(path).encode()) > limits.max_path_length:
        raise _unsafe(
            raw, f"the path is longer than {limits.max_path_length} bytes", "use shorter names"
        )
    return path


def _fold(name: str) -> str:
    """The name as a case- and normalization-insensitive file system (macOS) sees it."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


@dataclass(slots=True)
class _Claim:
    name: str
    kind: _Kind
    explicit: bool


class _Checker:
    """Checks members one by one: count, name, type, duplicates, case collisions."""

    def __init__(self, limits: ArchiveLimits, where: str = "in the archive") -> None:
        self.limits = limits
        self.where = where
        self.count = 0
        self.claims: dict[str, _Claim] = {}

    def admit(self, raw: str, kind: _Kind, claimed_size: int) -> PurePosixPath | None:
        self.count += 1
        if self.count > self.limits.max_members:
            raise ArchiveError(
                f"there are more than {self.limits.max_members} files and folders {self.where}",
                code="archive-too-many-files",
                hint="a plugin needs far fewer files; remove what it does not use",
            )
        path = _safe_path(raw, self.limits, self.where)
        _check_kind(raw, kind, self.where)
        if claimed_size > self.limits.max_member_size:
            raise _too_large_member(raw, self.limits, self.where)
        if path is None:
            return None
        for depth in range(1, len(path.parts)):
            self._claim("/".join(path.parts[:depth]), _Kind.DIRECTORY, explicit=False)
        self._claim(str(path), kind, explicit=True)
        return path

    def _claim(self, name: str, kind: _Kind, *, explicit: bool) -> None:
        key = _fold(name)
        previous = self.claims.get(key)
        if previous is None:
            self.claims[key] = _Claim(name, kind, explicit)
            return
        if previous.name != name:
            raise ArchiveError(
                f"{previous.name!r} and {name!r} {self.where} differ only in upper/lower case "
                "or accents, which macOS treats as the same name",
                code="archive-duplicate",
                hint="rename one of them",
            )
        if previous.kind is not kind:
            raise ArchiveError(
                f"{name!r} is both a file and a folder {self.where}",
                code="archive-duplicate",
                hint=_REPACK_HINT,
            )
        if explicit and previous.explicit:
            raise ArchiveError(
                f"{name!r} appears twice {self.where}",
                code="archive-duplicate",
                hint=f"each file may appear once; {_REPACK_HINT}",
            )
        previous.explicit = previous.explicit or explicit


def _check_kind(raw: str, kind: _Kind, where: str) -> None:
    if kind in (_Kind.SYMLINK, _Kind.HARDLINK):
        raise ArchiveError(
            f"{raw!r} {where} is a {kind.value}; plugin archives may hold only files and folders",
            code="archive-link",
            hint="replace the link with a copy of the file it points to",
        )
    if kind is _Kind.SPECIAL:
        raise ArchiveError(
            f"{raw!r} {where} is a device, FIFO or other special file; plugin archives "
            "may hold only files and folders",
            code="archive-special-file",
            hint=_REPACK_HINT,
        )


def _too_large_member(raw: str, limits: ArchiveLimits, where: str) -> ArchiveError:
    return ArchiveError(
        f"{raw!r} {where} is larger than {limits.max_member_size:,} bytes",
        code="archive-too-large",
        hint="keep large files out of the plugin",
    )


# -- reading -------------------------------------------------------------------------


def _damaged(exc: BaseException, member: str | None = None) -> ArchiveError:
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


def _detect(head: bytes) -> Literal["zip", "tar", "tar.gz"]:
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


class _Budget:
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
            raise _too_large_member(raw, limits, "in the archive")
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


class _Inflow(io.RawIOBase):
    """The tar stream, gunzipped here with bounded output, counted and capped.

    tarfile reads pax and long-name headers whole, at the size their header claims;
    capping the stream keeps a lying header from making it allocate without bound.
    """

    def __init__(self, source: BinaryIO, gzipped: bool, budget: _Budget) -> None:
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
            compressed = inflater.unconsumed_tail or self.source.read(_CHUNK)
            if not compressed:
                raise ArchiveError(
                    "the archive is damaged or truncated: the gzip data ends early",
                    code="archive-corrupt",
                    hint="download it again, or re-create it with `km-actions pack`",
                )
            data = inflater.decompress(compressed, size)
            if data:
                return data


def _zip_kind(info: zipfile.ZipInfo) -> _Kind:
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return _Kind.SYMLINK
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return _Kind.SPECIAL
    if info.orig_filename.endswith("/") or kind == stat.S_IFDIR or info.external_attr & 0x10:
        return _Kind.DIRECTORY
    return _Kind.FILE


def _tar_kind(member: tarfile.TarInfo) -> _Kind:
    if member.issym():
        return _Kind.SYMLINK
    if member.islnk():
        return _Kind.HARDLINK
    if member.isdir():
        return _Kind.DIRECTORY
    if member.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE):
        return _Kind.FILE
    return _Kind.SPECIAL  # devices, FIFOs, sparse files, volume labels, unknown types


def _check_zip_directory(handle: BinaryIO, size: int, limits: ArchiveLimits) -> None:
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


# -- writing -------------------------------------------------------------------------


class _Writer:
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
        self.written: list[tuple[PurePosixPath, _Kind]] = []

    def folder(self, parts: tuple[str, ...]) -> int:
        """A descriptor for the folder ``parts``, creating missing folders."""
        fd = self.folders.get(parts)
        if fd is not None:
            return fd
        parent = self.folder(parts[:-1])
        try:
            os.mkdir(parts[-1], 0o755, dir_fd=parent)
            self.written.append((PurePosixPath(*parts), _Kind.DIRECTORY))
        except FileExistsError:
            pass  # opened below with O_NOFOLLOW, so never through a link
        fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
        self.folders[parts] = fd
        return fd

    def file(self, path: PurePosixPath, chunks: Iterator[bytes]) -> None:
        parent = self.folder(path.parts[:-1])
        fd = os.open(path.name, _NEW_FILE_FLAGS, 0o644, dir_fd=parent)
        self.written.append((path, _Kind.FILE))
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
                if kind is _Kind.FILE:
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


# -- extraction ----------------------------------------------------------------------


def extract_archive(
    archive: Path, dest: Path, *, limits: ArchiveLimits = ArchiveLimits()
) -> list[PurePosixPath]:
    """Extract a zip, tar or tar.gz archive (told apart by content) into ``dest``.

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
        fmt = _detect(handle.read(512))
        handle.seek(0)
        writer = _Writer(dest)
        try:
            budget = _Budget(limits, size)
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


def _extract_zip(handle: BinaryIO, size: int, writer: _Writer, budget: _Budget) -> None:
    limits = budget.limits
    _check_zip_directory(handle, size, limits)
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except _READ_ERRORS as exc:
        raise _damaged(exc) from exc
    with archive:
        checker = _Checker(limits)
        plan: list[tuple[zipfile.ZipInfo, PurePosixPath | None, _Kind]] = []
        claimed = 0
        for info in archive.infolist():  # check every name before writing anything
            kind = _zip_kind(info)
            path = checker.admit(info.orig_filename, kind, info.file_size)
            _check_zip_member(info, kind, limits)
            claimed += info.file_size if kind is _Kind.FILE else 0
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
            if kind is _Kind.DIRECTORY:
                writer.folder(path.parts)
                continue
            with _open_zip_member(archive, info) as opened:
                chunks = _counted(opened.read, info.orig_filename, budget, info.compress_size)
                writer.file(path, chunks)


def _check_zip_member(info: zipfile.ZipInfo, kind: _Kind, limits: ArchiveLimits) -> None:
    name = info.orig_filename
    if kind is not _Kind.FILE:
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
    except _READ_ERRORS as exc:
        raise _damaged(exc, info.orig_filename) from exc


def _counted(
    read: Callable[[int], bytes], raw: str, budget: _Budget, packed: int | None
) -> Iterator[bytes]:
    """Chunks of one member, counted against the limits as they are read."""
    written = 0
    while True:
        try:
            chunk = read(_CHUNK)
        except _READ_ERRORS as exc:
            raise _damaged(exc, raw) from exc
        if not chunk:
            return
        written += len(chunk)
        budget.add(raw, written, len(chunk), packed)
        yield chunk


def _extract_tar(handle: BinaryIO, gzipped: bool, writer: _Writer, budget: _Budget) -> None:
    inflow = _Inflow(handle, gzipped, budget)
    stream = io.BufferedReader(inflow, _CHUNK)
    try:
        head = stream.peek(512)[:512]
    except _READ_ERRORS as exc:
        raise _damaged(exc) from exc
    if gzipped and len(head) >= 262 and head[257:262] != b"ustar" and head.strip(b"\0"):
        raise ArchiveError(
            "the file is gzip-compressed but does not hold a tar archive",
            code="archive-unsupported",
            hint="install from a .zip or .tar.gz file, or from a folder",
        )
    checker = _Checker(budget.limits)
    with _open_tar(stream) as archive:
        for member in _tar_members(archive):
            kind = _tar_kind(member)
            path = checker.admit(member.name, kind, member.size)
            if path is None:
                continue
            if kind is _Kind.DIRECTORY:
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
        except _END_OF_ARCHIVE:
            raise
        except tarfile.HeaderError as exc:
            raise _damaged(exc) from exc


def _open_tar(stream: IO[bytes]) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=stream, mode="r|", tarinfo=_StrictTarInfo)
    except _READ_ERRORS as exc:
        raise _damaged(exc) from exc


def _tar_members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while True:
        try:
            member = archive.next()
        except _READ_ERRORS as exc:
            raise _damaged(exc) from exc
        if member is None:
            return
        yield member


def _open_tar_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    try:
        data = archive.extractfile(member)
    except _READ_ERRORS as exc:
        raise _damaged(exc, member.name) from exc
    if data is None:  # only for links and special files, rejected before
        raise _damaged(ValueError("no data for a regular file"), member.name)
    return data


def _drain(stream: IO[bytes]) -> None:
    """Read to the end of the stream, so that gzip checks its CRC and length."""
    try:
        while stream.read(_CHUNK):
            pass
    except _READ_ERRORS as exc:
        raise _damaged(exc) from exc


# -- packing -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Source:
    path: PurePosixPath
    kind: _Kind
    location: Path


def create_archive(
    folder: Path,
    out: Path,
    *,
    fmt: Literal["zip", "tar.gz"],
    limits: ArchiveLimits = ArchiveLimits(),
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
    checker = _Checker(limits, "in the folder")
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
                if source.kind is _Kind.DIRECTORY:
                    pending.append((source.location, source.path))
    total = sum(s.location.stat().st_size for s in sources if s.kind is _Kind.FILE)
    if total > limits.max_total_size:
        raise ArchiveError(
            f"the folder holds {total:,} bytes of files, more than {limits.max_total_size:,}",
            code="archive-too-large",
            hint="keep large files out of the plugin",
        )
    return sorted(sources, key=lambda s: s.path.parts)


def _source(entry: os.DirEntry[str], path: PurePosixPath, checker: _Checker) -> _Source:
    info = entry.stat(follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode):
        kind = _Kind.SYMLINK
    elif stat.S_ISDIR(info.st_mode):
        kind = _Kind.DIRECTORY
    elif stat.S_ISREG(info.st_mode):
        kind = _Kind.FILE
    else:
        kind = _Kind.SPECIAL
    name = f"{path}/" if kind is _Kind.DIRECTORY else str(path)
    size = info.st_size if kind is _Kind.FILE else 0
    checker.admit(name, kind, size)
    return _Source(path, kind, Path(entry.path))


def _read_source(source: _Source, limits: ArchiveLimits) -> bytes:
    fd = os.open(source.location, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limits.max_member_size + 1)
    if len(data) > limits.max_member_size:
        raise _too_large_member(str(source.path), limits, "in the folder")
    return data


def _write_zip(out: IO[bytes], sources: list[_Source], limits: ArchiveLimits) -> None:
    with zipfile.ZipFile(out, "w") as archive:
        for source in sources:
            is_folder = source.kind is _Kind.DIRECTORY
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
            if source.kind is _Kind.DIRECTORY:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                data = _read_source(source, limits)
                info.mode, info.size = 0o644, len(data)
                archive.addfile(info, io.BytesIO(data))
