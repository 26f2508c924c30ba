"""How diagnostics name things: fields, values, types, and the hint for a wrong type."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from engine.diagnostics.errors import Path
from engine.diagnostics.words import TYPE_WORDS, type_word
from engine.lang.secrets import show as quote

# What an item of a list is called, by the key that holds the list.
_ITEM_WORDS = {
    "steps": "step",
    "catch": "step",
    "otherwise": "step",
    "choose": "case",
    "parallel": "branch",
    "tests": "test",
    "hooks": "hook",
}

# Words people write for a key the language spells differently.
SYNONYMS = {
    "args": "with",
    "arguments": "with",
    "params": "with",
    "parameters": "with",
    "input": "with",
    "condition": "if",
    "when": "if",
    "if": "when",
    "else": "otherwise",
    "default": "otherwise",
    "attempts": "max_attempts",
    "retries": "max_attempts",
    "delay": "interval",
    "backoff": "backoff_rate",
    "variables": "set",
    "vars": "set",
    "loop": "foreach",
    "for": "foreach",
    "each": "foreach",
    "do": "steps",
    "then": "steps",
    "times": "max",
    "output": "outputs",
    "result": "outputs",
    "results": "outputs",
    "desc": "description",
    "input_schema": "inputs",
    "params_schema": "inputs",
}

# Words people write for a value the language spells differently (input types).
VALUE_SYNONYMS = {
    "text": "string",
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
    "map": "object",
    "mapping": "object",
}


def a_step(kind: str) -> str:
    """A step kind with its article: "a `tool` step", "an `action` step"."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} `{kind}` step"


def field_name(path: Path) -> str:
    """How a value is named in a message: `max_attempts`, `step 3`, `case 1 of `choose``.

    >>> field_name(("steps", 2)), field_name(("steps", 0, "choose", 1))
    ('step 3', 'case 2 of `choose`')
    """
    if not path:
        return "the document"
    last = path[-1]
    if isinstance(last, str):
        return f"`{last}`"
    parent = path[-2] if len(path) > 1 else None
    word = _ITEM_WORDS.get(parent, "item") if isinstance(parent, str) else "item"
    if parent == "steps" and len(path) == 2:
        return f"step {last + 1}"
    return f"{word} {last + 1}" + (f" of `{parent}`" if isinstance(parent, str) else "")


def show(value: Any) -> str:
    """A value of a manifest as it appears in a message (JSON, shortened)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return quote(value, 50)


def expected_words(schema: Mapping[str, Any]) -> str:
    """The types a schema wants, in words ("a number or text")."""
    types = schema.get("type")
    names = types if isinstance(types, list) else [types]
    words = [TYPE_WORDS.get(str(t), str(t)) for t in names if t]
    return " or ".join(words) if words else "a different value"


def read_as(value: Any) -> str:
    """What YAML made of an unquoted word: "true", "the number 1.0", "a date"."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, dt.date | dt.datetime):
        return "a date"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return type_word(value)


def type_name(value: Any) -> str:
    """The type of a value in words ("text", "a list", "a date")."""
    if isinstance(value, dt.date | dt.datetime):
        return "a date"
    return type_word(value)


# Words a beginner writes in quotes for true or false.
_BOOLEANS: Final = frozenset({"true", "false", "yes", "no", "on", "off"})


def holds_number(text: str) -> bool:
    """Whether text is a number in quotes (``"3"``, ``"0.5"``).

    >>> holds_number("0.5"), holds_number("fast")
    (True, False)
    """
    try:
        float(text)
    except ValueError:
        return False
    return True


def type_hint(expected: str, value: Any, path: Path, about: str | None = None) -> str:
    """How to write a value of the expected type, given what was written instead
    (``about``, the field's own description, when there is nothing more specific)."""
    in_steps = len(path) > 1 and path[-2] in ("steps", "catch", "otherwise")
    if in_steps and isinstance(path[-1], int):
        return "a step is `key: value` lines after its '- ', e.g. `- tool: km_list_macros`"
    if value is None:
        if expected.startswith("a list"):
            return "write the items on the lines below it, each starting with '- '"
        if expected.startswith("a mapping"):
            return "write `key: value` lines below it, indented"
        return "write a value after the ':'"
    if expected.startswith("a list") and isinstance(value, str | dict):
        return "write a list with one '- ' line per item, or [a, b] on one line"
    if expected.startswith("a mapping"):
        return "write `key: value` lines indented under this key, or {key: value} on one line"
    if "number" in expected and isinstance(value, str) and holds_number(value):
        return "write the number without quotes"
    if expected == "true or false" and isinstance(value, str) and value.lower() in _BOOLEANS:
        return "write true or false without quotes"
    return about or f"write {expected} here"


def context_words(schema: Mapping[str, Any], path: Path) -> str:
    """What holds a key, in words: "the action", "input `count`", "case 1 of `choose`"."""
    if not path:
        return "the action" if "steps" in schema.get("properties", {}) else "the plugin"
    title = schema.get("title")
    last = path[-1]
    if isinstance(title, str) and title.lower() in ("input", "hook") and isinstance(last, str):
        return f"{title.lower()} `{last}`"
    return field_name(path)
