"""Run timeouts without a timer per run.

``asyncio.timeout()`` costs about 9 µs per use on a small machine, more than a whole
10-step action should. One watchdog per event loop keeps a single timer armed for the
earliest deadline; a run registers its task (a dict insert) and the watchdog cancels the
task if the deadline passes, marking the run as timed out.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from typing import Any

_WATCHDOGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Watchdog] = (
    weakref.WeakKeyDictionary()
)


class Watchdog:
    """Cancels registered tasks whose deadline has passed."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._runs: dict[int, tuple[asyncio.Task[Any], float, Any]] = {}
        self._tokens = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for = float("inf")

    @classmethod
    def for_running_loop(cls) -> Watchdog:
        loop = asyncio.get_running_loop()
        dog = _WATCHDOGS.get(loop)
        if dog is None:
            dog = _WATCHDOGS[loop] = cls(loop)
        return dog

    def watch(self, task: asyncio.Task[Any], seconds: float, state: Any) -> int:
        """Cancel ``task`` in ``seconds``, setting ``state.timed_out``."""
        deadline = self._loop.time() + seconds
        token = next(self._tokens)
        self._runs[token] = (task, deadline, state)
        if deadline < self._armed_for:
            self._arm(deadline)
        return token

    def unwatch(self, token: int) -> None:
        # The timer stays armed: when it fires with nothing due it re-arms for the next
        # deadline or stops. Cancelling and re-arming per run would cost what this saves.
        self._runs.pop(token, None)

    def _arm(self, deadline: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_for = deadline
        self._handle = self._loop.call_at(deadline, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._armed_for = float("inf")
        now = self._loop.time()
        earliest = float("inf")
        for token, (task, deadline, state) in list(self._runs.items()):
            if deadline <= now:
                del self._runs[token]
                state.timed_out = True
                task.cancel("km-actions run timeout")
            else:
                earliest = min(earliest, deadline)
        if earliest != float("inf"):
            self._arm(earliest)
