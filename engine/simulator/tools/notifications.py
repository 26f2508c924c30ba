"""km_notifications, km_notification_status and km_dismiss_notifications.

Notifications are macOS's (``display notification``, ``display alert``), not Keyboard
Maestro's; the server remembers the ``notification`` kind it showed (only those) as
"active" until dismissed. A HUD is a notification after which the server waits for the
duration (at most 10 s: time passes in the simulator, nothing waits). A sound plays a
file of ``/System/Library/Sounds`` with ``afplay``: the seed's ``system.sounds`` says which
are installed (none on the machine the server was recorded on).
"""

from __future__ import annotations

import re
from typing import Any

from engine.simulator._state import MAX_ACTIVE_NOTIFICATIONS
from engine.simulator.km import system
from engine.simulator.tools.context import (
    Answer,
    AppleEventError,
    ScriptFailure,
    ToolContext,
    failure,
    quoted,
)

__all__ = ["HANDLERS", "handle_dismiss", "handle_notification_status", "handle_notify"]

SYSTEM_SOUNDS = frozenset(
    {"default", "glass", "hero", "morse", "ping", "pop", "purr", "sosumi", "submarine",
     "tink", "bottle", "basso", "blow", "frog", "funk", "temple"}
)  # fmt: skip
NAMED_IN_NOTIFICATIONS = ("default", "glass", "hero", "morse")
UNSAFE_CONTENT = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (r"<script", r"javascript:", r"on\w+\s*=", r"eval\s*\(", r"exec\s*\(",
              r"system\s*\(", r"`", r"\$\(")
)  # fmt: skip
HUD_SECONDS, HUD_LONGEST, SOUND_SECONDS = 3.0, 10.0, 0.5
CHECK_SETTINGS = "Check system permissions and notification settings"


class _Refused(Exception):
    def __init__(self, code: str, message: str, details: str, suggestion: str) -> None:
        super().__init__(message)
        self.code, self.message, self.details, self.suggestion = (
            code, message, details, suggestion
        )  # fmt: skip


def _failure(ctx: ToolContext, correlation: str, start: float, problem: _Refused) -> Answer:
    answer = failure(problem.code, problem.message, problem.suggestion, details=problem.details)
    return {
        **answer,
        "metadata": {
            "correlation_id": correlation,
            "timestamp": ctx.local_timestamp(),
            "execution_time": ctx.elapsed - start,
            "operation": "display_notification",
            "failure_stage": problem.code.lower(),
        },
    }


def _display_failed(code: str, message: str) -> _Refused:
    return _Refused(code, message, f"Notification display failed: {message}", CHECK_SETTINGS)


def handle_notify(ctx: ToolContext) -> Answer:
    """km_notifications: the specification's checks, the content check, then the display."""
    correlation, start = ctx.uuid4(), ctx.elapsed
    kind: str = ctx.args["notification_type"].lower()
    buttons: list[str] = ctx.args["buttons"] or []
    sound: str | None = ctx.args["sound"]
    if kind == "alert" and not buttons:
        buttons = ["OK"]
    if kind == "sound" and not sound:
        sound = "default"
    spec = {
        "title": ctx.args["title"].strip(),
        "message": ctx.args["message"].strip(),
        "duration": ctx.args["duration"],
        "sound": sound,
        "buttons": buttons,
    }
    try:
        _check(spec)
        if not all(_safe(spec[part]) for part in ("title", "message")):
            raise _display_failed(
                "CONTENT_VALIDATION_ERROR", "Notification content failed safety validation"
            )
        result = DISPLAYS[kind](ctx, spec)
    except _Refused as problem:
        return _failure(ctx, correlation, start, problem)
    return {
        "success": True,
        "data": {
            "notification_id": result["id"],
            "notification_type": ctx.args["notification_type"],
            "title": ctx.args["title"],
            "message": ctx.args["message"],
            "display_time": result["display_time"],
            "user_response": result.get("button"),
            "button_clicked": result.get("button"),
            "dismissed_by_user": result.get("button") is not None,
            "duration": ctx.args["duration"],
            "sound_played": sound is not None,
            "priority": ctx.args["priority"],
            "position": ctx.args["position"] if kind == "hud" else None,
        },
        "metadata": {
            "correlation_id": correlation,
            "timestamp": ctx.local_timestamp(),
            "server_version": "1.0.0",
            "execution_time": ctx.elapsed - start,
            "operation": "display_notification",
            "notification_manager_active_count": len(ctx.server.notifications),
        },
    }


