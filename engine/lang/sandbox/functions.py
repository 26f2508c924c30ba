"""The functions an expression may call, and the registry an engine copies."""

from __future__ import annotations

import datetime
from collections.abc import Callable, ItemsView, KeysView, Mapping, ValuesView
from typing import Any, Final

from engine.diagnostics.words import describe_value
from engine.lang.sandbox.failures import SandboxFailure, text_argument
from engine.lang.sandbox.numbers import (
    fn_abs,
    fn_bool,
    fn_float,
    fn_int,
    fn_max,
    fn_min,
    fn_range,
    fn_round,
    fn_sum,
)
from engine.lang.sandbox.operators import op_in
from engine.lang.sandbox.patterns import regex_matches
from engine.lang.sandbox.sizes import as_sequence, bounded_list, sized_text, to_text
from engine.lang.sandbox.text import dump_json, join_text, parse_json, replace_text, split_text


def fn_len(value: Any) -> int:
    """Length of a string, list or object.

    >>> fn_len({"a": 1})
    1
    """
    if isinstance(value, str | list | tuple | Mapping | range | KeysView | ValuesView | ItemsView):
        return len(value)
    raise SandboxFailure(f"len() needs text, a list or a mapping, not {describe_value(value)}")


def fn_lower(value: Any) -> str:
    """Text in lower case.

    >>> fn_lower("AbC")
    'abc'
    """
    return sized_text(to_text(value).lower())


def fn_upper(value: Any) -> str:
    """Text in upper case.

    >>> fn_upper("ab")
    'AB'
    """
    return sized_text(to_text(value).upper())


def fn_title(value: Any) -> str:
    """Text with Each Word Capitalised.

    >>> fn_title("hello world")
    'Hello World'
    """
    return sized_text(to_text(value).title())


def fn_trim(value: Any, chars: str | None = None) -> str:
    """Text without leading and trailing whitespace (or ``chars``).

    >>> fn_trim("  x ")
    'x'
    """
    return to_text(value).strip(chars)


def fn_str(value: Any) -> str:
    """A value as text: ``str(3)`` is ``'3'``.

    >>> fn_str(None)
    'None'
    """
    return to_text(value)


def fn_sorted(values: Any, reverse: bool = False) -> list[Any]:
    """A sorted copy of a list.

    >>> fn_sorted(["b", "a"])
    ['a', 'b']
    """
    items = bounded_list(values)
    try:
        return sorted(items, reverse=bool(reverse))
    except TypeError:
        raise SandboxFailure("sorted() cannot compare items of different kinds") from None


def fn_any(values: Any) -> bool:
    """True when any item of the list is true.

    >>> fn_any([0, 1])
    True
    """
    return any(as_sequence(values, "any"))


def fn_all(values: Any) -> bool:
    """True when every item of the list is true.

    >>> fn_all([0, 1])
    False
    """
    return all(as_sequence(values, "all"))


def fn_contains(container: Any, item: Any) -> bool:
    """``item in container``.

    >>> fn_contains(["a"], "a")
    True
    """
    return op_in(item, container)


def fn_startswith(text: Any, prefix: Any) -> bool:
    """True when ``text`` starts with ``prefix``.

    >>> fn_startswith("Ada", "A")
    True
    """
    return to_text(text).startswith(text_argument(prefix, "the prefix"))


def fn_endswith(text: Any, suffix: Any) -> bool:
    """True when ``text`` ends with ``suffix``.

    >>> fn_endswith("a.pdf", ".pdf")
    True
    """
    return to_text(text).endswith(text_argument(suffix, "the suffix"))


def fn_keys(value: Any) -> list[Any]:
    """The keys of an object, as a list.

    >>> fn_keys({"a": 1})
    ['a']
    """
    if not isinstance(value, Mapping):
        raise SandboxFailure(f"keys() needs a mapping, not {describe_value(value)}")
    return bounded_list(value.keys())


def fn_values(value: Any) -> list[Any]:
    """The values of an object, as a list.

    >>> fn_values({"a": 1})
    [1]
    """
    if not isinstance(value, Mapping):
        raise SandboxFailure(f"values() needs a mapping, not {describe_value(value)}")
    return bounded_list(value.values())


def fn_items(value: Any) -> list[list[Any]]:
    """The ``[key, value]`` pairs of an object, as a list.

    >>> fn_items({"a": 1})
    [['a', 1]]
    """
    if not isinstance(value, Mapping):
        raise SandboxFailure(f"items() needs a mapping, not {describe_value(value)}")
    return [[key, item] for key, item in bounded_list(value.items())]


def now_iso() -> str:
    """The current local time, ISO 8601 with its UTC offset (``2026-05-01T09:30:00+02:00``).

    >>> "T" in now_iso()
    True
    """
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def today_iso() -> str:
    """Today's local date, ISO 8601 (``2026-05-01``).

    >>> len(today_iso())
    10
    """
    return datetime.date.today().isoformat()


def type_of(value: Any) -> str:
    """The JSON kind of a value: string, number, boolean, null, list, object.

    >>> type_of([1]), type_of(True)
    ('list', 'boolean')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple | range):
        return "list"
    return "other"


def fn_to_json(value: Any, indent: int | None = None) -> str:
    """A value as JSON text.

    >>> fn_to_json([1, None])
    '[1, null]'
    """
    return dump_json(value, indent)


DEFAULT_FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = {
    "len": fn_len,
    "lower": fn_lower,
    "upper": fn_upper,
    "title": fn_title,
    "trim": fn_trim,
    "str": fn_str,
    "int": fn_int,
    "float": fn_float,
    "bool": fn_bool,
    "round": fn_round,
    "min": fn_min,
    "max": fn_max,
    "abs": fn_abs,
    "sum": fn_sum,
    "sorted": fn_sorted,
    "any": fn_any,
    "all": fn_all,
    "contains": fn_contains,
    "startswith": fn_startswith,
    "endswith": fn_endswith,
    "matches": regex_matches,
    "replace": replace_text,
    "join": join_text,
    "split": split_text,
    "keys": fn_keys,
    "values": fn_values,
    "items": fn_items,
    "now": now_iso,
    "today": today_iso,
    "range": fn_range,
    "type_of": type_of,
    "from_json": parse_json,
    "to_json": fn_to_json,
}
"""Functions an expression may call (``default`` and ``defined`` are special forms)."""

SPECIAL_FORMS: Final = frozenset({"default", "defined"})
