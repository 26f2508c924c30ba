"""km_application_control: launch, quit, activate and query applications (not through
Keyboard Maestro: System Events and the applications themselves).

The server reads an application's state from System Events **by process name** (a
bundle id finds no process: ``not_running``) and keeps it for 2 seconds, so a launch
waits, polling every half second, until the state it read expires. Time passes in the
simulator as it does in the server, without waiting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine.simulator.km import system
from engine.simulator.tools._km import escape, in_try
from engine.simulator.tools.context import (
    SE,
    Answer,
    AppleEventError,
    ScriptFailure,
    ToolContext,
    Via,
    failure,
    quoted,
)

__all__ = ["HANDLERS", "handle_application_control"]

BLOCKED = frozenset(
    {"com.apple.keychainaccess", "com.apple.systempreferences", "com.apple.Terminal"}
)
NO_FORCE_QUIT = frozenset({"com.apple.finder", "com.apple.dock", "com.apple.systemuiserver"})
BUNDLE_ID = re.compile(r"^[a-zA-Z0-9\.\-]+$")
SUSPICIOUS_BUNDLE = tuple(
    re.compile(p, re.IGNORECASE) for p in (r"\.\.", r"--", r"^\.", r"script", r"shell", r"exec")
)
POLL_SECONDS = 0.5
CHECK_POLICY = "Check the app name/bundle ID and that the app is allowed by security policy."
# Where the server's scripts name the application (offsets in its script text, which
# osascript reports when the name does not compile): `tell application "…"` in its launch
# and quit scripts, `tell application id "…"` in its launch by bundle id, and `kill` in
# its force quit (it always fails to compile: "kill" is no command of System Events).
NAMED_AT, ACTIVATE_AT, BUNDLE_AT, KILL_AT = 22, 18, 224, 150


class _Failed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def handle_application_control(ctx: ToolContext) -> Answer:
    """km_application_control: list_running, or the identifier's checks and the operation."""
    operation: str = ctx.args["operation"]
    if operation == "list_running":
        return _list_running(ctx)
    given: str | None = ctx.args["app_identifier"]
    if not given or not given.strip():
        return failure(
            "VALIDATION_ERROR",
            "app_identifier is required for this operation.",
            "Pass an application name like 'Safari' or a bundle ID like 'com.apple.Safari'.",
        )
    app = given.strip()
    bundle = "." in app and " " not in app
    if bundle and not BUNDLE_ID.match(app):
        return failure(
            "VALIDATION_ERROR",
            f"Invalid app identifier: Invalid bundle ID format: {app}",
            "Use a plain app name or a dotted bundle ID (com.vendor.App).",
        )
    if operation == "get_state":
        return {"success": True, "data": {"app": given, "state": _state(ctx, app)}}
    start = ctx.elapsed
    try:
        state, details = OPERATIONS[operation](ctx, app, bundle)
    except _Failed as failed:
        return failure("OPERATION_FAILED", failed.message, CHECK_POLICY)
    return {
        "success": True,
        "data": {
            "app": given,
            "operation": operation,
            "state": state,
            "duration_seconds": ctx.elapsed - start,
            "details": details,
        },
    }


def _list_running(ctx: ToolContext) -> Answer:
    def names() -> str:
        return ", ".join(str(p["name"]) for p in system.visible_processes(ctx.km))

    try:
        output = ctx.osascript("", names, via=Via.UNCHECKED, apps=(SE,))
    except ScriptFailure as problem:
        reason = problem.message.removeprefix("AppleScript execution error: ")
        return failure(
            "APPLESCRIPT_FAILED",
            f"Failed to list running applications: Failed to get running applications: {reason}",
            "Ensure System Events accessibility permission is granted.",
        )
    return {
        "success": True,
        "data": {"running": [n.strip() for n in output.split(",") if n.strip()]},
    }


def _state(ctx: ToolContext, app: str) -> str:
    """What System Events says of process ``app`` (remembered for 2 seconds)."""
    moment = ctx.epoch()
    cached = ctx.server.cached(ctx.server.app_states, app, moment)
    if cached is not None:
        return str(cached)

    def ask() -> str:
        process = system.process_named(ctx.km, app)
        if process is None:
            return "not_running"
        return "foreground" if process.get("frontmost") else "background"

    try:
        state = ctx.osascript("", ask, via=Via.UNCHECKED, apps=(SE,)).lower()
    except ScriptFailure:
        state = "unknown"
    ctx.server.app_states[app] = [state, moment]
    return state


