"""Applications, windows, notifications and alerts in the model."""

from __future__ import annotations

import pytest

from engine.simulator.km import system
from engine.simulator.km.state import KMState


def test_processes_and_applications(state: KMState) -> None:
    assert [p["name"] for p in system.processes(state)] == ["Finder", "Keyboard Maestro Engine"]
    assert [p["name"] for p in system.visible_processes(state)] == ["Finder"]
    assert system.process_named(state, "finder")["name"] == "Finder"  # type: ignore[index]
    assert system.frontmost(state)["name"] == "Finder"  # type: ignore[index]
    assert system.application(state, name="safari") == {
        "name": "Safari",
        "bundle_id": "com.apple.Safari",
    }
    assert system.application(state, bundle_id="com.apple.finder")["name"] == "Finder"  # type: ignore[index]
    assert system.application(state, name="Nope") is None
    assert system.windows(system.process_named(state, "Finder"))[0]["title"] == "Home"  # type: ignore[arg-type]


def test_launch_activate_and_quit(state: KMState) -> None:
    notes = system.application(state, name="Notes")
    assert notes is not None
    started = system.launch(state, notes, front=False)
    assert started["frontmost"] is False and started["windows"] == []
    assert system.running(state, notes) is started
    assert system.launch(state, notes) is started
    assert system.frontmost(state) is started
    system.quit_process(state, started)
    assert system.running(state, notes) is None


def test_notifications_are_logged(state: KMState) -> None:
    system.notify(state, "Done", "Build", sound="glass")
    assert state.log["notifications"] == [
        {"message": "Done", "title": "Build", "subtitle": "", "sound": "glass"}
    ]


@pytest.mark.parametrize(
    ("choice", "buttons", "default", "clicked"),
    [
        pytest.param(None, ["Yes", "No"], "Yes", "Yes", id="the-default"),
        pytest.param(None, ["Yes", "No"], None, "No", id="no-default-the-last"),
        pytest.param(None, [], None, "OK", id="no-buttons"),
        pytest.param("No", ["Yes", "No"], "Yes", "No", id="seeded-choice"),
        pytest.param("Maybe", ["Yes", "No"], "Yes", "Yes", id="seeded-choice-not-shown"),
    ],
)
def test_alerts_answer_with_a_button(
    state: KMState, choice: str | None, buttons: list[str], default: str | None, clicked: str
) -> None:
    state.system["alert_button"] = choice
    assert system.alert(state, "T", "M", buttons, default, 3.0) == clicked
    assert state.log["alerts"][-1]["clicked"] == clicked
