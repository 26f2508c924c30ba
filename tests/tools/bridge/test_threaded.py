"""ThreadedBridge: one upstream connection for a whole command, whatever event loops its
runs use; cancelling a call cancels it on the bridge's loop; closing reaps the server."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest

from engine.diagnostics.errors import BridgeError
from engine.tools.bridge.threaded import ThreadedBridge
from engine.tools.bridge.upstream import UpstreamBridge
from tests.tools.bridge.test_upstream import TEST_UPSTREAM, children, gone

NOT_THERE = ["km-actions-no-such-command-anywhere"]


def tool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "km-actions: tools"]


def test_calls_from_many_event_loops_share_one_connection(tmp_path: Path) -> None:
    before = children()
    bridge = ThreadedBridge(UpstreamBridge(TEST_UPSTREAM))
    bridge.start()
    try:
        inner = bridge.inner
        assert isinstance(inner, UpstreamBridge)
        assert bridge.label == f"Keyboard Maestro MCP server at {inner.where}"
        assert bridge.simulated is False
        assert "km_test_pid" in bridge.catalog()

        async def pid() -> int:
            answer = await bridge.call_tool("km_test_pid", {})
            return int(answer["data"]["pid"])

        first, second = asyncio.run(pid()), asyncio.run(pid())  # two loops, one after another
        assert first == second
        assert children() - before == {first}

        marker = tmp_path / "sleeping"

        async def cancelled() -> None:
            call = asyncio.create_task(
                bridge.call_tool("km_test_sleep", {"seconds": 60, "marker": str(marker)})
            )
            async with asyncio.timeout(30):
                while not marker.exists():
                    await asyncio.sleep(0.01)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call

        asyncio.run(cancelled())
        assert asyncio.run(pid()) == first  # the connection outlived the cancelled call
    finally:
        bridge.close()
    assert gone(first)
    assert tool_threads() == []
    bridge.close()  # a second close does nothing


def test_a_server_that_cannot_start_raises_and_leaves_nothing() -> None:
    before = children()
    bridge = ThreadedBridge(UpstreamBridge(NOT_THERE))
    with pytest.raises(BridgeError) as caught:
        bridge.start()
    assert caught.value.message == (
        "cannot start the Keyboard Maestro MCP server: no command "
        "'km-actions-no-such-command-anywhere' was found"
    )
    bridge.close()
    assert children() - before == set()
    assert tool_threads() == []


def test_closing_a_bridge_never_started_does_nothing() -> None:
    bridge = ThreadedBridge(UpstreamBridge([sys.executable, "-m", "engine.simulator"]))
    bridge.close()
    assert tool_threads() == []
