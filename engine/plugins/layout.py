"""Paths inside the plugin store, built in one place: from checked names, never leaving it.

Every path the store reads, writes or deletes is made here: its names are checked first
(identifiers by :func:`engine.validate.names.check_name`, other parts by :func:`file_name`), and
:func:`inside` refuses a relative path that is absolute, climbs out with ``..``, or
passes through a symbolic link below the folder it starts from. So neither a name sent
over MCP nor a row of a damaged database can make the store touch a file outside it.

>>> import tempfile
>>> layout = Layout(Path(tempfile.mkdtemp()))
>>> layout.version_folder("clipboard-tools", "1.0.0", "0123456789abcdef" * 4)
'plugins/clipboard-tools/1.0.0-01234567'
>>> layout.path("plugins/../../etc")
Traceback (most recent call last):
...
engine.diagnostics.errors.PluginError: the path 'plugins/../../etc' would leave the plugin store
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from pathlib import Path

from engine.diagnostics.errors import PluginError
from engine.validate.names import NameKind, check_name

_DIGEST = re.compile(r"[0-9a-f]{64}")
_SEPARATORS = re.compile("[/\\\\\0]")
_NAME_MAX = 255  # bytes in one file name, on every filesystem km-actions runs on
CACHE_SUFFIX = ".pickle"
CHECKED_SUFFIX = ".checked"


def _refused(relative: str, why: str) -> PluginError:
    return PluginError(
        f"the path {relative!r} {why}",
        code="store-unsafe-path",
        hint="names in the store are plugin identifiers and versions; nothing may point "
        "outside it (check that no symbolic link was put inside the store)",
    )


def file_name(part: str) -> str:
    """``part`` when it can be one file name in a folder (not empty, ``.`` or ``..``, no
    ``/``, ``\\`` or NUL, not too long); else :class:`PluginError` (``store-unsafe-path``).
    """
    if part in ("", ".", "..") or _SEPARATORS.search(part):
        raise _refused(part, "would leave the plugin store")
    if part.isascii() and len(part) <= _NAME_MAX:
        return part
    try:
        size = len(part.encode("utf-8"))
    except UnicodeEncodeError:
        raise _refused(part, "is not text a file name can hold") from None
    if size > _NAME_MAX:
        raise _refused(part, f"is longer than a file name may be ({_NAME_MAX} bytes)")
    return part


def relative_parts(relative: str) -> list[str]:
    """The names of a relative path (``a/b.yaml`` → ``["a", "b.yaml"]``), refused when it
    is absolute or has ``..``, ``.``, empty or unsafe parts. A check of the text only:
    :func:`inside` also refuses links on the way."""
    parts = relative.split("/")
    try:
        for part in parts:
            file_name(part)  # also refuses "" (an absolute path, "//", a final "/")
    except PluginError:
        raise _refused(relative, "would leave the plugin store") from None
    return parts


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it stays inside ``root``: ``relative`` passes
    :func:`relative_parts`, and none of its parts that exist is a symbolic link (``root``
    itself may be one: the user chose it)."""
    parts = relative_parts(relative)
    path = str(root)
    for part in parts:
        path = os.path.join(path, part)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            break  # nothing below a missing part exists, links included
        except OSError as exc:  # a file where a folder is expected, …
            raise _refused(relative, f"cannot be reached ({exc.strerror})") from None
        if stat.S_ISLNK(mode):
            raise _refused(relative, "passes through a symbolic link")
    return root.joinpath(*parts)


def is_digest(text: str) -> bool:
    """True for a sha256 in hex, as the store names caches and version folders by."""
    return _DIGEST.fullmatch(text) is not None


def version_folder(identifier: str, version: str, digest: str) -> str:
    """Where a version's files go, relative to the store root:
    ``plugins/<identifier>/<version>-<first 8 of its content digest>``."""
    check_name(identifier, NameKind.PLUGIN)
    if not is_digest(digest):
        raise _refused(digest, "is not a content digest")
    return f"plugins/{identifier}/{file_name(f'{version}-{digest[:8]}')}"


class Layout:
    """The folders and files of a store rooted at ``root`` (see :mod:`engine.plugins.store`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.plugins_dir = root / "plugins"
        self.staging_dir = root / "staging"
        self.cache_dir = root / "cache"
        self.secrets_dir = root / "secrets"
        self.recovered_dir = root / "recovered"

    def path(self, relative: str) -> Path:
        """A path under the root, given relative to it (as the database records folders)."""
        return inside(self.root, relative)

    def version_folder(self, identifier: str, version: str, digest: str) -> str:
        """Where a version's files go, relative to the root (:func:`version_folder`)."""
        return version_folder(identifier, version, digest)

    def plugin_folder(self, identifier: str) -> Path:
        """The folder holding every version folder of a plugin."""
        return inside(self.plugins_dir, check_name(identifier, NameKind.PLUGIN))

    def cache_file(self, digest: str) -> Path:
        """The manifest cache of the version whose content digest is ``digest``."""
        if not is_digest(digest):
            raise _refused(digest, "is not a content digest")
        return inside(self.cache_dir, f"{digest}{CACHE_SUFFIX}")

    def checked_file(self, digest: str) -> Path:
        """Which tool catalogs the version whose content digest is ``digest`` was checked
        against (see :mod:`engine.plugins._checks`)."""
        if not is_digest(digest):
            raise _refused(digest, "is not a content digest")
        return inside(self.cache_dir, f"{digest}{CHECKED_SUFFIX}")


def is_real_folder(path: Path) -> bool:
    """A folder itself, not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def remove_tree(path: Path) -> None:
    """Delete a folder and everything in it (gone already is fine; a link is refused by
    :func:`shutil.rmtree`, never followed)."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)


def remove_empty(folder: Path) -> None:
    """Remove a folder if it is empty (a plugin folder whose last version went)."""
    with contextlib.suppress(OSError):
        folder.rmdir()


def sync_folder(folder: Path) -> None:
    """Make a folder's entries (a file renamed into it) durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
