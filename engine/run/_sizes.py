"""Sizes of what steps make and pass on: `set` values, tool arguments, outputs, events.

A value's size is what it serializes to: its text, or the JSON text of a list or an
object, where a part held several times counts every time (``[x, x]`` is twice ``x``).
Thirty `set` steps each doubling a list are small in memory and gigabytes as JSON; so
every value a `set` step makes, and what several values carry together (the arguments
of a tool call, the inputs of an `action` step, the outputs, an event's data) are
measured (:func:`~engine.lang.sandbox.sizes.estimate_text_size` walks each distinct part
once) and refused past ``max_template_output``. A value passed on alone, as it is, was
measured where it was made (templates measure what they make).

>>> from engine.lang.limits import Limits
>>> check_value([1, 2], Limits())
"""

from __future__ import annotations

from typing import Any, Final

from engine.diagnostics.errors import ErrorKind, LimitExceeded, StepError
from engine.lang.limits import Limits
from engine.lang.sandbox.failures import SandboxFailure
from engine.lang.sandbox.sizes import MAX_INT_BITS, estimate_text_size, number_too_long, over_limit

SCALARS: Final = frozenset({int, float, bool, type(None)})
"""Types whose size needs no measuring (a number too large to show is refused when made)."""


def data_size(value: Any, limit: int) -> int:
    """About how many characters ``value`` is as JSON (past ``limit``: stops counting)."""
    try:
        return estimate_text_size(value, limit)
    except SandboxFailure as failure:  # a value holding itself, or a function
        raise StepError(ErrorKind.INVALID_ARGUMENTS, failure.message, hint=failure.hint) from None


def too_big(subject: str, size: int, limit: int) -> LimitExceeded:
    """The error for ``subject`` (what was made) being ``size`` characters of data.

    >>> too_big("the arguments of km_echo", 2_000_000, 1_000_000).message
    'the arguments of km_echo would hold about 2,000,000 characters of data (limit \
max_template_output: 1,000,000)'
    """
    return LimitExceeded(
        "max_template_output",
        limit,
        f"{subject} would hold about {size:,} characters of data "
        f"(limit max_template_output: {limit:,})",
        hint="pass on less data (a part of a list, not all of it; a list held several "
        "times counts every time), or use a profile with larger limits",
    )


def check_fields(fields: dict[str, Any], limit: int, subject: str) -> None:
    """Raise ``limit-exceeded`` when named values (a tool's arguments, outputs) hold more
    than ``limit`` characters of data together (the generated code of a plain tool step
    sums the same way, inline).

    >>> check_fields({"text": "hi", "count": 3}, 10, "the arguments of km_echo")
    """
    size = 0
    for value in fields.values():
        if type(value) is str:
            size += len(value)
        elif type(value) not in SCALARS:
            size += data_size(value, limit)
    if size > limit:
        raise too_big(subject, size, limit)


def combines_values(dynamic: Any) -> bool:
    """True when a tool step's templated arguments (``(name, render, exact types,
    checker)``) include two or more that may hold text or data: only then can a call
    carry more than the one value it passes on, which was measured where it was made."""
    holding = 0
    for _name, _render, exact, check in dynamic:
        if check is None or exact is None or not exact <= SCALARS:
            holding += 1
    return holding > 1


def check_value(value: Any, limits: Limits, name: str | None = None) -> None:
    """Raise ``limit-exceeded`` when a value a step made is too big: a string past
    ``max_string_length``, a list or object past ``max_collection_size`` items or
    ``max_template_output`` characters of data."""
    if type(value) is int and value.bit_length() > MAX_INT_BITS:
        message, hint = number_too_long(value)
        raise StepError(ErrorKind.TEMPLATE_ERROR, message, hint=hint)
    if isinstance(value, str):
        if len(value) > limits.max_string_length:
            raise over_limit("max_string_length", len(value), limits.max_string_length)
    elif isinstance(value, list | dict):
        if len(value) > limits.max_collection_size:
            raise over_limit("max_collection_size", len(value), limits.max_collection_size)
        size = data_size(value, limits.max_template_output)
        if size > limits.max_template_output:
            subject = "the value" if name is None else f"the value of `{name}`"
            raise too_big(subject, size, limits.max_template_output)
