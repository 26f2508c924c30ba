"""UpstreamBridge against real MCP server processes: the simulator, and a misbehaving test server.

Every test starts its own server process(es) and checks, when it is done, that the
bridge left no child process behind (not even a zombie).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import mcp.types as types
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.diagnostics.errors import BridgeError, ConfigError, ErrorKind, StepError
from engine.tools.bridge import ToolBridge
from engine.tools.bridge.upstream import (
    SIMULATOR_SERVER_NAME,
    UPSTREAM_TOOL_ERROR,
    UpstreamBridge,
    answer_from_mcp,
)
from engine.tools.catalog import ToolCatalog

SIMULATOR = [sys.executable, "-m", "engine.simulator"]
TEST_UPSTREAM = [sys.executable, str(Path(__file__).with_name("upstream_server.py"))]
TEST_TOOLS = {"km_test_sleep", "km_test_pid", "km_test_text", "km_test_fail"}


@pytest.fixture(autouse=True)
def no_asyncio_complaints(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test after which asyncio complained (a task left pending, an error unseen)."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    yield
    gc.collect()
    complaints = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert complaints == []


def children() -> set[int]:
    """The live (or zombie) child processes of this test process."""
    me = os.getpid()
    found: set[int] = set()
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.add(int(entry.name))
    else:
        listing = subprocess.run(
            ["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, check=True
        ).stdout
        for line in listing.splitlines():
            pid, ppid = (int(word) for word in line.split())
            if ppid == me:
                found.add(pid)
    return {pid for pid in found if not gone(pid)}


def gone(pid: int) -> bool:
    """True when no process (not even a zombie) has this id."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run an async scenario, then check that it left no child process behind."""
    before = children()
    asyncio.run(scenario())
    assert children() - before == set()


async def pid_of(bridge: UpstreamBridge) -> int:
    answer = await bridge.call_tool("km_test_pid", {})
    return int(answer["data"]["pid"])


async def sleeping(bridge: UpstreamBridge, marker: Path, seconds: float = 60) -> asyncio.Task[Any]:
    """A km_test_sleep call in flight: returns once the server has started sleeping."""
    call = asyncio.create_task(
        bridge.call_tool("km_test_sleep", {"seconds": seconds, "marker": str(marker)})
    )
    async with asyncio.timeout(30):
        while not marker.exists():
            await asyncio.sleep(0.01)
    return call


# -- against the simulator ---------------------------------------------------------------


def test_the_simulator_as_upstream_lists_its_catalog_and_answers_calls() -> None:
    async def scenario() -> None:
        async with UpstreamBridge(SIMULATOR) as bridge:
            assert isinstance(bridge, ToolBridge)
            assert bridge.simulated is True
            assert bridge.server_name == SIMULATOR_SERVER_NAME
            assert bridge.label == f"km-actions simulator over MCP at {shlex.join(SIMULATOR)}"
            catalog, shipped = bridge.catalog(), ToolCatalog.builtin()
            assert catalog.origin == bridge.label
            assert sorted(catalog) == sorted(shipped)
            for name, spec in shipped.items():
                assert catalog[name].input_schema == spec.input_schema, name
                assert catalog[name].tool_class is spec.tool_class, name
                assert catalog[name].source == bridge.label

            answer = await bridge.call_tool(
                "km_engine_control", {"operation": "calculate", "expression": "6*7"}
            )
            assert answer["success"] is True
            assert answer["data"]["result"] == "42"

            missing = await bridge.call_tool(
                "km_variable_manager", {"operation": "delete", "name": "Nope"}
            )
            assert missing["success"] is False
            assert missing["error"]["code"] == "KM_VARIABLE_FAILED"

            invalid = await bridge.call_tool("km_engine_control", {"operatoin": "status"})
            assert invalid["success"] is False
            assert invalid["error"]["code"] == UPSTREAM_TOOL_ERROR
            assert invalid["error"]["message"].startswith(
                "2 validation errors for call[km_engine_control]\noperation\n"
            )

            with pytest.raises(StepError) as caught:
                await bridge.call_tool("km_engine_contrl", {"operation": "status"})
            error = caught.value
            assert error.kind is ErrorKind.TOOL_UNAVAILABLE
            assert error.message == f"the {bridge.label} has no tool 'km_engine_contrl'"
            assert error.hint == "did you mean 'km_engine_control'?"
            assert error.details["tool"] == "km_engine_contrl"

    run(scenario)