def _script(ctx: ToolContext, action: Callable[[], str]) -> None:
    """One of the controller's scripts. (Its "<What> failed: …" answers, for errors while the
    script runs, cannot happen in the model: only compiling it fails.)"""
    try:
        ctx.osascript("", in_try(action), via=Via.UNCHECKED)
    except ScriptFailure as problem:
        raise _Failed(problem.message) from None


def _named(ctx: ToolContext, app: str, at: int) -> dict[str, Any]:
    """The application ``tell application "app"`` names, or the compile error osascript
    reports for one that is not installed."""
    found = system.application(ctx.km, name=app)
    if found is None:
        written = len(f'application "{escape(app)}"')
        raise AppleEventError(-1728, f"Can’t get application {quoted(app)}.", syntax=True,
                              span=(at, at + written))  # fmt: skip
    return found


def _activate(ctx: ToolContext, app: str, bundle: bool) -> tuple[str, str]:
    if _state(ctx, app) == "not_running":
        raise _Failed(f"Cannot activate {app}: not running")
    _script(ctx, lambda: _launched(ctx, _named(ctx, app, ACTIVATE_AT)))
    ctx.server.app_states.pop(app, None)
    return "foreground", f"Activated {app}"


def _launched(ctx: ToolContext, found: dict[str, Any]) -> str:
    system.launch(ctx.km, found, front=True)
    return "SUCCESS"


def _launch(ctx: ToolContext, app: str, bundle: bool) -> tuple[str, str]:
    if app.lower() in BLOCKED:
        raise _Failed(f"Application blocked by security policy: {app}")
    if bundle and (any(p.search(app) for p in SUSPICIOUS_BUNDLE)):
        raise _Failed(f"Invalid bundle ID format: {app}")
    if _state(ctx, app) in ("running", "foreground"):
        return _activate(ctx, app, bundle)
    if bundle:
        _script(ctx, lambda: _launched(ctx, _by_bundle(ctx, app)))
    else:
        _script(ctx, lambda: _launched(ctx, _named(ctx, app, NAMED_AT)))
    start, timeout = ctx.elapsed, float(ctx.args["timeout_seconds"])
    while ctx.elapsed - start < timeout:
        state = _state(ctx, app)
        if state in ("running", "foreground", "background"):
            return state, f"Successfully launched {app}"
        ctx.sleep(POLL_SECONDS)
    raise _Failed(f"Application launch timeout: {app}")


def _by_bundle(ctx: ToolContext, bundle_id: str) -> dict[str, Any]:
    found = system.application(ctx.km, bundle_id=bundle_id)
    if found is None:
        at = BUNDLE_AT + len(escape(bundle_id))
        written = len(f'application id "{escape(bundle_id)}"')
        raise AppleEventError(-1728, f"Can’t get application id {quoted(bundle_id)}.",
                              syntax=True, span=(at, at + written))  # fmt: skip
    return found


def _quit(ctx: ToolContext, app: str, bundle: bool) -> tuple[str, str]:
    if _state(ctx, app) == "not_running":
        return "not_running", "Application not running"
    force: bool = ctx.args["force_quit"]
    if force and app.lower() in NO_FORCE_QUIT:
        raise _Failed(f"Force quit not allowed for {app}")
    if force:
        at = KILL_AT + len(escape(app))
        _script(ctx, lambda: _kill(at))
    _script(ctx, lambda: _quitted(ctx, _named(ctx, app, NAMED_AT)))
    start, timeout = ctx.elapsed, float(ctx.args["timeout_seconds"])
    while ctx.elapsed - start < timeout:
        if _state(ctx, app) == "not_running":
            return "not_running", f"Successfully quit {app}"
        ctx.sleep(POLL_SECONDS)
    return _state(ctx, app), f"Successfully quit {app}"


def _kill(at: int) -> str:
    raise AppleEventError(-2740, "A identifier can’t go after this identifier.", syntax=True,
                          span=(at, at + 4))  # fmt: skip


def _quitted(ctx: ToolContext, found: dict[str, Any]) -> str:
    process = system.running(ctx.km, found)
    if process is not None:
        system.quit_process(ctx.km, process)
    return "SUCCESS"


OPERATIONS: dict[str, Callable[[ToolContext, str, bool], tuple[str, str]]] = {
    "launch": _launch,
    "quit": _quit,
    "activate": _activate,
}
HANDLERS = {"km_application_control": handle_application_control}
