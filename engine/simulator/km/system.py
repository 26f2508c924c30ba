"""The Mac around Keyboard Maestro: applications, their windows, notifications and alerts.

>>> from engine.simulator.km.state import KMState
>>> state = KMState(system={"processes": [], "applications": [
...     {"name": "Safari", "bundle_id": "com.apple.Safari"}]})
>>> launch(state, application(state, "Safari"))["frontmost"]
True
>>> [p["name"] for p in visible_processes(state)]
['Safari']
"""

from __future__ import annotations

from typing import Any

from engine.simulator.km.library import same
from engine.simulator.km.state import ENGINE_PROCESS, KMState

# Always running on a Mac: an Apple event to it never launches anything.
ALWAYS_RUNNING = frozenset({"System Events"})

Process = dict[str, Any]


def processes(state: KMState) -> list[Process]:
    return list(state.system["processes"])


def process_named(state: KMState, name: str) -> Process | None:
    return next((p for p in state.system["processes"] if same(p["name"], name)), None)


def visible_processes(state: KMState) -> list[Process]:
    """Processes with a user interface (``background only`` is false)."""
    return [p for p in state.system["processes"] if not p.get("background_only", False)]


def frontmost(state: KMState) -> Process | None:
    return next((p for p in state.system["processes"] if p.get("frontmost")), None)


def application(
    state: KMState, name: str | None = None, bundle_id: str | None = None
) -> dict[str, Any] | None:
    """An installed (or running) application, by name or bundle identifier."""
    candidates = [*state.system["applications"], *state.system["processes"]]
    for app in candidates:
        if name is not None and same(app["name"], name):
            return {"name": app["name"], "bundle_id": app.get("bundle_id", "")}
        if bundle_id is not None and same(app.get("bundle_id", ""), bundle_id):
            return {"name": app["name"], "bundle_id": app.get("bundle_id", "")}
    return None


def running(state: KMState, app: dict[str, Any]) -> Process | None:
    return process_named(state, app["name"])


def launch(state: KMState, app: dict[str, Any], *, front: bool = True) -> Process:
    """Start ``app`` (no windows yet) or find it running; bring it to the front if asked."""
    process = running(state, app)
    if process is None:
        process = {
            "name": app["name"],
            "bundle_id": app.get("bundle_id", ""),
            "frontmost": False,
            "background_only": False,
            "visible": True,
            "windows": [],
        }
        state.system["processes"].append(process)
    if front:
        activate(state, process)
    return process


def receive_event(state: KMState, app_name: str) -> None:
    """An Apple event sent to an application launches it when it is installed and not running
    (in the background; the Engine as a background-only process), as AppleScript does."""
    if app_name in ALWAYS_RUNNING or process_named(state, app_name) is not None:
        return
    found = application(state, name=app_name)
    if found is None:
        return
    process = launch(state, found, front=False)
    if same(app_name, ENGINE_PROCESS):
        process["background_only"] = True


def activate(state: KMState, process: Process) -> None:
    for other in state.system["processes"]:
        other["frontmost"] = other is process
    process["visible"] = True


def quit_process(state: KMState, process: Process) -> None:
    state.system["processes"].remove(process)


def windows(process: Process) -> list[dict[str, Any]]:
    return list(process.get("windows", []))


def notify(
    state: KMState, message: str, title: str = "", subtitle: str = "", sound: str = ""
) -> None:
    """``display notification``: it appears, and nothing comes back."""
    state.record(
        "notifications", {"message": message, "title": title, "subtitle": subtitle, "sound": sound}
    )


def alert(
    state: KMState,
    title: str,
    message: str,
    buttons: list[str],
    default: str | None,
    giving_up: float | None,
) -> str:
    """``display alert``: the button the user clicks (the seed may choose; else the default)."""
    choice = state.system.get("alert_button")
    shown = buttons or ["OK"]
    clicked = choice if choice in shown else (default if default in shown else shown[-1])
    state.record(
        "alerts",
        {
            "title": title,
            "message": message,
            "buttons": shown,
            "clicked": clicked,
            "giving_up_after": giving_up,
        },
    )
    return str(clicked)
