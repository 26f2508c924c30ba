"""Sizes: every allocation is checked against the run's limits before it happens.

Longer than 400 lines: one short size check per allocating operation, sharing their
limits and messages.
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import (
    Callable,
    Container,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    Sequence,
    ValuesView,
)
from itertools import islice
from typing import Any, Final, cast

from engine.diagnostics.errors import LimitExceeded
from engine.diagnostics.words import describe_value
from engine.lang.limits import current_limits
from engine.lang.sandbox.budget import spend
from engine.lang.sandbox.failures import SandboxFailure

_LIMIT_MESSAGES: Final[Mapping[str, str]] = {
    "max_string_length": "this would make text of {size:,} characters; "
    "the limit (max_string_length) is {limit:,}",
    "max_collection_size": "this would make a list or mapping of {size:,} items; "
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
    spend()
    limit = size_limit(limit_name)
    if size > limit:
        raise over_limit(limit_name, size, limit)


def over_limit(limit_name: str, size: int, limit: int) -> LimitExceeded:
    """The error for making something ``size`` big, past the limit ``limit_name``: the
    one wording of every size check (in templates, expressions and a step's value).

    >>> over_limit("max_collection_size", 12, 10).message
    'this would make a list or mapping of 12 items; the limit (max_collection_size) is 10'
    """
    message = _LIMIT_MESSAGES[limit_name].format(size=size, limit=limit)
    return LimitExceeded(limit_name, limit, message)


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

MAX_INT_DIGITS: Final = 4300  # Python's own limit for turning an int into text
MAX_INT_BITS: Final = MAX_INT_DIGITS * math.log2(10)
_LAZY: Final = (tuple, range, KeysView, ValuesView, ItemsView, Iterator)


def check_int_bits(bits: float, made: bool = True) -> None:
    """Refuse a whole number of about ``bits`` bits when it would have more than
    :data:`MAX_INT_DIGITS` digits: checked *before* it is made (``made``), or before an
    existing one is computed with (arithmetic on huge numbers costs quadratic time).

    >>> check_int_bits(64)
    """
    if bits > MAX_INT_BITS:
        digits = f"about {int(bits * math.log10(2)):,} digits"
        raise SandboxFailure(
            f"the number would have {digits}; numbers are limited to {MAX_INT_DIGITS:,} digits"
            if made
            else f"a number of {digits} is too large to compute with; numbers are limited "
            f"to {MAX_INT_DIGITS:,} digits",
            "check the arithmetic: `**` and `*` make big numbers very fast"
            if made
            else "where does it come from? Keep whole numbers to a few thousand digits",
        )


def number_too_long(value: int) -> tuple[str, str]:
    """Message and hint for a number written in a manifest with too many digits.

    >>> number_too_long(16 ** 5000)[0]
    'the number has about 6,020 digits; numbers are limited to 4,300 digits'
    """
    digits = int(value.bit_length() * math.log10(2))
    return (
        f"the number has about {digits:,} digits; numbers are limited to {MAX_INT_DIGITS:,} digits",
        "write a smaller number",
    )


def check_operand(value: Any) -> None:
    """Refuse to compute with a whole number too large to be shown as text (only text in
    base 16, 8 or 2, or a manifest literal, can make one).

    >>> check_operand(10**100)
    """
    if type(value) is int and value.bit_length() > MAX_INT_BITS:
        check_int_bits(value.bit_length(), made=False)


def _leaf_size(item: Any) -> int:
    """Characters of a scalar as text or JSON (an upper bound for numbers)."""
    if isinstance(item, str):
        return len(item) + 2
    if item is None or isinstance(item, bool):
        return 5
    if isinstance(item, int):
        check_operand(item)
        return item.bit_length() * 3 // 10 + 2
    if isinstance(item, float):
        return 24
    if isinstance(item, _CODE_TYPES):
        # Shown as text, a function gives its name and memory address: internals
        # a template has no business with, and never what the author meant.
        raise SandboxFailure(
            "a function or filter cannot be shown as text",
            "call it with parentheses, e.g. `range(3)`, or use a value instead",
        )
    return 64


_CONTAINERS: Final = (Mapping, list, tuple, KeysView, ValuesView, ItemsView)


def estimate_text_size(value: Any, budget: int, indent: int = 0) -> int:
    """About how many characters ``str(value)`` or JSON of it would take, counting a
    part that appears several times (``[x, x]``) every time, as text does. Each distinct
    list or object is walked once, and the walk stops once past ``budget``: a value
    that holds one list 2**30 times costs little to measure.

    >>> estimate_text_size(["ab", 1], 1000) >= len(str(["ab", 1]))
    True
    >>> shared = ["x" * 10]
    >>> for _ in range(40):
    ...     shared = [shared, shared]
    >>> estimate_text_size(shared, 10**6) > 10**6
    True
    """
    if not isinstance(value, _CONTAINERS):
        return _leaf_size(value)
    total = 0
    done: dict[Any, tuple[Any, int]] = {}  # container walked: (it, kept alive; its size)
    walking: set[Any] = set()  # containers being walked: meeting one again is a cycle
    sizes: list[int] = []  # the sizes so far of the containers being walked
    stack: list[tuple[Any, int, bool]] = [(value, 0, False)]
    while stack:
        item, depth, leaving = stack.pop()
        key: Any = id(item) if not indent else (id(item), depth)
        if leaving:
            size = sizes.pop()
            done[key] = (item, size)
            walking.discard(key)
            if sizes:
                sizes[-1] += size
            continue
        known = done.get(key)
        if known is not None:
            size = known[1]
        elif key in walking:
            raise _contains_itself()
        else:
            parts = _parts(item)
            size = 2 + len(parts) * (4 + (indent * (depth + 1) + 1 if indent else 0))
            inner: list[tuple[Any, int, bool]] = []
            for part in parts:
                kind = type(part)
                if kind is str:
                    size += len(part) + 2
                elif kind in _SMALL_LEAVES:
                    size += 24
                elif kind is int and part.bit_length() <= MAX_INT_BITS:
                    size += part.bit_length() * 3 // 10 + 2
                elif kind is list or kind is dict or isinstance(part, _CONTAINERS):
                    inner.append((part, depth + 1, False))
                else:
                    size += _leaf_size(part)
            total += size
            if total > budget:
                return total
            if inner:
                sizes.append(size)
                walking.add(key)
                stack.append((item, depth, True))
                stack.extend(inner)
            else:
                done[key] = (item, size)
                if sizes:
                    sizes[-1] += size
            continue
        total += size
        if sizes:
            sizes[-1] += size
        if total > budget:
            return total
    return total


_SMALL_LEAVES: Final = frozenset({bool, float, type(None)})  # 24 characters at most


def _contains_itself() -> SandboxFailure:
    return SandboxFailure(
        "the value contains itself, so it has no end as text",
        "build a new value instead of nesting one inside itself",
    )


def _parts(item: Any) -> Sequence[Any]:
    """The keys and values of an object, or the items of a list, in order."""
    kind = type(item)
    if kind is list:
        return cast("list[Any]", item)
    if kind is dict or isinstance(item, Mapping):
        return [part for pair in item.items() for part in pair]
    return item if isinstance(item, tuple) else list(item)


def plain_data(
    value: Any,
    seen: dict[int, Any] | None = None,
    check: Callable[[Any], None] | None = None,
    detach: Container[int] = (),
) -> Any:
    """``value`` with every lazy sequence inside it (a generator, a reversed list, a
    range, a view of an object's keys, a tuple) turned into a list, bounded; unchanged
    parts are returned as they are (not copied), and a part shared by several
    containers is converted once. ``check`` sees every other kind of value inside;
    objects whose ids are in ``detach`` (a run's `vars`, which later steps change) are
    copied, so that a value never holds them, nor later itself.

    >>> plain_data({"a": (1, range(2))}), plain_data(reversed([1, 2]))
    ({'a': [1, [0, 1]]}, [2, 1])
    """
    if type(value) in PLAIN_SCALARS:
        return value
    seen = {} if seen is None else seen
    known = seen.get(id(value), _UNSEEN)
    if known is not _UNSEEN:
        if known is _WALKING:  # met again inside itself (a tool may return such a list)
            raise _contains_itself()
        return known
    result: Any
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        seen[id(value)] = _WALKING
        pairs = [(key, plain_data(item, seen, check, detach)) for key, item in value.items()]
        unchanged = (
            type(value) is dict
            and id(value) not in detach
            and all(new is value[key] for key, new in pairs)
        )
        result = value if unchanged else dict(pairs)
    elif isinstance(value, list):
        seen[id(value)] = _WALKING
        items = [plain_data(item, seen, check, detach) for item in value]
        result = value if all(new is old for new, old in zip(items, value, strict=True)) else items
    elif isinstance(value, _LAZY):
        result = [plain_data(item, seen, check, detach) for item in bounded_list(value)]
    else:
        if check is not None:
            check(value)
        return value
    seen[id(value)] = result
    return result


_UNSEEN: Final[Any] = object()
_WALKING: Final[Any] = object()


def scope_roots(scope: Mapping[str, Any]) -> frozenset[int]:
    """The ids of the objects at the top of a scope (`vars`, `steps`, `inputs` …), for
    :func:`plain_data` to copy: a run changes `vars` and `steps` as it goes."""
    return frozenset(id(value) for value in scope.values() if type(value) is dict)


def to_text(value: Any, limit_name: str = "max_string_length") -> str:
    """``str(value)``, measured before it is built; lazy sequences (a generator, a
    reversed list, a view of keys) show their items, never a Python object.

    >>> to_text([1, "a"]), to_text(None), to_text(reversed([1, 2]))
    ("[1, 'a']", 'None', '[2, 1]')
    """
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if value is None or isinstance(value, float):
        return str(value)
    if isinstance(value, int):
        check_operand(value)
        return str(value)
    limit = size_limit(limit_name)
    data = plain_data(value)
    estimate = estimate_text_size(data, limit)
    if estimate > limit:
        check_size(estimate, limit_name)
    text = str(data)
    check_size(len(text), limit_name)
    return text


def check_data_size(value: Any, limit_name: str = "max_template_output") -> None:
    """Raise :class:`LimitExceeded` when the text or JSON a value stands for (a part it
    holds several times counted every time) is over the named limit.

    >>> check_data_size([["x"] * 3] * 3)
    """
    spend()
    if isinstance(value, _CONTAINERS):
        limit = size_limit(limit_name)
        size = estimate_text_size(value, limit)
        if size > limit:
            raise LimitExceeded(
                limit_name,
                limit,
                f"this would make {describe_value(value)} holding about {size:,} characters "
                f"of data; the limit ({limit_name}) is {limit:,}",
            )


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
