"""km_window_manager: a process's windows through System Events, and the screens.

Failures are flat (``{success, error: CODE, message, timestamp}``). The identifier names a
System Events process (a bundle id finds none). What the server reads about a window it
keeps for 2 seconds, so the ``window`` of an answer to a change may be the window before
it. Screens come from Quartz on a Mac (the seed's ``system.screens``); without them the
server answers its fallback, one 1280×800 "Default Display (Quartz unavailable)". Every
failure of a move (and of the move inside an arrangement) breaks the server's own
postcondition and is answered as that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine.simulator.km import system
from engine.simulator.tools._km import in_try
from engine.simulator.tools.context import (
    SE,
    Answer,
    ScriptFailure,
    ToolContext,
    Via,
    cant_get,
    quoted,
)

__all__ = ["HANDLERS", "handle_window_manager"]

SUSPICIOUS = tuple(re.compile(p) for p in (r'[<>"|*?]', r"^\s*$", r"\.\./", r"[;&|`$]"))
BUNDLE_ID = re.compile(r"^[a-zA-Z0-9\.\-]+$")
POSTCONDITION = "Postcondition violated: Postcondition failed"
FALLBACK_SCREEN = {"origin": [0, 0], "size": [1280, 800], "main": True,
                   "name": "Default Display (Quartz unavailable)"}  # fmt: skip
MIN_SIZE, MAX_SIDE, MAX_COORDINATE = (100, 50), 8192, 10_000


class _Failed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _flat(ctx: ToolContext, code: str, message: str) -> Answer:
    return {"success": False, "error": code, "message": message, "timestamp": ctx.local_timestamp()}


def handle_window_manager(ctx: ToolContext) -> Answer:
    """km_window_manager: the identifier's checks, then the operation."""
    identifier: str = ctx.args["window_identifier"]
    if any(p.search(identifier) for p in SUSPICIOUS):
        return _flat(
            ctx, "INVALID_IDENTIFIER", f"Invalid application identifier format: {identifier}"
        )
    bundle = "." in identifier and not identifier.startswith(".") and not identifier.endswith(".")
    if bundle and not BUNDLE_ID.match(identifier):
        return _flat(
            ctx, "EXECUTION_ERROR", f"Operation failed: Invalid bundle ID format: {identifier}"
        )
    try:
        return OPERATIONS[ctx.args["operation"]](ctx, identifier)
    except _Failed as problem:
        return _flat(ctx, problem.code, problem.message)


# -- what the server reads ---------------------------------------------------------------------


def screens(ctx: ToolContext) -> list[dict[str, Any]]:
    """The displays as the server lists them (ids in order; the main one named so)."""
    found = [s for s in ctx.km.system.get("screens", []) if isinstance(s, dict)]
    if not found:
        return [{"screen_id": 0, **FALLBACK_SCREEN}]
    return [
        {
            "screen_id": index,
            "origin": list(s.get("origin", [0, 0])),
            "size": list(s.get("size", [1280, 800])),
            "main": bool(s.get("main", False)),
            "name": "Main Display" if s.get("main") else f"Display {index}",
        }
        for index, s in enumerate(found)
    ]


def _target_screen(found: list[dict[str, Any]], target: str) -> dict[str, Any] | None:
    if target == "main":
        return next((s for s in found if s["main"]), found[0])
    if target == "external":
        return next((s for s in found if not s["main"]), None)
    index = int(target)
    return found[index] if index < len(found) else None


def _contains(screen: dict[str, Any], x: int, y: int) -> bool:
    (left, top), (width, height) = screen["origin"], screen["size"]
    return bool(left <= x <= left + width and top <= y <= top + height)


def _window(ctx: ToolContext, app: str, index: int) -> dict[str, Any]:
    """The window's position, size and title (read through the server's 2-second cache)."""
    key, moment = f"{app}:{index}", ctx.epoch()
    cached = ctx.server.cached(ctx.server.windows, key, moment)
    if cached is not None:
        return dict(cached)
    output = _system_events(ctx, lambda: _describe(ctx, app, index)).strip()
    if output == "NO_WINDOWS":
        raise _Failed("VALIDATION_ERROR", f"No windows found for {app}")
    if output.startswith("ERROR:"):
        raise _Failed("EXECUTION_ERROR", f"Window query failed: {output[6:]}")
    parts = [part.strip() for part in output.split(",")]
    x, y, width, height = (int(part) for part in parts[:4])
    title = parts[4] if len(parts) > 4 and parts[4] else None
    problem = _bounds_problem(x, y, width, height)
    if problem is not None:
        raise _Failed("EXECUTION_ERROR", f"Could not parse window bounds for {app}: {problem}")
    info = {"app": app, "index": index, "position": [x, y], "size": [width, height],
            "title": title}  # fmt: skip
    ctx.server.windows[key] = [info, moment]
    return info


