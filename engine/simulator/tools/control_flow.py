"""km_control_flow: append an If Then Else, For, While, Until, Try/Catch or Switch action.

The server checks every call the same way first (``_flow_checks``), then writes the action:
``condition`` is a variable name unless prefixed ``app:``, ``text:`` or ``calc:``; inner
actions are ``{type, …settings}`` as km_action_builder's append takes them.

>>> condition_kind(" CALC:Counter > 50"), bare_condition(" CALC:Counter > 50")
('calculation', 'Counter > 50')
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from engine.simulator.tools._flow_checks import Refusal, check, collection_kinds, invalid_call
from engine.simulator.tools._flow_xml import (
    CASE_CONDITIONS,
    SWITCH_SOURCES,
    case_xml,
    collection_xml,
    for_xml,
    loop_xml,
    switch_xml,
    try_catch_xml,
)
from engine.simulator.tools._km import KMProblem, append_action
from engine.simulator.tools.actions import render_action
from engine.simulator.tools.conditions import condition_xml, if_then_else_xml
from engine.simulator.tools.context import Answer, ServerCrash, ToolContext, failure

__all__ = ["HANDLERS", "bare_condition", "condition_kind", "handle_control_flow"]

PREFIXES = {"app:": "application", "text:": "text", "calc:": "calculation"}
RENDER_HINT = "Check operator/condition_type/inner action_type."


def condition_kind(expression: str) -> str:
    """The condition kind a ``condition`` names by its prefix (``variable`` without one)."""
    lowered = expression.strip().lower()
    return next(
        (kind for prefix, kind in PREFIXES.items() if lowered.startswith(prefix)), "variable"
    )


def bare_condition(expression: str) -> str:
    """``condition`` without its prefix."""
    stripped = expression.strip()
    prefix = next((p for p in PREFIXES if stripped.lower().startswith(p)), "")
    return stripped[len(prefix) :].strip() if prefix else stripped


def _condition(ctx: ToolContext, expression: str) -> tuple[str, str]:
    """``(kind, condition XML)``: the operand joins a variable or text condition's name as
    ``Name=operand``; other kinds test the operand (or the expression without one)."""
    kind, bare, operand = (
        condition_kind(expression),
        bare_condition(expression),
        ctx.args["operand"],
    )
    if operand is not None and kind in ("variable", "text"):
        composed = f"{bare}={operand}"
    else:
        composed = operand or bare
    xml = condition_xml(
        kind,
        ctx.args["operator"],
        composed,
        case_sensitive=ctx.args["case_sensitive"],
        negate=ctx.args["negate"],
    )
    return kind, xml


def _each(actions: Any) -> Iterator[Any]:
    """Iterate as Python's ``for`` does over a JSON value (an object yields its keys)."""
    if isinstance(actions, list | dict | str):
        yield from actions
        return
    raise ServerCrash(f"'{type(actions).__name__}' object is not iterable")


def inner_actions(ctx: ToolContext, actions: Any) -> str:
    """The action ``<dict>``s of ``[{type, …settings}]``; ValueError for one the action
    builder cannot write."""
    if not actions:
        return ""
    pieces = []
    for action in _each(actions):
        if not isinstance(action, dict):
            raise ServerCrash(f"'{type(action).__name__}' object has no attribute 'get'")
        kind = action.get("type")
        if not kind:
            raise ValueError("inner action dict missing required 'type' key")
        config = {key: value for key, value in action.items() if key != "type"}
        xml = render_action(ctx, str(kind), config)
        if xml is None:
            raise ValueError(f"inner action_type {kind!r} not supported by action_builder")
        pieces.append(xml)
    return "".join(pieces)


# -- the control types -----------------------------------------------------------------------


def _append(ctx: ToolContext, xml: str) -> None:
    try:
        append_action(ctx, ctx.args["macro_identifier"], xml)
    except KMProblem as problem:
        raise Refusal(
            "APPEND_FAILED",
            problem.error.message,
            "Verify macro exists and KM engine is running.",
            "append_error",
        ) from None


def _rendered(render: Callable[[], Any], hint: str) -> Any:
    try:
        return render()
    except ValueError as problem:
        raise invalid_call(str(problem), hint) from None


def _if_then_else(ctx: ToolContext) -> dict[str, Any]:
    args = ctx.args
    kind, condition = _rendered(lambda: _condition(ctx, args["condition"]), RENDER_HINT)
    then_actions = _rendered(lambda: inner_actions(ctx, args["actions_true"]), RENDER_HINT)
    else_actions = _rendered(lambda: inner_actions(ctx, args["actions_false"]), RENDER_HINT)
    _append(ctx, if_then_else_xml(condition, then_actions, else_actions))
    return {
        "macro_action_type": "IfThenElse",
        "condition_kind": kind,
        "then_action_count": len(args["actions_true"] or []),
        "else_action_count": len(args["actions_false"] or []),
    }


