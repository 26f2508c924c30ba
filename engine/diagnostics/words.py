"""The words messages use for values and their types: one vocabulary, in one place.

Types are named as YAML and JSON users know them (``text``, ``a whole number``, ``a list``,
``a mapping``); the values ``null``, ``true`` and ``false`` are named as themselves. Every
message, hint and generated page takes its words from here, so a type is never "a
string" in one message and "text" in the next.

>>> type_word("x"), type_word(3), type_word(None), describe_value(True)
('text', 'a whole number', 'null', 'true')
>>> " or ".join(TYPE_WORDS[t] for t in ("string", "null"))
'text or null'
>>> counted(1, "tool call"), counted(3, "step")
('1 tool call', '3 steps')
"""

from __future__ import annotations

from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from typing import Any, Final


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless there is one."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


#: The hint for a whole number too long to read, wherever one is read (a manifest's JSON
#: or YAML, a config file's TOML).
INT_HINT: Final = "write a smaller number, or put it in quotes to keep it as text"

#: A JSON Schema type, in words.
TYPE_WORDS: Final[Mapping[str, str]] = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping (key: value pairs)",
    "null": "null",
    "any": "any value",
}

#: The Python types of each JSON Schema type's values (bool is an int to Python, never
#: to JSON: :func:`json_type` tells them apart).
EXACT_TYPES: Final[Mapping[str, frozenset[type]]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "array": frozenset({list}),
    "object": frozenset({dict}),
    "null": frozenset({type(None)}),
}

#: Python's type names (as a TypeError's text gives them), as JSON types.
PYTHON_TYPE_NAMES: Final[Mapping[str, str]] = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "NoneType": "null",
    "None": "null",
    "dict": "object",
    "list": "array",
    "tuple": "array",
}


def json_type(value: Any) -> str:
    """The JSON type name of a value (``integer`` for whole numbers, never bool)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def fits_type(value: Any, expected: str) -> bool:
    """Whether ``value`` has JSON type ``expected`` (an integer fits ``number``)."""
    if expected == "any":
        return True
    actual = json_type(value)
    return (
        actual == expected
        or (expected == "number" and actual == "integer")
        or (expected == "integer" and actual == "number" and float(value).is_integer())
    )


def type_word(value: Any) -> str:
    """How a value's type is named to users ("text", "a number", …)."""
    return TYPE_WORDS[json_type(value)]


def described(value: Any, shown: str) -> str:
    """A value as a message names it, given how it is ``shown`` (quoted, or a secret
    named): its type and the value, or only the value for null, true and false.

    >>> described("x", '"x"'), described(None, "null"), described(3, "3")
    ('text ("x")', 'null', 'a whole number (3)')
    """
    if value is None or isinstance(value, bool):
        return shown
    return f"{type_word(value)} ({shown})"


def describe_value(value: Any) -> str:
    """A value's kind (any Python value a template or expression can meet): null, true
    and false as themselves.

    >>> describe_value({"a": 1}), describe_value(None), describe_value(3.5), describe_value(2)
    ('a mapping (key: value pairs)', 'null', 'a number', 'a whole number')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str | Mapping | list | tuple):
        return type_word(value)
    if isinstance(value, range | KeysView | ValuesView | ItemsView):
        return TYPE_WORDS["array"]
    if callable(value):
        return "a function"
    return f"a {type(value).__name__} value"
