"""Number functions: int, float, bool, round, min, max, abs, sum and bounded ranges."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from engine.diagnostics.words import describe_value
from engine.lang.sandbox.failures import SandboxFailure
from engine.lang.sandbox.operators import NUMBERS
from engine.lang.sandbox.sizes import (
    as_sequence,
    check_int_bits,
    check_operand,
    check_size,
    size_limit,
)
from engine.lang.secrets import show


def int_base(base: Any) -> int:
    """``base`` checked as a base ``int()`` takes: 0 (read from a ``0x``/``0o``/``0b``
    prefix) or 2 to 36."""
    if isinstance(base, bool) or not isinstance(base, int) or not (base == 0 or 2 <= base <= 36):
        raise SandboxFailure(
            f"the base of a whole number must be 0 or from 2 to 36, not {show(base)}",
            "write int(text, 16) for hexadecimal text",
        )
    return base


def check_int_text(text: str, base: int) -> None:
    """Refuse text that would make a whole number of more than 4,300 digits, before it
    is read: Python limits decimal text itself, but not base 16, 8 or 2 (nor base 0)."""
    check_int_bits(len(text.strip()) * math.log2(base or 16))


def fn_int(value: Any, base: int = 10) -> int:
    """A whole number from a number or text (``'3.0'`` gives 3).

    >>> fn_int("3.0"), fn_int("ff", 16)
    (3, 255)
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SandboxFailure(f"cannot turn {value} into a whole number")
        return int(value)
    if isinstance(value, str):
        check_int_text(value, int_base(base))
        try:
            return int(value, base)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if base == 10 and math.isfinite(number):
            return int(number)
        raise SandboxFailure(
            f"cannot turn {show(value, 40)} into a whole number", "int() needs text like '42'"
        )
    raise SandboxFailure(f"cannot turn {describe_value(value)} into a whole number")


def fn_float(value: Any) -> float:
    """A number from a number or text.

    >>> fn_float("2.5")
    2.5
    """
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise SandboxFailure(
                f"cannot turn {show(value, 40)} into a number", "float() needs text like '2.5'"
            ) from None
    else:
        raise SandboxFailure(f"cannot turn {describe_value(value)} into a number")
    if not math.isfinite(number):
        raise SandboxFailure(f"{show(value, 40)} is not a finite number")
    return number


def fn_bool(value: Any) -> bool:
    """Truthiness: false for false, null, 0, '' and empty lists/objects.

    >>> fn_bool([])
    False
    """
    return bool(value)


def fn_round(value: Any, digits: int | None = None) -> Any:
    """A number rounded to ``digits`` decimals (a whole number when omitted).

    >>> fn_round(2.567, 2), fn_round(2.5)
    (2.57, 2)
    """
    if not isinstance(value, NUMBERS):
        raise SandboxFailure(f"round() needs a number, not {describe_value(value)}")
    check_operand(value)
    if digits is None:
        return round(value)
    if not isinstance(digits, int) or not -100 <= digits <= 100:
        raise SandboxFailure("round() takes a number of digits between -100 and 100")
    return round(value, digits)


def _min_max(function: str, pick: Callable[..., Any], values: tuple[Any, ...]) -> Any:
    items = as_sequence(values[0], function) if len(values) == 1 else values
    if not items:
        raise SandboxFailure(f"{function}() of an empty list", "check the list has items first")
    try:
        return pick(items)
    except TypeError:
        raise SandboxFailure(f"{function}() cannot compare items of different kinds") from None


def fn_min(*values: Any) -> Any:
    """The smallest of a list, or of the arguments.

    >>> fn_min([3, 1]), fn_min(4, 2)
    (1, 2)
    """
    return _min_max("min", min, values)


def fn_max(*values: Any) -> Any:
    """The largest of a list, or of the arguments.

    >>> fn_max([3, 1])
    3
    """
    return _min_max("max", max, values)


def fn_abs(value: Any) -> Any:
    """The absolute value of a number.

    >>> fn_abs(-2)
    2
    """
    if isinstance(value, NUMBERS):
        return abs(value)
    raise SandboxFailure(f"abs() needs a number, not {describe_value(value)}")


def fn_sum(values: Any, start: Any = 0) -> Any:
    """The sum of a list of numbers.

    >>> fn_sum([1, 2.5])
    3.5
    """
    items = as_sequence(values, "sum")
    for item in (start, *items):
        if not isinstance(item, NUMBERS):
            raise SandboxFailure(
                f"sum() adds numbers, but the list holds {describe_value(item)}",
                "to combine lists or text, use + or join()",
            )
        check_operand(item)
    return sum(items, start)


def bounded_range(*bounds: Any) -> range:
    """``range(...)`` of at most ``max_collection_size`` numbers.

    >>> list(bounded_range(1, 7, 2))
    [1, 3, 5]
    """
    if not bounds or len(bounds) > 3 or not all(isinstance(b, int) for b in bounds):
        raise SandboxFailure(
            "range() takes 1 to 3 whole numbers", "range(stop), range(start, stop, step)"
        )
    if len(bounds) == 3 and bounds[2] == 0:
        raise SandboxFailure("range() step cannot be zero")
    numbers = range(*bounds)
    try:
        size = len(numbers)
    except OverflowError:
        size = size_limit("max_collection_size") + 1
    check_size(size, "max_collection_size")
    return numbers


def fn_range(*bounds: Any) -> list[int]:
    """A list of whole numbers: ``range(3)`` is ``[0, 1, 2]``.

    >>> fn_range(3)
    [0, 1, 2]
    """
    return list(bounded_range(*bounds))
