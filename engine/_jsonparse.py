"""A JSON parser that records the span of every value and key, and strict JSON values.

The standard library's parser gives no positions, accepts ``NaN``, silently keeps the
last of two duplicate keys, decodes ``"\ud800"`` (half of a surrogate pair, which no
UTF-8 text can hold) and fails with a bare ``ValueError`` on a whole number of more than
4,300 digits. This one is iterative (no recursion limit to hit), refuses duplicates,
non-finite numbers, lone surrogates, whole numbers of more than :data:`MAX_INT_DIGITS`
digits and nesting past a limit, and reuses the C string scanner from
:mod:`json.decoder` for speed. :func:`loads_value` applies the same rules to a value
typed by a user (``--input``, a setting).
"""

from __future__ import annotations

import bisect
import json.decoder
import re
from collections.abc import Callable
from typing import Any

from engine.errors import Diagnostic, ManifestSyntaxError, Path, Span
from engine.versions import CURRENT

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]
_LITERALS = {"true": True, "false": False, "null": None}
# Half of a UTF-16 surrogate pair: "\ud83d\ude00" decodes to one character, "\ud800"
# alone to a code point that no UTF-8 text (a file, a database, a reply) can hold.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
MAX_INT_DIGITS = 1000
"""Digits a whole number may have: far more than any setting or count needs, and few
enough that any base (``0x…`` in YAML too) prints in decimal (Python stops at 4,300)."""
INT_HINT = "write a smaller number, or put it in quotes to keep it as text"
SURROGATE_HINT = "write the character itself, or both halves of its pair (\\ud83d\\ude00 for 😀)"


def escapes_surrogate(text: str) -> bool:
    """True when JSON text writes half of a surrogate pair as an escape (``\\ud83d``),
    which decodes to a lone surrogate unless its other half follows."""
    return _SURROGATE_ESCAPE.search(text) is not None


def int_digits_problem(digits: int, limit: int = MAX_INT_DIGITS) -> str | None:
    """Why a whole number written with ``digits`` digits is refused (None: it is not).

    >>> int_digits_problem(5000)
    'the whole number has 5,000 digits; at most 1,000 are allowed'
    """
    if digits <= limit:
        return None
    return f"the whole number has {digits:,} digits; at most {limit:,} are allowed"


def surrogate_problem(text: str) -> str | None:
    """Why text holding a lone surrogate is refused (None: it holds none).

    >>> surrogate_problem("a" + chr(0xD800))
    'the text holds \\\\ud800, half of a surrogate pair, which is not a character'
    """
    found = LONE_SURROGATE.search(text)
    if found is None:
        return None
    return (
        f"the text holds \\u{ord(found.group()):04x}, half of a surrogate pair, which is "
        "not a character"
    )


