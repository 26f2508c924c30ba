"""The one choice of backend (engine.tools.backend): dry run, simulator or upstream, described
the same way for the command line and the MCP server."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from engine.paths import ENV_HOME
from engine.tools.backend import Backend, BackendKind, choose_backend, keep_tool_list
from engine.tools.config import Settings, UpstreamConfig

CONFIG = Path("/home/ann/config.toml")
UPSTREAM = UpstreamConfig(command=("uv", "run", "km mcp"), timeout=5, connect_timeout=7)
CONFIGURED = Settings(path=CONFIG, upstream=UPSTREAM)
NOT_CONFIGURED = Settings(path=CONFIG)


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV_HOME, str(tmp_path))
    return tmp_path


def test_the_upstream_when_one_is_configured() -> None:
    backend = choose_backend(CONFIGURED)
    assert backend == Backend(BackendKind.UPSTREAM, CONFIG, upstream=UPSTREAM)
    assert backend.describe() == "the Keyboard Maestro MCP server at uv run 'km mcp'"
    assert backend.to_dict() == {
        "kind": "upstream",
        "description": "the Keyboard Maestro MCP server at uv run 'km mcp'",
        "upstream": "uv run 'km mcp'",
        "config": str(CONFIG),
    }


@pytest.mark.parametrize(
    ("settings", "simulator", "reason"),
    [
        pytest.param(NOT_CONFIGURED, False, "no Keyboard Maestro server is configured", id="none"),
        pytest.param(CONFIGURED, True, "asked for with --simulator", id="forced"),
    ],
)
def test_the_simulator_when_none_is_configured_or_when_asked(
    data_home: Path, settings: Settings, simulator: bool, reason: str
) -> None:
    kept = choose_backend(settings, simulator=simulator)
    assert (kept.kind, kept.state, kept.reason) == (
        BackendKind.SIMULATOR,
        data_home / "simulator-state.json",
        reason,
    )
    assert kept.describe() == (
        f"the built-in simulator ({reason}); its state is kept in {data_home}/simulator-state.json"
    )
    assert kept.to_dict() == {
        "kind": "simulator",
        "description": kept.describe(),
        "state": str(data_home / "simulator-state.json"),
    }
    own = choose_backend(settings, simulator=simulator, state=Path("s.json"))
    assert own.state == Path("s.json")
    fresh = choose_backend(settings, simulator=simulator, state=Path("s.json"), keep_state=False)
    assert fresh.describe() == f"the built-in simulator ({reason}); its state is not kept"
    assert fresh.to_dict()["state"] is None


@pytest.mark.parametrize("settings", [CONFIGURED, NOT_CONFIGURED], ids=["configured", "not"])
def test_a_dry_run_whatever_is_configured(settings: Settings) -> None:
    backend = choose_backend(settings, dry_run=True, simulator=True)
    assert backend == Backend(BackendKind.DRY_RUN, CONFIG)
    assert backend.to_dict() == {
        "kind": "dry-run",
        "description": "a dry run on the simulator (nothing is sent anywhere)",
    }
    with pytest.raises(ValueError, match="a dry-run backend has no upstream server"):
        backend.upstream_bridge()


def test_the_upstream_bridge_takes_every_setting() -> None:
    bridge = choose_backend(CONFIGURED).upstream_bridge()
    assert bridge.where == "uv run 'km mcp'"
    assert (bridge._command, bridge._env, bridge._cwd) == (["uv", "run", "km mcp"], {}, None)
    assert (bridge._call_timeout, bridge._connect_timeout) == (5.0, 7.0)
    assert bridge._on_listed is keep_tool_list
    url = Settings(upstream=UpstreamConfig(url="http://127.0.0.1:9/mcp", env={"A": "b"}))
    by_url = choose_backend(url).upstream_bridge()
    assert (by_url.where, by_url._env, by_url._cwd) == ("http://127.0.0.1:9/mcp", None, None)


def test_a_tool_list_that_cannot_be_kept_is_logged(
    data_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_home.rmdir()
    data_home.write_text("a file where the data folder should be")
    bridge = choose_backend(
        Settings(upstream=UpstreamConfig(command=(sys.executable, "-m", "engine.simulator")))
    ).upstream_bridge()
    with caplog.at_level(logging.WARNING, logger="engine.tools.backend"):
        keep_tool_list(bridge)
    [record] = caplog.records
    assert record.getMessage() == (
        f"the tool list of the {bridge.label} could not be saved for offline checks: "
        f"File exists ({data_home})"
    )
