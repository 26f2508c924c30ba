"""Install sources, and putting a source's files into a staging folder safely.

A source is a folder, a .zip/.tar/.tar.gz archive, a single action file, or an archive a
marketplace downloaded and checked. Staging copies (or extracts) it into the store's
``staging/`` area, on the store's filesystem so that committing is a rename. Copying a
folder refuses links and special files and stays within the archive limits; archives go
through :func:`~engine.plugins.archives.extract_archive`.

>>> InstallSource.of("plugins/clipboard-tools.zip").kind
<SourceKind.ARCHIVE: 'archive'>
"""

from __future__ import annotations

import enum
import os
import stat
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from engine.diagnostics.errors import PluginError
from engine.load.files import Found, look
from engine.plugins._archive_checks import hard_link_error
from engine.plugins.archives import ArchiveLimits, extract_archive
from engine.plugins.manifest import PLUGIN_FILES

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
ACTION_SUFFIXES = (".yaml", ".yml", ".json")
_EXCLUDED = frozenset({"__pycache__", ".git", ".DS_Store"})
_CHUNK = 1024 * 1024
DEFAULT_LIMITS = ArchiveLimits()


class SourceKind(enum.Enum):
    """Where a plugin is installed from."""

    FOLDER = "folder"
    ARCHIVE = "archive"
    FILE = "file"
    MARKETPLACE = "marketplace"
    URL = "url"


@dataclass(frozen=True)
class InstallSource:
    """What to install, and what to record about where it came from.

    For a marketplace download, ``path`` is the archive (already checked against the
    index's sha256), ``expected`` the (identifier, version) the index promised, and
    ``detail`` the index entry, kept in the store.

    >>> InstallSource.of("actions/title-case-variable.yaml").kind
    <SourceKind.FILE: 'file'>
    """

    kind: SourceKind
    path: Path
    ref: str
    origin: str = "file"
    expected: tuple[str, str] | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    one_name: bool = False
    """Named by an MCP caller: a file with other hard links is refused when staged (one of
    its names may lie outside the folders the user allowed); checked on the opened file."""

    @classmethod
    def of(
        cls, source: str | Path, *, origin: str = "file", one_name: bool = False
    ) -> InstallSource:
        """A folder, archive or action file path; the kind comes from what it is
        (``one_name``: see the field)."""
        path = Path(source)
        name = path.name.lower()
        found = look(path, str(source))  # io-error when it cannot be looked at
        if found is Found.FOLDER:
            kind = SourceKind.FOLDER
        elif name.endswith(ARCHIVE_SUFFIXES):
            kind = SourceKind.ARCHIVE
        elif name.endswith(ACTION_SUFFIXES):
            kind = SourceKind.FILE
        elif found is Found.FILE:
            kind = SourceKind.ARCHIVE  # told apart by content when extracted
        else:
            raise PluginError(
                f"cannot install {str(source)!r}: there is no such file or folder",
                code="source-not-found",
                hint="give a plugin folder, a .zip or .tar.gz archive, or an action file",
            )
        return cls(kind, path, str(source), origin, one_name=one_name)

    @classmethod
    def marketplace(
        cls,
        archive: Path,
        identifier: str,
        version: str,
        *,
        ref: str,
        detail: Mapping[str, Any] | None = None,
    ) -> InstallSource:
        """An archive downloaded from a marketplace index and checked against its sha256."""
        return cls(
            SourceKind.MARKETPLACE,
            archive,
            ref,
            "marketplace",
            (identifier, version),
            dict(detail or {}),
        )

    @classmethod
    def downloaded(cls, archive: Path, url: str, *, origin: str = "file") -> InstallSource:
        """An archive downloaded from ``url`` (recorded as where it came from)."""
        return cls(SourceKind.URL, archive, url, origin)

    @property
    def label(self) -> str:
        """How files of this source are named in messages."""
        if self.kind is SourceKind.URL:  # the download's own name says nothing
            return PurePosixPath(urllib.parse.urlsplit(self.ref).path).name or self.ref
        return self.path.name or str(self.path)