def _bounds_problem(x: int, y: int, width: int, height: int) -> str | None:
    for name, value in (("X", x), ("Y", y)):
        if not -MAX_COORDINATE <= value <= MAX_COORDINATE:
            return f"{name} coordinate out of bounds: {value}"
    return _size_problem(width, height)


def _size_problem(width: int, height: int) -> str | None:
    for name, value in (("Width", width), ("Height", height)):
        if value <= 0:
            return f"{name} must be positive: {value}"
    for name, value in (("Width", width), ("Height", height)):
        if value > MAX_SIDE:
            return f"{name} exceeds maximum ({MAX_SIDE}): {value}"
    return None


def _describe(ctx: ToolContext, app: str, index: int) -> str:
    """What the server's query script returns for window ``index`` of process ``app``."""
    process = system.process_named(ctx.km, app)
    if process is None:
        raise cant_get(f"process {quoted(app)}", SE)
    windows = system.windows(process)
    if not windows:
        return "NO_WINDOWS"
    window = _nth(process, index)
    (x, y), (width, height) = window["position"], window["size"]
    return f"{x},{y},{width},{height},{window['title']}"


def _nth(process: system.Process, index: int) -> dict[str, Any]:
    windows: list[dict[str, Any]] = process.get("windows", [])
    if index >= len(windows):
        raise cant_get(f"window {index + 1} of process {quoted(process['name'])}", SE, index=True)
    return windows[index]


def _system_events(ctx: ToolContext, action: Callable[[], str]) -> str:
    """One of the window manager's scripts (inside ``try``: errors become ``ERROR: …``)."""
    try:
        return ctx.osascript("", in_try(action), via=Via.UNCHECKED, apps=(SE,))
    except ScriptFailure as problem:
        raise _Failed("EXECUTION_ERROR", problem.message) from None


def _change(ctx: ToolContext, app: str, index: int, change: Callable[[dict[str, Any]], None],
            what: str) -> None:  # fmt: skip
    """A script that changes window ``index`` of ``app``; ``what`` names it in errors."""

    def run() -> str:
        process = system.process_named(ctx.km, app)
        if process is None:
            raise cant_get(f"process {quoted(app)}", SE)
        change(_nth(process, index))
        return "SUCCESS"

    output = _system_events(ctx, run).strip()
    if output.startswith("ERROR:"):
        raise _Failed("EXECUTION_ERROR", f"{what} failed: {output[6:]}")


def _answer(ctx: ToolContext, operation: str, window: dict[str, Any], start: float,
            details: str, **extra: Any) -> Answer:  # fmt: skip
    out: Answer = {"success": True, "operation": operation, "window": _format(window)}
    if "window_info_source" in extra:
        out["window_info_source"] = extra.pop("window_info_source")
    out["execution_time_ms"] = int((ctx.elapsed - start) * 1000)
    out["details"] = details
    out.update(extra)
    out["timestamp"] = ctx.local_timestamp()
    return out


def _format(window: dict[str, Any]) -> dict[str, Any]:
    (x, y), (width, height) = window["position"], window["size"]
    return {
        "app_identifier": window["app"],
        "window_index": window["index"],
        "position": {"x": x, "y": y},
        "size": {"width": width, "height": height},
        "state": "normal",
        "title": window["title"],
        "bounds": {"x": x, "y": y, "width": width, "height": height},
    }


# -- operations ---------------------------------------------------------------------------------


def _move(ctx: ToolContext, app: str) -> Answer:
    position = ctx.args["position"]
    if not position or "x" not in position or "y" not in position:
        raise _Failed("MISSING_POSITION", "Position coordinates {x, y} required for move operation")
    x, y = position["x"], position["y"]
    problem = _bounds_problem(x, y, 1, 1)
    if problem is not None:
        raise _Failed("INVALID_POSITION", f"Invalid position coordinates: {problem}")
    start = ctx.elapsed
    try:
        window = _moved(ctx, app, x, y, ctx.args["screen"])
    except _Failed:
        # Every failure breaks the move's postcondition (its codes are not the few it
        # allows), and the server answers the contract's violation.
        raise _Failed("EXECUTION_ERROR", f"Operation failed: {POSTCONDITION}") from None
    return _answer(ctx, "move", window, start, f"Moved window to {x},{y}")


def _moved(ctx: ToolContext, app: str, x: int, y: int, target: str) -> dict[str, Any]:
    screen = _target_screen(screens(ctx), target)
    if screen is None or not _contains(screen, x, y):
        raise _Failed("VALIDATION_ERROR", "outside the screen")
    index = ctx.args["window_index"]
    _window(ctx, app, index)
    _change(ctx, app, index, lambda w: w.update(position=[x, y]), "Window move")
    return _window(ctx, app, index)


