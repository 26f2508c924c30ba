"""Keyboard Maestro text tokens (%Variable%X%, %SystemClipboard%, %Dictionary[D,K]%, …).

What a token expands to comes from a :class:`TokenWorld`: the variables, clipboards and
clock of whoever asks (the Keyboard Maestro model, inside a macro's execution or not).

>>> from datetime import datetime
>>> class World:
...     now = datetime(2026, 5, 4, 9, 30)
...     def variable(self, name): return {"Who": "Ann"}.get(name)
...     def clipboard(self, index): return "clip" if index == 0 else None
...     def named_clipboard(self, name): return None
...     def calculate(self, expression): return "4"
...     def system_token(self, name): return None
...     def dictionary(self, name, key): return {("Tea", "kind"): "green"}.get((name, key))
>>> expand(World(), "%Variable%Who% %ICUDateTime%yyyy% %SystemClipboard% %Calculate%2+2%").text
'Ann 2026 clip 4'
>>> expand(World(), "%Dictionary[Tea,kind]% tea, %Dictionary[Tea,size]%.").text
'green tea, .'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.simulator.km.icu import format_icu, shift

TOKEN = re.compile(
    r"%%"
    r"|%(?P<kind>Variable|NamedClipboard|PastClipboard|Calculate|ICUDateTime)%(?P<arg>[^%]*)%"
    r"|%(?P<shift>ICUDateTimePlus|ICUDateTimeMinus)%(?P<amount>[^%]*)%(?P<unit>[^%]*)%(?P<fmt>[^%]*)%"
    r"|%(?P<plain>SystemClipboard|CurrentClipboard|ShortDate|LongDate|Time)%"
    r"|%(?P<dictionary>Dictionary)\[(?P<dname>[^,\]%]*),(?P<dkey>[^\]%]*)\]%"
    r"|%(?P<hex>[0-9A-Fa-f]{4}|[0-9A-Fa-f]{2})%"
    r"|%(?P<other>[A-Z][A-Za-z0-9]*)%"
)
DATE_FORMATS = {"ShortDate": "M/d/yy", "LongDate": "MMMM d, y", "Time": "h:mm a"}


class TokenError(Exception):
    """A token has no value (a calculation that fails); the token stays as written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TokenWorld(Protocol):
    """Where token values come from."""

    @property
    def now(self) -> datetime: ...

    def variable(self, name: str) -> str | None:
        """The variable's value, or None when it does not exist."""

    def clipboard(self, index: int) -> str | None:
        """The text of clipboard ``index`` (0 is the current one); None past the history."""

    def named_clipboard(self, name: str) -> str | None:
        """The named clipboard's text, or None when there is none by that name."""

    def calculate(self, expression: str) -> str:
        """The calculation's value as text; :class:`TokenError` when it has none."""

    def system_token(self, name: str) -> str | None:
        """A single-value token's text (%TriggerValue%…), or None where it has none."""

    def dictionary(self, name: str, key: str) -> str | None:
        """The value of ``key`` in the dictionary ``name``, or None when there is none."""


@dataclass
class Expansion:
    """The tokens met while expanding one text, and what became of them."""

    world: TokenWorld
    tokens: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: int = 0
    text: str = ""

    def replace(self, match: re.Match[str]) -> str:
        text = match.group(0)
        kind = kind_of(match)
        try:
            value = self._value(match, kind)
        except (TokenError, ValueError, OverflowError) as problem:
            reason = problem.message if isinstance(problem, TokenError) else str(problem)
            self.warnings.append(f"{text}: {reason}")
            self.errors += 1
            value = None
        self.tokens.append({"token": text, "type": kind, "resolved": value is not None})
        return text if value is None else value

    def _value(self, match: re.Match[str], kind: str) -> str | None:
        arg = match.group("arg")
        if kind == "escape":
            return "%"
        if kind == "character":
            return chr(int(match.group("hex"), 16))
        if kind == "Variable":
            return self._variable(arg)
        if kind in ("SystemClipboard", "CurrentClipboard"):
            return self.world.clipboard(0) or ""
        if kind == "PastClipboard":
            return self.world.clipboard(int(arg)) or ""
        if kind == "NamedClipboard":
            return self.world.named_clipboard(arg) or ""
        if kind == "Dictionary":  # a missing dictionary or key is empty text
            return self.world.dictionary(match.group("dname"), match.group("dkey")) or ""
        if kind == "Calculate":
            return self.world.calculate(arg)
        if kind == "ICUDateTime":
            return format_icu(self.world.now, arg)
        if kind in DATE_FORMATS:
            return format_icu(self.world.now, DATE_FORMATS[kind])
        if kind in ("ICUDateTimePlus", "ICUDateTimeMinus"):
            amount = int(match.group("amount").strip())
            sign = 1 if kind == "ICUDateTimePlus" else -1
            moment = shift(self.world.now, sign * amount, match.group("unit"))
            return format_icu(moment, match.group("fmt"))
        value = self.world.system_token(kind)
        if value is not None:
            return value
        # Single-value system tokens stay as written outside a macro execution,
        # as the real server documents.
        self.warnings.append(f"{match.group(0)} is not available outside a running macro")
        return None

    def _variable(self, name: str) -> str:
        value = self.world.variable(name)
        if value is None:
            self.warnings.append(f"variable '{name}' is not set; it expands to empty text")
            return ""
        return value


def kind_of(match: re.Match[str]) -> str:
    """The token's type: its name (``Variable``, ``ICUDateTime``…), ``escape`` or ``character``."""
    if match.group(0) == "%%":
        return "escape"
    if match.group("hex") is not None:
        return "character"
    for group in ("kind", "shift", "plain", "dictionary"):
        if match.group(group) is not None:
            return str(match.group(group))
    return str(match.group("other"))


def expand(world: TokenWorld, text: str) -> Expansion:
    """Expand every token in ``text``; the result is in ``.text`` of the returned record."""
    expansion = Expansion(world)
    expansion.text = TOKEN.sub(expansion.replace, text)
    return expansion