def test_fifty_concurrent_calls_each_get_their_own_answer() -> None:
    async def scenario() -> None:
        async with UpstreamBridge(SIMULATOR) as bridge:
            sets = [
                bridge.call_tool(
                    "km_variable_manager", {"operation": "set", "name": f"V{i}", "value": str(i)}
                )
                for i in range(50)
            ]
            assert all(a["success"] for a in await asyncio.gather(*sets))
            gets = [
                bridge.call_tool("km_variable_manager", {"operation": "get", "name": f"V{i}"})
                for i in range(50)
            ]
            values = [a["data"]["value"] for a in await asyncio.gather(*gets)]
            assert values == [str(i) for i in range(50)]

    run(scenario)


def test_every_connection_hands_its_tool_list_on_and_a_failing_receiver_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[tuple[int, list[str]]] = []

    def listed(bridge: UpstreamBridge) -> None:
        heard.append((len(heard), [t["name"] for t in bridge.tool_list]))
        raise RuntimeError("no room to keep it")

    async def scenario() -> None:
        bridge = UpstreamBridge(TEST_UPSTREAM, on_listed=listed)
        assert bridge.tool_list == []
        async with bridge:
            first = await pid_of(bridge)
            os.kill(first, signal.SIGKILL)
            async with asyncio.timeout(30):
                while bridge.connected:
                    await asyncio.sleep(0.01)
            assert await pid_of(bridge) != first  # reconnected, and listed again
            assert bridge.tool_list[0]["inputSchema"]["type"] == "object"

    with caplog.at_level(logging.WARNING, logger="engine.tools.bridge.upstream"):
        run(scenario)
    assert [count for count, _ in heard] == [0, 1]
    assert all(set(names) >= TEST_TOOLS for _, names in heard)
    label = f"Keyboard Maestro MCP server at {shlex.join(TEST_UPSTREAM)}"
    mine = [r.getMessage() for r in caplog.records if r.name == "engine.tools.bridge.upstream"]
    assert (
        mine.count(f"after listing the tools of the {label}: RuntimeError: no room to keep it") == 2
    )


def test_a_call_before_start_connects_lazily_and_close_reaps_the_child() -> None:
    async def scenario() -> None:
        before = children()
        bridge = UpstreamBridge(SIMULATOR)
        with pytest.raises(BridgeError) as caught:
            bridge.catalog()
        assert caught.value.hint == (
            "await bridge.start() first, or use the bridge as an async context manager"
        )
        try:
            answer = await bridge.call_tool(
                "km_engine_control", {"operation": "calculate", "expression": "1+1"}
            )
            assert answer["data"]["result"] == "2"
            assert "km_engine_control" in bridge.catalog()
            assert bridge.connected is True
            started = children() - before
            assert len(started) == 1
        finally:
            await bridge.close()
        assert bridge.connected is False
        assert all(gone(pid) for pid in started)

    run(scenario)


# -- against the misbehaving test server -------------------------------------------------


RECOVERY = (
    "The Keyboard Maestro MCP server reported this error; check the arguments, "
    "and that Keyboard Maestro is running."
)
# (tool, arguments, the answer the bridge gives): results without structured content
UNSTRUCTURED: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("km_test_text", {"text": "plain words"}, {"success": True, "data": {"text": "plain words"}}),
    (
        "km_test_text",
        {"text": '{"success": false, "error": {"code": "KM_CONNECTION_FAILED"}}'},
        {"success": False, "error": {"code": "KM_CONNECTION_FAILED"}},
    ),
    (
        "km_test_fail",
        {"text": "macro not found"},
        {
            "success": False,
            "error": {
                "code": UPSTREAM_TOOL_ERROR,
                "message": "macro not found",
                "recovery_suggestion": RECOVERY,
            },
        },
    ),
]


