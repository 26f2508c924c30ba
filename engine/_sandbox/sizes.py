"""Sizes: every allocation is checked against the run's limits before it happens."""

from __future__ import annotations

import functools
import types
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from itertools import islice
from typing import Any, Final

from engine._sandbox.failures import SandboxFailure, describe_value
from engine.errors import LimitExceeded
from engine.limits import current_limits

_LIMIT_MESSAGES: Final[Mapping[str, str]] = {
    "max_string_length": "this would make a string of {size:,} characters; "
    "the limit (max_string_length) is {limit:,}",
    "max_collection_size": "this would make a list of {size:,} items; "
    "the limit (max_collection_size) is {limit:,}",
    "max_template_output": "the template output would be {size:,} characters or more; "
    "the limit (max_template_output) is {limit:,}",
}


def size_limit(name: str) -> int:
    """The named limit of the current run."""
    value: int = getattr(current_limits(), name)
    return value


def check_size(size: int, limit_name: str) -> None:
    """Raise :class:`LimitExceeded` when ``size`` is over the named limit of this run.

    >>> check_size(10, "max_string_length")
    """
    limit = size_limit(limit_name)
    if size > limit:
        message = _LIMIT_MESSAGES[limit_name].format(size=size, limit=limit)
        raise LimitExceeded(limit_name, limit, message)


# What may never be shown as text (an undefined value is callable too, but reports
# itself as undefined when shown).
_CODE_TYPES: Final = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.BuiltinMethodType,
    types.MethodWrapperType,
    type,
    functools.partial,
)


def estimate_text_size(value: Any, budget: int, indent: int = 0) -> int:
    """About how many characters ``str(value)`` or JSON of it would take; stops early
    once past ``budget`` (so a list that holds itself many times costs little to measure).

    >>> estimate_text_size(["ab", 1], 1000) >= len(str(["ab", 1]))
    True
    """
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif item is None or isinstance(item, bool | float):
            total += 24
        elif isinstance(item, int):
            total += item.bit_length() * 3 // 10 + 2
        elif isinstance(item, Mapping | list | tuple | KeysView | ValuesView | ItemsView):
            per_item = 4 + (indent * (depth + 1) + 1 if indent else 0)
            total += 2 + len(item) * per_item
            if total > budget:
                return total
            if isinstance(item, Mapping):
                stack.extend((part, depth + 1) for pair in item.items() for part in pair)
            else:
                stack.extend((part, depth + 1) for part in item)
        elif isinstance(item, _CODE_TYPES):
            # Shown as text, a function gives its name and memory address: internals
            # a template has no business with, and never what the author meant.
            raise SandboxFailure(
                "a function or filter cannot be shown as text",
                "call it with parentheses, e.g. `range(3)`, or use a value instead",
            )
        else:
            total += 64
        if total > budget:
            return total
    return total


def to_text(value: Any, limit_name: str = "max_string_length") -> str:
    """``str(value)``, measured before it is built.

    >>> to_text([1, "a"]), to_text(None)
    ("[1, 'a']", 'None')
    """
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if value is None or isinstance(value, int | float):
        return str(value)
    limit = size_limit(limit_name)
    estimate = estimate_text_size(value, limit)
    if estimate > limit:
        check_size(estimate, limit_name)
    text = str(value)
    check_size(len(text), limit_name)
    return text


def sized_text(text: str) -> str:
    """``text`` after checking it against ``max_string_length`` (for results that can
    grow by a small factor, such as ``upper``).

    >>> sized_text("ok")
    'ok'
    """
    check_size(len(text), "max_string_length")
    return text


def bounded_list(values: Any) -> list[Any]:
    """``list(values)`` of at most ``max_collection_size`` items.

    >>> bounded_list(range(3)), bounded_list("ab")
    ([0, 1, 2], ['a', 'b'])
    """
    if isinstance(values, Mapping | list | tuple | str | range | KeysView | ValuesView):
        check_size(len(values), "max_collection_size")
        return list(values)
    if isinstance(values, ItemsView):
        check_size(len(values), "max_collection_size")
        return list(values)
    if not isinstance(values, Iterable):
        raise SandboxFailure(f"expected a list, got {describe_value(values)}")
    limit = size_limit("max_collection_size")
    items = list(islice(values, limit + 1))
    check_size(len(items), "max_collection_size")
    return items


PLAIN_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
PLAIN_TYPES: Final = PLAIN_SCALARS | {dict, list}


def to_plain(value: Any) -> Any:
    """A result as JSON-like data: tuples, ranges, views and generators become lists.

    >>> to_plain((1, 2)), to_plain({"a": 1}.keys())
    ([1, 2], ['a'])
    """
    if type(value) in PLAIN_TYPES:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return value
    if isinstance(value, tuple | range | KeysView | ValuesView | ItemsView | Iterator):
        return bounded_list(value)
    if callable(value):
        raise SandboxFailure(
            "the result is a function or method, not a value",
            "call it with parentheses, e.g. `name.upper()`",
        )
    return value


def as_sequence(values: Any, function: str) -> Sequence[Any]:
    """Items to read (existing lists are read in place; others are listed, bounded)."""
    if isinstance(values, list | tuple | str | range):
        return values
    if isinstance(values, Mapping | Iterable):
        return bounded_list(values)
    raise SandboxFailure(f"{function}() needs a list, not {describe_value(values)}")
