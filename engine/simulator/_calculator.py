"""km_calculator: real arithmetic on the expression, with the simulator's variables."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from engine.simulator._context import Call, ToolFailure, did_you_mean
from engine.simulator.km.arith import (
    CONSTANTS,
    FUNCTIONS,
    CalculationError,
    Number,
    names_in,
    parse,
)
from engine.simulator.km.calc import CalcError, format_number, given_first
from engine.simulator.km.calc import calculate as km_calculate

__all__ = ["calculate", "handle_calculator", "read"]

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


PROTECTED = "[PROTECTED]"


def lookup_variable(call: Call, name: str) -> str | None:
    """A global (or password, masked) variable's value, for calculations."""
    tables = call.state.variables
    if name in tables.get("global", {}):
        return tables["global"][name]
    if name in tables.get("password", {}):
        return PROTECTED
    return None


def calculate(
    call: Call, expression: str, given: Mapping[str, Any]
) -> tuple[Number, dict[str, Number]]:
    """Evaluate ``expression``; the value and the variables it used (``given`` first,
    then the simulator's global variables)."""
    try:
        return km_calculate(
            expression, given_first(given, lambda name: lookup_variable(call, name))
        )
    except CalcError as problem:
        raise _failure(call, problem, given) from problem


def _failure(call: Call, problem: CalcError, given: Mapping[str, Any]) -> ToolFailure:
    if problem.kind == "syntax":
        return ToolFailure("INVALID_EXPRESSION", problem.message, _SYNTAX_HINT)
    if problem.kind == "math":
        return ToolFailure(
            "CALCULATION_ERROR",
            problem.message,
            "Check the numbers and operators in the expression.",
        )
    name = str(problem.variable)
    if problem.kind == "unknown":
        known = [*given, *call.state.variables.get("global", {}), *CONSTANTS]
        hint = (
            f"Pass it in 'variables' or set it with km_variable_manager.{did_you_mean(name, known)}"
        )
    else:
        hint = "Give the variable a finite numeric value."
    return ToolFailure("CALCULATION_ERROR", problem.message, hint, {"variable": name})


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
