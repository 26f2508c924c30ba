"""printf-style ``text % values``, measured piece by piece before each piece is built.

Python's ``%`` builds the whole result before anyone can measure it: a width behind a
key (``%(a)999999999s``) or one key used a thousand times (``%(a)s%(a)s…`` with a long
value) makes gigabytes first. So the format is parsed here, as Python parses it, and
each conversion's size is predicted from its width, precision and value before Python
formats that conversion alone; the total is checked as it grows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from engine.lang.sandbox.failures import SandboxFailure
from engine.lang.sandbox.sizes import (
    check_operand,
    check_size,
    estimate_text_size,
    plain_data,
    size_limit,
    to_text,
)

_FLAGS: Final = "-+ #0"
_CONVERSIONS: Final = "diouxXeEfFgGcrsa%"
_HINT: Final = "use %s for text, %d for whole numbers, %.2f for decimals and %% for a percent sign"
_REPR_GROWTH: Final = 10  # repr() writes a character as at most 10 (`\U0001f600`)


@dataclass(frozen=True, slots=True)
class _Conversion:
    """One ``%`` conversion: ``%(key)flags width.precision type``."""

    key: str | None
    flags: str
    width: int
    precision: int | None
    type: str

    def spec(self, kind: str) -> str:
        """The conversion alone, without its key, as Python writes it."""
        precision = "" if self.precision is None else f".{self.precision}"
        return f"%{self.flags}{self.width or ''}{precision}{kind}"


def _number(text: str, start: int, limit: int) -> tuple[int, int]:
    """The digits at ``start`` as a number (capped just past ``limit``), and where they end."""
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    digits = text[start:end]
    if text[end : end + 1] == "*":
        raise SandboxFailure(
            "`*` widths are not supported in % formatting", "write the width as a number"
        )
    return (int(digits) if len(digits) < 10 else limit + 1) if digits else 0, end


def _conversion(text: str, start: int, limit: int) -> tuple[_Conversion, int]:
    """The conversion whose ``%`` is at ``start - 1``, and the index after it."""
    index, key = start, None
    if text[index : index + 1] == "(":
        depth, index = 1, index + 1
        while index < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[index], 0)
            index += 1
        if depth:
            raise SandboxFailure("a `%(` in the format has no closing `)`", _HINT)
        key = text[start + 1 : index - 1]
    flags_start = index
    while index < len(text) and text[index] in _FLAGS:
        index += 1
    flags = text[flags_start:index]
    width, index = _number(text, index, limit)
    precision = None
    if text[index : index + 1] == ".":
        precision, index = _number(text, index + 1, limit)
    if text[index : index + 1] in ("h", "l", "L"):
        index += 1
    if index >= len(text):
        raise SandboxFailure("the format ends in the middle of a `%` conversion", _HINT)
    kind = text[index]
    if kind == "%" and index != start:
        raise SandboxFailure(
            f"a percent sign is written %%, with nothing between (character {index + 1} of "
            "the format)",
            _HINT,
        )
    if kind not in _CONVERSIONS:
        raise SandboxFailure(
            f"`%{kind}` is not a % conversion (character {index + 1} of the format)", _HINT
        )
    return _Conversion(key, flags, width, precision, kind), index + 1


def _pieces(text: str, limit: int) -> Iterator[str | _Conversion]:
    """The literal text and the conversions of a format, in order."""
    start = 0
    while True:
        index = text.find("%", start)
        if index < 0:
            if start < len(text):
                yield text[start:]
            return
        if index > start:
            yield text[start:index]
        conversion, start = _conversion(text, index + 1, limit)
        yield "%" if conversion.type == "%" else conversion


class _Arguments:
    """The values a format takes, as Python hands them out: by key from an object,
    else in order from a tuple (or the one value that is not a tuple)."""

    def __init__(self, values: Any) -> None:
        self.mapping = values if isinstance(values, Mapping) else None
        self.items = values if isinstance(values, tuple) else (values,)
        self.used = 0

    def take(self, key: str | None) -> Any:
        if key is not None:
            self.used = len(self.items)  # as Python: no value in order after a key
            if self.mapping is None:
                raise SandboxFailure(
                    f"`%({key})` needs a mapping on the right of %",
                    f"e.g. '%({key})s' % {{'{key}': value}}",
                )
            if key not in self.mapping:
                raise SandboxFailure(
                    f"the format names {key!r}, but the object has no such key",
                    "check the names inside %(…)",
                )
            return self.mapping[key]
        if self.used >= len(self.items):
            raise SandboxFailure(
                "the format has more % conversions than values",
                "give one value per conversion: '%s and %s' % (a, b)",
            )
        self.used += 1
        return self.items[self.used - 1]

    def check_all_used(self) -> None:
        if self.mapping is None and self.used < len(self.items):
            raise SandboxFailure(
                "the format has fewer % conversions than values",
                "give one value per conversion, or write %% for a percent sign",
            )


def _digits(value: Any, bits_per_digit: float) -> int:
    """At most how many digits a number is written with, in a base of that many bits."""
    if isinstance(value, float):
        value = 0 if not math.isfinite(value) else int(value)
    if not isinstance(value, int):
        return 1  # not a number: Python refuses it, with its own message
    check_operand(value)
    return int(value.bit_length() / bits_per_digit) + 1


def _predicted(conversion: _Conversion, value: Any, limit: int) -> tuple[int, Any]:
    """At most how many characters the conversion makes, and the value to format
    (text, for %s, %r and %a)."""
    kind, precision = conversion.type, conversion.precision
    if kind == "s":
        text = to_text(value)
        size = len(text) if precision is None else min(len(text), precision)
    elif kind in "ra":
        data = plain_data(value)
        if estimate_text_size(data, limit) * _REPR_GROWTH > limit:
            check_size(estimate_text_size(data, limit) * _REPR_GROWTH, "max_string_length")
        text = to_text(repr(data) if kind == "r" else ascii(data))
        size = len(text) if precision is None else min(len(text), precision)
    elif kind == "c":
        return 1, value
    elif kind in "diu":
        return max(_digits(value, math.log2(10)), precision or 0) + 2, value
    elif kind in "oxX":
        return max(_digits(value, 3 if kind == "o" else 4), precision or 0) + 3, value
    elif kind in "fF":
        return _digits(value, math.log2(10)) + (6 if precision is None else precision) + 3, value
    else:  # e, E, g, G: a mantissa of `precision` digits and an exponent
        return (6 if precision is None else precision) + 10, value
    return size, text


def format_text(template: str, values: Any) -> str:
    """``template % values`` (printf-style), each conversion measured before it is made.

    >>> format_text("%.2f items", 3), format_text("%(n)s=%(n)03d", {"n": 7})
    ('3.00 items', '7=007')
    """
    limit = size_limit("max_string_length")
    arguments = _Arguments(values)
    parts: list[str] = []
    size = 0
    for piece in _pieces(template, limit):
        if isinstance(piece, str):
            size += len(piece)
            check_size(size, "max_string_length")
            parts.append(piece)
            continue
        predicted, value = _predicted(piece, arguments.take(piece.key), limit)
        check_size(size + max(predicted, piece.width), "max_string_length")
        kind = "s" if piece.type in "sra" else piece.type
        text = piece.spec(kind) % (value,)
        size += len(text)
        parts.append(text)
    arguments.check_all_used()
    return "".join(parts)
