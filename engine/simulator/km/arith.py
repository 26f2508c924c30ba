"""A small, safe arithmetic evaluator over Python's ``ast`` (never ``eval``), with caps.

Numbers, ``+ - * / // % **`` (and Keyboard Maestro's ``^``, ``MOD``, ``DIV``),
parentheses, unary minus, comparisons (1 or 0, as Keyboard Maestro answers them),
the constants ``pi`` and ``e``, and a few functions. Exponents and integer sizes are
capped so that no expression can run for long or fill memory.

>>> evaluate("2 ^ 10 + sqrt(16) * -1")
1020.0
>>> evaluate("price * 3", {"price": 2.5})
7.5
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

Number = int | float

MAX_EXPONENT = 10_000
MAX_INT_BITS = 1_024  # larger integers continue as floats, as in Keyboard Maestro
MAX_ARGUMENTS = 100
MAX_NODES = 500

CONSTANTS: Mapping[str, float] = {"pi": math.pi, "e": math.e}


def _round(x: Number, digits: Number = 0) -> Number:
    places = int(digits)
    if not -20 <= places <= 20:
        raise CalculationError("round() takes between -20 and 20 digits")
    return round(x, places) if places else round(x)


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


FUNCTIONS: Mapping[str, Callable[..., Number]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": _round,
    "min": min,
    "max": max,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "log": _log,
    "ln": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "exp": math.exp,
    "floor": math.floor,
    "ceil": math.ceil,
    "trunc": math.trunc,
}

_BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: Mapping[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_KM_WORDS = re.compile(r"\bMOD\b|\bDIV\b|\^|≤|≥|≠")
_KM_SPELLING = {"MOD": "%", "DIV": "//", "^": "**", "≤": "<=", "≥": ">=", "≠": "!="}


class CalculationError(ValueError):
    """The expression cannot be read or its value cannot be computed."""


def parse(expression: str) -> ast.Expression:
    """Parse (Keyboard Maestro spellings accepted) and check every node is allowed.

    Trees are cached by expression text; callers must not change them.
    """
    return _parse(expression)


@lru_cache(maxsize=256)
def _parse(expression: str) -> ast.Expression:
    text = _KM_WORDS.sub(lambda m: _KM_SPELLING[m.group(0)], expression)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as problem:
        reason = problem.msg if isinstance(problem, SyntaxError) else "expression too complex"
        raise CalculationError(f"cannot read the expression: {reason}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise CalculationError(f"the expression has more than {MAX_NODES} parts")
    for node in nodes:
        _check_node(node)
    return tree


_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Name, ast.Load,
    ast.Constant, ast.UAdd, ast.USub, ast.Pow, *_BINARY, *_COMPARE,
)  # fmt: skip


def _check_node(node: ast.AST) -> None:
    if not isinstance(node, _ALLOWED):
        raise CalculationError(f"'{_describe(node)}' is not allowed in a calculation")
    if isinstance(node, ast.Constant) and (
        isinstance(node.value, bool) or not isinstance(node.value, int | float)
    ):
        raise CalculationError(f"{node.value!r} is not a number")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id.lower() not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else "this"
            raise CalculationError(
                f"unknown function '{name}' (known: {', '.join(sorted(FUNCTIONS))})"
            )
        if node.keywords or len(node.args) > MAX_ARGUMENTS:
            raise CalculationError(f"{node.func.id}() takes up to {MAX_ARGUMENTS} plain arguments")


def _describe(node: ast.AST) -> str:
    return {ast.Attribute: ".", ast.Subscript: "[]", ast.Starred: "*"}.get(
        type(node), type(node).__name__
    )


def names_in(tree: ast.Expression) -> list[str]:
    """Variable names the expression reads (not functions or constants), in order."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and id(node) not in called and node.id not in CONSTANTS
    ]
    found.sort(key=lambda node: (node.lineno, node.col_offset))
    return list(dict.fromkeys(node.id for node in found))


def evaluate(expression: str, variables: Mapping[str, Number] | None = None) -> Number:
    """The value of ``expression``; :class:`CalculationError` if there is none."""
    return evaluate_tree(parse(expression), variables or {})


def evaluate_tree(tree: ast.Expression, variables: Mapping[str, Number]) -> Number:
    try:
        return _tame(_eval(tree.body, variables))
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except OverflowError:
        raise CalculationError("the result is too large") from None
    except (ValueError, TypeError) as problem:
        if isinstance(problem, CalculationError):
            raise
        raise CalculationError(f"math error: {problem}") from None


def _eval(node: ast.expr, variables: Mapping[str, Number]) -> Number:
    if isinstance(node, ast.Constant):
        return _tame(node.value)
    if isinstance(node, ast.Name):
        return _name(node.id, variables)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, variables)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, variables), _eval(node.right, variables)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        return _tame(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Compare):
        return _compare(node, variables)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_eval(arg, variables) for arg in node.args]
        return _tame(FUNCTIONS[node.func.id.lower()](*args))
    raise CalculationError(f"'{_describe(node)}' is not allowed in a calculation")


def _name(name: str, variables: Mapping[str, Number]) -> Number:
    if name in variables:
        return variables[name]
    if name in CONSTANTS:
        return CONSTANTS[name]
    raise CalculationError(f"unknown variable '{name}'")


def _compare(node: ast.Compare, variables: Mapping[str, Number]) -> int:
    left = _eval(node.left, variables)
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = _eval(comparator, variables)
        if not _COMPARE[type(op)](left, right):
            return 0
        left = right
    return 1


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculationError(f"exponents are limited to ±{MAX_EXPONENT}")
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent >= 0
        and base.bit_length() * exponent <= MAX_INT_BITS
    ):
        return int(base**exponent)
    return math.pow(base, exponent)


def _tame(value: Any) -> Number:
    """Keep results plain numbers of bounded size (big integers continue as floats)."""
    if isinstance(value, int):
        return value if value.bit_length() <= MAX_INT_BITS else float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CalculationError("the result is not a finite number")
        return value
    raise CalculationError(f"{type(value).__name__} is not a number")
