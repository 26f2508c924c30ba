"""km_engine_control: reload, status, calculate, process_tokens and search_replace.

Only reload, status and process_tokens reach Keyboard Maestro. ``calculate`` is the
server's own arithmetic (Python's, on a checked expression: ``2^3`` is refused, ``2**3``
is 8) and ``search_replace`` is Python's ``re`` in the server, with ``$1`` written as a
group reference. Every failure, the server's own argument checks included, is
``ENGINE_ERROR`` "Failed to <operation> engine" with the reason in ``details``, except the
Engine not running (``KM_CONNECTION_FAILED``) and the Engine's own failures.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any, cast

import regex  # its timeout bounds a pathological pattern

from engine.simulator.km import engine as km_engine
from engine.simulator.tools._km import KMProblem, list_macros
from engine.simulator.tools.context import (
    KM,
    KME,
    Answer,
    ScriptFailure,
    ToolContext,
    failure,
    invalid,
    quoted,
)

__all__ = ["HANDLERS", "handle_engine_control"]

REGEX_TIMEOUT = 0.25  # seconds: a pattern that backtracks for ever fails instead of hanging
RESULT_CHARS = 1000
# Integers past this many bits would take the server minutes or all its memory (it has no
# bound); the simulator stops them as an overflow of the operation instead.
MAX_INT_BITS = 65_536
ALLOWED = frozenset("0123456789+-*/()., abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
FORBIDDEN = ("exec", "eval", "import", "__")
TOKEN_SUMMARY = re.compile(r"%([A-Za-z][A-Za-z0-9]*)(%[^%]*)*%")
DOLLAR_REFERENCE = re.compile(r"\$(\$|\d+|\{\d+\})")


class Invalid(Exception):
    """The server's ``ValidationError(field, value, constraint)``; ``str()`` its message."""

    def __init__(self, field_name: str, value: Any, constraint: str) -> None:
        super().__init__(invalid(field_name, value, constraint))


def handle_engine_control(ctx: ToolContext) -> Answer:
    """km_engine_control: argument checks, the engine check, then the operation."""
    operation: str = ctx.args["operation"]
    try:
        _check_arguments(ctx.args)
        if not ctx.engine_running():
            return {
                "success": False,
                "error": {
                    "code": "KM_CONNECTION_FAILED",
                    "message": "Cannot connect to Keyboard Maestro Engine",
                },
            }
        return OPERATIONS[operation](ctx)
    except Invalid as problem:
        return failure(
            "ENGINE_ERROR",
            f"Failed to {operation} engine",
            "Check Keyboard Maestro Engine is running",
            details=str(problem),
        )


def _check_arguments(args: dict[str, Any]) -> None:
    operation, expression = args["operation"], args["expression"]
    if operation == "calculate" and not expression:
        raise Invalid("expression", expression, "Expression required for calculate operation")
    if operation == "process_tokens" and not expression:
        raise Invalid(
            "expression", expression, "Token string required for process_tokens operation"
        )
    if operation == "search_replace":
        if not args["search_pattern"]:
            raise Invalid(
                "search_pattern",
                args["search_pattern"],
                "Search pattern required for search_replace operation",
            )
        if not args["text"]:
            raise Invalid("text", args["text"], "Text required for search_replace operation")


def _reload(ctx: ToolContext) -> Answer:
    """The Engine's ``reload``. (Its RELOAD_FAILED answer needs osascript to fail after
    the engine check passed, which the model never does.)"""
    start = ctx.elapsed
    ctx.osascript(f'tell application "{KME}" to reload', lambda: "", apps=(KME,))
    return {
        "success": True,
        "data": {
            "operation": "reload",
            "reload_time_seconds": ctx.elapsed - start,
            "timestamp": ctx.local_timestamp(),
        },
    }


