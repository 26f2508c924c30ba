"""What one argument of a tool allows, read from its JSON Schema: types and allowed values.

The Keyboard Maestro server publishes pydantic's schemas: an optional argument is
``anyOf: [{type: string}, {type: null}]``, and a choice is often a ``^(a|b|c)$`` pattern
rather than an ``enum``.

>>> schema = {"anyOf": [{"type": "string", "pattern": "^(left|right)$"}, {"type": "null"}]}
>>> argument_types(schema), allowed_values(schema)
(['string', 'null'], ['left', 'right'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ALTERNATION = re.compile(r"\^\(([A-Za-z0-9_ .-]+(?:\|[A-Za-z0-9_ .-]+)+)\)\$")


def allowed_values(schema: Mapping[str, Any]) -> list[Any] | None:
    """The allowed values, from `enum` or from a pattern like ``^(a|b|c)$`` (None: any)."""
    for option in (schema, *(schema.get("anyOf", ()) or ())):
        if not isinstance(option, Mapping):
            continue
        if "enum" in option:
            return list(option["enum"])
        match = _ALTERNATION.fullmatch(str(option.get("pattern", "")))
        if match:
            return match.group(1).split("|")
    return None


def argument_types(schema: Mapping[str, Any]) -> list[str]:
    """The JSON types an argument takes (empty: any type)."""
    types: list[str] = []
    options = [*(schema.get("anyOf", ()) or ()), *(schema.get("oneOf", ()) or ())]
    for option in options or [schema]:
        if not isinstance(option, Mapping):
            continue
        t = option.get("type")
        if isinstance(t, str):
            types.append(t)
        elif isinstance(t, list):
            types.extend(str(x) for x in t)
        else:
            return []  # an option that allows any type: nothing to check here
    return types
