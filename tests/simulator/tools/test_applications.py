"""km_application_control beyond the recordings (``test_differential.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import FakeClock
from .conftest import KM, Machine

TOOL = "km_application_control"
POLICY = "Check the app name/bundle ID and that the app is allowed by security policy."


def control(km: KM, operation: str, app: str | None = None, **arguments: Any) -> dict[str, Any]:
    if app is not None:
        arguments["app_identifier"] = app
    return km(TOOL, operation=operation, **arguments)


def message(answer: dict[str, Any]) -> str:
    assert answer["success"] is False, answer
    return str(answer["error"]["message"])


def running(km: KM) -> list[str]:
    return list(control(km, "list_running")["data"]["running"])


def test_a_bundle_id_names_no_process(recorded: KM) -> None:
    assert control(recorded, "get_state", "com.apple.Safari")["data"]["state"] == "not_running"
    assert message(control(recorded, "activate", "com.apple.Safari")) == (
        "Cannot activate com.apple.Safari: not running"
    )
    assert control(recorded, "quit", "com.apple.Safari")["data"]["details"] == (
        "Application not running"
    )


@pytest.mark.parametrize(
    ("app", "text"),
    [
        pytest.param("com.apple.script-runner", "Invalid bundle ID format: com.apple.script-runner",
                     id="suspicious-bundle-id"),
        pytest.param("com.x..y", "Invalid bundle ID format: com.x..y", id="double-dot"),
        pytest.param("COM.APPLE.SYSTEMPREFERENCES",
                     "Application blocked by security policy: COM.APPLE.SYSTEMPREFERENCES",
                     id="blocked-any-case"),
        pytest.param("com.example.none", "AppleScript failed: 240:273: syntax error: Can’t get "
                     'application id "com.example.none". (-1728)', id="unknown-bundle-id"),
    ],
)  # fmt: skip
def test_launch_refusals(recorded: KM, app: str, text: str) -> None:
    answer = control(recorded, "launch", app)
    assert (message(answer), answer["error"]["recovery_suggestion"]) == (text, POLICY)


def test_a_bad_bundle_id_is_refused_before_anything(recorded: KM) -> None:
    answer = control(recorded, "get_state", "com.app!")
    assert (
        answer["error"]["message"] == "Invalid app identifier: Invalid bundle ID format: com.app!"
    )


def test_launching_a_running_application_activates_it(recorded: KM, clock: FakeClock) -> None:
    data = control(recorded, "launch", "Finder")["data"]
    assert (data["state"], data["details"]) == ("foreground", "Activated Finder")


def test_terminal_is_not_blocked_by_its_bundle_id(recorded: KM) -> None:
    data = control(recorded, "launch", "com.apple.Terminal", timeout_seconds=1)
    assert message(data) == "Application launch timeout: com.apple.Terminal"
    assert "Terminal" in running(recorded)


def test_quitting_the_engine_stops_it(recorded: KM) -> None:
    data = control(recorded, "quit", "Keyboard Maestro Engine", timeout_seconds=1)["data"]
    # Within its 1 second the server still trusts the state it read before quitting.
    assert (data["state"], data["details"]) == ("background", "Successfully quit Keyboard "
                                                "Maestro Engine")  # fmt: skip
    answer = recorded("km_execute_macro", identifier="Hello World")
    assert answer["error"]["code"] == "KM_CONNECTION_FAILED"


def test_force_quit_is_refused_for_system_processes(machine: Machine) -> None:
    km = machine(processes=[{"name": "com.apple.dock", "frontmost": False}])
    answer = control(km, "quit", "com.apple.dock", force_quit=True)
    assert message(answer) == "Force quit not allowed for com.apple.dock"


def test_without_osascript(machine: Machine) -> None:
    km = machine(osascript=False)
    assert control(km, "get_state", "Finder")["data"]["state"] == "unknown"
    assert message(control(km, "launch", "Notes")) == (
        "AppleScript execution error: [Errno 2] No such file or directory: 'osascript'"
    )


def test_a_quit_waits_until_the_application_is_gone(recorded: KM) -> None:
    data = control(recorded, "quit", "Safari")["data"]
    assert (data["state"], data["details"]) == ("not_running", "Successfully quit Safari")
    assert data["duration_seconds"] >= 2.0  # the state it read first is trusted for 2 s
    assert "Safari" not in running(recorded)