def _check(spec: dict[str, Any]) -> None:
    """The server's NotificationSpec checks (those its schema does not already make)."""
    problem = None
    if not spec["title"]:
        problem = "Title must be 1-100 characters, got 0"
    elif not spec["message"]:
        problem = "Message must be 1-500 characters, got 0"
    elif spec["sound"] and not _valid_sound(spec["sound"]):
        problem = f"Invalid sound specification: {spec['sound']}"
    if problem is not None:
        raise _Refused(
            "SPEC_ERROR",
            problem,
            f"Notification specification error: {problem}",
            "Check input values for length and format requirements",
        )


def _valid_sound(sound: str) -> bool:
    if sound.lower() in SYSTEM_SOUNDS:
        return True
    return sound.startswith("/") and sound.endswith((".aiff", ".wav", ".mp3", ".m4a"))


def _safe(content: str) -> bool:
    return len(content) <= 1000 and not any(p.search(content) for p in UNSAFE_CONTENT)


def _new_id(ctx: ToolContext) -> str:
    ctx.server.notifications_shown += 1
    return f"notification_{ctx.server.notifications_shown}_{int(ctx.epoch())}"


def _show(ctx: ToolContext, spec: dict[str, Any], *, sound: bool) -> str:
    """``display notification`` (the script the server runs, and its effect)."""
    script = f"display notification {quoted(spec['message'])} with title {quoted(spec['title'])}"
    named = sound and spec["sound"] and spec["sound"].lower() in NAMED_IN_NOTIFICATIONS
    if named:
        script += f' sound name "{spec["sound"]}"'

    def display() -> str:
        system.notify(ctx.km, spec["message"], spec["title"], sound=spec["sound"] if named else "")
        return ""

    return ctx.osascript(script, display)


def _notification(ctx: ToolContext, spec: dict[str, Any]) -> dict[str, Any]:
    identifier, begun = _new_id(ctx), ctx.epoch()
    try:
        _show(ctx, spec, sound=True)
    except ScriptFailure as problem:
        # The server's error has no code of its own: one is minted from a fresh uuid4.
        raise _display_failed(
            f"EXECUTION_MACROENGINEERROR_{ctx.uuid4()[:8]}", problem.message
        ) from None
    active = ctx.server.notifications
    active[identifier] = {
        "type": "notification",
        "title": spec["title"],
        "message": spec["message"],
        "priority": ctx.args["priority"],
        "dismissible": ctx.args["dismissible"],
        "start_time": begun,
    }
    while len(active) > MAX_ACTIVE_NOTIFICATIONS:
        del active[next(iter(active))]
    return {"id": identifier, "display_time": ctx.epoch() - begun}


def _alert(ctx: ToolContext, spec: dict[str, Any]) -> dict[str, Any]:
    identifier, begun = _new_id(ctx), ctx.epoch()
    duration = spec["duration"]
    giving_up = max(1, round(duration)) if duration is not None else None
    buttons: list[str] = spec["buttons"]
    lines = [
        f"display alert {quoted(spec['title'])} ¬",
        f"message {quoted(spec['message'])} ¬",
        "buttons {" + ", ".join(f'"{label}"' for label in buttons) + "} ¬",
        "default button 1" + (f" ¬\ngiving up after {giving_up}" if giving_up else ""),
    ]

    def ask() -> str:
        if any('"' in label for label in buttons):
            # Button labels go into the script unescaped: a double quote breaks it.
            raise AppleEventError(-2741, "Expected “}” but found identifier.", syntax=True)
        clicked = system.alert(ctx.km, spec["title"], spec["message"], buttons, buttons[0],
                               float(giving_up) if giving_up else None)  # fmt: skip
        return f"button returned:{clicked}" + (", gave up:false" if giving_up else "")

    try:
        output = ctx.osascript("\n".join(lines), ask)
    except ScriptFailure as problem:
        raise _display_failed(
            "ALERT_DIALOG_ERROR", f"Alert dialog AppleScript failed: {problem.message}"
        ) from None
    button = output.split("button returned:")[1].strip().strip('"')
    return {"id": identifier, "display_time": ctx.epoch() - begun, "button": button}


