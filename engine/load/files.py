"""What is at a path a user (or an MCP caller) names, and the error when it cannot be read.

Every command and every MCP operation that takes a path looks at it here, once, so that a
path which cannot even be looked at (a name longer than the disk allows, a loop of links,
a folder without permission) is an ``io-error`` that says what, where and how to fix it,
never a traceback. ``Path.is_dir``/``exists`` swallow only some errors (ENAMETOOLONG and
EACCES escape them) and read "cannot look" as "not there" for others (ELOOP).

>>> look(Path("/nonexistent/folder")) is Found.NOTHING
True
>>> error = unreadable("notes/a.yaml", OSError(errno.ELOOP, "Too many levels of symbolic links"))
>>> error.code, error.message
('io-error', 'cannot read notes/a.yaml: its links lead round in a loop (or through too many links)')
"""

from __future__ import annotations

import enum
import errno
import os
import stat
from pathlib import Path

from engine.diagnostics.errors import EngineError

#: The longest file or folder name (in bytes) of the disks km-actions runs on (APFS, ext4).
NAME_MAX = 255
_SHOWN = 40  # a longer name is shown by its start and end


class Found(enum.Enum):
    """What a path names."""

    FOLDER = "folder"
    FILE = "file"  # a regular file
    OTHER = "other"  # a device, a pipe or a socket: never read as a file
    NOTHING = "nothing"


def look(path: Path, shown: str | None = None) -> Found:
    """What is at ``path`` (links followed); an ``io-error`` (see :func:`unreadable`) when
    it cannot be looked at. ``shown``: how the path is named in that error."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return Found.NOTHING
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise unreadable(shown if shown is not None else str(path), exc) from None
    if stat.S_ISDIR(mode):
        return Found.FOLDER
    return Found.FILE if stat.S_ISREG(mode) else Found.OTHER


def unreadable(shown: str, exc: OSError | ValueError) -> EngineError:
    """The error for a path that cannot be looked at or read: what, where, how to fix."""
    reason, hint = _why(shown, exc)
    message = f"cannot read {_elided_path(shown)}: {reason}"  # the file: the path itself
    return EngineError(message, code="io-error", file=shown, hint=hint)


def _why(shown: str, exc: OSError | ValueError) -> tuple[str, str | None]:
    if isinstance(exc, ValueError):
        return "the path holds a NUL character", "give the path without it"
    if exc.errno == errno.ENAMETOOLONG:
        return _too_long(shown)
    if exc.errno == errno.ELOOP:
        return (
            "its links lead round in a loop (or through too many links)",
            "check the symbolic links along the path: one of them leads back to itself",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied", "check that you may read the file and open each folder above it"
    return exc.strerror or str(exc), None


def _too_long(shown: str) -> tuple[str, str]:
    names = [part for part in shown.split("/") if len(os.fsencode(part)) > NAME_MAX]
    hint = f"check the path: no file or folder name can be longer than {NAME_MAX} bytes"
    if not names:
        return "the path is longer than the system allows", "give a shorter path"
    size = len(os.fsencode(names[0]))
    return (
        f"the name {_elided(names[0])!r} is {size} bytes long, longer than a file or folder "
        f"name can be ({NAME_MAX} bytes)",
        hint,
    )


def _elided(name: str) -> str:
    return name if len(name) <= _SHOWN else f"{name[:24]}…{name[-16:]}"


def _elided_path(shown: str) -> str:
    return "/".join(_elided(part) for part in shown.split("/"))
