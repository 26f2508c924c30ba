"""Keys and methods: what a value exposes to ``.name`` and ``[key]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from engine.diagnostics.words import describe_value
from engine.lang.sandbox.failures import SandboxFailure, listing
from engine.lang.sandbox.text import LIST_MAKING_METHODS


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()

STRING_METHODS: Final = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum",
        "isalpha", "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace",
        "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
        "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split",
        "splitlines", "startswith", "strip", "swapcase", "title", "upper",
    }
)  # fmt: skip
SEQUENCE_METHODS: Final = frozenset({"count", "index"})
MAPPING_METHODS: Final = frozenset({"get", "items", "keys", "values"})
ALLOWED_METHODS: Final = STRING_METHODS | SEQUENCE_METHODS | MAPPING_METHODS

_CHANGES_DATA = "templates and expressions cannot change data: build a new value in a `set` step"
_PADDING = "padding methods are not available (they can build huge strings)"
_TEXT_BUILDING = "build text with `+` in expressions or `~` in templates"
METHOD_HINTS: Final[Mapping[str, str]] = {
    "format": _TEXT_BUILDING,
    "format_map": _TEXT_BUILDING,
    "join": "use join(items, separator) in expressions, `items | join(separator)` in templates",
    "replace": "use replace(text, old, new) in expressions, `text | replace(old, new)` in "
    "templates",
    "ljust": _PADDING,
    "rjust": _PADDING,
    "center": _PADDING,
    "zfill": _PADDING,
    "expandtabs": _PADDING,
    "encode": "byte strings are not available",
    **{
        name: _CHANGES_DATA
        for name in (
            "append", "clear", "copy", "extend", "insert", "pop", "popitem", "remove",
            "reverse", "setdefault", "sort", "update",
        )
    },
}  # fmt: skip


def method_hint(name: str) -> str:
    """Why a method is not available, and what to use instead.

    >>> method_hint("update")
    'templates and expressions cannot change data: build a new value in a `set` step'
    """
    return METHOD_HINTS.get(name, f"methods you can use: {listing(ALLOWED_METHODS, 60)}")


def forbidden(obj: Any, name: str) -> SandboxFailure:
    """The failure for a private name or a method that is not allowed."""
    if name.startswith("_"):
        return SandboxFailure(
            f"`{name}` is not allowed: names starting with `_` are private",
            f"to read a key that starts with `_`, write `value[{name!r}]`",
        )
    return SandboxFailure(f"`.{name}` is not allowed on {describe_value(obj)}", method_hint(name))


def lookup_attribute(obj: Any, name: str, *, called: bool = False) -> Any:
    """``obj.name``: a key of an object first, then an allowed method; else :data:`MISSING`.

    An object's methods are found only when ``called`` (``data.items()``): read as a
    value, ``data.items`` is the key "items", missing (so a fallback applies, and the
    error names the keys there are) when the object has none.

    Raises :class:`SandboxFailure` for names starting with ``_`` and for methods that
    exist but are not allowed.

    >>> lookup_attribute({"items": [1]}, "items"), lookup_attribute({}, "items")
    ([1], MISSING)
    >>> callable(lookup_attribute({}, "items", called=True))
    True
    """
    if name[:1] == "_":
        raise forbidden(obj, name)
    if isinstance(obj, Mapping):
        try:
            return obj[name]
        except (KeyError, TypeError):
            pass
        return getattr(obj, name) if called and name in MAPPING_METHODS else MISSING
    if isinstance(obj, str):
        if name in STRING_METHODS:
            bounded = LIST_MAKING_METHODS.get(name)
            return getattr(obj, name) if bounded is None else bounded(str(obj))
    elif isinstance(obj, list | tuple | range):
        if name in SEQUENCE_METHODS:
            return getattr(obj, name)
        fields = getattr(type(obj), "_fields", ())  # named tuples, as Jinja's groupby makes
        if name in fields:
            return getattr(obj, name)
    else:
        return MISSING
    if hasattr(type(obj), name):
        raise forbidden(obj, name)
    return MISSING


def lookup_item(obj: Any, key: Any) -> Any:
    """``obj[key]``: a key of an object, an item or slice of a list or string.

    >>> lookup_item([1, 2, 3], -1), lookup_item("abc", slice(1, None)), lookup_item({}, "a")
    (3, 'bc', MISSING)
    """
    if isinstance(obj, Mapping):
        if isinstance(key, slice):
            raise SandboxFailure("a mapping cannot be sliced", "slice lists and text only")
        try:
            return obj[key]
        except (KeyError, TypeError):
            return MISSING
    if isinstance(obj, str | list | tuple | range):
        if isinstance(key, int):
            try:
                return obj[key]
            except IndexError:
                return MISSING
        if isinstance(key, slice):
            return obj[key]
        return MISSING
    if isinstance(key, slice):
        raise SandboxFailure(f"{describe_value(obj)} cannot be sliced", "slice lists and strings")
    return MISSING
