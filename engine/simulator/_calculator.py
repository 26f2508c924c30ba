"""km_calculator: real arithmetic on the expression, with the simulator's variables."""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import Any

from engine.simulator._arith import (
    CONSTANTS,
    FUNCTIONS,
    MAX_INT_BITS,
    CalculationError,
    Number,
    evaluate_tree,
    names_in,
    parse,
)
from engine.simulator._context import Call, ToolFailure, did_you_mean
from engine.simulator._variables import lookup_variable

_SYNTAX_HINT = (
    "Write arithmetic such as (2 + 3) * 4, 2 ^ 8, 10 MOD 3 or sqrt(x); "
    f"functions: {', '.join(sorted(FUNCTIONS))}."
)


def read(expression: str) -> ast.Expression:
    """The parsed expression, or an INVALID_EXPRESSION failure."""
    try:
        return parse(expression)
    except CalculationError as problem:
        raise ToolFailure("INVALID_EXPRESSION", str(problem), _SYNTAX_HINT) from problem


def _number(name: str, value: Any) -> Number:
    number: Any = int(value) if isinstance(value, bool) else value
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text) if text.lstrip("+-").isdigit() else float(text)
        except (ValueError, OverflowError):
            number = None
    if isinstance(number, int) and number.bit_length() <= MAX_INT_BITS:
        return number
    if isinstance(number, float) and math.isfinite(number):
        return number
    shown = repr(value[:50]) if isinstance(value, str) else f"a {type(value).__name__}"
    raise ToolFailure(
        "CALCULATION_ERROR",
        f"variable '{name}' is not a usable number: {shown}",
        "Give the variable a finite numeric value.",
        {"variable": name},
    )


def bind(call: Call, names: list[str], given: Mapping[str, Any]) -> dict[str, Number]:
    """Values for the names an expression reads: ``given`` first, then global variables."""
    values: dict[str, Number] = {}
    for name in names:
        raw = given[name] if name in given else lookup_variable(call, name)
        if raw is None:
            known = [*given, *call.state.variables.get("global", {}), *CONSTANTS]
            raise ToolFailure(
                "CALCULATION_ERROR",
                f"unknown variable '{name}'",
                "Pass it in 'variables' or set it with km_variable_manager."
                f"{did_you_mean(name, known)}",
                {"variable": name},
            )
        values[name] = _number(name, raw)
    return values


def calculate(
    call: Call, expression: str, given: Mapping[str, Any]
) -> tuple[Number, dict[str, Number]]:
    """Evaluate ``expression``; the value and the variables it used."""
    tree = read(expression)
    values = bind(call, names_in(tree), given)
    try:
        return evaluate_tree(tree, values), values
    except CalculationError as problem:
        raise ToolFailure(
            "CALCULATION_ERROR", str(problem), "Check the numbers and operators in the expression."
        ) from problem


def format_number(value: Number, fmt: str, precision: int) -> str:
    """``value`` as text: auto, decimal, scientific, percentage or currency (US dollars)."""
    if fmt == "decimal":
        return f"{value:.{precision}f}"
    if fmt == "scientific":
        return f"{value:.{precision}e}"
    if fmt == "percentage":
        return f"{value * 100:.{precision}f}%"
    if fmt == "currency":
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(value):,.2f}"
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if not 1e-6 <= abs(value) < 1e15:
        return f"{value:.{max(precision, 1)}g}"
    text = f"{value:.{precision}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def handle_calculator(call: Call) -> dict[str, Any]:
    """km_calculator: evaluate (or only validate) the expression and format the result."""
    expression = call.args["expression"]
    if call.args["validate_only"]:
        tree = read(expression)
        functions = sorted(
            {
                n.func.id.lower()
                for n in ast.walk(tree)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            }
        )
        return {
            "expression": expression,
            "valid": True,
            "variables_required": names_in(tree),
            "functions_used": functions,
        }
    given = call.args.get("variables") or {}
    value, used = calculate(call, expression, given)
    fmt, precision = call.args["format_result"], call.args["precision"]
    return {
        "expression": expression,
        "result": value,
        "formatted_result": format_number(value, fmt, precision),
        "format": fmt,
        "precision": precision,
        "variables_used": used,
        "engine_used": "simulator",
    }
