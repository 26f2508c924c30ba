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
from typing import Any

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


# -- lines that are not JSON-RPC messages --------------------------------------------------

DEEP = '{"a":' * 300 + "1" + "}" * 300
PARSE = -32700
INVALID = -32600

#: A line the SDK's reader cannot read, and the code and id of the answer it gets.
REFUSED = [
    ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{', PARSE, None),  # cut short
    ("not json at all", PARSE, None),
    (
        '{"jsonrpc":"2.0","id":"deep","method":"ping","params":{"_meta":' + DEEP + "}}",
        PARSE,
        "deep",
    ),
    ('{"jsonrpc":"2.0","id":4,"method":"ping","params":{"_meta":{"x":"\\ud800"}}}', PARSE, 4),
    ('{"jsonrpc":"1.0","id":5,"method":"tools/list"}', INVALID, 5),
    ('["a", "batch"]', INVALID, None),
]


def test_a_line_that_is_not_a_json_rpc_message_is_answered_and_the_next_one_served(
    tmp_path: Path,
) -> None:
    """The SDK's reader drops such a line (the client would wait for ever): the server
    answers it as JSON-RPC 2.0 says (the request's id when the line has one, else null)
    and serves the next request as usual. One server for all the lines: each is followed
    by a ping that must be answered."""
    import json
    import subprocess

    from tests.server.conftest import KM_ACTIONS, PATIENCE

    hello = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    lines = [
        json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ]
    for index, (line, _, _) in enumerate(REFUSED):
        lines += [line, json.dumps({"jsonrpc": "2.0", "id": 100 + index, "method": "ping"})]
    expected = 1 + 2 * len(REFUSED)
    answers: list[Any] = []
    with subprocess.Popen(
        [*KM_ACTIONS, "serve"],
        env={**os.environ, "KM_ACTIONS_HOME": str(tmp_path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        stdout = process.stdout
        reader = threading.Thread(
            target=lambda: answers.extend(json.loads(stdout.readline()) for _ in range(expected))
        )
        try:
            reader.start()
            process.stdin.write("".join(f"{text}\n" for text in lines))
            process.stdin.flush()
            reader.join(PATIENCE)  # an unanswered line would leave it waiting
            process.stdin.close()
            assert process.wait(timeout=PATIENCE) == 0
        finally:
            process.kill()
            reader.join()
    assert len(answers) == expected, answers
    pings = {answer["id"]: answer for answer in answers if answer.get("result") == {}}
    refusals = [answer for answer in answers if "error" in answer]
    assert answers[0]["id"] == 0 and "serverInfo" in answers[0]["result"]
    assert sorted(pings) == list(range(100, 100 + len(REFUSED)))
    assert [(r["error"]["code"], r["id"]) for r in refusals] == [(c, i) for _, c, i in REFUSED]
    for refusal in refusals:
        start = (
            "Parse error: the line is not JSON ("
            if refusal["error"]["code"] == PARSE
            else (
                'Invalid Request: not a JSON-RPC 2.0 message (it needs "jsonrpc": "2.0" and a '
                '"method", or a "result" or "error" answering an "id")'
            )
        )
        assert refusal["error"]["message"].startswith(start)