class _Parser:
    def __init__(self, text: str, file: str | None, max_depth: int, max_int_digits: int) -> None:
        self.text = text
        self.file = file
        self.max_depth = max_depth
        self.max_int_digits = max_int_digits
        # Decoded strings are searched only when the text escapes a surrogate.
        self.escapes_surrogates = escapes_surrogate(text)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.values: dict[Path, tuple[int, int]] = {}
        self.keys: dict[Path, tuple[int, int]] = {}

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def span(self, raw: tuple[int, int]) -> Span:
        return Span(*self.pos(raw[0]), *self.pos(raw[1]))

    def fail(
        self, code: str, message: str, offset: int, hint: str | None = None, path: Path = ()
    ) -> ManifestSyntaxError:
        line, column = self.pos(min(offset, len(self.text)))
        diagnostic = Diagnostic(
            code,
            message,
            path=path,
            span=Span(line, column, line, column + 1),
            file=self.file,
            hint=hint,
        )
        return ManifestSyntaxError(message, code=code, hint=hint, diagnostics=[diagnostic])

    def skip(self, i: int) -> int:
        return _WS.match(self.text, i).end()  # type: ignore[union-attr]

    def scalar(self, i: int, path: Path = ()) -> tuple[Any, int]:
        text = self.text
        ch = text[i : i + 1]
        if ch == '"':
            try:
                found: tuple[str, int] = _scanstring(text, i + 1, True)
            except json.JSONDecodeError as exc:
                raise self.fail(
                    "syntax",
                    f"not valid JSON: {exc.msg}",
                    exc.pos,
                    "check for an unclosed quote or a bad '\\' escape",
                ) from None
            problem = surrogate_problem(found[0]) if self.escapes_surrogates else None
            if problem is not None:
                raise self.fail("encoding", problem, i, SURROGATE_HINT, path)
            return found
        m = _NUMBER.match(text, i)
        if m and m.end() > i:
            number = m.group()
            is_float = m.group(1) or m.group(2)
            problem = (
                None
                if is_float
                else int_digits_problem(len(number) - number.startswith("-"), self.max_int_digits)
            )
            if problem is not None:
                raise self.fail("invalid-number", problem, i, INT_HINT, path)
            value: Any = float(number) if is_float else int(number)
            if isinstance(value, float) and value in (float("inf"), float("-inf")):
                raise self.fail(
                    "invalid-number",
                    f"the number {number} is too large",
                    i,
                    "write a smaller number, or put it in quotes to keep it as text",
                    path,
                )
            return value, m.end()
        for word, value in _LITERALS.items():
            if text.startswith(word, i):
                return value, i + len(word)
        for word in ("NaN", "Infinity", "-Infinity"):
            if text.startswith(word, i):
                raise self.fail(
                    "invalid-number",
                    f"{word} is not valid JSON: manifests hold only finite numbers",
                    i,
                    f'write it as text ("{word}") or use a number',
                    path,
                )
        if not ch:
            raise self.fail(
                "syntax",
                "not valid JSON: the text ends too early",
                i,
                "a bracket or brace is opened but never closed",
            )
        raise self.fail(
            "syntax",
            f"not valid JSON: unexpected character {ch!r}",
            i,
            "JSON needs double quotes around text and keys",
        )

    def parse(self) -> Any:
        text = self.text
        # Each frame: [container, path, start offset, pending key, expecting-more flag]
        stack: list[list[Any]] = []
        i = self.skip(0)
        if i >= len(text):
            raise self.fail(
                "empty-document",
                "the file is empty",
                0,
                f'start with {{"api_version": "{CURRENT}", "kind": "action", ...}}',
            )
        root: Any = None
        while True:
            path: Path = self._next_path(stack)
            ch = text[i : i + 1]
            if ch in ("{", "["):
                if len(stack) >= self.max_depth:
                    raise self.fail(
                        "too-deep",
                        f"the document nests more than {self.max_depth} levels deep",
                        i,
                        "flatten the structure, or split the action",
                        path,
                    )
                stack.append([{} if ch == "{" else [], path, i, None])
                i = self.skip(i + 1)
                closing = "}" if ch == "{" else "]"
                if text[i : i + 1] == closing:
                    frame = stack.pop()
                    value, i = frame[0], i + 1
                    self.values[path] = (frame[2], i)
                    done, i, root = self._attach(stack, value, i, root)
                    if done:
                        break
                    continue
                if ch == "{":
                    i = self._key(stack, i)
                continue
            start = i
            value, i = self.scalar(i, path)
            self.values[path] = (start, i)
            done, i, root = self._attach(stack, value, i, root)
            if done:
                break
        i = self.skip(i)
        if i < len(text):
            raise self.fail(
                "syntax",
                "not valid JSON: extra text after the document",
                i,
                "a JSON file holds exactly one value",
            )
        return root

    def _next_path(self, stack: list[list[Any]]) -> Path:
        if not stack:
            return ()
        frame = stack[-1]
        if isinstance(frame[0], list):
            return (*frame[1], len(frame[0]))
        return (*frame[1], frame[3])

    def _key(self, stack: list[list[Any]], i: int) -> int:
        text = self.text
        frame = stack[-1]
        if text[i : i + 1] != '"':
            raise self.fail(
                "syntax",
                "not valid JSON: expected a key in double quotes",
                i,
                "JSON keys must be text in double quotes; check for a trailing comma",
            )
        start = i
        key, i = self.scalar(i)
        path = (*frame[1], key)
        if key in frame[0]:
            first_line = self.pos(self.keys[path][0])[0]
            raise self.fail(
                "duplicate-key",
                f"the key '{key}' appears twice in the same object (first at line {first_line})",
                start,
                "remove one of them; a later value would silently replace the first",
                path,
            )
        self.keys[path] = (start, i)
        i = self.skip(i)
        if text[i : i + 1] != ":":
            raise self.fail(
                "syntax",
                "not valid JSON: expected ':' after the key",
                i,
                'write "key": value',
            )
        frame[3] = key
        return self.skip(i + 1)

    def _attach(
        self, stack: list[list[Any]], value: Any, i: int, root: Any
    ) -> tuple[bool, int, Any]:
        """Store ``value`` in its parent; close finished containers. Returns (done, i, root)."""
        text = self.text
        while True:
            if not stack:
                return True, i, value
            frame = stack[-1]
            container = frame[0]
            if isinstance(container, list):
                container.append(value)
                closing = "]"
            else:
                container[frame[3]] = value
                closing = "}"
            i = self.skip(i)
            ch = text[i : i + 1]
            if ch == ",":
                comma = i
                i = self.skip(i + 1)
                if text[i : i + 1] == closing:
                    raise self.fail(
                        "syntax",
                        f"not valid JSON: a trailing comma before '{closing}'",
                        comma,
                        "remove the comma after the last item",
                    )
                if isinstance(container, dict):
                    i = self._key(stack, i)
                return False, i, root
            if ch != closing:
                raise self.fail(
                    "syntax",
                    f"not valid JSON: expected ',' or '{closing}'",
                    i,
                    "check for a missing comma between items",
                )
            stack.pop()
            i += 1
            self.values[frame[1]] = (frame[2], i)
            value = container


