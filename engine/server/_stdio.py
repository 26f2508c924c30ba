"""stdin for ``km-actions serve`` on stdio, read on a daemon thread, so a stop signal stops it.

The SDK's stdio transport reads stdin on anyio worker threads: a read blocks until the
client sends a line or closes stdin, cancelling the server waits for that read to end,
and so does the interpreter's exit. :class:`StdinLines` reads on a daemon thread instead
and hands each line to the event loop, so Ctrl-C or SIGTERM stop the server at once,
cleanly. As the SDK does, it points fd 0 at the null device meanwhile, so nothing else in
the process reads the client's messages.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import AsyncIterator

_BACKLOG = 16


class StdinLines:
    """The lines of the process's stdin, as ``async for line in StdinLines()`` (the form
    ``mcp.server.stdio.stdio_server(stdin=…)`` reads); ``""`` never appears: the
    iteration ends at end of input. Create it on the event loop; :meth:`close` gives fd 0
    back."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str] = asyncio.Queue(_BACKLOG)
        self._wire = os.dup(0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        threading.Thread(target=self._pump, name="km-actions stdin", daemon=True).start()

    def _pump(self) -> None:
        # closefd=False: the descriptor outlives this thread's reads (see close()).
        with open(self._wire, encoding="utf-8", errors="replace", closefd=False) as wire:
            for line in wire:
                if not self._hand_over(line):
                    return
        self._hand_over("")

    def _hand_over(self, line: str) -> bool:
        """Queue ``line`` for the loop (waiting while the backlog is full); False once the
        loop has gone."""
        try:
            asyncio.run_coroutine_threadsafe(self._lines.put(line), self._loop).result()
        except (RuntimeError, concurrent.futures.CancelledError):
            return False
        return True

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        while line := await self._lines.get():
            yield line

    def close(self) -> None:
        """Point fd 0 at the client's stream again. The descriptor the thread reads stays
        open: closing it under a blocked read could hand its number to another file."""
        os.dup2(self._wire, 0)
