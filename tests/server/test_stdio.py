"""stdout of ``km-actions serve`` on stdio, written on the event loop (StdoutWire): fd 1
points at stderr while it serves and is given back after, a slow client holds writes
back instead of losing them, and a client that went away ends the writing cleanly."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

from engine.server._stdio import StdoutWire


@contextmanager
def stdout_pipe() -> Iterator[tuple[int, int]]:
    """fd 1 replaced by the write end of a fresh pipe; (read end, write end). Inside the
    test itself: pytest points fd 1 at its capture file again before each test phase."""
    saved = os.dup(1)
    read, write = os.pipe()
    os.dup2(write, 1)
    try:
        yield read, write
    finally:
        os.dup2(saved, 1)
        for fd in (saved, read, write):
            os.close(fd)


def _same_file(a: int, b: int) -> bool:
    first, second = os.fstat(a), os.fstat(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def test_answers_reach_the_pipe_and_fd_1_is_given_back() -> None:
    async def serve() -> None:
        wire = await StdoutWire.open()
        assert wire is not None
        assert _same_file(1, 2)  # stray prints go to stderr, not into the protocol
        await wire.write('{"jsonrpc": "2.0"}\n')
        await wire.flush()
        wire.close()

    with stdout_pipe() as (read, write):
        asyncio.run(serve())
        assert os.read(read, 100) == b'{"jsonrpc": "2.0"}\n'
        assert _same_file(1, write)
        assert os.get_blocking(1)


def test_a_terminal_or_file_is_left_to_the_sdk(tmp_path: Path) -> None:
    saved = os.dup(1)
    with open(tmp_path / "out", "wb") as file:
        os.dup2(file.fileno(), 1)
        try:
            assert asyncio.run(StdoutWire.open()) is None
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def test_a_slow_client_holds_writes_back_and_loses_nothing() -> None:
    line = "x" * 1023 + "\n"
    received = bytearray()
    draining = threading.Event()

    def client(read: int) -> None:
        draining.wait()
        while len(received) < 512 * 1024:
            received.extend(os.read(read, 65536))

    async def serve() -> bool:
        wire = await StdoutWire.open()
        assert wire is not None
        for _ in range(512):
            await wire.write(line)
        flushed = asyncio.ensure_future(wire.flush())
        await asyncio.sleep(0.05)
        held_back = not flushed.done()  # the pipe is full: flush waits for the client
        draining.set()
        await flushed
        wire.close()
        return held_back

    with stdout_pipe() as (read, _):
        reader = threading.Thread(target=client, args=(read,))
        reader.start()
        assert asyncio.run(serve())
        reader.join()
    assert bytes(received) == line.encode() * 512


def test_a_client_that_went_away_ends_the_writing() -> None:
    async def serve() -> None:
        wire = await StdoutWire.open()
        assert wire is not None
        with pytest.raises(anyio.ClosedResourceError):
            for _ in range(100):
                await wire.write("answer\n")
                await wire.flush()
                await asyncio.sleep(0.001)
        wire.close()

    with stdout_pipe() as (read, _):
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, read)  # the client's end of the pipe: gone
        os.close(null)
        asyncio.run(serve())
