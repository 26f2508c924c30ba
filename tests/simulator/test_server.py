"""The simulator served over MCP: in-process, over stdio and over loopback HTTP, and its CLI."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from engine.cli import main
from engine.diagnostics.errors import ErrorKind, StepError
from engine.simulator import Simulator
from engine.simulator.server import SIMULATOR_SERVER_NAME, answer_call, create_server
from engine.tools.bridge.results import ToolResult
from engine.tools.bridge.upstream import UpstreamBridge
from engine.tools.catalog import ToolCatalog
from tests.simulator.km_server_answers import load_json

SIMULATOR = [sys.executable, "-m", "engine.simulator"]


@pytest.fixture(autouse=True)
def no_asyncio_complaints(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test after which asyncio complained (a task left pending, an error unseen)."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    yield
    gc.collect()
    complaints = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert complaints == []


# -- what the server answers (in-process) ------------------------------------------------


async def check_answers(client: Client) -> None:
    """The checks every transport must pass: listing, calls, failures, unknown tools."""
    assert client.server_info is not None
    assert client.server_info.name == SIMULATOR_SERVER_NAME

    listing = await client.list_tools()
    shipped = ToolCatalog.builtin()
    assert [tool.name for tool in listing.tools] == list(shipped)
    recorded = {tool["name"]: tool for tool in load_json("tools.json")["tools"]}
    for tool in listing.tools:
        listed = tool.model_dump(by_alias=True, exclude_none=True, mode="json")
        assert listed["inputSchema"] == shipped[tool.name].input_schema, tool.name
        if tool.name in recorded:  # the real server's own listing
            assert listed == recorded[tool.name], tool.name

    answer = await client.call_tool("km_variable_manager", {"operation": "get", "name": "Greeting"})
    assert answer.is_error is False
    assert answer.structured_content == {
        "success": True,
        "data": {"name": "Greeting", "value": "Hello", "scope": "global", "exists": True,
                 "type": "string"},
    }  # fmt: skip
    text = answer.content[0]
    assert text.type == "text"
    assert json.loads(text.text) == answer.structured_content

    failed = await client.call_tool("km_variable_manager", {"operation": "delete", "name": "X"})
    assert failed.is_error is False
    assert failed.structured_content is not None
    assert failed.structured_content["error"]["code"] == "KM_VARIABLE_FAILED"

    refused = await client.call_tool("km_variable_manager", {"operation": "get", "nmae": "1"})
    assert refused.is_error is True
    assert refused.structured_content is None
    assert refused.content[0].type == "text"
    assert refused.content[0].text.splitlines()[:3] == [
        "1 validation error for call[km_variable_manager]",
        "nmae",
        "  Unexpected keyword argument [type=unexpected_keyword_argument, input_value='1', "
        "input_type=str]",
    ]

    unknown = await client.call_tool("km_calculator", {"expression": "1"})
    assert unknown.is_error is True
    assert unknown.structured_content is None
    assert unknown.content[0].type == "text"
    assert unknown.content[0].text == "Unknown tool: 'km_calculator'"  # the server's words


def test_the_server_lists_the_catalog_and_answers_in_process() -> None:
    async def scenario() -> None:
        async with Client(create_server(Simulator()), mode="legacy") as client:
            await check_answers(client)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("name", "arguments", "is_error", "code"),
    [
        pytest.param("km_variable_manager", {"operation": "list"}, False, None, id="success"),
        pytest.param("km_variable_manager", None, True, None, id="no-arguments"),
        pytest.param("km_variable_manager", {"operation": 7}, True, None, id="wrong-type"),
        pytest.param(
            "km_variable_manager",
            {"operation": "delete", "name": "Nope"},
            False,
            "KM_VARIABLE_FAILED",
            id="tool-failure-is-not-an-mcp-error",
        ),
        pytest.param("km_nothing", {}, True, None, id="unknown-tool"),
    ],
)
def test_answer_call(
    name: str, arguments: dict[str, Any] | None, is_error: bool, code: str | None
) -> None:
    result = answer_call(Simulator(), name, arguments)
    assert result.is_error is is_error
    if is_error:
        assert result.structured_content is None
        return
    answer = result.structured_content
    assert answer is not None
    assert answer["success"] is (code is None)
    if code is not None:
        assert answer["error"]["code"] == code
        assert answer["error"]["recovery_suggestion"]


class BrokenSimulator(Simulator):
    """A simulator with a defect (or a failing state file), to check the server survives it."""

    def __init__(self, problem: Exception) -> None:
        super().__init__()
        self.problem = problem

    def result(self, name: str, arguments: Any) -> ToolResult:
        raise self.problem


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        pytest.param(
            StepError(ErrorKind.TOOL_UNAVAILABLE, "km_token_stats ran, but disk full", hint="free"),
            "km_token_stats ran, but disk full (free)",
            id="step-error",
        ),
        pytest.param(
            KeyError("x"),
            "the km-actions simulator failed while answering km_token_stats: KeyError: 'x' "
            "(this is a bug in km-actions; please report it)",
            id="defect",
        ),
    ],
)
def test_a_simulator_failure_is_an_error_result_not_a_crash(
    problem: Exception, message: str
) -> None:
    result = answer_call(BrokenSimulator(problem), "km_token_stats", {})
    assert result.is_error is True
    assert result.content[0].type == "text"
    assert result.content[0].text == message


# -- over stdio and HTTP (real processes) ------------------------------------------------


@dataclass
class Served:
    """A simulator process serving HTTP; ``url`` is its MCP endpoint."""

    process: subprocess.Popen[bytes]
    url: str
    port: int
    stderr: Path

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


@contextmanager
def served_http(folder: Path, port: int = 0, *extra: str) -> Iterator[Served]:
    """Start ``python -m engine.simulator --http PORT`` and wait for it to announce its URL."""
    log = folder / f"stderr-{time.monotonic_ns()}.txt"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*SIMULATOR, "--http", str(port), *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    served: Served | None = None
    try:
        deadline = time.monotonic() + 30
        while served is None:
            text = log.read_text("utf-8", "replace")
            if "serving MCP at " in text:
                url = text.split("serving MCP at ", 1)[1].split()[0]
                served = Served(process, url, int(url.rsplit(":", 1)[1].split("/")[0]), log)
            elif process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the simulator did not start serving HTTP: {text}")
            else:
                time.sleep(0.02)
        yield served
    finally:
        if served is not None:
            served.stop()
        else:
            process.kill()
            process.wait()


def test_the_server_answers_over_stdio_and_keeps_its_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"

    async def scenario() -> None:
        measured = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_CORE")  # measure the child too
        params = StdioServerParameters(
            command=SIMULATOR[0],
            args=[*SIMULATOR[1:], "--state", str(state)],
            env={k: os.environ[k] for k in measured if k in os.environ},
        )
        async with Client(params) as client:
            await check_answers(client)
            answer = await client.call_tool(
                "km_variable_manager", {"operation": "set", "name": "Kept", "value": "yes"}
            )
            assert answer.structured_content is not None
            assert answer.structured_content["success"] is True

    asyncio.run(scenario())
    reopened = Simulator(state_path=state)
    assert (
        reopened.call("km_variable_manager", {"operation": "get", "name": "Kept"})["data"]["value"]
        == "yes"
    )


def test_the_server_answers_over_http_and_the_bridge_outlives_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        with served_http(tmp_path) as served:
            assert served.url == f"http://127.0.0.1:{served.port}/mcp"
            async with Client(served.url) as client:
                await check_answers(client)

            bridge = UpstreamBridge(url=served.url)
            await bridge.start()
            try:
                assert bridge.simulated is True
                assert bridge.label == f"km-actions simulator over MCP at {served.url}"
                answer = await bridge.call_tool("km_variable_manager", {"operation": "list"})
                assert answer["data"]["count"] == 1
                assert served.stop() == 0  # Ctrl-C stops it normally
                with pytest.raises(StepError) as caught:
                    await bridge.call_tool("km_variable_manager", {"operation": "list"})
                assert caught.value.kind is ErrorKind.TOOL_UNAVAILABLE
                with served_http(tmp_path, served.port):
                    answer = await bridge.call_tool("km_variable_manager", {"operation": "list"})
                    assert answer["data"]["count"] == 1
            finally:
                await bridge.close()

    asyncio.run(scenario())


def test_stdio_mode_writes_nothing_but_protocol_to_stdout(tmp_path: Path) -> None:
    corrupt = tmp_path / "state.json"
    corrupt.write_text("{not json", "utf-8")
    done = subprocess.run(
        [*SIMULATOR, "--state", str(corrupt)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"km-actions simulator: warning: the simulator state file {corrupt} is corrupt "
        "(not valid JSON); it was moved to state.json.corrupt and the simulator starts "
        "from its example state",
        "km-actions simulator: serving MCP on stdin/stdout "
        "(not Keyboard Maestro: answers come from a model)",
    ]


# -- the CLI's own errors (in-process) ---------------------------------------------------


def test_a_port_in_use_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["simulator", "--http", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"km-actions simulator: error: cannot serve on 127.0.0.1:{port}: " in err
    assert "     = hint: choose another port, or --http 0 for a free one" in err
