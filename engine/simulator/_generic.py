"""The answer of every tool the simulator does not model: conformant, validated, changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.simulator._context import Call, ToolFailure

NO_EFFECT = "none: the simulator accepted this call and changed nothing"


def _applications(call: Call) -> dict[str, Any]:
    op = call.args.get("operation")
    if op == "list_running":
        return {"applications": ["Finder", "Keyboard Maestro Engine"]}
    app = call.args.get("app_identifier")
    if not app:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"'app_identifier' is required for operation '{op}'",
            "Pass an application name (e.g. 'Safari') or bundle id (e.g. 'com.apple.Safari').",
            {"field": "app_identifier"},
        )
    state = {"quit": "not_running", "get_state": "not_running"}.get(str(op), "running")
    return {"app_identifier": app, "state": state}


EXTRAS: dict[str, Callable[[Call], dict[str, Any]]] = {
    "km_app_control": _applications,
}


def handle_generic(call: Call) -> dict[str, Any]:
    """Echo the tool, its operation and its validated arguments (defaults filled in)."""
    data: dict[str, Any] = {
        "tool": call.tool,
        "operation": call.args.get("operation"),
        "arguments": call.args,
        "simulated_effect": NO_EFFECT,
    }
    extra = EXTRAS.get(call.tool)
    if extra is not None:
        data.update(extra(call))
    return data
