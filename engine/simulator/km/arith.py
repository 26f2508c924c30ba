"""Keyboard Maestro's arithmetic, evaluated by simpleeval (as the engine's expressions are).

Numbers, ``+ - * / // % **`` (and Keyboard Maestro's ``^``, ``MOD``, ``DIV``),
parentheses, unary minus, comparisons (1 or 0, as Keyboard Maestro answers them),
the constants ``pi`` and ``e``, and a few functions (any case: ``SQRT`` is ``sqrt``).
:func:`parse` reads the Keyboard Maestro spellings and admits only those nodes; a
:class:`simpleeval.SimpleEval` given these operators and functions computes the value.
Exponents and integer sizes are capped so that no expression can run for long or fill
memory.

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

from simpleeval import NameNotDefined, SimpleEval

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

_OPERATORS: tuple[type[ast.AST], ...] = (
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.UAdd, ast.USub,
)  # fmt: skip
_COMPARISONS: tuple[type[ast.AST], ...] = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
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
    ast.Constant, *_OPERATORS, *_COMPARISONS,
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
        node.func.id = node.func.id.lower()  # the tree is ours (cached): functions by one name


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
    """The value of a tree :func:`parse` gave; ``variables`` must hold every name it reads."""
    evaluator = SimpleEval(
        operators=_ARITHMETIC, functions=_TAMED_FUNCTIONS, names={**CONSTANTS, **variables}
    )
    evaluator.nodes[ast.Constant] = lambda node: _tame(node.value)
    try:
        return _tame(evaluator.eval("", previously_parsed=tree.body))
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except OverflowError:
        raise CalculationError("the result is too large") from None
    except NameNotDefined as unknown:
        raise CalculationError(f"unknown variable '{unknown.name}'") from None
    except (ValueError, TypeError) as problem:
        if isinstance(problem, CalculationError):
            raise
        raise CalculationError(f"math error: {problem}") from None


def _tamed(function: Callable[..., Any]) -> Callable[..., Number]:
    """``function``, its result kept a plain number of bounded size."""
    return lambda *args: _tame(function(*args))


def _is(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], int]:
    """A comparison answering 1 or 0, as Keyboard Maestro does."""
    return lambda left, right: int(compare(left, right))


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


_ARITHMETIC: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: _tamed(operator.add),
    ast.Sub: _tamed(operator.sub),
    ast.Mult: _tamed(operator.mul),
    ast.Div: _tamed(operator.truediv),
    ast.FloorDiv: _tamed(operator.floordiv),
    ast.Mod: _tamed(operator.mod),
    ast.Pow: _power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Lt: _is(operator.lt),
    ast.LtE: _is(operator.le),
    ast.Gt: _is(operator.gt),
    ast.GtE: _is(operator.ge),
    ast.Eq: _is(operator.eq),
    ast.NotEq: _is(operator.ne),
}
_TAMED_FUNCTIONS = {name: _tamed(function) for name, function in FUNCTIONS.items()}
