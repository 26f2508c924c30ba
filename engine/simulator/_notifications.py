"""Notifications: km_notifications records them, km_notification_status and dismiss read them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine.simulator._context import Call, ToolFailure, did_you_mean
from engine.simulator._legacy_state import MAX_NOTIFICATIONS

HUD_SECONDS = 2.0  # how long a HUD stays when no duration is given


def status_of(record: dict[str, Any], now: datetime) -> str:
    """active, dismissed, expired, responded (alerts) or played (sounds), as of ``now``."""
    if record["dismissed_at"] is not None:
        return "dismissed"
    kind = record["notification_type"]
    if kind == "sound":
        return "played"
    if kind == "alert":
        return "responded"
    seconds = record["duration"] or (HUD_SECONDS if kind == "hud" else None)
    if seconds is not None:
        shown = datetime.fromisoformat(record["created_at"])
        if _comparable(now, shown) >= shown + timedelta(seconds=seconds):
            return "expired"
    return "active"


def _comparable(now: datetime, other: datetime) -> datetime:
    # A clock may give naive or aware datetimes; compare like with like.
    if (now.tzinfo is None) != (other.tzinfo is None):
        return now.replace(tzinfo=other.tzinfo)
    return now


def _view(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {**record, "status": status_of(record, now)}


def handle_notify(call: Call) -> dict[str, Any]:
    """km_notifications: record the notification; alerts are answered with their first button."""
    number = call.next_number("notification")
    kind = call.args["notification_type"]
    buttons = call.args.get("buttons") or (["OK"] if kind == "alert" else [])
    record = {
        "notification_id": f"sim-notification-{number:06d}",
        "notification_type": kind,
        "title": call.args["title"],
        "message": call.args["message"],
        "sound": call.args.get("sound"),
        "duration": call.args.get("duration"),
        "buttons": buttons,
        "position": call.args["position"],
        "priority": call.args["priority"],
        "dismissible": call.args["dismissible"],
        "button_clicked": buttons[0] if kind == "alert" else None,
        "created_at": call.timestamp,
        "dismissed_at": None,
    }
    table = call.state.notifications
    table[record["notification_id"]] = record
    for old in list(table)[: max(0, len(table) - MAX_NOTIFICATIONS)]:
        del table[old]
    return {
        **_view(record, call.now),
        "displayed": True,
        "simulated_effect": "recorded; nothing was shown on screen",
    }


def _find(call: Call, notification_id: str) -> dict[str, Any]:
    record = call.state.notifications.get(notification_id)
    if record is None:
        raise ToolFailure(
            "NOT_FOUND",
            f"notification '{notification_id}' not found",
            "Use an id returned by km_notifications, or leave out notification_id to see "
            f"all active notifications.{did_you_mean(notification_id, call.state.notifications)}",
            {"notification_id": notification_id},
        )
    return record


def handle_notification_status(call: Call) -> dict[str, Any]:
    """km_notification_status: one notification, or every active one."""
    wanted = call.args.get("notification_id")
    if wanted:
        return _view(_find(call, wanted), call.now)
    views = [_view(r, call.now) for r in call.state.notifications.values()]
    active = [v for v in views if v["status"] == "active"]
    return {"active_notifications": active, "active_count": len(active), "total_sent": len(views)}


def handle_dismiss(call: Call) -> dict[str, Any]:
    """km_dismiss_notifications: dismiss one notification, or every active one."""
    wanted = call.args.get("notification_id")
    records = [_find(call, wanted)] if wanted else list(call.state.notifications.values())
    dismissed = []
    for record in records:
        if status_of(record, call.now) == "active":
            record["dismissed_at"] = call.timestamp
            dismissed.append(record["notification_id"])
    if dismissed:
        call.touch()
    data: dict[str, Any] = {"dismissed": dismissed, "dismissed_count": len(dismissed)}
    if wanted and not dismissed:
        data["already_inactive"] = status_of(records[0], call.now)
    return data