def stage(
    source: InstallSource,
    package: Path,
    *,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> Path:
    """Put the source's files under ``package`` (which must not exist yet).

    Returns what to read the plugin from: ``package`` itself, the one folder inside it
    that holds the plugin manifest (archives made by zipping a folder), or the action
    file for a single file.
    """
    one_name = source.one_name
    if source.kind is SourceKind.FOLDER:
        _copy_folder(source.path, package, limits, one_name)
    elif source.kind is SourceKind.FILE:
        package.mkdir()
        target = package / source.path.name
        _copy_file(source.path, target, source.path.name, limits, one_name)
        return target
    else:
        extract_archive(source.path, package, limits=limits, one_name=one_name)
    return _plugin_root(package)


def _plugin_root(package: Path) -> Path:
    if any((package / name).is_file() for name in PLUGIN_FILES):
        return package
    entries = [e for e in package.iterdir() if e.name not in _EXCLUDED]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        inner = entries[0]
        if any((inner / name).is_file() for name in PLUGIN_FILES):
            return inner
    if len(entries) == 1 and entries[0].is_file() and entries[0].name.endswith(ACTION_SUFFIXES):
        return entries[0]
    return package


def _refuse(relative: str, what: str) -> PluginError:
    return PluginError(
        f"cannot install: {relative!r} is {what}; plugins hold plain files and folders only",
        code="plugin-unsafe-file",
        hint="replace links with copies of the files they point to, and remove special files",
    )


def _copy_folder(folder: Path, package: Path, limits: ArchiveLimits, one_name: bool) -> None:
    package.mkdir()
    count = total = 0
    pending: list[tuple[Path, Path, str]] = [(folder, package, "")]
    while pending:
        source, dest, prefix = pending.pop()
        with os.scandir(source) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            if entry.name in _EXCLUDED:
                continue
            relative = prefix + entry.name
            mode = entry.stat(follow_symlinks=False).st_mode
            count += 1
            if count > limits.max_members:
                raise PluginError(
                    f"cannot install: the folder holds more than {limits.max_members} files "
                    "and folders",
                    code="archive-too-many-files",
                    hint="keep only the plugin's own files in its folder",
                )
            if stat.S_ISLNK(mode):
                raise _refuse(relative, "a symbolic link")
            if stat.S_ISDIR(mode):
                (dest / entry.name).mkdir()
                pending.append((Path(entry.path), dest / entry.name, relative + "/"))
            elif stat.S_ISREG(mode):
                total += _copy_file(Path(entry.path), dest / entry.name, relative, limits, one_name)
                if total > limits.max_total_size:
                    raise PluginError(
                        f"cannot install: the folder holds more than "
                        f"{limits.max_total_size:,} bytes of files",
                        code="archive-too-large",
                        hint="keep large files out of the plugin",
                    )
            else:
                raise _refuse(relative, "a special file (device, pipe or socket)")


def _copy_file(
    source: Path, target: Path, relative: str, limits: ArchiveLimits, one_name: bool
) -> int:
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if os.path.islink(source):
            raise _refuse(relative, "a symbolic link") from exc
        raise PluginError(
            f"cannot read {relative!r}: {exc.strerror}",
            code="plugin-unreadable",
            hint="check that the file exists and can be read",
        ) from exc
    written = 0
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)  # the file opened, not what the name meant a moment before
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(relative, "a special file (device, pipe or socket)")
        if one_name and info.st_nlink > 1:
            raise hard_link_error(relative, info.st_nlink)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(out, "wb") as sink:
            while chunk := handle.read(_CHUNK):
                written += len(chunk)
                if written > limits.max_member_size:
                    raise PluginError(
                        f"cannot install: {relative!r} is larger than "
                        f"{limits.max_member_size:,} bytes",
                        code="archive-too-large",
                        hint="keep large files out of the plugin",
                    )
                sink.write(chunk)
    return written
