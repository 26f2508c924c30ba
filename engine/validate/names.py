"""Names that may become parts of paths: plugin identifiers and action names, checked once.

A plugin identifier names folders and files of the store (``plugins/<id>/``,
``secrets/<id>.json``) and an action name the file of a created action
(``actions/<name>.yaml``), so both are checked against the manifest grammar (the same
patterns as ``schemas/plugin.schema.json``) before any path is built from them, by
:func:`check_name` alone. The grammar allows no ``/``, no ``..`` and no leading dot.

>>> check_name("clipboard-tools", NameKind.PLUGIN)
'clipboard-tools'
>>> check_name("../../x", NameKind.PLUGIN)
Traceback (most recent call last):
...
engine.diagnostics.errors.EngineError: "../../x" is not a valid plugin identifier
"""

from __future__ import annotations

import enum
import json
import re

from engine.diagnostics.errors import EngineError


class NameKind(enum.Enum):
    """What a name names; the value is how messages call it."""

    PLUGIN = "plugin identifier"
    ACTION = "action name"


# The schemas' patterns ("$defs/identifier" and an action's "name"), with their lengths;
# a test keeps them in step.
PATTERNS = {
    NameKind.PLUGIN: re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*"),
    NameKind.ACTION: re.compile(r"[a-z][a-z0-9_-]{0,63}"),
}
MAX_LENGTH = {NameKind.PLUGIN: 100, NameKind.ACTION: 64}
RULES = {
    NameKind.PLUGIN: "use lower-case letters, digits and -, starting with a letter (dots allowed)",
    NameKind.ACTION: "use lower-case letters, digits, - and _, starting with a letter",
}


def is_valid_name(value: object, kind: NameKind) -> bool:
    """True when ``value`` follows the grammar of ``kind`` (and its length limit)."""
    return (
        isinstance(value, str)
        and len(value) <= MAX_LENGTH[kind]
        and PATTERNS[kind].fullmatch(value) is not None
    )


def name_hint(value: object, kind: NameKind) -> str:
    """How to write a valid name, with one made from ``value`` when that helps."""
    hint = RULES[kind]
    suggestion = slug(value) if isinstance(value, str) else ""
    if kind is NameKind.PLUGIN:
        suggestion = suggestion.replace("_", "-")
    if suggestion and suggestion != value:
        hint += f", e.g. {suggestion!r}"
    if isinstance(value, str) and len(value) > MAX_LENGTH[kind]:
        hint += f"; at most {MAX_LENGTH[kind]} characters"
    return hint


def check_name(value: object, kind: NameKind) -> str:
    """``value`` itself when it is a valid name of ``kind``; else :class:`EngineError`
    (``invalid-name``), before anything is done with it."""
    if is_valid_name(value, kind):
        return str(value)
    raise _invalid(value, kind, name_hint(value, kind))


def check_action_reference(value: str) -> str:
    """``value`` itself when it names an action as ``plugin/action`` or by its name alone
    (each part valid); else :class:`EngineError` (``invalid-name``).

    >>> check_action_reference("clipboard-tools/preview")
    'clipboard-tools/preview'
    >>> check_action_reference("../../etc/passwd")
    Traceback (most recent call last):
    ...
    engine.diagnostics.errors.EngineError: "../../etc/passwd" is not a valid action name
    """
    plugin, slash, action = value.rpartition("/")
    parts = [(plugin, NameKind.PLUGIN)] if slash else []
    for part, kind in [*parts, (action, NameKind.ACTION)]:
        if not is_valid_name(part, kind):
            hint = f"write plugin/action, or the action's name alone: {name_hint(part, kind)}"
            raise _invalid(value, NameKind.ACTION, hint)
    return value


def _invalid(value: object, kind: NameKind, hint: str) -> EngineError:
    shown = json.dumps(value, ensure_ascii=True, default=str)
    if len(shown) > 60:
        shown = shown[:57] + "…"
    return EngineError(f"{shown} is not a valid {kind.value}", code="invalid-name", hint=hint)


def slug(text: str) -> str:
    """A valid name made from any text: "Read Clipboard!" → "read-clipboard".

    >>> slug("Title Case Clipboard"), slug("2 ways")
    ('title-case-clipboard', 'a-2-ways')
    """
    out = []
    for ch in text.strip().lower():
        out.append(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-")
    result = "".join(out).strip("-_")
    while "--" in result:
        result = result.replace("--", "-")
    if result and not result[0].isalpha():
        result = "a-" + result
    return result[:64]
