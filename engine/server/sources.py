"""Which local paths an MCP caller may install from: the folders the user allowed.

A ``plugin_source`` that names a path is a stranger's request to read a file of this
machine. It is checked before anything on the filesystem is touched: it must be an
absolute path (``~/`` is this user's home) whose spelling, ``..`` folded away, lies in a
folder the user allowed: ``security.install_paths``, or the folder of a marketplace index
the user added from this machine. Only then is it resolved (links followed, which reads
the allowed folder only), and the real path must lie in an allowed folder too, and
outside km-actions' own store (never part of an allowed folder, even one that holds it). A
refusal reads the same whether the path exists or not, and whether it is in the store or
merely outside the allowed folders, so the answers tell nothing about the rest of the
machine, nor where the store is.

>>> allowed = (Path("/srv/plugins"),)
>>> allowed_path("/srv/plugins/../../etc/passwd", allowed, Path("/srv/km"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
engine.diagnostics.errors.PluginError: `plugin_source` is a path outside the folders ...
>>> names_a_path("~/plugins/notes"), names_a_path("notes@1.*")
(True, False)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path, PurePath

from engine.diagnostics.errors import PluginError

SETTING = "security.install_paths"
_HINT = (
    "only the user can let MCP callers install from a folder, with `km-actions config set "
    f"{SETTING} '[\"/path/to/folder\"]'`; or the user can install it from the command "
    "line, with `km-actions install PATH`"
)


def names_a_path(source: str) -> bool:
    """True for an absolute path or one starting at the home folder (``~``, ``~/…``):
    what an MCP caller may name as a local source (read from the text alone)."""
    return source == "~" or source.startswith(("/", "~/"))


def allowed_path(source: str, allowed: Iterable[Path], store_root: Path) -> Path:
    """The real path of ``source`` when an MCP caller may install from it (see the module
    docs); otherwise ``source-refused``, raised before the path is looked at."""
    if not names_a_path(source) or "\0" in source:
        raise _refused(
            "`plugin_source` is neither an absolute path, an http(s) URL nor a marketplace id",
            "give the absolute path of a plugin folder, archive or action file (in a "
            "folder the user lets MCP callers install from), an https:// URL, or a "
            f"marketplace id[@range]; {_HINT}",
        )
    spelt = os.path.expanduser(source)  # ``~`` and ``~/`` only: $HOME, no lookup
    folders = [(Path(os.path.normpath(f)), _real(f)) for f in allowed]
    named = Path(os.path.normpath(spelt))
    if not any(_within(named, f) for pair in folders for f in pair):
        raise _outside()
    real = _real(spelt)
    if real is None or not any(_within(real, f) for _, f in folders if f is not None):
        raise _outside()  # a link in an allowed folder that points elsewhere, say
    if _in_store(real, store_root):
        # The store is never part of an allowed folder, and is refused as any path outside
        # them is: an answer of its own would tell where the store is.
        raise _outside()
    return real


def _in_store(real: Path, store_root: Path) -> bool:
    """True when ``real`` is the store or lies in it, by its spelling or as the same folder
    on the disk: a case-insensitive disk (macOS), a firmlink or a bind mount reach one
    folder by several paths that no link resolution makes the same."""
    store = _real(store_root)
    if store is not None and _within(real, store):
        return True
    try:
        mark = os.stat(store_root)
    except OSError:
        return False
    for folder in (real, *real.parents):
        with contextlib.suppress(OSError):
            if os.path.samestat(os.stat(folder), mark):
                return True
    return False


def _real(path: str | Path) -> Path | None:
    """``path`` with every link followed (None when it cannot be resolved at all)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None


def _within(path: PurePath, folder: PurePath | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def _outside() -> PluginError:
    return _refused(
        "`plugin_source` is a path outside the folders the user lets MCP callers install from",
        _HINT,
    )


def _refused(message: str, hint: str) -> PluginError:
    return PluginError(message, code="source-refused", hint=hint)
