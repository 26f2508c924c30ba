"""stdin and stdout for ``km-actions serve`` on stdio.

The SDK's stdio transport reads stdin on anyio worker threads: a read blocks until the
client sends a line or closes stdin, cancelling the server waits for that read to end,
and so does the interpreter's exit. :class:`StdinLines` reads on a daemon thread instead
and hands each line to the event loop, so Ctrl-C or SIGTERM stop the server at once,
cleanly. As the SDK does, it points fd 0 at the null device meanwhile, so nothing else in
the process reads the client's messages.

The SDK also writes every answer through a worker thread, twice (write, then flush): two
thread hops per message, a good part of what the server adds to a call. When stdout is a
pipe or a socket (as it is under an MCP client), :class:`StdoutWire` writes on the event
loop instead, with the transport's flow control; fd 1 points at stderr meanwhile, so
stray output cannot corrupt the wire.

The SDK's reader drops a line that is not a JSON-RPC message (not JSON, JSON nested past
its parser's depth, a lone surrogate, ``"jsonrpc": "1.0"``…) with a debug log: the
client never hears back and waits for ever. :class:`Answered` gives such a line the
answer JSON-RPC 2.0 prescribes (``-32700`` parse error or ``-32600`` invalid request,
with the request's id when the line has one) and goes on reading.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import json
import os
import stat
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio

_BACKLOG = 16


class StdinLines:
    """The lines of the process's stdin, as ``async for line in StdinLines()`` (the form
    ``mcp.server.stdio.stdio_server(stdin=…)`` reads); ``""`` never appears: the
    iteration ends at end of input. Create it on the event loop; :meth:`close` gives fd 0
    back."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str] = asyncio.Queue(_BACKLOG)
        # The lines handed to the SDK's reader and not yet received from it: it makes one
        # item of each line, in order (see Answered).
        self.handed: collections.deque[str] = collections.deque()
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
            self.handed.append(line)
            yield line

    def close(self) -> None:
        """Point fd 0 at the client's stream again. The descriptor the thread reads stays
        open: closing it under a blocked read could hand its number to another file."""
        os.dup2(self._wire, 0)


class StdoutWire:
    """The process's stdout as the async file ``stdio_server(stdout=…)`` writes to,
    written on the event loop. :meth:`open` returns None when stdout is not a pipe or a
    socket (a terminal, a file): the SDK's own writer serves those. :meth:`close` gives
    fd 1 back."""

    def __init__(self, transport: asyncio.WriteTransport, flow: _Flow, wire: int) -> None:
        self._transport = transport
        self._flow = flow
        self._wire = wire

    @classmethod
    async def open(cls) -> StdoutWire | None:
        if sys.platform == "win32":  # no pipe transports on Windows' default event loop
            return None
        import fcntl

        try:
            mode = os.fstat(1).st_mode
        except OSError:
            return None
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            return None
        wire = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
        loop = asyncio.get_running_loop()
        # The transport owns (and closes) its own duplicate; ``wire`` restores fd 1.
        pipe = os.fdopen(fcntl.fcntl(wire, fcntl.F_DUPFD_CLOEXEC, 3), "wb", buffering=0)
        try:
            transport, flow = await loop.connect_write_pipe(_Flow, pipe)
        except BaseException:
            pipe.close()
            os.close(wire)
            raise
        os.dup2(2, 1)
        return cls(transport, flow, wire)

    async def write(self, text: str) -> None:
        if self._flow.lost is not None:
            raise anyio.ClosedResourceError from self._flow.lost
        self._transport.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._flow.drain()

    def close(self) -> None:
        """Point fd 1 at the client's stream again, blocking as it was."""
        self._transport.close()
        os.dup2(self._wire, 1)
        os.close(self._wire)
        os.set_blocking(1, True)


class _Flow(asyncio.Protocol):
    """Flow control for :class:`StdoutWire`: ``drain`` waits while the client is slow to
    read, and fails once the client has gone."""

    def __init__(self) -> None:
        self.lost: BaseException | None = None
        self._resumed: asyncio.Future[None] | None = None

    def pause_writing(self) -> None:
        if self._resumed is None:
            self._resumed = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or BrokenPipeError("the client closed its end of stdout")
        self._wake()

    def _wake(self) -> None:
        waiter, self._resumed = self._resumed, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def drain(self) -> None:
        if self._resumed is not None:
            await asyncio.shield(self._resumed)
        if self.lost is not None:
            raise anyio.ClosedResourceError from self.lost


class Answered:
    """The read stream of the SDK's stdio transport, as the server reads it, with every
    line the SDK could not read answered (see the module docstring). The SDK's reader
    makes exactly one item of each line :class:`StdinLines` hands it (a message, or the
    exception that refused the line), in order, so the line of each item is the oldest
    one ``lines.handed`` holds."""

    def __init__(self, stream: Any, lines: StdinLines, answers: Any) -> None:
        self._stream = stream
        self._lines = lines.handed
        self._answers = answers

    @property
    def last_context(self) -> Any:  # the SDK's dispatcher reads the sender's context here
        return getattr(self._stream, "last_context", None)

    async def __aenter__(self) -> Answered:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._stream.__aexit__(*exc_info)

    def __aiter__(self) -> Answered:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def receive(self) -> Any:
        """The next message (a refused line is answered, and the next one read)."""
        while True:
            item = await self._stream.receive()
            line = self._lines.popleft() if self._lines else ""
            if not isinstance(item, Exception):
                return item
            await self._answers.send(refusal(line, item))

    async def aclose(self) -> None:
        await self._stream.aclose()


def refusal(line: str, problem: Exception) -> Any:
    """The JSON-RPC error answering ``line``, which the SDK refused with ``problem``."""
    from mcp.shared.message import SessionMessage
    from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError

    errors = getattr(problem, "errors", None)
    first = errors(include_url=False, include_input=False)[0] if callable(errors) else {}
    if first.get("type") == "json_invalid":
        code, message = PARSE_ERROR, f"Parse error: the line is not JSON ({first['msg']})"
    else:
        code = INVALID_REQUEST
        message = (
            'Invalid Request: not a JSON-RPC 2.0 message (it needs "jsonrpc": "2.0" and a '
            '"method", or a "result" or "error" answering an "id")'
        )
    error = JSONRPCError(
        jsonrpc="2.0", id=_request_id(line), error=ErrorData(code=code, message=message)
    )
    return SessionMessage(error)


def _request_id(line: str) -> str | int | None:
    """The id of the request ``line`` holds, when it can be read (JSON-RPC answers null
    otherwise)."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None
    request_id = data.get("id") if isinstance(data, dict) else None
    if type(request_id) is int:
        return request_id
    if type(request_id) is str and request_id.isprintable():
        try:
            request_id.encode("utf-8")  # a lone surrogate cannot be written back
        except UnicodeEncodeError:
            return None
        return request_id
    return None
