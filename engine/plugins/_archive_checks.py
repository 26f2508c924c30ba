"""What a plugin archive may hold: limits, the error, and checks of member names and kinds.

Extraction and packing run every member through the same :class:`Checker`.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

from engine.diagnostics.errors import PluginError
from engine.diagnostics.words import counted

MB = 1024 * 1024
_DRIVE = re.compile(r"[A-Za-z]:")
_REPACK_HINT = "re-create the archive with `km-actions pack`, from a folder of plain files"


class ArchiveError(PluginError):
    """An archive cannot be extracted or created safely.

    Codes: ``archive-unsupported``, ``archive-corrupt``, ``archive-unsafe-path``,
    ``archive-link``, ``archive-special-file``, ``archive-duplicate``,
    ``archive-too-many-files``, ``archive-too-large``, ``archive-ratio``, and for the
    folders around it ``archive-unreadable`` and ``archive-destination``.
    """

    code = "archive-corrupt"
    # Named after its public home, so tracebacks read engine.plugins.archives.ArchiveError.
    __module__ = "engine.plugins.archives"


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


class Kind(enum.Enum):
    """What a member is: only files and folders may be extracted or packed."""

    FILE = "file"
    DIRECTORY = "folder"
    SYMLINK = "symbolic link"
    HARDLINK = "hard link"
    SPECIAL = "special file"


def hard_link_error(shown: str, links: int) -> PluginError:
    """The refusal of a file an MCP caller named that has other names on the disk (a hard
    link): one of them may lie outside the folders the user allowed, which a hard link,
    unlike a symbolic one, does not tell."""
    others = counted(links - 1, "other name")
    return PluginError(
        f"cannot install: {shown!r} is a hard link (the same file as {others} on the disk, "
        "perhaps outside the folders MCP callers may install from)",
        code="plugin-unsafe-file",
        hint="copy the file into the folder instead of linking it (`cp`, not `ln`); or the "
        "user can install it from the command line, with `km-actions install PATH`",
    )


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
    kind: Kind
    explicit: bool


class Checker:
    """Checks members one by one: count, name, type, duplicates, case collisions."""

    def __init__(self, limits: ArchiveLimits, where: str = "in the archive") -> None:
        self.limits = limits
        self.where = where
        self.count = 0
        self.claims: dict[str, _Claim] = {}

    def admit(self, raw: str, kind: Kind, claimed_size: int) -> PurePosixPath | None:
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
            raise too_large_member(raw, self.limits, self.where)
        if path is None:
            return None
        for depth in range(1, len(path.parts)):
            self._claim("/".join(path.parts[:depth]), Kind.DIRECTORY, explicit=False)
        self._claim(str(path), kind, explicit=True)
        return path

    def _claim(self, name: str, kind: Kind, *, explicit: bool) -> None:
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


def _check_kind(raw: str, kind: Kind, where: str) -> None:
    if kind in (Kind.SYMLINK, Kind.HARDLINK):
        raise ArchiveError(
            f"{raw!r} {where} is a {kind.value}; plugin archives may hold only files and folders",
            code="archive-link",
            hint="replace the link with a copy of the file it points to",
        )
    if kind is Kind.SPECIAL:
        raise ArchiveError(
            f"{raw!r} {where} is a device, FIFO or other special file; plugin archives "
            "may hold only files and folders",
            code="archive-special-file",
            hint=_REPACK_HINT,
        )


def too_large_member(raw: str, limits: ArchiveLimits, where: str) -> ArchiveError:
    """The error for a member larger than ``max_member_size``."""
    return ArchiveError(
        f"{raw!r} {where} is larger than {limits.max_member_size:,} bytes",
        code="archive-too-large",
        hint="keep large files out of the plugin",
    )
