"""ThreadedBridge: a connected bridge on an event loop of its own, callable from any loop.

A command-line command runs actions with ``asyncio.run``, once per run and once per store
event whose hooks run, each on a new event loop. A connection to the Keyboard Maestro MCP
server belongs to the loop that opened it, and starting that server takes seconds, so the
connection lives here, on a loop (in a thread) that outlives the command's loops: it is
opened once per command, and calls from any loop are handed to it.

>>> import asyncio
>>> from engine.simulator import Simulator
>>> bridge = ThreadedBridge(Simulator())
>>> bridge.start()
>>> answer = asyncio.run(bridge.call_tool("km_engine_control",
...                                       {"operation": "calculate", "expression": "6 * 7"}))
>>> answer["data"]["result"], bridge.label
('42', 'simulator')
>>> bridge.close()
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from engine.tools.bridge import ToolBridge
from engine.tools.catalog import ToolCatalog

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: Seconds ``close`` waits for the inner bridge to close (it stops its own child process
#: within :data:`engine.tools.bridge.upstream.CLOSE_TIMEOUT`).
CLOSE_WAIT = 15.0


class ThreadedBridge:
    """``inner`` (any :class:`ToolBridge`, started with its ``start()`` if it has one) on
    an event loop in a thread of its own; :meth:`close` closes it and ends the thread."""

    def __init__(self, inner: ToolBridge) -> None:
        self._inner = inner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def inner(self) -> ToolBridge:
        return self._inner

    @property
    def label(self) -> str:
        return self._inner.label

    @property
    def simulated(self) -> bool:
        return self._inner.simulated

    def catalog(self) -> ToolCatalog:
        return self._inner.catalog()

    def start(self) -> None:
        """Start the loop, then the inner bridge on it (waits; raises what it raises)."""
        start = getattr(self._inner, "start", None)
        self._run(start() if start is not None else asyncio.sleep(0))

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call the tool on the bridge's loop. Cancelling this cancels the call there."""
        future = asyncio.run_coroutine_threadsafe(self._call(name, arguments), self._running_loop())
        return await asyncio.wrap_future(future)

    async def _call(self, name: str, arguments: dict[str, Any]) -> Any:
        return await self._inner.call_tool(name, arguments)

    def close(self) -> None:
        """Close the inner bridge (if it has ``close``) and end the thread; idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                asyncio.run_coroutine_threadsafe(close(), loop).result(CLOSE_WAIT)
        except TimeoutError:  # the process ends anyway: the thread does not hold it
            logger.warning("the %s did not close within %g s", self.label, CLOSE_WAIT)
        finally:
            self._loop = self._thread = None
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CLOSE_WAIT)

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._running_loop()).result()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=_serve, args=(loop, ready), name="km-actions: tools", daemon=True
            )
            thread.start()
            ready.wait()
            self._loop, self._thread = loop, thread
        return self._loop


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    """The thread: run the loop until stopped, then finish what is left and close it."""
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