def _resize(ctx: ToolContext, app: str) -> Answer:
    size = ctx.args["size"]
    if not size or "width" not in size or "height" not in size:
        raise _Failed(
            "MISSING_SIZE", "Size dimensions {width, height} required for resize operation"
        )
    width, height = size["width"], size["height"]
    problem = _size_problem(width, height)
    if problem is not None:
        raise _Failed("INVALID_SIZE", f"Invalid size dimensions: {problem}")
    start = ctx.elapsed
    window = _resized(ctx, app, width, height)
    return _answer(ctx, "resize", window, start, f"Resized window to {width}x{height}")


def _resized(ctx: ToolContext, app: str, width: int, height: int) -> dict[str, Any]:
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise _Failed("VALIDATION_ERROR", f"Invalid window size: {width}x{height}")
    index = ctx.args["window_index"]
    _window(ctx, app, index)
    _change(ctx, app, index, lambda w: w.update(size=[width, height]), "Window resize")
    return _window(ctx, app, index)


STATES = {"minimize": "minimized", "maximize": "maximized", "restore": "normal"}


def _set_state(ctx: ToolContext, app: str) -> Answer:
    state: str = ctx.args["state"] or STATES[ctx.args["operation"]]
    index, start = ctx.args["window_index"], ctx.elapsed
    _window(ctx, app, index)
    if state == "fullscreen":
        raise _Failed("VALIDATION_ERROR", "Unsupported window state: WindowState.FULLSCREEN")
    change = {
        "minimized": {"minimized": True},
        "maximized": {"fullscreen": True},  # the server sets AXFullScreen to maximize
        "normal": {"minimized": False, "fullscreen": False},
    }[state]
    _change(ctx, app, index, lambda w: w.update(change), "Window state change")
    window = _window(ctx, app, index)
    return _answer(ctx, f"set_state_{state}", window, start, f"Set window state to {state}")


def _arrange(ctx: ToolContext, app: str) -> Answer:
    arrangement: str | None = ctx.args["arrangement"]
    if not arrangement:
        raise _Failed("MISSING_ARRANGEMENT", "Arrangement type required for arrange operation")
    target: str = ctx.args["screen"]
    start = ctx.elapsed
    screen = _target_screen(screens(ctx), target)
    if screen is None:
        raise _Failed("VALIDATION_ERROR", f"Invalid screen target: {target}")
    (x, y), (width, height) = _placement(arrangement, screen)
    try:
        _moved(ctx, app, x, y, target)
    except _Failed:
        raise _Failed("EXECUTION_ERROR", f"Window arrangement failed: {POSTCONDITION}") from None
    _resized(ctx, app, width, height)
    window = _window(ctx, app, ctx.args["window_index"])
    return _answer(ctx, f"arrange_{arrangement}", window, start,
                   f"Applied {arrangement} arrangement", window_info_source="post_operation",
                   screen=target)  # fmt: skip


def _placement(arrangement: str, screen: dict[str, Any]) -> tuple[list[int], list[int]]:
    """Where an arrangement puts the window (quarters fall back to the centred 800×600)."""
    (left, top), (width, height) = screen["origin"], screen["size"]
    halves = {
        "left_half": ([left, top], [width // 2, height]),
        "right_half": ([left + width // 2, top], [width // 2, height]),
        "top_half": ([left, top], [width, height // 2]),
        "bottom_half": ([left, top + height // 2], [width, height // 2]),
        "maximize": ([left, top], [width, height]),
    }
    centred = ([left + (width - 800) // 2, top + (height - 600) // 2], [800, 600])
    return halves.get(arrangement, centred)


def _get_info(ctx: ToolContext, app: str) -> Answer:
    window = _window(ctx, app, ctx.args["window_index"])
    return {"success": True, "operation": "get_info", "window": _format(window),
            "timestamp": ctx.local_timestamp()}  # fmt: skip


def _get_screens(ctx: ToolContext, app: str) -> Answer:
    listed = [_screen(s) for s in screens(ctx)]
    return {"success": True, "operation": "get_screens", "screens": listed,
            "screen_count": len(listed), "timestamp": ctx.local_timestamp()}  # fmt: skip


def _screen(screen: dict[str, Any]) -> dict[str, Any]:
    (x, y), (width, height) = screen["origin"], screen["size"]
    return {
        "screen_id": screen["screen_id"],
        "name": screen["name"],
        "is_main": screen["main"],
        "origin": {"x": x, "y": y},
        "size": {"width": width, "height": height},
        "bounds": {"x": x, "y": y, "width": width, "height": height},
        "center": {"x": x + width // 2, "y": y + height // 2},
    }


OPERATIONS: dict[str, Callable[[ToolContext, str], Answer]] = {
    "move": _move,
    "resize": _resize,
    "minimize": _set_state,
    "maximize": _set_state,
    "restore": _set_state,
    "arrange": _arrange,
    "get_info": _get_info,
    "get_screens": _get_screens,
}
HANDLERS = {"km_window_manager": handle_window_manager}
