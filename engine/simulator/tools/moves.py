"""km_move_macro_to_group: the server's checked move of a macro into another group.

The server (optionally) makes the group, finds the macro's group, checks the target exists
and differs, notes a macro of the same name there (ignoring case, as AppleScript compares
text), moves the macro, and reads its group back: a target given in another case than
the group's name is found for the move but not recognised by that check, so the move is
undone and reported as failed.

>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> state, now = SimulatorState.seeded(), datetime(2026, 5, 4, tzinfo=UTC)
>>> def move(macro, group):
...     args = {"macro_identifier": macro, "target_group": group,
...         "create_group_if_missing": False, "preserve_group_settings": True,
...         "timeout_seconds": 30}
...     return handle_move_macro(ToolContext("km_move_macro_to_group", args, state, now))
>>> move("Hello World", "Global Macro Group")["data"]["conflicts_resolved"]
[]
>>> move("Hello World", "examples")["error"]["message"]
'Move verification failed: macro in Examples, expected examples'
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from engine.simulator.km import library
from engine.simulator.tools._km import (
    KMError,
    KMProblem,
    escape,
    find_group,
    find_macro,
    group_selector,
    macro_selector,
    run_guarded,
)
from engine.simulator.tools.context import Answer, ToolContext, failure

__all__ = ["HANDLERS"]


def _find_source(ctx: ToolContext, macro_id: str) -> tuple[str, str]:
    """The macro's group (UID, name); NOT_FOUND_ERROR "Macro not found: …"."""

    def look() -> str:
        group, macro = find_macro(ctx.km, macro_id)
        enabled = "true" if macro["enabled"] else "false"
        return f"SUCCESS:{group['uid']}:{group['name']}:{macro['name']}:{enabled}"

    output = run_guarded(ctx, f"set foundMacro to {macro_selector(macro_id)}", look)
    if output.startswith("ERROR:"):
        raise KMProblem(KMError("NOT_FOUND_ERROR", f"Macro not found: {macro_id}"))
    parts = output[8:].split(":", 4)
    if len(parts) < 4:
        raise KMProblem(KMError("EXECUTION_ERROR", "Invalid macro lookup response"))
    return parts[0], parts[1]


def _group_exists(ctx: ToolContext, group_id: str) -> bool:
    def look() -> str:
        find_group(ctx.km, group_id)
        return "SUCCESS"

    output = run_guarded(ctx, f"set targetGroup to {group_selector(group_id)}", look)
    return not output.startswith("ERROR:")


def _make_group(ctx: ToolContext, name: str) -> None:
    script = f'make new macro group with properties {{name:"{escape(name)}"}}'

    def make() -> str:
        library.create_group(ctx.km, name)
        return "SUCCESS: Group created"

    output = run_guarded(ctx, script, make)
    if output.startswith("ERROR:"):
        raise KMProblem(KMError("EXECUTION_ERROR", output[6:]))


def _name_collision(ctx: ToolContext, macro_id: str, group_id: str) -> bool:
    def look() -> str:
        group = find_group(ctx.km, group_id)
        name = find_macro(ctx.km, macro_id)[1]["name"]
        if any(library.same(m["name"], name) for m in group["macros"]):
            return "CONFLICT: Name collision"
        return "SUCCESS: No conflicts"

    script = f"set targetGroup to {group_selector(group_id)}\n{macro_selector(macro_id)}"
    output = run_guarded(ctx, script, look)
    if output.startswith("ERROR:"):
        raise KMProblem(KMError("EXECUTION_ERROR", output[6:]))
    return output.startswith("CONFLICT:")


def _move(ctx: ToolContext, macro_id: str, group_id: str) -> None:
    def move() -> str:
        macro = find_macro(ctx.km, macro_id)[1]
        library.move_macro(ctx.km, macro, find_group(ctx.km, group_id))
        return "SUCCESS: Macro moved"

    script = f"set sourceMacro to {macro_selector(macro_id)}\n{group_selector(group_id)}"
    output = run_guarded(ctx, script, move)
    if output.startswith("ERROR:"):
        raise KMProblem(KMError("EXECUTION_ERROR", output[6:]))


def move_macro(ctx: ToolContext, macro_id: str, target: str, *, create: bool) -> dict[str, Any]:
    """KMClient.move_macro_to_group_async: ``{source_group, target_group, conflicts}``."""
    if create and not _group_exists(ctx, target):
        _make_group(ctx, target)
    source_uid, source_name = _find_source(ctx, macro_id)
    if not _group_exists(ctx, target):
        raise KMProblem(KMError("NOT_FOUND_ERROR", f"Target group not found: {target}"))
    if target in (source_uid, source_name):
        raise KMProblem(
            KMError("VALIDATION_ERROR", f"Macro {macro_id} is already in group {target}")
        )
    conflicts = ["name_collision"] if _name_collision(ctx, macro_id, target) else []
    _move(ctx, macro_id, target)
    try:
        now_uid, now_name = _find_source(ctx, macro_id)
    except KMProblem:
        _undo(ctx, macro_id, source_uid)
        raise KMProblem(
            KMError("EXECUTION_ERROR", "Move verification failed: macro not found")
        ) from None
    if target not in (now_uid, now_name):
        _undo(ctx, macro_id, source_uid)
        raise KMProblem(
            KMError(
                "EXECUTION_ERROR",
                f"Move verification failed: macro in {now_name or now_uid}, expected {target}",
            )
        )
    return {"source_group": source_uid, "target_group": target, "conflicts": conflicts}


def _undo(ctx: ToolContext, macro_id: str, group_uid: str) -> None:
    with suppress(KMProblem):  # the server's rollback reports nothing either
        _move(ctx, macro_id, group_uid)


def handle_move_macro(ctx: ToolContext) -> Answer:
    """km_move_macro_to_group: the move, with the server's checks and metadata."""
    args = ctx.args
    correlation = ctx.uuid4()
    create = args["create_group_if_missing"]
    metadata = {
        "correlation_id": correlation,
        "timestamp": ctx.local_timestamp(),
        "execution_time": 0.0,
        "operation": "move_macro_to_group",
    }
    try:
        moved = move_macro(
            ctx, args["macro_identifier"].strip(), args["target_group"].strip(), create=create
        )
    except KMProblem as problem:
        error = problem.error
        suggestion = "Verify the macro exists and the target group is accessible."
        answer = failure(error.code, error.message, suggestion, details=error.message)
        return {**answer, "metadata": metadata}
    return {
        "success": True,
        "data": {
            "macro_identifier": args["macro_identifier"],
            "source_group": moved["source_group"],
            "target_group": moved["target_group"],
            "operation_time": 0.0,
            "conflicts_resolved": moved["conflicts"],
            "group_created": create,
        },
        "metadata": metadata,
    }


HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_move_macro_to_group": handle_move_macro,
}
