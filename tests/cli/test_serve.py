"""``km-actions serve``: its options and messages (the MCP server is replaced by a stand-in
that records how it was called; tests/server/ serves for real)."""

from __future__ import annotations

import sys
import types

import pytest

from engine.diagnostics.errors import BridgeError
from engine.tools.config import Settings
from tests.cli.conftest import Cli


class FakeServer:
    """Stands in for ``engine.server``: records calls, then raises ``then`` if set."""

    def __init__(self) -> None:
        self.calls: list[tuple[Settings, int | None]] = []
        self.then: BaseException | None = None

    def serve(self, settings: Settings, *, http_port: int | None = None) -> None:
        self.calls.append((settings, http_port))
        if self.then is not None:
            raise self.then


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """The fake server module, in place of the real one for this test."""
    fake = FakeServer()
    module = types.ModuleType("engine.server")
    module.serve = fake.serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "engine.server", module)
    return fake


def test_serves_with_the_configuration(cli: Cli, server: FakeServer) -> None:
    cli.write("k.toml", "[security]\nceiling = ['read-only']\n")
    outcome = cli("serve", "--config", "k.toml", "--http", "0")
    assert (outcome.code, outcome.out, outcome.err) == (0, "", "")
    [(settings, port)] = server.calls
    assert (settings.ceiling, port) == (("read-only",), 0)


def test_serves_on_stdio_with_the_defaults(cli: Cli, server: FakeServer) -> None:
    assert cli("serve").code == 0
    [(settings, port)] = server.calls
    assert (settings, port) == (Settings(path=cli.home / "config.toml"), None)


def test_an_invalid_configuration_is_a_usage_error(cli: Cli, server: FakeServer) -> None:
    cli.write("k.toml", "[security]\nceiling = 'all'\n")
    outcome = cli("serve", "--config", "k.toml")
    assert (outcome.code, outcome.err) == (
        2,
        "km-actions serve: k.toml: security.ceiling must be a list of text values\n"
        "     = hint: see docs/mcp.md for every setting\n",
    )
    assert server.calls == []


def test_ctrl_c_over_http_is_a_normal_stop(cli: Cli, server: FakeServer) -> None:
    server.then = KeyboardInterrupt()
    outcome = cli("serve", "--http", "8080")
    assert (outcome.code, outcome.out, outcome.err) == (0, "", "")
    assert [port for _, port in server.calls] == [8080]


@pytest.mark.parametrize(
    ("problem", "err"),
    [
        pytest.param(
            BridgeError("cannot reach the upstream", hint="start it first"),
            "km-actions serve: cannot reach the upstream\n     = hint: start it first\n",
            id="engine-error",
        ),
        pytest.param(
            BridgeError("cannot reach the upstream"),
            "km-actions serve: cannot reach the upstream\n",
            id="engine-error-without-hint",
        ),
        pytest.param(
            OSError(98, "Address already in use"),
            "km-actions serve: [Errno 98] Address already in use\n",
            id="port-in-use",
        ),
    ],
)
def test_serving_fails(cli: Cli, server: FakeServer, problem: Exception, err: str) -> None:
    server.then = problem
    outcome = cli("serve", "--http", "8080")
    assert (outcome.code, outcome.out, outcome.err) == (1, "", err)


def test_a_port_must_be_a_number(cli: Cli, server: FakeServer) -> None:
    outcome = cli.usage_error("serve", "--http", "web")
    assert outcome.code == 2
    assert "argument --http: invalid int value: 'web'" in outcome.err
