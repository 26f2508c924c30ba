"""Operators, size-checked before they allocate, and refusing numbers too large to
compute with.

The template sandbox intercepts its binary operators with the same functions.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

from engine.diagnostics.words import describe_value
from engine.lang.sandbox.budget import spend
from engine.lang.sandbox.failures import SandboxFailure, division_by_zero
from engine.lang.sandbox.printf import format_text
from engine.lang.sandbox.sizes import check_data_size, check_int_bits, check_operand, check_size

NUMBERS = (int, float)


def _operand_error(symbol: str, left: Any, right: Any) -> SandboxFailure:
    return SandboxFailure(
        f"cannot use `{symbol}` on {describe_value(left)} and {describe_value(right)}",
        "convert one side first, e.g. with int(...), float(...) or str(...)",
    )


def _numbers(left: Any, right: Any) -> bool:
    """True when both are numbers; whole numbers too large to compute with are refused
    (dividing two numbers of a million digits takes minutes)."""
    spend()
    if isinstance(left, NUMBERS) and isinstance(right, NUMBERS):
        check_operand(left)
        check_operand(right)
        return True
    return False


def op_add(left: Any, right: Any) -> Any:
    """``left + right`` for numbers, strings and lists, size-checked.

    >>> op_add("a", "b"), op_add([1], [2]), op_add(1, 2.5)
    ('ab', [1, 2], 3.5)
    """
    if _numbers(left, right):
        return left + right
    if isinstance(left, str) and isinstance(right, str):
        check_size(len(left) + len(right), "max_string_length")
        return left + right
    if isinstance(left, list) and isinstance(right, list):
        check_size(len(left) + len(right), "max_collection_size")
        return left + right
    if isinstance(left, tuple) and isinstance(right, tuple):
        check_size(len(left) + len(right), "max_collection_size")
        return left + right
    raise _operand_error("+", left, right)


def op_sub(left: Any, right: Any) -> Any:
    """``left - right`` for numbers.

    >>> op_sub(5, 2.5)
    2.5
    """
    if _numbers(left, right):
        return left - right
    raise _operand_error("-", left, right)


def op_mul(left: Any, right: Any) -> Any:
    """``left * right``: numbers, or a string or list repeated, size-checked first.

    >>> op_mul("ab", 2), op_mul(3, [0])
    ('abab', [0, 0, 0])
    """
    if _numbers(left, right):
        if isinstance(left, int) and isinstance(right, int):
            check_int_bits(left.bit_length() + right.bit_length())
        return left * right
    if isinstance(right, int) and not isinstance(left, NUMBERS):
        sequence, count = left, right
    elif isinstance(left, int):
        sequence, count = right, left
    else:
        raise _operand_error("*", left, right)
    if isinstance(sequence, str):
        check_size(len(sequence) * max(count, 0), "max_string_length")
        return sequence * count
    if isinstance(sequence, list | tuple):
        check_size(len(sequence) * max(count, 0), "max_collection_size")
        if count > 1:
            # Repeating shares the items: [[1] * 10000] * 10000 is small in memory but
            # 10^8 items to print, compare or sort. Bound the data it stands for.
            check_data_size([sequence] * count if len(sequence) else [])
        return sequence * count
    raise _operand_error("*", left, right)


def op_truediv(left: Any, right: Any) -> Any:
    """``left / right`` for numbers.

    >>> op_truediv(7, 2)
    3.5
    """
    if not _numbers(left, right):
        raise _operand_error("/", left, right)
    if not right:
        raise division_by_zero()
    return left / right


def op_floordiv(left: Any, right: Any) -> Any:
    """``left // right`` for numbers.

    >>> op_floordiv(7, 2)
    3
    """
    if not _numbers(left, right):
        raise _operand_error("//", left, right)
    if not right:
        raise division_by_zero()
    return left // right


def op_mod(left: Any, right: Any) -> Any:
    """``left % right``: the remainder of numbers, or printf-style formatting of a string.

    >>> op_mod(7, 3), op_mod("%s!", "hi")
    (1, 'hi!')
    """
    if _numbers(left, right):
        if not right:
            raise division_by_zero()
        return left % right
    if isinstance(left, str):
        return format_text(left, right)
    raise _operand_error("%", left, right)


def op_pow(left: Any, right: Any) -> Any:
    """``left ** right`` for numbers, refusing results too large to be useful.

    >>> op_pow(2, 10)
    1024
    """
    if not _numbers(left, right):
        raise _operand_error("**", left, right)
    if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        check_int_bits(right * math.log2(abs(left)))
    try:
        result = left**right
    except ZeroDivisionError:
        raise SandboxFailure("zero cannot be raised to a negative power") from None
    if isinstance(result, complex):
        raise SandboxFailure(
            "the result is not a real number",
            "a negative number raised to a fractional power has no real value",
        )
    return result


def op_neg(value: Any) -> Any:
    """``-value`` for numbers.

    >>> op_neg(3)
    -3
    """
    if isinstance(value, NUMBERS):
        return -value
    raise SandboxFailure(f"cannot negate {describe_value(value)}", "`-` works on numbers")


def op_pos(value: Any) -> Any:
    """``+value`` for numbers.

    >>> op_pos(-3)
    -3
    """
    if isinstance(value, NUMBERS):
        return +value
    raise SandboxFailure(f"cannot use `+` on {describe_value(value)}", "`+` works on numbers")


def op_not(value: Any) -> bool:
    """``not value``.

    >>> op_not("")
    True
    """
    return not value


def _ordering(symbol: str, compare: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def ordered(left: Any, right: Any) -> Any:
        spend()
        try:
            return compare(left, right)
        except TypeError:
            raise SandboxFailure(
                f"cannot compare {describe_value(left)} with {describe_value(right)} "
                f"using `{symbol}`",
                "convert one side first, e.g. int(x) < 3 or str(x) < 'b'",
            ) from None

    return ordered


def op_in(item: Any, container: Any) -> bool:
    """``item in container`` (a substring, a list item or an object's key).

    >>> op_in("b", "abc"), op_in("k", {"k": 1})
    (True, True)
    """
    spend()
    if isinstance(container, str) and not isinstance(item, str):
        raise SandboxFailure(
            f"cannot look for {describe_value(item)} in text", "use str(x) in text"
        )
    try:
        return item in container
    except TypeError:
        raise SandboxFailure(
            f"`in` needs text, a list or a mapping on its right, not {describe_value(container)}"
        ) from None


def _not_in(item: Any, container: Any) -> bool:
    return not op_in(item, container)


COMPARISONS: Final[Mapping[type[ast.AST], Callable[[Any, Any], Any]]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: _ordering("<", operator.lt),
    ast.LtE: _ordering("<=", operator.le),
    ast.Gt: _ordering(">", operator.gt),
    ast.GtE: _ordering(">=", operator.ge),
    ast.In: op_in,
    ast.NotIn: _not_in,
}
"""Comparison operators, with friendly errors for values that cannot be ordered."""

BINARY_OPERATORS: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "+": op_add,
    "-": op_sub,
    "*": op_mul,
    "/": op_truediv,
    "//": op_floordiv,
    "%": op_mod,
    "**": op_pow,
}
