"""``km-actions simulator``: its options and messages (the server itself is replaced by a
stand-in that records how it was called; tests/simulator/test_server.py serves for real)."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.simulator import Simulator
from tests.cli.conftest import Cli

Serve = Callable[..., None]


class FakeServer:
    """Stands in for ``engine.simulator.server``: records calls, then does ``then``."""

    def __init__(self, then: BaseException | None = None) -> None:
        self.calls: list[tuple[Simulator, int | None]] = []
        self.then = then

    def serve(self, simulator: Simulator, *, http_port: int | None = None) -> None:
        self.calls.append((simulator, http_port))
        if self.then is not None:
            raise self.then


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """The fake server module, in place of the real one for this test."""
    fake = FakeServer()
    module = types.ModuleType("engine.simulator.server")
    module.serve = fake.serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "engine.simulator.server", module)
    return fake


def test_serves_on_stdio_from_the_example_state(cli: Cli, server: FakeServer) -> None:
    outcome = cli("simulator")
    assert (outcome.code, outcome.out, outcome.err) == (0, "", "")
    [(simulator, port)] = server.calls
    assert (simulator.state_path, port) == (None, None)


def test_serves_over_http_with_a_state_file(cli: Cli, server: FakeServer) -> None:
    outcome = cli("simulator", "--http", "0", "--state", "state.json")
    assert outcome.code == 0
    [(simulator, port)] = server.calls
    assert (simulator.state_path, port) == (Path("state.json"), 0)


def test_ctrl_c_is_a_normal_stop(cli: Cli, server: FakeServer) -> None:
    server.then = KeyboardInterrupt()
    outcome = cli("simulator", "--http", "8080")
    assert (outcome.code, outcome.out, outcome.err) == (0, "", "")
    assert [port for _, port in server.calls] == [8080]


@pytest.mark.parametrize(
    ("problem", "shown"),
    [
        pytest.param(OSError(98, "Address already in use"), "Address already in use", id="errno"),
        pytest.param(OSError("no network"), "no network", id="no-errno"),
    ],
)
def test_a_port_that_cannot_be_used(
    cli: Cli, server: FakeServer, problem: OSError, shown: str
) -> None:
    server.then = problem
    outcome = cli("simulator", "--http", "8080")
    assert (outcome.code, outcome.err) == (
        1,
        f"km-actions simulator: error: cannot serve on 127.0.0.1:8080: {shown}\n"
        "     = hint: choose another port, or --http 0 for a free one\n",
    )


@pytest.mark.parametrize(
    ("port", "message"),
    [
        pytest.param("65536", "65536 is not a port number (0 to 65535)", id="too-big"),
        pytest.param("-1", "-1 is not a port number (0 to 65535)", id="negative"),
        pytest.param("web", "'web' is not a port number", id="not-a-number"),
    ],
)
def test_a_bad_port_is_a_usage_error(cli: Cli, server: FakeServer, port: str, message: str) -> None:
    outcome = cli.usage_error("simulator", f"--http={port}")
    assert outcome.code == 2
    assert outcome.err.endswith(f"km-actions simulator: error: argument --http: {message}\n")
    assert server.calls == []


def test_a_corrupt_state_file_is_a_warning(cli: Cli, server: FakeServer) -> None:
    state = cli.write("state.json", "[1, 2")
    outcome = cli("simulator", "--state", "state.json")
    assert (outcome.code, outcome.err) == (
        0,
        "km-actions simulator: warning: the simulator state file state.json is corrupt (not "
        "valid JSON); it was moved to state.json.corrupt and the simulator starts from its "
        "example state\n",
    )
    assert len(server.calls) == 1 and not state.exists()


def test_a_state_file_from_a_newer_version_is_an_error(cli: Cli, server: FakeServer) -> None:
    cli.write("state.json", '{"format": "km-actions-simulator-state", "version": 999}')
    outcome = cli("simulator", "--state", "state.json")
    assert (outcome.code, outcome.err) == (
        1,
        "km-actions simulator: error: the simulator state file state.json was written by a "
        "newer km-actions (state version 999; this one reads up to 2)\n"
        "     = hint: upgrade km-actions, or use another state file\n",
    )
    assert server.calls == []