def _for_loop(ctx: ToolContext) -> dict[str, Any]:
    iterator, collection = ctx.args["iterator"], ctx.args["collection_dict"]
    if not iterator or not iterator.strip():
        raise invalid_call(
            "iterator (loop variable name) is required for for_loop.",
            "Pass iterator='item' or any valid KM variable name.",
        )
    if not collection or "type" not in collection:
        raise invalid_call(
            "collection_dict with key 'type' is required for for_loop. "
            f"Supported types: {', '.join(collection_kinds())}.",
            "Example: collection_dict={'type': 'Range', 'start': '1', 'end': '10'}.",
        )
    kind = str(collection["type"])
    settings = {key: value for key, value in collection.items() if key != "type"}
    if "collection_type" in settings:  # passed on as keyword arguments, beside the kind
        raise ServerCrash(
            "build_collection_dict() got multiple values for argument 'collection_type'"
        )
    hint = "Check collection_dict.type and inner action_type values."
    entry = _rendered(lambda: collection_xml(kind, settings), hint)
    actions = _rendered(lambda: inner_actions(ctx, ctx.args["loop_actions"]), hint)
    _append(ctx, for_xml(iterator.strip(), entry, actions))
    return {
        "macro_action_type": "For",
        "iterator": iterator.strip(),
        "collection_type": kind,
        "loop_action_count": len(ctx.args["loop_actions"] or []),
    }


def _while_or_until(ctx: ToolContext) -> dict[str, Any]:
    args = ctx.args
    kind, condition = _rendered(lambda: _condition(ctx, args["condition"]), RENDER_HINT)
    actions = _rendered(lambda: inner_actions(ctx, args["loop_actions"]), RENDER_HINT)
    action_type = "Until" if args["control_type"] == "until_loop" else "While"
    _append(ctx, loop_xml(action_type, condition, actions))
    return {
        "macro_action_type": action_type,
        "condition_kind": kind,
        "loop_action_count": len(args["loop_actions"] or []),
    }


def _try_catch(ctx: ToolContext) -> dict[str, Any]:
    tries, catches = ctx.args["try_actions"], ctx.args["catch_actions"]
    if not tries:
        raise invalid_call(
            "try_actions is required for try_catch (catch_actions may be empty).",
            "Pass try_actions=[{'type': 'pause', 'seconds': 1}, ...].",
        )
    hint = "Check inner action_type values."
    try_xml = _rendered(lambda: inner_actions(ctx, tries), hint)
    catch_xml = _rendered(lambda: inner_actions(ctx, catches), hint)
    _append(ctx, try_catch_xml(try_xml, catch_xml))
    return {
        "macro_action_type": "TryCatch",
        "try_action_count": len(tries),
        "catch_action_count": len(catches or []),
    }


def _switch_case(ctx: ToolContext) -> dict[str, Any]:
    args = ctx.args
    source, cases, default = args["source"], args["cases"], args["default_actions"]
    if not cases and not default:
        raise invalid_call(
            "switch_case requires at least one case or default_actions. Each case = "
            "{condition_type, test_value, actions}; condition_type in "
            f"{', '.join(CASE_CONDITIONS)}.",
            "Example: cases=[{'condition_type': 'Is', 'test_value': 'foo', 'actions': [...]}].",
        )
    if source not in SWITCH_SOURCES:
        raise invalid_call(
            f"source {source!r} not supported. Supported: {', '.join(sorted(SWITCH_SOURCES))}.",
            "Pass source='Variable' (default) and condition='MyVar', or "
            "source='Calculation' with condition='1+1'.",
        )
    # Default actions are one more case: Keyboard Maestro's Otherwise.
    every = list(cases or [])
    if default:
        every.append({"condition_type": "Otherwise", "test_value": "", "actions": default})

    def entries() -> str:
        return "".join(
            case_xml(
                str(case.get("condition_type", "")),
                str(case.get("test_value", "")),
                inner_actions(ctx, case.get("actions")),
            )
            for case in every
        )

    hint = "Check each case's condition_type and inner action_type."
    _append(ctx, switch_xml(source, args["condition"] or "", _rendered(entries, hint)))
    return {
        "macro_action_type": "Switch",
        "source": source,
        "case_count": len(every),
        "has_otherwise": any(case.get("condition_type") == "Otherwise" for case in every),
    }


_EMITTERS: dict[str, Callable[[ToolContext], dict[str, Any]]] = {
    "if_then_else": _if_then_else,
    "for_loop": _for_loop,
    "while_loop": _while_or_until,
    "until_loop": _while_or_until,
    "try_catch": _try_catch,
    "switch_case": _switch_case,
}


def handle_control_flow(ctx: ToolContext) -> Answer:
    """km_control_flow: the shared checks, then the control type's action, appended."""
    kind, macro_id = ctx.args["control_type"], ctx.args["macro_identifier"]
    try:
        check(ctx.args)
        details = _EMITTERS[kind](ctx)
    except Refusal as refusal:
        return {
            **failure(refusal.code, refusal.message, refusal.suggestion),
            "metadata": {
                "timestamp": ctx.local_timestamp(),
                "correlation_id": f"{refusal.correlation}_{macro_id}",
            },
        }
    action_type = details.pop("macro_action_type")
    head = {"control_type": kind, "macro_id": macro_id, "macro_action_type": action_type}
    elapsed = {"execution_time": 0.0}  # the model answers at once
    # If Then Else lists its details before the time; the others after it.
    data = (
        {**head, **details, **elapsed} if kind == "if_then_else" else {**head, **elapsed, **details}
    )
    correlation = "cf_if" if kind == "if_then_else" else f"cf_{kind}"
    return {
        "success": True,
        "data": data,
        "metadata": {
            "timestamp": ctx.local_timestamp(),
            "server_version": "1.0.0",
            "correlation_id": f"{correlation}_{macro_id}",
        },
    }


HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_control_flow": handle_control_flow,
}
