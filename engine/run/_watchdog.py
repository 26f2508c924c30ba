"""Run and step timeouts without a timer per run or per step.

``asyncio.timeout()`` costs about 9 µs per use on a small machine, more than a whole
10-step action should. One watchdog per event loop keeps a single timer armed for the
earliest deadline; a run registers its task (a dict insert) and the watchdog cancels the
task if the run's deadline passes, or if no new step has started for longer than the
profile's ``step_timeout`` (each step records when it began: an attribute write). The
run then reports why (``state.timed_out`` is ``"run"`` or ``"step"``).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

T = TypeVar("T")

_WATCHDOGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Watchdog] = (
    weakref.WeakKeyDictionary()
)


_monotonic = time.monotonic
_INF: Final = float("inf")
_LAST: Watchdog | None = None  # the last loop's watchdog: one loop is the common case


class Watchdog:
    """Cancels registered tasks whose deadline has passed."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # By what the watched run writes (``state``: each run, each bounded call has its
        # own), so that registering takes no token of its own.
        self._runs: dict[Any, tuple[asyncio.Task[Any], float, float | None]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = _INF

    @classmethod
    def for_running_loop(cls, loop: asyncio.AbstractEventLoop | None = None) -> Watchdog:
        """The watchdog of the running event loop (``loop``, when the caller has read
        it: reading it costs a system call)."""
        global _LAST
        loop = loop or asyncio.get_running_loop()
        last = _LAST
        if last is not None and last._loop is loop:
            return last
        dog = _WATCHDOGS.get(loop)
        if dog is None:
            dog = _WATCHDOGS[loop] = cls(loop)
        _LAST = dog
        return dog

    def watch(
        self,
        task: asyncio.Task[Any],
        seconds: float | None,
        state: Any,
        step_seconds: float | None = None,
    ) -> None:
        """Cancel ``task`` in ``seconds`` (run timeout), or when ``state.step_started``
        is older than ``step_seconds``; ``state.timed_out`` then says which. Until
        :meth:`unwatch` is given the same ``state``."""
        now = _monotonic()  # the event loop's clock, without a method call
        first = deadline = now + seconds if seconds is not None else _INF
        self._runs[state] = (task, deadline, step_seconds)
        if step_seconds is not None and now + step_seconds < first:
            first = now + step_seconds
        if first < self._armed_for:
            self._arm(first)

    def unwatch(self, state: Any) -> None:
        # The timer stays armed: when it fires with nothing due it re-arms for the next
        # deadline or stops. Cancelling and re-arming per run would cost what this saves.
        self._runs.pop(state, None)

    def _arm(self, deadline: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = deadline
        self._handle = self._loop.call_at(deadline, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._armed_for = _INF
        now = self._loop.time()
        earliest = _INF
        for state, (task, deadline, step_seconds) in list(self._runs.items()):
            step_deadline = state.step_started + step_seconds if step_seconds is not None else _INF
            if deadline <= now or step_deadline <= now:
                del self._runs[state]
                state.timed_out = "run" if deadline <= now else "step"
                task.cancel("km-actions timeout")
            else:
                earliest = min(earliest, deadline, step_deadline)
        if earliest != _INF:
            self._arm(earliest)


class _Watched:
    """What the watchdog reads and writes for a called action watched on its own: the
    run's step clock, and whether this watch (not the run's) stopped it."""

    __slots__ = ("state", "timed_out")

    def __init__(self, state: Any) -> None:
        self.state = state
        self.timed_out: str | None = None

    @property
    def step_started(self) -> float:
        return float(self.state.step_started)


class Expired(Exception):
    """A watched call ran past its run timeout (``which`` is ``"run"``) or a step of it
    past its step timeout (``"step"``)."""

    def __init__(self, which: str) -> None:
        super().__init__(which)
        self.which = which


async def bounded(
    work: Coroutine[Any, Any, T], state: Any, seconds: float | None, step_seconds: float | None
) -> T:
    """Await ``work`` (part of the run of ``state``) held to its own run and step
    timeouts, stricter than the run's: it runs as a task of its own that the watchdog
    cancels when either passes (then :class:`Expired`). Cancelling the caller cancels it."""
    task = asyncio.ensure_future(work)
    watched = _Watched(state)
    dog = Watchdog.for_running_loop()
    backstop = step_seconds * 1.05 + 0.05 if step_seconds is not None else None
    dog.watch(task, seconds, watched, backstop)
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if watched.timed_out is None or (current is not None and current.cancelling()):
            raise
        raise Expired(watched.timed_out) from None
    finally:
        dog.unwatch(watched)
