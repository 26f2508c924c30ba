"""State files: round trip, atomic writes, memory-only values, corrupt and newer files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.diagnostics.errors import BridgeError, ErrorKind, StepError
from engine.simulator import Simulator, SimulatorStateError, SimulatorStateWarning, _persist

from .conftest import FakeClock

STATE_HEAD = '{"format": "km-actions-simulator-state", "version": 1, '


def busy(sim: Simulator) -> None:
    """Change every kind of state."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("km_variable_manager", {"operation": "set", "name": "Kept", "value": "yes"}),
        (
            "km_variable_manager",
            {"operation": "set", "name": "PW", "value": "s3cret", "scope": "password"},
        ),
        (
            "km_variable_manager",
            {"operation": "set", "name": "L", "value": "1", "scope": "local", "_instance_id": "i"},
        ),
        ("km_macro_group_manager", {"operation": "create", "new_name": "Kept Group"}),
        (
            "km_action_builder",
            {
                "operation": "append",
                "macro_id": "Hello World",
                "action_type": "pause",
                "action_config": {"seconds": 1},
            },
        ),
        ("km_create_macro", {"name": "Saved", "template": "custom", "group_name": "Examples"}),
        ("km_execute_macro", {"identifier": "Saved", "trigger_value": "t"}),
        (
            "km_create_hotkey_trigger",
            {"macro_id": "Saved", "key": "k", "modifiers": ["cmd", "opt"]},
        ),
        ("km_notifications", {"notification_type": "notification", "title": "T", "message": "M"}),
        ("km_token_processor", {"text": "%Variable%Kept%"}),
    ]
    for name, arguments in calls:
        assert sim.call(name, arguments)["success"] is True


def test_round_trip_keeps_everything_but_memory_only_values(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "state.json"
    first = Simulator(state_path=path, clock=clock)
    busy(first)
    second = Simulator(state_path=path, clock=clock)
    expected = first.snapshot()
    assert expected["keyboard_maestro"]["password_variables"] == {"PW": "s3cret"}
    expected["keyboard_maestro"]["password_variables"] = {}
    assert second.snapshot() == expected
    assert second.state_path == path


def test_password_values_never_reach_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    busy(Simulator(state_path=path))
    text = path.read_text("utf-8")
    assert "s3cret" not in text
    assert json.loads(text)["format"] == "km-actions-simulator-state"


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    busy(Simulator(state_path=path))
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]


def test_only_changes_are_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saves: list[Path] = []
    original = _persist.StateFile.save

    def counting(self: _persist.StateFile, state: Any) -> None:
        saves.append(self.path)
        original(self, state)

    monkeypatch.setattr(_persist.StateFile, "save", counting)
    sim = Simulator(state_path=tmp_path / "s.json")
    sim.call("km_variable_manager", {"operation": "list"})
    sim.call("km_list_macros", {})
    sim.call("km_variable_manager", {"operation": "get", "name": "Missing"})
    sim.call("km_macro_group_manager", {"operation": "list"})
    assert saves == []
    sim.call("km_variable_manager", {"operation": "set", "name": "A", "value": "1"})
    sim.call("km_variable_manager", {"operation": "delete", "name": "Nope"})
    assert len(saves) == 1


