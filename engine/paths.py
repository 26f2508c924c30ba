"""Where km-actions keeps its data: ``KM_ACTIONS_HOME``, else the user data folder."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import platformdirs

ENV_HOME = "KM_ACTIONS_HOME"


def home() -> Path:
    """The data folder (not created here)."""
    configured = os.environ.get(ENV_HOME)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("km-actions", appauthor=False))


def simulator_state_path() -> Path:
    """Where CLI runs keep the simulator's state, so runs can chain."""
    return home() / "simulator-state.json"


def saved_tools_path() -> Path:
    """Where the tool list of the Keyboard Maestro MCP server last connected to is kept."""
    return home() / "upstream-tools.json"


@contextlib.contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` for the block: a folder, or else a lock file
    (created, readable by its owner only). Processes that take the same lock run their
    blocks one after another, so a read-modify-write in one never loses what another
    wrote; the lock goes with the process (``flock``), so a crash leaves none behind.
    Raises OSError."""
    if lock.is_dir():
        fd = os.open(lock, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    else:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def write_atomically(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` (its folder created) so that readers see the old file or
    the new one, never a part: a private temporary file, then a rename. ``mode``: the
    file's permissions (default: readable by its owner only). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