def test_another_server_answers_in_text_and_a_slow_call_holds_up_no_other(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with UpstreamBridge(TEST_UPSTREAM) as bridge:
            assert bridge.simulated is False
            assert bridge.server_name == "km-actions-test-upstream"
            assert bridge.label == f"Keyboard Maestro MCP server at {shlex.join(TEST_UPSTREAM)}"
            assert set(bridge.catalog()) >= TEST_TOOLS
            for tool, arguments, expected in UNSTRUCTURED:
                assert await bridge.call_tool(tool, arguments) == expected

            slow = await sleeping(bridge, tmp_path / "slept")
            quick = [
                bridge.call_tool(
                    "km_engine_control", {"operation": "calculate", "expression": f"{i}+1"}
                )
                for i in range(50)
            ]
            results = [a["data"]["result"] for a in await asyncio.gather(*quick)]
            assert results == [str(i + 1) for i in range(50)]
            assert not slow.done()
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            assert (await bridge.call_tool("km_test_text", {"text": "still here"}))["data"] == {
                "text": "still here"
            }

    run(scenario)


def test_a_call_past_its_timeout_fails_and_closing_cuts_calls_short(tmp_path: Path) -> None:
    async def scenario() -> None:
        bridge = UpstreamBridge(TEST_UPSTREAM, call_timeout=0.5)
        await bridge.start()
        pid = await pid_of(bridge)
        with pytest.raises(StepError) as caught:
            await bridge.call_tool("km_test_sleep", {"seconds": 60})
        error = caught.value
        assert error.kind is ErrorKind.TIMEOUT
        assert error.message == (
            f"km_test_sleep did not answer within 0.5 s (the {bridge.label} is slow or stuck)"
        )
        assert error.hint == (
            "check that Keyboard Maestro is running and responsive, or allow more time with "
            "`timeout` under [upstream] in the configuration file"
        )
        assert await pid_of(bridge) == pid  # the connection stays

        call = asyncio.create_task(bridge.call_tool("km_test_sleep", {"seconds": 0.4}))
        await asyncio.sleep(0)
        await bridge.close()
        with pytest.raises(StepError) as cut:
            await call
        assert cut.value.kind is ErrorKind.TOOL_UNAVAILABLE
        assert cut.value.message == (
            f"km_test_sleep was cut short: the bridge to the {bridge.label} was closed"
        )
        with pytest.raises(StepError) as after:
            await bridge.call_tool("km_engine_control", {"operation": "status"})
        assert after.value.message == (
            f"km_engine_control cannot be called: the bridge to the {bridge.label} is closed"
        )
        assert gone(pid)

    run(scenario)


def test_an_upstream_killed_mid_call_or_while_idle_is_replaced_by_the_next_call(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with UpstreamBridge(TEST_UPSTREAM) as bridge:
            first = await pid_of(bridge)
            call = await sleeping(bridge, tmp_path / "slept")
            os.kill(first, signal.SIGKILL)
            with pytest.raises(StepError) as caught:
                await call
            error = caught.value
            assert error.kind is ErrorKind.TOOL_UNAVAILABLE
            assert error.message == (
                "the Keyboard Maestro MCP server stopped responding while km_test_sleep was "
                f"running ({shlex.join(TEST_UPSTREAM)}); the call may or may not have taken effect"
            )
            assert error.hint == (
                "the next call reconnects; if this repeats, check the server's log and that "
                "Keyboard Maestro is running"
            )
            second = await pid_of(bridge)
            assert second != first
            assert gone(first)

            os.kill(second, signal.SIGKILL)  # now while nothing is in flight
            async with asyncio.timeout(30):
                while bridge.connected:
                    await asyncio.sleep(0.01)
            third = await pid_of(bridge)
            assert third not in (first, second)
            assert gone(second)

    run(scenario)


# -- commands that are not MCP servers ---------------------------------------------------

NOT_THERE = ["km-actions-no-such-command-anywhere"]
EXITS = [sys.executable, "-c", "import sys; sys.exit('Keyboard Maestro is not installed')"]
SILENT = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.mark.parametrize(
    ("command", "message", "hint"),
    [
        pytest.param(
            NOT_THERE,
            "cannot start the Keyboard Maestro MCP server: no command "
            "'km-actions-no-such-command-anywhere' was found",
            "check the upstream command; give its full path if it is not on PATH",
            id="no-such-command",
        ),
        pytest.param(
            EXITS,
            "the Keyboard Maestro MCP server at {where} closed the connection "
            "before it finished the MCP handshake; it said on stderr: "
            "Keyboard Maestro is not installed",
            "run the command yourself to see why it does not answer; it must be an MCP "
            "server speaking stdio",
            id="exits-at-once",
        ),
        pytest.param(
            SILENT,
            "the Keyboard Maestro MCP server at {where} did not finish connecting within 1 s",
            "run the command yourself to see why it does not answer; it must be an MCP "
            "server speaking stdio; a server that is only slow to start gets more time with "
            "`connect_timeout` under [upstream] in the configuration file",
            id="never-answers",
        ),
    ],
)
def test_a_command_that_is_not_a_working_server_gets_a_clear_error(
    command: list[str], message: str, hint: str
) -> None:
    async def scenario() -> None:
        bridge = UpstreamBridge(command, connect_timeout=1)
        try:
            with pytest.raises(BridgeError) as started:
                await bridge.start()
            assert started.value.message == message.format(where=shlex.join(command))
            assert started.value.hint == hint
            with pytest.raises(StepError) as called:
                await bridge.call_tool("km_engine_control", {"operation": "status"})
            assert called.value.kind is ErrorKind.TOOL_UNAVAILABLE
            assert called.value.message == "km_engine_control cannot be called: " + (
                started.value.message
            )
        finally:
            await bridge.close()

    run(scenario)


def test_closing_while_connecting_fails_the_waiting_calls_without_cancelling_them() -> None:
    listens = [sys.executable, "-c", "import sys; sys.stdin.read()"]  # never answers

    async def scenario() -> None:
        before = children()
        bridge = UpstreamBridge(listens, connect_timeout=60)
        waiting = [
            asyncio.create_task(bridge.call_tool("km_engine_control", {"operation": "status"}))
            for _ in range(3)
        ]
        async with asyncio.timeout(30):
            while not children() - before:  # the server process is up, and silent
                await asyncio.sleep(0.01)
        await bridge.close()
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(o, StepError) for o in outcomes), outcomes
        assert {str(o) for o in outcomes} == {
            f"km_engine_control cannot be called: the bridge to the {bridge.label} was closed "
            "while it was connecting"
        }

    run(scenario)


# -- configuration and result conversion (no processes) ----------------------------------


@pytest.mark.parametrize(
    ("arguments", "options", "message"),
    [
        pytest.param(
            (),
            {},
            "give the Keyboard Maestro MCP server as either a command or a URL (exactly one)",
            id="neither",
        ),
        pytest.param(
            (["km-mcp"],),
            {"url": "http://127.0.0.1:1/mcp"},
            "give the Keyboard Maestro MCP server as either a command or a URL (exactly one)",
            id="both",
        ),
        pytest.param(
            ("km-mcp --stdio",),
            {},
            "the upstream command must be a non-empty list of strings, not 'km-mcp --stdio'",
            id="command-as-one-string",
        ),
        pytest.param(
            ([],),
            {},
            "the upstream command must be a non-empty list of strings, not []",
            id="empty-command",
        ),
        pytest.param(
            (),
            {"url": "127.0.0.1:8000/mcp"},
            "the upstream URL must start with http:// or https://, not '127.0.0.1:8000/mcp'",
            id="url-without-scheme",
        ),
        pytest.param(
            (),
            {"url": "http://127.0.0.1:1/mcp", "env": {"A": "1"}},
            "env and cwd apply to a command, not to a URL",
            id="env-with-url",
        ),
        pytest.param(
            (["km-mcp"],),
            {"call_timeout": 0},
            "call_timeout must be a positive number of seconds, not 0",
            id="zero-timeout",
        ),
        pytest.param(
            (["km-mcp"],),
            {"connect_timeout": float("inf")},
            "connect_timeout must be a positive number of seconds, not inf",
            id="infinite-timeout",
        ),
    ],
)
def test_bad_configuration_is_refused_with_a_hint(
    arguments: tuple[Any, ...], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        UpstreamBridge(*arguments, **options)
    assert caught.value.message == message
    assert caught.value.hint


@pytest.mark.parametrize(
    ("arguments", "options", "label"),
    [
        pytest.param(
            (["uvx", "keyboard-maestro-mcp", "--log level"],),
            {},
            "Keyboard Maestro MCP server at uvx keyboard-maestro-mcp '--log level'",
            id="command",
        ),
        pytest.param(
            (),
            {"url": "https://me:s3cret@km.example:8443/mcp?x=1"},
            "Keyboard Maestro MCP server at https://km.example:8443/mcp?x=1",
            id="url-without-its-password",
        ),
    ],
)
def test_the_label_names_the_upstream(
    arguments: tuple[Any, ...], options: dict[str, Any], label: str
) -> None:
    bridge = UpstreamBridge(*arguments, **options)
    assert bridge.label == label
    assert bridge.simulated is False
    assert bridge.connected is False


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param(
            types.CallToolResult(content=[_text("ignored")], structured_content={"success": True}),
            {"success": True},
            id="structured-content-wins",
        ),
        pytest.param(
            types.CallToolResult(content=[_text("[1, 2]")]),
            [1, 2],
            id="json-array-text",
        ),
        pytest.param(
            types.CallToolResult(content=[_text("42")]),
            {"success": True, "data": {"text": "42"}},
            id="json-scalar-stays-text",
        ),
        pytest.param(
            types.CallToolResult(content=[_text('{"x": NaN}')]),
            {"success": True, "data": {"text": '{"x": NaN}'}},
            id="nan-is-not-json",
        ),
        pytest.param(
            types.CallToolResult(content=[_text("a"), _text("b")]),
            {"success": True, "data": {"text": "a\nb"}},
            id="text-blocks-joined",
        ),
        pytest.param(
            types.CallToolResult(
                content=[types.ImageContent(type="image", data="AAAA", mime_type="image/png")]
            ),
            {
                "success": True,
                "data": {
                    "text": "",
                    "content": [{"type": "image", "data": "AAAA", "mimeType": "image/png"}],
                },
            },
            id="other-content-kept",
        ),
        pytest.param(
            types.CallToolResult(content=[], is_error=True),
            {
                "success": False,
                "error": {
                    "code": UPSTREAM_TOOL_ERROR,
                    "message": "the tool reported an error without a message",
                    "recovery_suggestion": RECOVERY,
                },
            },
            id="error-without-text",
        ),
    ],
)
def test_results_convert_to_answers(result: types.CallToolResult, expected: Any) -> None:
    assert answer_from_mcp(result) == expected


@given(st.text())
def test_any_text_answer_converts_without_raising(text: str) -> None:
    answer = answer_from_mcp(types.CallToolResult(content=[_text(text)]))
    if isinstance(answer, dict) and answer.get("data") == {"text": text}:
        assert answer["success"] is True
    else:
        assert isinstance(answer, dict | list)
        assert text.strip()[0] in "[{"
