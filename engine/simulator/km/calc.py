"""Keyboard Maestro calculations: an expression, the variables it reads, a number as text.

>>> calculate("width * 2 + 1", {"width": "20"}.get)
(41, {'width': 20})
>>> format_number(2.5, "auto", 10), format_number(3.0, "auto", 10)
('2.5', '3')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from engine.simulator.km.arith import (
    MAX_INT_BITS,
    CalculationError,
    Number,
    evaluate_tree,
    names_in,
    parse,
)

Lookup = Callable[[str], Any]


class CalcError(ValueError):
    """Why a calculation has no value.

    ``kind`` is ``syntax`` (unreadable), ``unknown`` (a variable that does not exist),
    ``not_a_number`` (a variable whose value is no number) or ``math`` (no finite value);
    ``variable`` names the variable at fault for the two variable kinds.
    """

    def __init__(self, kind: str, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.variable = variable


def number_value(name: str, value: Any) -> Number:
    """A variable's value as a number (text is read as Keyboard Maestro reads it)."""
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
    raise CalcError("not_a_number", f"variable '{name}' is not a usable number: {shown}", name)


def bind(names: list[str], lookup: Lookup) -> dict[str, Number]:
    """The values of ``names``; ``lookup`` answers None for a variable that does not exist."""
    values: dict[str, Number] = {}
    for name in names:
        raw = lookup(name)
        if raw is None:
            raise CalcError("unknown", f"unknown variable '{name}'", name)
        values[name] = number_value(name, raw)
    return values


def calculate(expression: str, lookup: Lookup) -> tuple[Number, dict[str, Number]]:
    """Evaluate ``expression``; the value and the variables it used."""
    try:
        tree = parse(expression)
    except CalculationError as problem:
        raise CalcError("syntax", str(problem)) from problem
    values = bind(names_in(tree), lookup)
    try:
        return evaluate_tree(tree, values), values
    except CalculationError as problem:
        raise CalcError("math", str(problem)) from problem


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


def given_first(given: Mapping[str, Any], lookup: Lookup) -> Lookup:
    """A lookup that answers from ``given`` before asking ``lookup``."""

    def find(name: str) -> Any:
        return given[name] if name in given else lookup(name)

    return find
