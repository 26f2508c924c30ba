"""The time budget of evaluation: templates and expressions never hold the event loop long.

A run shares its event loop with other runs and with the MCP server's requests, and
evaluating is synchronous: while a template renders, nothing else runs, not even the
watchdog that enforces ``timeout``. Every operation's size is bounded before it is
computed, but a template may chain thousands of them, and a step may hold many
templates. So each thread keeps one clock: the seconds templates and expressions have
computed since its event loop last went round (a callback queued when the count starts
resets it as soon as the loop gets control back; the runtime lets the loop go round at
a step start once a run has kept it for a slice of time). Allocating operations,
operators, calls and regular expressions check it, and once it passes
:data:`EVALUATION_TIME` the evaluation fails with ``limit-exceeded``. Outside an event
loop, each evaluation has the whole budget to itself. Code that checks nothing (a set of
values that only reads and joins, bounded by the size limits) starts no count: see
``timed`` in :mod:`engine.lang._template_code`.

>>> clock = begin(); spend(); end(clock)
>>> remaining() == EVALUATION_TIME
True
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Final

from engine.diagnostics.errors import LimitExceeded

EVALUATION_TIME: Final = 1.0  # seconds of evaluation before the event loop must go round

_monotonic = time.monotonic

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop


class Clock:
    """A thread's evaluation time: ``used`` since ``loop`` last went round (None: it has
    since), and when the evaluation in progress (``depth`` > 0) started."""

    __slots__ = ("depth", "loop", "since", "used")

    def __init__(self) -> None:
        self.used = 0.0
        self.since = 0.0
        self.depth = 0
        self.loop: AbstractEventLoop | None = None


class _Clocks(threading.local):
    """Each thread's clock, read with one thread-local lookup per call (every render
    and evaluation starts and ends one)."""

    def __init__(self) -> None:
        self.clock = Clock()


_CLOCKS: Final = _Clocks()
_modules = sys.modules


def _went_round(clock: Clock) -> None:
    clock.loop = None


def begin() -> Clock:
    """Start an evaluation; pass what it returns (this thread's clock) to :func:`end`
    when it is done (nested ones count once)."""
    clock = _CLOCKS.clock
    if not clock.depth:
        loop = clock.loop
        # While the loop the count started in runs (in this thread: the clock is the
        # thread's), it has not gone round since (its callback resets ``loop``); reading
        # the running loop costs a system call (getpid), so it is read only otherwise.
        if loop is None or not loop.is_running():
            # Read through ``sys.modules`` so that loading the sandbox does not import
            # asyncio (a tenth of ``km-actions validate``'s start): where asyncio was
            # never imported, no loop can be running.
            events = _modules.get("asyncio.events")
            loop = None if events is None else events._get_running_loop()
            clock.used = 0.0
            clock.loop = loop
            if loop is not None:
                loop.call_soon(_went_round, clock)
        clock.since = _monotonic()
    clock.depth += 1
    return clock


def end(clock: Clock) -> None:
    """End the evaluation :func:`begin` started (and returned ``clock`` for)."""
    clock.depth -= 1
    if not clock.depth:
        clock.used += _monotonic() - clock.since


def remaining() -> float:
    """Seconds the evaluation in progress may still compute (the whole budget outside
    an evaluation); raises ``limit-exceeded`` once none are left."""
    clock = _CLOCKS.clock
    if not clock.depth:
        return EVALUATION_TIME
    left = EVALUATION_TIME - clock.used - (_monotonic() - clock.since)
    if left <= 0:
        raise LimitExceeded(
            "evaluation_time",
            EVALUATION_TIME,
            f"templates and expressions computed for more than {EVALUATION_TIME:g} s "
            "without a pause, so this one was stopped (the run shares its time with "
            "other work)",
            hint="make the template do less work (fewer filters on long text, smaller "
            "lists), or spread the work over several steps",
        )
    return left


def spend() -> None:
    """Raise ``limit-exceeded`` when the evaluation in progress is out of time."""
    remaining()
