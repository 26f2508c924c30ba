"""km_notifications, km_notification_status and km_dismiss_notifications beyond the
recordings (``test_differential.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.simulator._state import MAX_ACTIVE_NOTIFICATIONS

from .conftest import KM, Machine

TOOL = "km_notifications"


def notify(km: KM, kind: str = "notification", **arguments: Any) -> dict[str, Any]:
    return km(TOOL, notification_type=kind, title=arguments.pop("title", "T"),
              message=arguments.pop("message", "M"), **arguments)  # fmt: skip


def shown(km: KM) -> list[dict[str, Any]]:
    return list(km.sim.snapshot()["keyboard_maestro"]["log"]["notifications"])


def test_a_notification_is_shown_and_remembered(km: KM) -> None:
    answer = notify(km, title=" Build ", message=" Done ", sound="Glass")
    assert answer["data"]["notification_id"] == "notification_1_1777887015"
    assert (answer["data"]["title"], answer["data"]["sound_played"]) == (" Build ", True)
    assert shown(km) == [{"message": "Done", "title": "Build", "subtitle": "", "sound": "Glass"}]
    status = km.ok("km_notification_status")
    assert [(n["title"], n["type"]) for n in status["notifications"]] == [("Build", "notification")]


def test_only_some_system_sounds_are_named_in_a_notification(km: KM) -> None:
    assert notify(km, sound="ping")["data"]["sound_played"] is True
    assert shown(km)[0]["sound"] == ""


@pytest.mark.parametrize(
    ("arguments", "code", "details"),
    [
        pytest.param({"title": "   "}, "SPEC_ERROR",
                     "Notification specification error: Title must be 1-100 characters, got 0",
                     id="blank-title"),
        pytest.param({"message": " "}, "SPEC_ERROR",
                     "Notification specification error: Message must be 1-500 characters, "
                     "got 0", id="blank-message"),
        pytest.param({"sound": "/tmp/beep.txt"}, "SPEC_ERROR",
                     "Notification specification error: Invalid sound specification: "
                     "/tmp/beep.txt", id="not-a-sound"),
        pytest.param({"message": "x onload = y"}, "CONTENT_VALIDATION_ERROR",
                     "Notification display failed: Notification content failed safety "
                     "validation", id="unsafe"),
    ],
)  # fmt: skip
def test_specification_failures(km: KM, arguments: dict[str, Any], code: str, details: str) -> None:
    answer = notify(km, **arguments)
    assert (answer["error"]["code"], answer["error"]["details"]) == (code, details)
    assert answer["metadata"]["failure_stage"] == code.lower()


def test_an_alert_answers_the_button_clicked(machine: Machine) -> None:
    km = machine(alert_button="No")
    answer = notify(km, "alert", buttons=["Yes", "No"])
    assert (answer["data"]["button_clicked"], answer["data"]["dismissed_by_user"]) == ("No", True)
    assert km.ok("km_notification_status")["active_count"] == 0  # alerts are not remembered


def test_a_double_quote_in_a_button_breaks_the_alert(km: KM) -> None:
    answer = notify(km, "alert", buttons=['Say "hi"'])
    assert answer["error"]["code"] == "ALERT_DIALOG_ERROR"
    assert answer["error"]["message"].startswith("Alert dialog AppleScript failed: AppleScript "
                                                 "failed: ")  # fmt: skip


def test_a_hud_takes_its_duration(km: KM) -> None:
    data = notify(km, "hud", duration=30.0)["data"]
    assert 10.0 <= data["display_time"] < 11.0  # the server waits at most 10 seconds
    assert notify(km, "hud")["data"]["display_time"] >= 3.0


def test_sounds_play_when_installed(km: KM) -> None:
    assert notify(km, "sound", sound="sosumi")["data"]["sound_played"] is True
    answer = notify(km, "sound")  # "default": no such file in /System/Library/Sounds
    assert answer["error"]["message"] == "Unknown system sound or unreadable file: default"
    answer = notify(km, "sound", sound="/Users/me/beep.aiff")  # not a file on this Mac
    assert answer["error"]["code"] == "SOUND_FILE_NOT_FOUND"


def test_without_osascript(machine: Machine) -> None:
    km = machine(osascript=False)
    answer = notify(km, "alert")
    assert answer["error"]["message"] == (
        "Alert dialog AppleScript failed: AppleScript execution error: [Errno 2] No such file "
        "or directory: 'osascript'"
    )
    assert notify(km, "hud")["error"]["code"] == "HUD_DISPLAY_ERROR"


def test_dismissing_one_then_all(km: KM) -> None:
    first = notify(km)["data"]["notification_id"]
    notify(km)
    assert km.ok("km_dismiss_notifications", notification_id=first)["dismissed"] is True
    unknown = km("km_dismiss_notifications", notification_id=first)
    assert unknown["success"] is False and "error" not in unknown
    assert km.ok("km_dismiss_notifications")["dismissed_count"] == 1
    assert km.ok("km_notification_status")["notifications"] == []


def test_the_server_remembers_a_bounded_number(km: KM) -> None:
    for _ in range(MAX_ACTIVE_NOTIFICATIONS + 2):
        notify(km)
    status = km.ok("km_notification_status")
    assert status["active_count"] == MAX_ACTIVE_NOTIFICATIONS
    assert status["notifications"][0]["notification_id"].startswith("notification_3_")
