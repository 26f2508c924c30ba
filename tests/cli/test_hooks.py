"""The simulator CLI commands share (engine.cli._hooks.open_simulator): its warnings."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from engine.cli import _hooks
from engine.simulator import Simulator


def test_a_corrupt_state_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{oops")
    simulator = _hooks.open_simulator(state)
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

    monkeypatch.setattr(_hooks, "Simulator", noisy)
    with pytest.warns(DeprecationWarning, match="something else"):
        simulator = _hooks.open_simulator(None)
    assert simulator.state_path is None
    assert capsys.readouterr().err == ""
