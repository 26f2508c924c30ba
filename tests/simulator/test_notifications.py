"""km_notifications, km_notification_status and km_dismiss_notifications."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM, FakeClock


def notify(km: KM, kind: str = "notification", **arguments: Any) -> dict[str, Any]:
    return km.ok(
        "km_notifications", notification_type=kind, title="Title", message="Body", **arguments
    )


def test_notification_is_recorded_with_an_id(km: KM, clock: FakeClock) -> None:
    assert notify(km, sound="Glass") == {
        "notification_id": "sim-notification-000001",
        "notification_type": "notification",
        "title": "Title",
        "message": "Body",
        "sound": "Glass",
        "duration": None,
        "buttons": [],
        "position": "center",
        "priority": "normal",
        "dismissible": True,
        "button_clicked": None,
        "created_at": clock.now.isoformat(),
        "dismissed_at": None,
        "status": "active",
        "displayed": True,
        "simulated_effect": "recorded; nothing was shown on screen",
    }


@pytest.mark.parametrize(
    ("kind", "arguments", "status", "clicked"),
    [
        pytest.param("alert", {}, "responded", "OK", id="alert-default-button"),
        pytest.param(
            "alert", {"buttons": ["Yes", "No"]}, "responded", "Yes", id="alert-first-button"
        ),
        pytest.param("sound", {}, "played", None, id="sound"),
        pytest.param("hud", {}, "active", None, id="hud"),
    ],
)
def test_each_type_has_a_status(
    km: KM, kind: str, arguments: dict[str, Any], status: str, clicked: str | None
) -> None:
    data = notify(km, kind, **arguments)
    assert (data["status"], data["button_clicked"]) == (status, clicked)


def test_status_follows_the_clock(km: KM, clock: FakeClock) -> None:
    hud = notify(km, "hud")["notification_id"]
    timed = notify(km, duration=10)["notification_id"]
    lasting = notify(km)["notification_id"]
    clock.advance(2)
    assert km.ok("km_notification_status", notification_id=hud)["status"] == "expired"
    assert km.ok("km_notification_status", notification_id=timed)["status"] == "active"
    clock.advance(8)
    overview = km.ok("km_notification_status")
    assert [n["notification_id"] for n in overview["active_notifications"]] == [lasting]
    assert (overview["active_count"], overview["total_sent"]) == (1, 3)


def test_status_of_an_unknown_id(km: KM) -> None:
    notify(km)
    error = km.fails(
        "km_notification_status", "NOT_FOUND", notification_id="sim-notification-000009"
    )
    assert error["recovery_suggestion"].endswith("Did you mean 'sim-notification-000001'?")


def test_dismiss_one_then_all(km: KM, clock: FakeClock) -> None:
    first = notify(km)["notification_id"]
    second = notify(km)["notification_id"]
    notify(km, "sound")
    clock.advance(1)
    one = km.ok("km_dismiss_notifications", notification_id=first)
    assert one == {"dismissed": [first], "dismissed_count": 1}
    status = km.ok("km_notification_status", notification_id=first)
    assert (status["status"], status["dismissed_at"]) == ("dismissed", clock.now.isoformat())
    again = km.ok("km_dismiss_notifications", notification_id=first)
    assert again == {"dismissed": [], "dismissed_count": 0, "already_inactive": "dismissed"}
    assert km.ok("km_dismiss_notifications") == {"dismissed": [second], "dismissed_count": 1}
    km.fails("km_dismiss_notifications", "NOT_FOUND", notification_id="nope")


def test_notification_records_are_bounded(km: KM, sim: Any) -> None:
    for _ in range(505):
        notify(km, "sound")
    table = sim.snapshot()["notifications"]
    assert len(table) == 500
    assert next(iter(table)) == "sim-notification-000006"


def test_naive_clock_works_too(clock: FakeClock) -> None:
    from engine.simulator import Simulator

    clock.now = clock.now.replace(tzinfo=None)
    sim = Simulator(clock=clock)
    made = sim.call("km_notifications", {"notification_type": "hud", "title": "t", "message": "m"})
    clock.advance(3)
    status = sim.call(
        "km_notification_status", {"notification_id": made["data"]["notification_id"]}
    )
    assert status["data"]["status"] == "expired"


def test_status_compares_naive_and_aware_times() -> None:
    from datetime import datetime

    from engine.simulator._notifications import status_of

    record = {"dismissed_at": None, "notification_type": "hud", "duration": 1.0,
              "created_at": "2026-05-04T09:30:15+00:00"}  # fmt: skip
    assert status_of(record, datetime(2026, 5, 4, 9, 30, 15)) == "active"
    assert status_of(record, datetime(2026, 5, 4, 9, 30, 16)) == "expired"
