"""Text functions shared by expressions and filters: replace, join, split, JSON, base64.

Each measures its result before it builds it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, Final, NoReturn, cast

from engine.diagnostics.words import describe_value
from engine.lang.sandbox.failures import SandboxFailure, text_argument
from engine.lang.sandbox.sizes import (
    MAX_INT_DIGITS,
    as_sequence,
    bounded_list,
    check_size,
    estimate_text_size,
    size_limit,
    sized_text,
    to_text,
)


def replace_text(text: Any, old: Any, new: Any, count: int | None = None) -> str:
    """``text`` with ``old`` replaced by ``new``, size-checked before it is built.

    >>> replace_text("a-b-c", "-", "+", 1)
    'a+b-c'
    """
    source = to_text(text)
    old_text, new_text = to_text(old), to_text(new)
    occurrences = source.count(old_text) if old_text else len(source) + 1
    if count is not None and count >= 0:
        occurrences = min(occurrences, count)
    check_size(len(source) + occurrences * (len(new_text) - len(old_text)), "max_string_length")
    return source.replace(old_text, new_text, -1 if count is None else count)


def join_text(values: Any, separator: Any = "") -> str:
    """The items of a list as text, joined by ``separator``, measured as they are joined.

    >>> join_text([1, "b"], ", ")
    '1, b'
    """
    items = as_sequence(values, "join")
    glue = to_text(separator)
    limit = size_limit("max_string_length")
    size = len(glue) * max(len(items) - 1, 0)
    check_size(size, "max_string_length")
    parts: list[str] = []
    for item in items:
        part = to_text(item)
        size += len(part)
        if size > limit:
            check_size(size, "max_string_length")
        parts.append(part)
    return glue.join(parts)


_WORD: Final = re.compile(r"\S+")
_LINE_BREAK: Final = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def count_pieces(text: str, separator: Any = None, maxsplit: Any = -1) -> int:
    """How many pieces ``text.split(separator, maxsplit)`` makes, counted without
    making them (any argument Python refuses counts as one piece: Python then says why).

    >>> count_pieces("a,b,c", ","), count_pieces(" a  b "), count_pieces("a,b,c", ",", 1)
    (3, 2, 2)
    """
    if not isinstance(maxsplit, int):
        return 1
    if separator is None:
        count = _WORD.subn("", text)[1]
    elif isinstance(separator, str) and separator:
        count = text.count(separator) + 1
    else:
        return 1
    return count if maxsplit < 0 else min(count, maxsplit + 1)


def _bounded_split(text: str, name: str) -> Callable[..., list[str]]:
    method = getattr(text, name)

    def split(sep: Any = None, maxsplit: Any = -1) -> list[str]:
        check_size(count_pieces(text, sep, maxsplit), "max_collection_size")
        return cast("list[str]", method(sep, maxsplit))

    split.__name__ = name
    return split


def _bounded_splitlines(text: str) -> Callable[..., list[str]]:
    def splitlines(keepends: Any = False) -> list[str]:
        breaks = _LINE_BREAK.subn("", text)[1]
        check_size(breaks + 1, "max_collection_size")
        return text.splitlines(keepends)

    return splitlines


LIST_MAKING_METHODS: Final[Mapping[str, Callable[[str], Callable[..., list[str]]]]] = {
    "split": lambda text: _bounded_split(text, "split"),
    "rsplit": lambda text: _bounded_split(text, "rsplit"),
    "splitlines": _bounded_splitlines,
}
"""String methods that make lists, as bound methods that count the items first."""


def split_text(text: Any, separator: str | None = None, maxsplit: int = -1) -> list[str]:
    """The pieces of ``text`` between ``separator`` (whitespace when omitted).

    >>> split_text("a,b,c", ",")
    ['a', 'b', 'c']
    """
    source = to_text(text)
    if separator is not None:
        glue = text_argument(separator, "the separator")
        if not glue:
            raise SandboxFailure("the separator cannot be empty", "use list(x) to get characters")
    check_size(count_pieces(source, separator, maxsplit), "max_collection_size")
    return source.split(separator, maxsplit)


def _reject_constant(name: str) -> NoReturn:
    raise SandboxFailure(f"{name} is not valid JSON", "JSON numbers must be finite")


def parse_json(text: Any) -> Any:
    """The data a JSON text holds.

    >>> parse_json('{"a": [1, null]}')
    {'a': [1, None]}
    """
    source = text_argument(text, "from_json's input")
    try:
        return json.loads(source, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise SandboxFailure(
            f"the text is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            "check the quotes, commas and brackets of the JSON",
        ) from None
    except ValueError:  # Python's own limit on the digits of a number read from text
        raise SandboxFailure(
            f"the JSON holds a number of more than {MAX_INT_DIGITS:,} digits",
            f"numbers are limited to {MAX_INT_DIGITS:,} digits",
        ) from None
    except RecursionError:
        raise SandboxFailure("the JSON is nested too deeply") from None


def dump_json(
    value: Any, indent: int | None = None, check: Callable[[Any], None] | None = None
) -> str:
    """``value`` as JSON text (key order kept, non-ASCII kept), measured first.

    ``check`` sees every value JSON does not know, before it is refused.

    >>> dump_json({"a": [1, None], "b": "é"})
    '{"a": [1, null], "b": "é"}'
    """
    if indent is not None and (not isinstance(indent, int) or not 0 <= indent <= 8):
        raise SandboxFailure("the JSON indent must be a whole number from 0 to 8")
    limit = size_limit("max_string_length")
    check_size(estimate_text_size(value, limit, indent or 0), "max_string_length")

    def fallback(item: Any) -> Any:
        if check is not None:
            check(item)
        if isinstance(item, KeysView | ValuesView | ItemsView | range | Iterator):
            return bounded_list(item)
        raise SandboxFailure(f"cannot turn {describe_value(item)} into JSON")

    try:
        text = json.dumps(
            value, ensure_ascii=False, indent=indent, allow_nan=False, default=fallback
        )
    except ValueError:
        raise SandboxFailure("NaN and infinite numbers cannot be written as JSON") from None
    except RecursionError:
        raise SandboxFailure("the value is nested too deeply to write as JSON") from None
    return sized_text(text)


def b64encode_text(value: Any) -> str:
    """Text (UTF-8) encoded as base64.

    >>> b64encode_text("hi")
    'aGk='
    """
    return sized_text(base64.b64encode(to_text(value).encode()).decode("ascii"))


def b64decode_text(value: Any) -> str:
    """Base64 decoded back to UTF-8 text.

    >>> b64decode_text("aGk=")
    'hi'
    """
    source = text_argument(value, "b64decode's input")
    try:
        return base64.b64decode(source).decode("utf-8")
    except (binascii.Error, ValueError):
        raise SandboxFailure("the text is not valid base64 of UTF-8 text") from None
