"""Keyboard Maestro as the server's scripts address it: selectors, lookups and listings.

The server names a macro by ``macro id "…"`` when its identifier looks like a UUID, and
by ``first macro whose name is "…"`` otherwise; groups by name only (``first macro group
whose name is "…"``). What those references find is Keyboard Maestro's business
(:mod:`engine.simulator.km.library`: names compare ignoring case, and KM 11 never
matches a name holding a non-ASCII glyph); what the server does when they find nothing
is written in each tool.

>>> from engine.simulator._state import SimulatorState
>>> km = SimulatorState.seeded().km
>>> find_macro(km, "hello world")["name"]
'Hello World'
>>> find_macro(km, "0053494D-0000-4000-8000-000000000004")["name"]
'Insert Date'
>>> print(not_first_named("macro group", "Nope").message)
Keyboard Maestro got an error: Can’t get macro group 1 whose name = "Nope". Invalid index.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine.simulator.km import library
from engine.simulator.km.state import KMState
from engine.simulator.tools._context import KM, AppleEventError, cant_get, quoted

UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def escaped(text: str) -> str:
    """Text escaped for an AppleScript string as the server's clients escape names and
    ids (backslash, double quote, and line breaks and tabs as ``\\n``, ``\\r``, ``\\t``)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def is_uuid(text: str) -> bool:
    return UUID.match(text) is not None


def macro_selector(identifier: str) -> str:
    """The reference the server writes for a macro (in its scripts, for their checks)."""
    if is_uuid(identifier):
        return f'macro id "{escaped(identifier)}"'
    return f'first macro whose name is "{escaped(identifier)}"'


def find_macro(km: KMState, identifier: str) -> library.Macro | None:
    """The macro :func:`macro_selector` refers to, or None."""
    if is_uuid(identifier):
        found = library.macro_by_uid(km, identifier)
        return found[1] if found is not None else None
    named = library.macros_named(km, identifier)
    return named[0][1] if named else None


def group_named(km: KMState, name: str) -> library.Group | None:
    """``first macro group whose name is "name"``, or None."""
    named = library.groups_named(km, name)
    return named[0] if named else None


def not_first_named(kind: str, name: str) -> AppleEventError:
    """Keyboard Maestro's error for ``first <kind> whose name is "name"`` finding none."""
    return cant_get(f"{kind} 1 whose name = {quoted(name)}", KM, index=True)


def macro_records(km: KMState) -> list[dict[str, Any]]:
    """What the server's macro listing script collects, group by group, macro by macro."""
    return [
        {
            "macroId": macro["uid"],
            "macroName": macro["name"],
            "groupName": group["name"],
            "enabled": macro["enabled"],
            "triggerCount": len(macro["triggers"]),
            "actionCount": len(macro["actions"]),
        }
        for group, macro in library.all_macros(km)
    ]


def group_records(km: KMState) -> list[dict[str, Any]]:
    """What the server's group listing script collects."""
    return [
        {"groupName": group["name"], "groupID": group["uid"], "enabled": group["enabled"]}
        for group in km.groups
    ]


def in_try(action: Callable[[], str]) -> Callable[[], str]:
    """``action`` inside the server's ``try … on error errMsg … return "ERROR: " & errMsg``:
    an application's errors become the script's result (a script that does not compile
    never runs, so ``try`` cannot catch its syntax error)."""

    def run() -> str:
        try:
            return action()
        except AppleEventError as error:
            if error.syntax:
                raise
            return f"ERROR: {error.message}"

    return run