def parse_json(
    text: str, *, file: str | None, max_depth: int, max_int_digits: int = MAX_INT_DIGITS
) -> tuple[Any, dict[Path, Any], dict[Path, Any], Callable[[Any], Span]]:
    """Parse JSON text into data, raw value and key positions, and their converter."""
    parser = _Parser(text, file, max_depth, max_int_digits)
    data = parser.parse()
    return data, dict(parser.values), dict(parser.keys), parser.span


class JSONValueError(ValueError):
    """JSON text typed by a user that holds a value km-actions refuses; the message (and
    :attr:`hint`) say which and what to write instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def checked_int(text: str) -> int:
    """``parse_int`` for :func:`json.loads`: a whole number within :data:`MAX_INT_DIGITS`
    digits, else :class:`JSONValueError`."""
    problem = int_digits_problem(len(text) - text.startswith("-"))
    if problem is not None:
        raise JSONValueError(problem, INT_HINT)
    return int(text)


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def loads_value(text: str) -> Any:
    """A value typed by a user as JSON (``--input``, ``--inputs-json``, a setting).

    Text that is not JSON (``NaN`` and ``Infinity`` included) raises
    :class:`json.JSONDecodeError` (callers may then take it as plain text); JSON holding a
    whole number of more than :data:`MAX_INT_DIGITS` digits or a lone surrogate raises
    :class:`JSONValueError`.

    >>> loads_value('{"n": 1}')
    {'n': 1}
    >>> loads_value('[1, NaN]')
    Traceback (most recent call last):
    ...
    json.decoder.JSONDecodeError: NaN is not a JSON value: line 1 column 1 (char 0)
    """
    value = json.loads(text, parse_constant=_refuse_constant, parse_int=checked_int)
    if escapes_surrogate(text) or LONE_SURROGATE.search(text):
        for item in _strings(value):
            problem = surrogate_problem(item)
            if problem is not None:
                raise JSONValueError(problem, SURROGATE_HINT)
    return value


def _strings(value: Any) -> list[str]:
    """Every text in a decoded JSON value (keys too)."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out
