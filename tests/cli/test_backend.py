"""The backend CLI commands run actions on (engine.cli._backend): the simulator's warnings,
the upstream's connection and description."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from engine.cli import _backend
from engine.diagnostics.errors import BridgeError
from engine.simulator import Simulator
from engine.tools.backend import Backend, choose_backend
from engine.tools.config import Settings, UpstreamConfig


def test_a_corrupt_state_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{oops")
    simulator = _backend.open_simulator(state)
    assert simulator.state_path == state
    assert capsys.readouterr().err == (
        f"warning: the simulator state file {state} is corrupt (not valid JSON); it was moved "
        "to state.json.corrupt and the simulator starts from its example state\n"
    )


def test_other_warnings_pass_through_unchanged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def noisy(**kwargs: Any) -> Simulator:
        warnings.warn("something else", DeprecationWarning, stacklevel=1)
        return Simulator(**kwargs)

    monkeypatch.setattr(_backend, "Simulator", noisy)
    with pytest.warns(DeprecationWarning, match="something else"):
        simulator = _backend.open_simulator(None)
    assert simulator.state_path is None
    assert capsys.readouterr().err == ""


# -- CommandBackend -------------------------------------------------------------------------

NOT_THERE = ("km-actions-no-such-command-anywhere",)


def _upstream(command: tuple[str, ...], config: Path | None = None) -> Backend:
    return choose_backend(Settings(path=config, upstream=UpstreamConfig(command=command)))


def test_a_failed_connection_is_tried_once_and_named_with_its_fix(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    backend = _upstream(NOT_THERE, config)
    with _backend.CommandBackend(backend) as opened:
        assert opened.is_upstream
        assert opened.describe() == f"the Keyboard Maestro MCP server at {NOT_THERE[0]}"
        with pytest.raises(BridgeError) as first:
            opened.connect()
        with pytest.raises(BridgeError) as second:
            opened.connect()
        assert second.value is first.value  # not tried again
        assert first.value.hint == (
            "check the upstream command; give its full path if it is not on PATH; the server "
            f"is set under [upstream] in {config} (or run with --simulator)"
        )
    without = _backend.CommandBackend(_upstream(NOT_THERE), instead=None)
    with pytest.raises(BridgeError) as caught:
        without.connect()
    assert caught.value.hint == (
        "check the upstream command; give its full path if it is not on PATH; the server is "
        "set under [upstream] in the configuration file"
    )
    without.close()


def test_the_simulator_is_saved_once_on_close(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    backend = choose_backend(Settings(), state=state)
    opened = _backend.CommandBackend(backend)
    assert not opened.is_upstream
    opened.connect()  # nothing to connect to
    assert opened.catalog() is opened.bridge.catalog()
    opened.close(save=False)
    opened.close()  # only the first close counts
    assert not state.exists()
    again = _backend.CommandBackend(backend)
    again.close()
    assert state.is_file()
