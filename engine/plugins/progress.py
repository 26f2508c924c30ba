"""Progress bars on stderr for work that takes more than a second (downloads, installs).

A bar draws nothing until its work has lasted :data:`DELAY` seconds, and nothing at all
when its stream is not a terminal (pipes, log files, an MCP server's stderr), so quick
work and scripts see no noise. Redraws are throttled to a few per second.

>>> import io
>>> class Clock:
...     now = 0.0
...     def __call__(self) -> float:
...         return self.now
>>> class Terminal(io.StringIO):
...     def isatty(self) -> bool:
...         return True
>>> clock, out = Clock(), Terminal()
>>> bar = ProgressBar("downloading demo 1.0.0", stream=out, clock=clock)
>>> bar(512, 2048)                 # under a second: nothing drawn
>>> clock.now = 1.5; bar(1024, 2048)
>>> bar.finish()
>>> out.getvalue()
'\\rdownloading demo 1.0.0 [##########----------]  50%  1.0 KB of 2.0 KB\\n'
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

DELAY = 1.0
_REDRAW_EVERY = 0.2
_WIDTH = 20

Progress = Callable[[int, "int | None"], None]
"""Told ``(done, total)`` as work advances; ``total`` is ``None`` when unknown."""


class _Stream(Protocol):
    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


def format_size(count: float) -> str:
    """Bytes in the unit people read: ``512 B``, ``1.5 KB``, ``20.0 MB``.

    >>> format_size(512), format_size(1536), format_size(20 * 1024 * 1024)
    ('512 B', '1.5 KB', '20.0 MB')
    """
    if count < 1024:
        return f"{int(count)} B"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            break
    return f"{count:.1f} {unit}"


class ProgressBar:
    """A one-line bar ``label [####------]  40%  1.2 MB of 3.0 MB`` on a terminal.

    Call it with ``(done, total)`` (it is a :data:`Progress`); call :meth:`finish` when
    the work ends, so the line is completed (only if something was drawn). ``unit`` is
    ``"bytes"`` (sizes shown as KB/MB) or any word for counted items (``"files"``).
    """

    def __init__(
        self,
        label: str,
        *,
        stream: _Stream | TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        unit: str = "bytes",
    ) -> None:
        self.label = label
        self.unit = unit
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._started = clock()
        self._last_draw: float | None = None
        self._enabled = _is_terminal(self._stream)
        self.drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        if not self._enabled:
            return
        now = self._clock()
        if now - self._started < DELAY:
            return
        recent = self._last_draw is not None and now - self._last_draw < _REDRAW_EVERY
        if recent and (total is None or done < total):
            return  # throttled, but the last update (done == total) is always drawn
        self._last_draw = now
        self._draw(done, total)

    def finish(self) -> None:
        """End the bar's line (if a bar was drawn)."""
        if self.drawn:
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, done: int, total: int | None) -> None:
        amount = self._amount(done)
        if total:
            share = min(done / total, 1.0)
            filled = int(share * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            text = f"{self.label} [{bar}] {share:>4.0%}  {amount} of {self._amount(total)}"
        else:
            text = f"{self.label}  {amount}"
        self._stream.write("\r" + text)
        self._stream.flush()
        self.drawn = True

    def _amount(self, count: int) -> str:
        return format_size(count) if self.unit == "bytes" else f"{count} {self.unit}"


def _is_terminal(stream: _Stream | TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