def _status(ctx: ToolContext) -> Answer:
    """The editor's version and the listing's counts (the version query cannot fail once
    the engine check passed, so ``engine_running`` is true)."""
    version = ctx.osascript(
        f'tell application "{KM}" to return version',
        lambda: str(ctx.km.keyboard_maestro.get("version", "")),
        apps=(KM,),
    )
    try:
        macros = list_macros(ctx, enabled_only=False)
    except KMProblem:
        macros = []
    enabled = sum(1 for m in macros if m.get("enabled", True))
    return {
        "success": True,
        "data": {
            "engine_version": version,
            "engine_running": True,
            "queried_at": ctx.local_timestamp(),
            "macro_statistics": {
                "total_macros": len(macros),
                "enabled_macros": enabled,
                "disabled_macros": len(macros) - enabled,
            },
        },
    }


def _calculate(ctx: ToolContext) -> Answer:
    expression: str = ctx.args["expression"]
    if any(word in expression.lower() for word in FORBIDDEN):
        raise Invalid("expression", expression, "Expression contains forbidden operations")
    try:
        if not all(c in ALLOWED for c in expression):
            raise Invalid("expression", expression, "Expression contains invalid characters")
        value = evaluate(expression)
        text = str(value)
    except Exception as problem:  # the server wraps whatever went wrong, as text
        raise Invalid("expression", expression, f"Calculation failed: {problem}") from None
    return {
        "success": True,
        "data": {
            "expression": expression,
            "result": text,
            "result_type": type(value).__name__,
            "timestamp": ctx.local_timestamp(),
        },
    }


def _process_tokens(ctx: ToolContext) -> Answer:
    text: str = ctx.args["expression"]
    script = f'tell application "{KME}" to return process tokens {quoted(text)}'
    try:
        processed = ctx.osascript(
            script, lambda: km_engine.process_tokens(ctx.km, text), apps=(KME,)
        )
    except ScriptFailure as problem:
        return failure(
            "KM_ENGINE_FAILED",
            "Keyboard Maestro Engine rejected the token string.",
            "Verify token syntax (e.g. %Variable%Name%, %ICUDateTime%y%) and that Keyboard "
            "Maestro Engine is running.",
            details=problem.message,
        )
    found = summarise_tokens(text)
    return {
        "success": True,
        "data": {
            "original": text,
            "processed": processed,
            "tokens_found": found,
            "token_count": len(found),
            "timestamp": ctx.local_timestamp(),
        },
    }


def summarise_tokens(text: str) -> list[str]:
    """The server's summary of the tokens in ``text`` (its own greedy pattern: one entry
    can span several tokens).

    >>> summarise_tokens("%Variable%Name% and %ICUDateTime%yyyy% %CurrentUser%")
    ['Variable: Name']
    >>> summarise_tokens("%ICUDateTime%yyyy%, %CurrentUser%")
    ['DateTime: yyyy%, %CurrentUser']
    """
    summary = []
    for match in TOKEN_SUMMARY.finditer(text):
        body = match.group(0)
        if body.startswith("%Variable%"):
            parts = body[1:-1].split("%")
            summary.append(f"Variable: {parts[1]}" if len(parts) > 1 else "Variable")
        elif body.startswith("%ICUDateTime%"):
            parts = body[1:-1].split("%", 1)
            summary.append(f"DateTime: {parts[1]}" if len(parts) > 1 else "DateTime")
        else:
            summary.append(f"System: {match.group(1)}")
    return summary


def _search_replace(ctx: ToolContext) -> Answer:
    text, pattern = ctx.args["text"], ctx.args["search_pattern"]
    replacement, use_regex = ctx.args["replace_pattern"], ctx.args["use_regex"]
    if use_regex:
        count, result = _regex_replace(pattern, replacement, text)
    else:
        count = text.count(pattern)
        result = text if replacement is None else text.replace(pattern, replacement)
    return {
        "success": True,
        "data": {
            "search_pattern": pattern,
            "replace_pattern": replacement,
            "use_regex": use_regex,
            "match_count": count,
            "original_length": len(text),
            "result_length": len(result),
            "result": result if len(result) < RESULT_CHARS else result[:RESULT_CHARS] + "...",
            "timestamp": ctx.local_timestamp(),
        },
    }