def test_reset_and_explicit_save(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state.json"
    sim = Simulator(state_path=path, clock=clock)
    busy(sim)
    sim.reset()
    assert Simulator(state_path=path, clock=clock).snapshot() == Simulator(clock=clock).snapshot()
    other = tmp_path / "copy.json"
    assert sim.save(other) == other
    assert sim.save() == path
    assert json.loads(other.read_text("utf-8")) == json.loads(path.read_text("utf-8"))


def test_save_without_a_path_is_an_error() -> None:
    with pytest.raises(SimulatorStateError) as raised:
        Simulator().save()
    assert isinstance(raised.value, BridgeError)
    assert raised.value.hint == "pass a path to save(), or create the Simulator with state_path="


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("{not json", "not valid JSON", id="syntax"),
        pytest.param(
            STATE_HEAD + '"counters": {"a": NaN}}',
            "not valid JSON",
            id="nan",
        ),
        pytest.param(
            "[]",
            'it is not a km-actions simulator state (no "format": "km-actions-simulator-state")',
            id="not-state",
        ),
        pytest.param(
            STATE_HEAD + '"variables": {"global": {"a": 1}}}',
            "$.variables.global.a: 1 is not of type 'string'",
            id="schema",
        ),
        pytest.param(
            STATE_HEAD + '"macros": {"M": {"id": "M", "name": "m", "group_id": "G", '
            '"enabled": true, "use_count": 0, "triggers": []}}}',
            "macro 'm' is in unknown group 'G'",
            id="broken-link",
        ),
        pytest.param("[" * 100_000, "not valid JSON", id="deep"),
    ],
)
def test_a_corrupt_file_is_moved_aside_with_a_warning(
    tmp_path: Path, clock: FakeClock, text: str, reason: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(text, "utf-8")
    with pytest.warns(SimulatorStateWarning) as warned:
        sim = Simulator(state_path=path, clock=clock)
    assert str(warned[0].message) == (
        f"the simulator state file {path} is corrupt ({reason}); it was moved to "
        "state.json.corrupt and the simulator starts from its example state"
    )
    assert (tmp_path / "state.json.corrupt").read_text("utf-8") == text
    assert not path.exists()
    assert sim.snapshot() == Simulator(clock=clock).snapshot()


def test_corrupt_files_never_overwrite_each_other(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    for n in range(3):
        path.write_text(f"bad {n}", "utf-8")
        with pytest.warns(SimulatorStateWarning):
            Simulator(state_path=path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["state.json.corrupt", "state.json.corrupt-2", "state.json.corrupt-3"]


def test_a_newer_state_file_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"format": "km-actions-simulator-state", "version": 99}', "utf-8")
    with pytest.raises(SimulatorStateError) as raised:
        Simulator(state_path=path)
    assert raised.value.message == (
        f"the simulator state file {path} was written by a newer km-actions "
        "(state version 99; this one reads up to 2)"
    )
    assert raised.value.hint == "upgrade km-actions, or use another state file"
    assert path.exists()


def test_an_unreadable_state_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SimulatorStateError) as raised:
        Simulator(state_path=tmp_path)
    assert raised.value.message.startswith(f"cannot read the simulator state file {tmp_path}: ")


def test_a_failed_write_during_a_call_is_a_step_error(tmp_path: Path) -> None:
    blocker = tmp_path / "folder"
    sim = Simulator(state_path=blocker / "state.json")
    blocker.write_text("a file where the folder should be", "utf-8")
    assert sim.call("km_variable_manager", {"operation": "list"})["success"] is True
    with pytest.raises(StepError) as raised:
        sim.call("km_variable_manager", {"operation": "set", "name": "A", "value": "1"})
    assert raised.value.kind is ErrorKind.TOOL_UNAVAILABLE
    target = blocker / "state.json"
    assert raised.value.message.startswith(
        f"km_variable_manager ran, but cannot save the simulator state to {target}: "
    )


def test_a_corrupt_file_that_cannot_be_moved_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    path.write_text("garbage", "utf-8")

    def refuse(source: Any, target: Any) -> None:
        raise PermissionError("read-only folder")

    monkeypatch.setattr("engine.simulator._persist.os.replace", refuse)
    with pytest.raises(SimulatorStateError) as raised:
        Simulator(state_path=path)
    assert raised.value.message == (
        f"the simulator state file {path} is corrupt (not valid JSON) and could not be moved "
        "aside: read-only folder"
    )
    assert raised.value.hint == "move or delete the file yourself, then try again"


def test_a_failed_replace_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = Simulator(state_path=tmp_path / "state.json")

    def refuse(source: Any, target: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("engine.simulator._persist.os.replace", refuse)
    with pytest.raises(SimulatorStateError):
        sim.save()
    assert list(tmp_path.iterdir()) == []


def test_a_version_1_file_is_upgraded(tmp_path: Path, clock: FakeClock) -> None:
    """What Keyboard Maestro keeps is carried over; what only the 2025 server's tools kept
    (dictionaries of km_dictionary_manager, macro templates) is not."""
    path = tmp_path / "state.json"
    group = {"id": "G", "name": "Mine", "enabled": False, "created_at": "2026-01-01"}
    macro = {"id": "M", "name": "Made", "group_id": "G", "enabled": True, "use_count": 2,
             "triggers": [], "actions": [], "template": "text_expansion"}  # fmt: skip
    old = {
        "format": "km-actions-simulator-state",
        "version": 1,
        "variables": {"global": {"Kept": "yes"}},
        "clipboard": [{"content": "clip", "format": "text", "timestamp": "t"}],
        "dictionaries": {"d": {"data": {"a": 1}, "created_at": "t", "modified_at": "t"}},
        "groups": {"G": group},
        "macros": {"M": macro},
    }
    path.write_text(json.dumps(old), "utf-8")
    sim = Simulator(state_path=path, clock=clock)
    model = sim.snapshot()["keyboard_maestro"]
    assert model["variables"] == {"Kept": "yes"}
    assert model["clipboards"] == ["clip"]
    assert [
        (g["name"], g["enabled"], [m["name"] for m in g["macros"]]) for g in model["groups"]
    ] == [("Mine", False, ["Made"])]
    assert model["dictionaries"] == {}
    assert set(sim.snapshot()) == {"format", "version", "keyboard_maestro", "server"}
