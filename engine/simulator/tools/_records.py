"""Lists of AppleScript records as osascript prints them, and as the server reads them back.

Some tools ask Keyboard Maestro for a list of records and read osascript's
human-readable output (``macroId:…, macroName:Hello, enabled:true, macroId:…``): a new
record starts where the first key comes again. Reading that text loses what it cannot
carry: runs of white space become one space, a ``, `` or ``:`` inside a value breaks the
pairs apart, and values that look like numbers may become numbers. The simulator prints
and reads the same text, so its answers break the same way.

>>> text = record_text([{"varName": "A  b", "n": 1}, {"varName": "x:y, z", "n": 2}])
>>> text
'varName:A  b, n:1, varName:x:y, z, n:2'
>>> parse_records(text, "varName", numbers=whole_numbers)
[{'varName': 'A b', 'n': 1}, {'varName': 'x:y', 'z, n': 2}]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_WHITE = re.compile(r"\s+")


def human(value: Any) -> str:
    """One value as osascript prints it (text as is, true/false, numbers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def record_text(records: Sequence[Mapping[str, Any]]) -> str:
    """A list of records in osascript's human-readable form."""
    return ", ".join(f"{key}:{human(value)}" for record in records for key, value in record.items())


def whole_numbers(text: str) -> Any:
    """``true``/``false`` as booleans, an optional ``-`` and digits as an integer."""
    if text in ("true", "false"):
        return text == "true"
    if text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
        return int(text)
    return text


def as_text(text: str) -> Any:
    return text


def pairs_of(output: str) -> list[str]:
    """``key:value`` pieces: a comma ends a piece once its colon was seen (outside
    parentheses met before that colon)."""
    pieces: list[str] = []
    current, in_value, depth = "", False, 0
    for char in _WHITE.sub(" ", output.strip()):
        if char == "(" and not in_value:
            depth += 1
        elif char == ")" and not in_value:
            depth -= 1
        elif char == ":" and depth == 0:
            in_value = True
        elif char == "," and depth == 0 and in_value:
            pieces.append(current.strip())
            current, in_value = "", False
            continue
        current += char
    if current.strip():
        pieces.append(current.strip())
    return pieces


def parse_records(
    output: str, start_key: str, *, numbers: Callable[[str], Any] = as_text
) -> list[dict[str, Any]]:
    """The records in ``output``; a record starts at each ``start_key``, and records
    without it are dropped."""
    records: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for piece in pairs_of(output):
        if ":" not in piece:
            continue
        key, raw = (part.strip() for part in piece.split(":", 1))
        if raw.startswith('"') and raw.endswith('"'):  # a lone quote too, as the server does
            raw = raw[1:-1]
        if key == start_key and current:
            if start_key in current:
                records.append(current)
            current = {}
        current[key] = numbers(raw)
    if start_key in current:
        records.append(current)
    return records