def _regex_replace(pattern: str, replacement: str | None, text: str) -> tuple[int, str]:
    """Python's ``re`` semantics and errors; the matching itself under a timeout."""
    template = None if replacement is None else DOLLAR_REFERENCE.sub(_python_reference, replacement)
    try:
        checked = re.compile(pattern)
        if template is not None:
            checked.sub(template, "")  # the template's own errors, as re reports them
    except re.error as problem:
        raise Invalid("search_pattern", pattern, f"Invalid regex pattern: {problem}") from None
    try:
        compiled = regex.compile(pattern, regex.VERSION0)
        count = len(compiled.findall(text, timeout=REGEX_TIMEOUT))
        result = text if template is None else compiled.sub(template, text, timeout=REGEX_TIMEOUT)
    except TimeoutError:
        raise Invalid(
            "search_pattern", pattern, f"Regex took longer than {REGEX_TIMEOUT} s on this text"
        ) from None
    return count, result


def _python_reference(match: re.Match[str]) -> str:
    """``$1``, ``${1}`` → ``\\g<1>``; ``$$`` → ``$`` (Keyboard Maestro's ICU forms)."""
    reference = match.group(1)
    return "$" if reference == "$" else f"\\g<{reference.strip('{}')}>"


# -- the server's calculator ----------------------------------------------------------------

_SAFE_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.Load,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.UAdd, ast.USub,
)  # fmt: skip
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: lambda a, b: _power(a, b),
}


def _power(base: Any, exponent: Any, modulus: Any = None) -> Any:
    whole = isinstance(base, int) and isinstance(exponent, int) and exponent > 0
    if (
        modulus is None
        and whole
        and abs(base) > 1
        and exponent * (abs(base).bit_length() - 1) > MAX_INT_BITS
    ):
        raise OverflowError("integer result too large")
    return pow(base, exponent) if modulus is None else pow(base, exponent, modulus)


NAMESPACE: dict[str, Any] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sum": sum,
    "len": len,
    "pow": _power,
    "pi": 3.14159265359,
    "e": 2.71828182846,
}


def evaluate(expression: str) -> Any:
    """The server's calculation: a Python expression of numbers, + - * / // % **, unary
    signs, ``pi``, ``e`` and a few functions; its errors in the server's words.

    >>> evaluate("2+3*4"), evaluate("pi*2+0.38"), evaluate("2**10")
    (14, 6.66318530718, 1024)
    """
    try:
        tree = ast.parse(expression, mode="eval")
        for node in ast.walk(tree):
            if not isinstance(node, _SAFE_NODES):
                raise Invalid(
                    "expression",
                    "AST validation",
                    f"Unsafe operation detected: {type(node).__name__}",
                )
        return _value(tree.body)
    except (SyntaxError, ValueError) as problem:
        raise Invalid("expression", expression, f"Invalid expression: {problem}") from None


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in NAMESPACE:
            raise Invalid("expression", node.id, f"Unknown variable: {node.id}")
        return NAMESPACE[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left), _value(node.right)
        try:
            value = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise Invalid("expression", "division", "Division by zero") from None
        except Exception as problem:
            raise Invalid("expression", "operation", f"Operation error: {problem}") from None
        return _bounded(value)
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand)
        return +operand if isinstance(node.op, ast.UAdd) else -operand
    node = cast(ast.Call, node)  # the walk admitted no other expression
    if not isinstance(node.func, ast.Name):
        raise Invalid("expression", "function call", "Complex function calls not allowed")
    name = node.func.id
    if name not in NAMESPACE:
        raise Invalid("expression", name, f"Unknown function: {name}")
    return _bounded(NAMESPACE[name](*[_value(argument) for argument in node.args]))


def _bounded(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise OverflowError("integer result too large")
    return value


OPERATIONS: dict[str, Callable[[ToolContext], Answer]] = {
    "reload": _reload,
    "status": _status,
    "calculate": _calculate,
    "process_tokens": _process_tokens,
    "search_replace": _search_replace,
}
HANDLERS = {"km_engine_control": handle_engine_control}
