"""AppleScript values in Python, their coercions, and how ``osascript`` prints them.

Text is ``str``, integers ``int``, reals ``float``, booleans ``bool``, ``missing value``
``None``, lists ``list``, records :class:`Record`; application objects are references
(``refs.Ref``). ``NOTHING`` is the absence of a result (a command that returns none).
"""

from __future__ import annotations

from typing import Any

from .errors import cant_make


class _Nothing:
    def __repr__(self) -> str:
        return "NOTHING"


NOTHING = _Nothing()


class Record(dict[str, Any]):
    """An AppleScript record: labels (as written in the script) to values, in order."""


def real_text(value: float) -> str:
    """A real as AppleScript writes it: ``2.0``, ``0.5``, ``1.0E+20``."""
    if value == int(value) and abs(value) < 1e15:
        return f"{value:.1f}"
    if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-4):
        mantissa, exponent = f"{value:.15E}".split("E")
        mantissa = mantissa.rstrip("0")
        mantissa = mantissa + "0" if mantissa.endswith(".") else mantissa
        return f"{mantissa}E{'+' if int(exponent) >= 0 else '-'}{abs(int(exponent)):02d}"
    return repr(value)


def to_text(value: Any) -> str:
    """``value as text``: numbers and booleans become text, lists join their items."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return real_text(value)
    if isinstance(value, list):
        return "".join(to_text(item) for item in value)
    if value is None:
        return "missing value"
    raise cant_make(source_text(value), "text")


def to_number(value: Any, kind: str) -> int | float:
    if isinstance(value, bool):
        raise cant_make(source_text(value), kind)
    if isinstance(value, int | float):
        return int(value) if kind == "integer" else value
    if isinstance(value, str):
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise cant_make(source_text(value), kind) from None
        return round(number) if kind == "integer" else number
    if isinstance(value, list) and len(value) == 1:
        return to_number(value[0], kind)
    raise cant_make(source_text(value), kind)


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise cant_make(source_text(value), "boolean")


def coerce(value: Any, kind: str) -> Any:
    """``value as <kind>``."""
    if kind in ("string", "text", "unicode text"):
        return to_text(value)
    if kind in ("integer", "real", "number"):
        return to_number(value, kind)
    if kind == "boolean":
        return to_boolean(value)
    if kind == "list":
        return value if isinstance(value, list) else [value]
    if kind == "record" and isinstance(value, Record):
        return value
    raise cant_make(source_text(value), kind)


def source_text(value: Any) -> str:
    """``value`` as AppleScript source (what error messages quote): ``"abc"``, ``{1, 2}``."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "{" + ", ".join(source_text(v) for v in value) + "}"
    if isinstance(value, Record):
        return "{" + ", ".join(f"{k}:{source_text(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "source"):
        return str(value.source())
    return to_text(value) if value is not NOTHING else ""


def human_text(value: Any) -> str:
    """What ``osascript`` prints for a result (its default, human-readable form).

    Lists and records are written without braces, items separated by ", " (nested lists
    flattened), labels as ``label:value``; text without quotes.
    """
    if isinstance(value, Record):
        return ", ".join(f"{k}:{human_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(human_text(v) for v in value)
    if hasattr(value, "source"):
        return str(value.source())
    return to_text(value)


def concatenate(left: Any, right: Any) -> Any:
    """``left & right``: text if the left is text, a list if either is a list, else a list."""
    if isinstance(left, str):
        return left + to_text(right)
    if isinstance(left, Record) and isinstance(right, Record):
        merged = Record(left)
        for key, value in right.items():
            merged.setdefault(key, value)
        return merged
    left_items = left if isinstance(left, list) else [left]
    right_items = right if isinstance(right, list) else [right]
    return [*left_items, *right_items]


def equal(left: Any, right: Any) -> bool:
    """``=`` as AppleScript compares: text ignoring case, numbers by value."""
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right or (
            isinstance(left, bool) and left == right and type(left) is type(right)
        )
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if hasattr(left, "same_as"):
        return bool(left.same_as(right))
    return bool(left == right)
