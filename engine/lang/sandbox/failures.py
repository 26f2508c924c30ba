"""Failures inside the sandbox (values are described in :mod:`engine.diagnostics.words`).

The engines turn a :class:`SandboxFailure` or :class:`MissingValue` into a StepError.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.diagnostics.words import describe_value


class SandboxFailure(Exception):
    """A value-level failure (a bad argument, a forbidden method): message and hint.

    >>> SandboxFailure("division by zero", "check the divisor").hint
    'check the divisor'
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class MissingValue(Exception):
    """A name, key or item that is not there.

    ``parent_text`` is None for a root name (then ``parent`` is the scope), and ``""``
    when the parent has no name the user wrote (the item of a filtered list, say).
    ``attribute`` is True when the key was read with a dot (``x.items``, where the
    method ``items()`` may be what was meant).

    >>> MissingValue("inputs", {"a": 1}, "b").key
    'b'
    """

    def __init__(
        self, parent_text: str | None, parent: Any, key: Any, *, attribute: bool = False
    ) -> None:
        super().__init__(key)
        self.parent_text = parent_text
        self.parent = parent
        self.key = key
        self.attribute = attribute


def listing(names: Iterable[Any], limit: int = 20) -> str:
    """Up to ``limit`` names, sorted and comma-separated, with a count of the rest."""
    ordered = sorted({str(name) for name in names})
    shown = ", ".join(ordered[:limit])
    if len(ordered) > limit:
        shown += f", … ({len(ordered) - limit} more)"
    return shown


def division_by_zero() -> SandboxFailure:
    """The failure for dividing by zero, with a hint to check the divisor first."""
    return SandboxFailure("division by zero", "check the divisor first, e.g. `a / b if b else 0`")


def text_argument(value: Any, what: str) -> str:
    """``value`` as a plain string; a :class:`SandboxFailure` naming ``what`` if it is not."""
    if isinstance(value, str):
        return str(value)
    raise SandboxFailure(f"{what} must be text, not {describe_value(value)}")
