"""A step's numbers (repeat `max`, `wait`, `timeout`, retry's): written, or templated.

Each number a step takes may be written as a number or as a template giving one
(``max: "{{ inputs.times }}"``), checked when the step runs against the same bounds as
the schema (``schemas/action.schema.json``) gives the written form. A template may give
text holding a number (a Keyboard Maestro variable's value is text): ``"3"`` is 3.

>>> count = StepNumber("`max` of `repeat`", Bounds(whole=True, low=1), 3)
>>> count.value({})
3
>>> times = StepNumber("`max` of `repeat`", Bounds(whole=True, low=1), None,
...                    lambda scope: scope["n"], "`{{ inputs.n }}`")
>>> times.value({"n": "4"})
4
>>> try:
...     times.value({"n": "four"})
... except StepError as error:
...     print(error.message)
`max` of `repeat` must be a whole number, but `{{ inputs.n }}` gave text ("four")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.words import described
from engine.lang.secrets import secret_label, show
from engine.run.model import Site

Render = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Bounds:
    """What a number must be: whole or not, and its range (``low_open``: above ``low``)."""

    whole: bool = False
    low: float | None = None
    low_open: bool = False
    high: float | None = None

    @classmethod
    def of_schema(cls, schema: Mapping[str, Any]) -> Bounds:
        """The bounds a JSON Schema gives a number (its type, minimum, maximum)."""
        types = schema.get("type")
        whole = "integer" in (types if isinstance(types, list) else [types])
        if "exclusiveMinimum" in schema:
            return cls(whole, schema["exclusiveMinimum"], True, schema.get("maximum"))
        return cls(whole, schema.get("minimum"), False, schema.get("maximum"))

    def words(self) -> str:
        """``a whole number from 1 to 10``, ``a number above 0``, …"""
        kind = "a whole number" if self.whole else "a number"
        if self.low is not None and self.high is not None and not self.low_open:
            return f"{kind} from {self.low:g} to {self.high:g}"
        parts = [kind]
        if self.low is not None:
            parts.append(f"{'above' if self.low_open else 'at least'} {self.low:g}")
        if self.high is not None:
            parts.append(f"at most {self.high:g}")
        return " ".join(parts[:1]) + (" " + " and ".join(parts[1:]) if parts[1:] else "")

    def fits(self, number: float) -> bool:
        if self.low is not None and (number <= self.low if self.low_open else number < self.low):
            return False
        return self.high is None or number <= self.high


@dataclass(frozen=True, slots=True)
class StepNumber:
    """One number of a step: ``constant``, or ``render`` (a compiled template, written as
    ``source``) checked against ``bounds`` each time the step runs."""

    what: str
    bounds: Bounds
    constant: int | float | None
    render: Render | None = None
    source: str = ""
    site: Site | None = None

    def value(self, scope: Mapping[str, Any]) -> int | float:
        return self.given(scope)[1]

    def given(self, scope: Mapping[str, Any]) -> tuple[Any, int | float]:
        """What the template gave (to name it, if it is a secret) and the number."""
        if self.render is None:
            assert self.constant is not None  # a written number, checked by validation
            return self.constant, self.constant
        raw = self.render(scope)
        return raw, self.check(raw)

    def check(self, value: Any) -> int | float:
        """The number a template gave, or an error naming the field and what it gave."""
        number = _as_number(value)
        wanted = self.bounds.words()
        if number is None or (self.bounds.whole and not float(number).is_integer()):
            kind = "a whole number" if self.bounds.whole else "a number"
            raise self._error(f"{self.what} must be {kind}{self._gave(value)}")
        if not self.bounds.fits(number):
            raise self._error(f"{self.what} must be {wanted}{self._gave(value)}")
        return int(number) if self.bounds.whole else number

    def _gave(self, value: Any) -> str:
        """``, but `{{ x }}` gave text ("a")`` (a template), or ``, not text ("a")``."""
        label = secret_label(value)
        if label is not None or isinstance(value, int | float):  # a number shows its kind
            said = label or show(value)
        else:
            said = described(value, show(value))
        return f", but {self.source} gave {said}" if self.source else f", not {said}"

    def _error(self, message: str) -> StepError:
        error = StepError(
            ErrorKind.INVALID_ARGUMENTS,
            message,
            hint=f"make the template give {self.bounds.words()}, or write the number itself",
        )
        return self.site.locate(error, None) if self.site is not None else error


def _as_number(value: Any) -> int | float | None:
    """A number, or text holding one; None for anything else (true is not 1)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() and "." not in value else number
    return None
