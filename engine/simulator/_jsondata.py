"""JSON data in and out of the simulator: checked, converted and deep-copied in one walk."""

from __future__ import annotations

import math
from typing import Any

from engine.diagnostics.errors import format_path

# Deeper than any real tool argument; bounds the walk and the state file.
MAX_DEPTH = 64


class NotJSONData(ValueError):
    """A value that JSON (and so MCP) cannot carry, with where it was found."""

    def __init__(self, reason: str, path: tuple[str | int, ...]) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{format_path(path)}: {reason}")

    def inside(self, part: str | int) -> NotJSONData:
        """The same problem, one level further down from the caller's point of view."""
        return NotJSONData(self.reason, (part, *self.path))


def copy_json(value: Any, *, max_depth: int = MAX_DEPTH) -> Any:
    """A deep copy of ``value`` made of plain JSON types (tuples become lists).

    Raises :class:`NotJSONData` for anything JSON cannot carry: non-finite
    floats, non-string keys, sets, objects, or nesting deeper than ``max_depth``.

    >>> copy_json({"a": (1, 2.5, None)})
    {'a': [1, 2.5, None]}
    >>> copy_json({"x": float("nan")})
    Traceback (most recent call last):
    ...
    engine.simulator._jsondata.NotJSONData: $.x: NaN and infinity are not JSON numbers
    """
    return _copy(value, max_depth)


def _copy(value: Any, budget: int) -> Any:
    # The path of a problem is built while unwinding, so the common case pays nothing.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        raise NotJSONData("NaN and infinity are not JSON numbers", ())
    if budget <= 0 and isinstance(value, dict | list | tuple):
        raise NotJSONData(f"nested deeper than {MAX_DEPTH} levels", ())
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotJSONData(f"object keys must be strings, not {type(key).__name__}", ())
            try:
                out[str(key)] = _copy(item, budget - 1)
            except NotJSONData as problem:
                raise problem.inside(key) from None
        return out
    if isinstance(value, list | tuple):
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_copy(item, budget - 1))
            except NotJSONData as problem:
                raise problem.inside(index) from None
        return items
    return _scalar(value)


def _scalar(value: Any) -> Any:
    """Subclasses of JSON scalars (str enums, IntEnum) travel as their base type."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _copy(float(value), 1)
    raise NotJSONData(f"{type(value).__name__} is not JSON data", ())
