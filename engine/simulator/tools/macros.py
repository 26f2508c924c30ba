"""km_list_macros and km_execute_macro: Keyboard Maestro's macros, listed and run.

The listing is one AppleScript that collects every group's macros; the server reads
osascript's record text back (so a macro named ``42`` is listed with the name 42, and
``, `` or ``:`` in a name breaks the record), filters and sorts it. Running a macro is
the Engine's ``do script``: by UUID it runs any macro, by name only one that is enabled,
in an enabled and active group; when a name fails that way the server looks the name up
in the listing and runs the macro by its UUID.
"""

from __future__ import annotations

from typing import Any

from engine.simulator.km import engine as km_engine
from engine.simulator.tools._km import KMProblem, in_try, is_uuid, list_macros, uuid_of_name
from engine.simulator.tools.context import (
    KME,
    SERVER_VERSION,
    Answer,
    ToolContext,
    Via,
    failure,
    invalid,
)

__all__ = ["HANDLERS", "handle_execute_macro", "handle_list_macros"]

NO_MATCHING_NAME = "no macros with a matching name"


_SORT_KEYS: dict[str, Any] = {
    "name": lambda m: m.get("name", "").lower(),
    "last_used": lambda m: m.get("last_used") or "1970-01-01T00:00:00Z",
    "created_date": lambda m: m.get("created_date") or "1970-01-01T00:00:00Z",
    "group": lambda m: m.get("group", "").lower(),
}


def handle_list_macros(ctx: ToolContext) -> Answer:
    """km_list_macros: filter (in the listing), sort, then limit."""
    group_filters: list[str] | None = ctx.args["group_filters"]
    group_filter: str | None = ctx.args["group_filter"]
    enabled_only, sort_by, limit = ctx.args["enabled_only"], ctx.args["sort_by"], ctx.args["limit"]
    if group_filter is not None:
        group_filters = [group_filter] if group_filters is None else [*group_filters, group_filter]
    try:
        macros = list_macros(ctx, group_filters, enabled_only=enabled_only)
    except KMProblem as problem:
        error = problem.error
        return failure(
            "KM_CONNECTION_FAILED",
            error.message,
            "Ensure Keyboard Maestro is running and accessible. For AppleScript access, grant "
            "accessibility permissions. For Web API, enable web server on port 4490.",
            details=f"KMError(code='{error.code}', message='{error.message}', "
            "details=None, retry_after=None)",
        )
    if sort_by in _SORT_KEYS:
        try:
            macros.sort(key=_SORT_KEYS[sort_by])
        except (AttributeError, TypeError):  # a name read back as a number
            return failure(
                "SYSTEM_ERROR",
                "Unexpected system error occurred",
                "Check logs and ensure Keyboard Maestro is running. Try restarting the MCP "
                "server if the issue persists.",
                details="Contact support",
            )
    shown = macros[:limit]
    return {
        "success": True,
        "data": {
            "macros": shown,
            "total_count": len(macros),
            "filtered": group_filters is not None or enabled_only,
            "pagination": {"limit": limit, "returned": len(shown), "has_more": len(macros) > limit},
        },
        "metadata": {
            "timestamp": ctx.utc_timestamp(),
            "server_version": SERVER_VERSION,
            "data_source": "keyboard_maestro_live",
            "connection_method": "applescript_with_web_fallback",
            "query_params": {
                "group_filters": group_filters,
                "group_filter": group_filter,
                "enabled_only": enabled_only,
                "sort_by": sort_by,
            },
        },
    }


def handle_execute_macro(ctx: ToolContext) -> Answer:
    """km_execute_macro: the engine check, ``do script``, and the name-to-UUID retry."""
    identifier: str = ctx.args["identifier"]
    trigger_value: str | None = ctx.args["trigger_value"]
    method: str = ctx.args["method"]
    if not identifier.strip():
        return failure(
            "INVALID_PARAMETER",
            invalid("identifier", identifier, "cannot be empty"),
            "Verify macro identifier format and ensure it exists",
            details="Check parameter format and try again",
        )
    clean = identifier.strip()
    trigger = trigger_value[:1000] if trigger_value else None
    if not ctx.engine_running():
        return failure(
            "KM_CONNECTION_FAILED",
            "Cannot connect to Keyboard Maestro Engine",
            "Start Keyboard Maestro and ensure the Engine is running. Check accessibility "
            "permissions if needed.",
            details="Keyboard Maestro Engine is not running or not accessible",
        )
    outcome = _do_script(ctx, clean, trigger)
    retried = False
    if isinstance(outcome, _Failed) and not is_uuid(clean) and NO_MATCHING_NAME in outcome.message:
        uid = uuid_of_name(ctx, clean)
        if uid is not None and not isinstance(retry := _do_script(ctx, uid, trigger), _Failed):
            outcome, clean, identifier, retried = retry, uid, clean, True
    if isinstance(outcome, _Failed):
        return failure(
            "EXECUTION_ERROR",
            outcome.message,
            "Verify macro name exists in Keyboard Maestro and is enabled",
            details=None,
        )
    execution_id = ctx.uuid4()
    data: dict[str, Any] = {
        "execution_id": execution_id,
        "macro_id": clean,
        "macro_name": identifier,
        "execution_time": 0.0,
        "method_used": method,
        "status": "completed",
        "output": outcome,
        "trigger_value": trigger,
    }
    if retried:
        data["name_to_uuid_retry"] = True
    return {
        "success": True,
        "data": data,
        "metadata": {
            "timestamp": ctx.utc_timestamp(),
            "server_version": SERVER_VERSION,
            "correlation_id": execution_id,
        },
    }


class _Failed:
    def __init__(self, message: str) -> None:
        self.message = message


def _do_script(ctx: ToolContext, identifier: str, trigger: str | None) -> str | _Failed:
    """``do script`` inside the server's ``try``: the macro's result, or the error text."""
    if trigger is not None and '"' in trigger:
        # The server escapes the trigger value wrongly (\" becomes \\"): a double quote
        # ends the AppleScript string early and the script does not compile.
        return _Failed("syntax error: Expected end of line but found identifier. (-2741)")

    def run() -> str:
        return km_engine.do_script(ctx.km, identifier, trigger or "")

    output = ctx.osascript("", in_try(run, app=KME), via=Via.SYNC, apps=(KME,)).strip()
    if output.startswith("ERROR:"):
        return _Failed(output[6:].strip())
    return output


HANDLERS = {"km_list_macros": handle_list_macros, "km_execute_macro": handle_execute_macro}
