"""km_engine_control: reload, calculate, process_tokens, search_replace and status."""

from __future__ import annotations

import re
from typing import Any

import regex  # used for its timeout

from engine.simulator._calculator import calculate, format_number
from engine.simulator._context import Call, ToolFailure, dispatch
from engine.simulator._tokens import expand, record

REGEX_TIMEOUT = 0.25  # seconds; a pathological pattern fails instead of hanging
_KM_GROUP = re.compile(r"\$(\d+)|\$\{(\d+)\}")


def engine_reload(call: Call) -> dict[str, Any]:
    return {
        "reloaded": True,
        "macro_count": len(call.state.macros),
        "group_count": len(call.state.groups),
    }


def engine_calculate(call: Call) -> dict[str, Any]:
    expression = call.need("expression", "the calculation, e.g. '(2 + 3) * 4'")
    value, used = calculate(call, expression, {})
    return {
        "expression": expression,
        "result": value,
        "formatted_result": format_number(value, "auto", 10),
        "variables_used": used,
    }


def engine_process_tokens(call: Call) -> dict[str, Any]:
    text = call.args.get("expression") or call.need(
        "text", "the text whose tokens to expand", blank_ok=True
    )
    expansion = expand(call, text, {}, "text")
    record(call, expansion)
    return {
        "original_text": text,
        "processed_text": expansion.text,
        "tokens": expansion.tokens,
        "warnings": expansion.warnings,
    }


def _python_replacement(template: str) -> str:
    """Keyboard Maestro writes group references as $1 or ${1}; Python as \\g<1>."""
    return _KM_GROUP.sub(lambda m: f"\\g<{m.group(1) or m.group(2)}>", template)


def engine_search_replace(call: Call) -> dict[str, Any]:
    text = call.need("text", "the text to search", blank_ok=True)
    pattern = call.need("search_pattern", "what to look for", blank_ok=True)
    replacement = call.args.get("replace_pattern") or ""
    if not call.args["use_regex"]:
        count = text.count(pattern)
        return _replaced(text, text.replace(pattern, replacement), count, pattern)
    try:
        result, count = regex.subn(
            pattern, _python_replacement(replacement), text, timeout=REGEX_TIMEOUT
        )
    except TimeoutError as problem:
        raise ToolFailure(
            "PATTERN_TIMEOUT",
            f"the regular expression took longer than {REGEX_TIMEOUT} s",
            "Simplify the pattern (avoid nested repeats such as (a+)+).",
        ) from problem
    except (regex.error, IndexError, ValueError) as problem:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"invalid regular expression or replacement: {problem}",
            "Check the pattern's syntax; refer to groups as $1 or ${1} in the replacement.",
        ) from problem
    return _replaced(text, result, count, pattern)


def _replaced(text: str, result: str, count: int, pattern: str) -> dict[str, Any]:
    return {
        "original_text": text,
        "result": result,
        "replacements": count,
        "search_pattern": pattern,
    }


def engine_status(call: Call) -> dict[str, Any]:
    variables = call.state.variables.get("global", {})
    return {
        "engine": "km-actions simulator",
        "running": True,
        "keyboard_maestro_connected": False,
        "macro_count": len(call.state.macros),
        "group_count": len(call.state.groups),
        "global_variable_count": len(variables),
        "clipboard_history_size": len(call.state.clipboard),
        "executions_recorded": len(call.state.executions),
    }


OPERATIONS = {
    "reload": engine_reload,
    "calculate": engine_calculate,
    "process_tokens": engine_process_tokens,
    "search_replace": engine_search_replace,
    "status": engine_status,
}


def handle_engine_control(call: Call) -> dict[str, Any]:
    """km_engine_control: every operation of its enum, answered from the simulator's state."""
    return dispatch(call, OPERATIONS)
