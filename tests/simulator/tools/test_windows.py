"""km_window_manager beyond the recordings (``test_differential.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import FakeClock
from .conftest import KM, Machine

TOOL = "km_window_manager"
POSTCONDITION = "Operation failed: Postcondition violated: Postcondition failed"


def window(km: KM, app: str = "Safari", **arguments: Any) -> dict[str, Any]:
    return km(TOOL, window_identifier=app, **arguments)


def where(km: KM, app: str = "Safari") -> tuple[Any, ...]:
    data = window(km, app, operation="get_info")["window"]
    return (
        data["position"]["x"],
        data["position"]["y"],
        data["size"]["width"],
        data["size"]["height"],
    )


def failed(answer: dict[str, Any]) -> tuple[str, str]:
    assert answer["success"] is False, answer
    return answer["error"], answer["message"]


def test_a_change_is_seen_once_the_cached_window_expires(recorded: KM, clock: FakeClock) -> None:
    assert where(recorded) == (0, 25, 1200, 775)
    moved = window(recorded, operation="move", position={"x": 10, "y": 30})
    assert moved["details"] == "Moved window to 10,30"
    assert moved["window"]["position"] == {"x": 0, "y": 25}  # read within 2 seconds
    clock.advance(5)
    assert where(recorded) == (10, 30, 1200, 775)


def test_state_changes_reach_the_window(recorded: KM) -> None:
    for operation in ("minimize", "maximize"):
        assert window(recorded, operation=operation)["details"].startswith("Set window state")
    windows = recorded.sim.snapshot()["keyboard_maestro"]["system"]["processes"][1]["windows"]
    assert (windows[0]["minimized"], windows[0]["fullscreen"]) == (True, True)
    window(recorded, operation="minimize", state="normal")
    windows = recorded.sim.snapshot()["keyboard_maestro"]["system"]["processes"][1]["windows"]
    assert (windows[0]["minimized"], windows[0]["fullscreen"]) == (False, False)


@pytest.mark.parametrize(
    ("arrangement", "bounds"),
    [
        pytest.param("right_half", (640, 0, 640, 800), id="right"),
        pytest.param("top_half", (0, 0, 1280, 400), id="top"),
        pytest.param("bottom_half", (0, 400, 1280, 400), id="bottom"),
        pytest.param("maximize", (0, 0, 1280, 800), id="maximize"),
        pytest.param("top_left_quarter", (240, 100, 800, 600), id="quarter-is-centred"),
    ],
)
def test_arrangements(
    recorded: KM, clock: FakeClock, arrangement: str, bounds: tuple[int, ...]
) -> None:
    answer = window(recorded, operation="arrange", arrangement=arrangement)
    assert answer["operation"] == f"arrange_{arrangement}"
    clock.advance(5)
    assert where(recorded) == bounds


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        pytest.param({"window_identifier": "com.apple.Safari", "operation": "get_info"},
                     ("EXECUTION_ERROR", "Window query failed:  System Events got an error: "
                      'Can’t get process "com.apple.Safari".'), id="bundle-id"),
        pytest.param({"window_identifier": "my.app name", "operation": "get_info"},
                     ("EXECUTION_ERROR", "Operation failed: Invalid bundle ID format: "
                      "my.app name"), id="bad-bundle-id"),
        pytest.param({"operation": "move", "position": {"x": 20000, "y": 0}},
                     ("INVALID_POSITION", "Invalid position coordinates: X coordinate out of "
                      "bounds: 20000"), id="far-away"),
        pytest.param({"operation": "move", "position": {"x": 1, "y": 1}, "screen": "external"},
                     ("EXECUTION_ERROR", POSTCONDITION), id="no-external-screen"),
        pytest.param({"window_identifier": "TextEdit", "operation": "move",
                      "position": {"x": 1, "y": 1}},
                     ("EXECUTION_ERROR", POSTCONDITION), id="move-without-windows"),
        pytest.param({"operation": "resize"}, ("MISSING_SIZE", "Size dimensions {width, height} "
                     "required for resize operation"), id="no-size"),
        pytest.param({"operation": "resize", "size": {"width": 0, "height": 10}},
                     ("INVALID_SIZE", "Invalid size dimensions: Width must be positive: 0"),
                     id="zero-width"),
        pytest.param({"operation": "resize", "size": {"width": 100, "height": 9000}},
                     ("INVALID_SIZE", "Invalid size dimensions: Height exceeds maximum (8192): "
                      "9000"), id="too-tall"),
        pytest.param({"window_identifier": "Notes", "operation": "resize",
                      "size": {"width": 500, "height": 500}},
                     ("EXECUTION_ERROR", "Window query failed:  System Events got an error: "
                      'Can’t get process "Notes".'), id="resize-not-running"),
        pytest.param({"operation": "resize", "size": {"width": 20, "height": 480}},
                     ("VALIDATION_ERROR", "Invalid window size: 20x480"), id="too-small"),
        pytest.param({"operation": "arrange"}, ("MISSING_ARRANGEMENT", "Arrangement type "
                     "required for arrange operation"), id="no-arrangement"),
        pytest.param({"operation": "arrange", "arrangement": "center", "screen": "3"},
                     ("VALIDATION_ERROR", "Invalid screen target: 3"), id="no-such-screen"),
        pytest.param({"window_identifier": "TextEdit", "operation": "arrange",
                      "arrangement": "center"},
                     ("EXECUTION_ERROR", "Window arrangement failed: Postcondition violated: "
                      "Postcondition failed"), id="arrange-without-windows"),
    ],
)  # fmt: skip
def test_failures(recorded: KM, arguments: dict[str, Any], error: tuple[str, str]) -> None:
    arguments.setdefault("window_identifier", "Safari")
    assert failed(recorded(TOOL, **arguments)) == error


def test_titles_are_read_back_from_text(machine: Machine) -> None:
    untitled = {"title": "", "position": [1, 2], "size": [300, 200]}
    km = machine(
        processes=[
            {
                "name": "Notes",
                "frontmost": True,
                "windows": [
                    {"title": "Plan, draft", "position": [1, 2], "size": [300, 200]},
                    untitled,
                ],
            }
        ]
    )
    assert window(km, "Notes", operation="get_info")["window"]["title"] == "Plan"
    assert window(km, "Notes", operation="get_info", window_index=1)["window"]["title"] is None


def test_screens_of_a_mac(machine: Machine) -> None:
    km = machine(screens=[{"origin": [0, 0], "size": [1440, 900], "main": True},
                          {"origin": [1440, 0], "size": [1920, 1080]}])  # fmt: skip
    listed = window(km, "any", operation="get_screens")["screens"]
    assert [(s["name"], s["center"]) for s in listed] == [
        ("Main Display", {"x": 720, "y": 450}),
        ("Display 1", {"x": 2400, "y": 540}),
    ]
    assert window(km, operation="move", position={"x": 1500, "y": 10}, screen="external")["success"]


def test_a_window_read_before_its_application_quit(recorded: KM) -> None:
    window(recorded, operation="get_info")
    recorded("km_application_control", operation="quit", app_identifier="Safari",
             timeout_seconds=0.1)  # fmt: skip
    assert failed(window(recorded, operation="resize", size={"width": 500, "height": 500})) == (
        "EXECUTION_ERROR",
        'Window resize failed:  System Events got an error: Can’t get process "Safari".',
    )


def test_bounds_the_server_cannot_read(machine: Machine) -> None:
    km = machine(processes=[{"name": "Wide", "windows": [
        {"title": "w", "position": [20000, 0], "size": [10, 10]}]}])  # fmt: skip
    assert failed(window(km, "Wide", operation="get_info")) == (
        "EXECUTION_ERROR",
        "Could not parse window bounds for Wide: X coordinate out of bounds: 20000",
    )