def _hud(ctx: ToolContext, spec: dict[str, Any]) -> dict[str, Any]:
    identifier, begun = _new_id(ctx), ctx.epoch()
    try:
        _show(ctx, spec, sound=False)
    except ScriptFailure as problem:
        raise _display_failed(
            "HUD_DISPLAY_ERROR", f"HUD AppleScript failed: {problem.message}"
        ) from None
    ctx.sleep(min(spec["duration"] or HUD_SECONDS, HUD_LONGEST))
    return {"id": identifier, "display_time": ctx.epoch() - begun}


def _sound(ctx: ToolContext, spec: dict[str, Any]) -> dict[str, Any]:
    identifier, begun = _new_id(ctx), ctx.epoch()
    sound: str = spec["sound"]
    installed = {str(name).lower() for name in ctx.km.system.get("sounds", [])}
    if "/" in sound or sound.title().lower() not in installed:
        raise _display_failed(
            "SOUND_FILE_NOT_FOUND", f"Unknown system sound or unreadable file: {sound}"
        )
    ctx.sleep(SOUND_SECONDS)  # afplay plays it to the end
    return {"id": identifier, "display_time": ctx.epoch() - begun}


DISPLAYS = {"notification": _notification, "alert": _alert, "hud": _hud, "sound": _sound}


def handle_notification_status(ctx: ToolContext) -> Answer:
    """km_notification_status: what the server remembers (one notification, or all)."""
    correlation, start = ctx.uuid4(), ctx.elapsed
    active = ctx.server.notifications
    wanted: str | None = ctx.args["notification_id"]
    metadata = {"correlation_id": correlation, "timestamp": ctx.local_timestamp(),
                "execution_time": ctx.elapsed - start}  # fmt: skip
    if wanted:
        record = active.get(wanted)
        if record is None:
            return _failure(
                ctx,
                correlation,
                start,
                _Refused(
                    "NOT_FOUND",
                    f"Notification not found: {wanted}",
                    "The specified notification ID is not in the active notifications list",
                    "Check that the notification ID is correct and that the notification is "
                    "currently active",
                ),
            )
        data: dict[str, Any] = {"notification_id": wanted, **_described(record, full=True)}
        return {"success": True, "data": data, "metadata": metadata}
    listed = [{"notification_id": key, **_described(r, full=False)} for key, r in active.items()]
    return {
        "success": True,
        "data": {"active_count": len(active), "notifications": listed},
        "metadata": metadata,
    }


def _described(record: dict[str, Any], *, full: bool) -> dict[str, Any]:
    out = {"type": record["type"], "title": record["title"]}
    if full:
        out["message"] = record["message"]
    out.update(priority=record["priority"], dismissible=record["dismissible"])
    if full:
        out["active"] = True
    out["start_time"] = record["start_time"]
    return out


def handle_dismiss(ctx: ToolContext) -> Answer:
    """km_dismiss_notifications: forget one notification (an unknown id is ``success:
    false`` without an error), or all of them."""
    correlation, start = ctx.uuid4(), ctx.elapsed
    active = ctx.server.notifications
    wanted: str | None = ctx.args["notification_id"]
    if wanted:
        found = active.pop(wanted, None) is not None
        data: dict[str, Any] = {"notification_id": wanted, "dismissed": found}
        success = found
    else:
        data = {"dismissed_count": len(active), "dismissed_all": True}
        active.clear()
        success = True
    return {
        "success": success,
        "data": data,
        "metadata": {
            "correlation_id": correlation,
            "timestamp": ctx.local_timestamp(),
            "execution_time": ctx.elapsed - start,
        },
    }


HANDLERS = {
    "km_notifications": handle_notify,
    "km_notification_status": handle_notification_status,
    "km_dismiss_notifications": handle_dismiss,
}
