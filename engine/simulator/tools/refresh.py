"""km_refresh_action_templates: re-capture the server's action templates from the editor.

The real scrape empties a scratch macro, then drives Keyboard Maestro's editor (the Insert
Action menus, keystrokes) to insert each action and read its XML back, and merges what it
captured into the server's template file. The model has no editor menus: as in the
recordings (made with the same model), every category is skipped, nothing is captured,
and the answer lists the server's templates (``engine/data/km_action_catalog.json``) as
unchanged. What happens before the menus is modelled: the checks, resolving a macro name
to its UUID, and emptying the scratch macro.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.simulator.km import library
from engine.simulator.tools._km import is_uuid, uuid_of_name
from engine.simulator.tools.catalog import catalog
from engine.simulator.tools.context import (
    KM,
    Answer,
    ScriptFailure,
    ToolContext,
    Via,
    cant_get,
    failure,
)

__all__ = ["HANDLERS", "handle_refresh_templates"]

SCRAPE_HINT = (
    "Check Accessibility permission for osascript and confirm the macro_id exists. "
    "Re-run with limit=3 to localize the failure."
)


class _ScrapeFailed(Exception):
    """The scrape stopped (the server answers SCRAPE_FAILED with this text)."""


def _clear(ctx: ToolContext, macro_id: str) -> None:
    """The scrape's first step: delete every action of the scratch macro (by its id)."""
    statement = f'set m to first macro whose id is "{macro_id}"'
    script = (
        f'tell application "{KM}"\n            {statement}\n'
        "            repeat while (count of actions of m) > 0\n"
        "                delete action 1 of m\n            end repeat\n        end tell"
    )

    def clear() -> str:
        found = library.macro_by_uid(ctx.km, macro_id)
        if found is None:
            raise cant_get(f'macro 1 whose id = "{macro_id}"', KM, index=True)
        macro = found[1]
        if macro["actions"]:  # each "delete action 1" changes the macro
            macro["actions"].clear()
            library.touch(ctx.km, macro)
        return ""

    try:
        ctx.osascript(script, clear, via=Via.SYNC, apps=(KM,), statement=statement)
    except ScriptFailure as problem:
        # The script runs through subprocess: no osascript raises; a failed run is reported
        # with osascript's error output.
        raise _ScrapeFailed(
            problem.message if not problem.stderr else f"osascript failed: {problem.stderr}"
        ) from None


def handle_refresh_templates(ctx: ToolContext) -> Answer:
    """km_refresh_action_templates: confirm, resolve the scratch macro, run the scrape."""
    correlation = ctx.uuid4()
    macro_id: str = ctx.args["macro_id"]
    if not ctx.args["confirm"]:
        return failure(
            "VALIDATION_ERROR",
            "confirm=true is required to run the scrape.",
            "This tool takes over the KM editor. Pass confirm=true once you have a scratch "
            "macro and you're not actively editing.",
        )
    resolved = macro_id.strip()
    if not is_uuid(resolved):
        found = uuid_of_name(ctx, resolved)
        if found is None:
            return failure(
                "SCRATCH_MACRO_NOT_FOUND",
                f"No macro found matching name {macro_id!r}.",
                "Pass the macro UUID directly, or create the scratch macro first with "
                "km_create_macro.",
            )
        resolved = found
    try:
        _clear(ctx, resolved)
    except _ScrapeFailed as failed:
        return failure("SCRAPE_FAILED", str(failed), SCRAPE_HINT)
    # Each category's Insert Action menu: not modelled, so each one is skipped.
    templates: list[str] = catalog()["templates"]
    entries: int = catalog()["template_file_entries"]
    data: dict[str, Any] = {
        "diff": {"captured_before": entries, "captured_after": entries},
        "added": [],
        "unchanged": sorted(templates),
        "removed": [],
        "total_after": len(templates),
        "resolved_macro_id": resolved,
    }
    return {
        "success": True,
        "data": data,
        "metadata": {"timestamp": ctx.utc_timestamp(), "correlation_id": correlation},
    }


HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_refresh_action_templates": handle_refresh_templates,
}
