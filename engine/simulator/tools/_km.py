"""Keyboard Maestro as the server's KMClient reaches it: references, lookups, scripts that
catch their own errors, the macro and group lists, and the KMClient operations several
tools share. (New macros by import and the UUID-rotating rebuild are in ``_imports``.)

The server writes each script with a reference chosen by the identifier's shape
(``macro id "…"`` for a UUID, ``first macro whose name is "…"`` for anything else; groups
alike, though the group manager's scripts always name a group). What a reference finds is
Keyboard Maestro's business (:mod:`engine.simulator.km.library`: names compare ignoring
case, and KM 11 never matches a name holding a non-ASCII glyph). Most scripts wrap their
body in ``try … on error errMsg return "ERROR: " & errMsg``: Keyboard Maestro's error then
comes back as text (``ERROR: Keyboard Maestro got an error: …``), not as osascript's
failure; :func:`run_guarded` runs such a script on the model, and a KMClient call that
answers a ``KMError`` raises :class:`KMProblem`.

>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> ctx = ToolContext("km_x", {}, SimulatorState.seeded(), datetime(2026, 5, 4, tzinfo=UTC))
>>> macro_selector("Hello World")
'first macro whose name is "Hello World"'
>>> find_macro(ctx.km, "0053494D-0000-4000-8000-000000000004")[1]["name"]
'Insert Date'
>>> run_guarded(ctx, "", lambda: find_macro(ctx.km, "Nope")[1]["name"])
'ERROR: Keyboard Maestro got an error: Can’t get macro 1 whose name = "Nope". Invalid index.'
>>> [m["name"] for m in list_macros(ctx, enabled_only=False)][:2]
['Insert Date', 'Hello World']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.simulator.km import library
from engine.simulator.km.state import KMState
from engine.simulator.tools._records import parse_records, record_text, whole_numbers
from engine.simulator.tools.context import (
    KM,
    AppleEventError,
    ScriptFailure,
    ToolContext,
    Via,
    cant_get,
    quoted,
)

__all__ = [
    "MACRO_NOT_FOUND",
    "KMError",
    "KMProblem",
    "append_action",
    "caught",
    "delete_macro",
    "escape",
    "escape_xml_literal",
    "find_group",
    "find_group_named",
    "find_macro",
    "group_selector",
    "in_try",
    "is_uuid",
    "list_groups",
    "list_macros",
    "macro_exists",
    "macro_selector",
    "on_macro",
    "run_guarded",
    "set_macro_enabled",
    "uuid_of_name",
]

_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
MACRO_NOT_FOUND = "ERROR: macro not found"
CANNOT_CONNECT = "Cannot connect to Keyboard Maestro"


# -- references, and what they find ---------------------------------------------------


def escape(value: str) -> str:
    """The server's ``_escape_applescript_string`` (backslash, quote, line breaks, tabs)."""
    return (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )


def escape_xml_literal(xml: str) -> str:
    """XML inside an AppleScript string, as the server escapes trigger XML."""
    return xml.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n")


def is_uuid(identifier: str) -> bool:
    return _UUID.match(identifier) is not None


def macro_selector(identifier: str) -> str:
    """The reference the server writes for a macro: by UUID or by name, from its shape."""
    if is_uuid(identifier):
        return f'macro id "{escape(identifier)}"'
    return f'first macro whose name is "{escape(identifier)}"'


def group_selector(identifier: str) -> str:
    """The reference KMClient's move writes for a group: by UUID or by name."""
    if is_uuid(identifier):
        return f'macro group id "{escape(identifier)}"'
    return f'first macro group whose name is "{escape(identifier)}"'


def _not_first_named(kind: str, name: str) -> AppleEventError:
    """Keyboard Maestro's error for ``first <kind> whose name is "name"`` finding none."""
    return cant_get(f"{kind} 1 whose name = {quoted(name)}", KM, index=True)


def find_macro(km: KMState, identifier: str) -> tuple[library.Group, library.Macro]:
    """What :func:`macro_selector` refers to, or Keyboard Maestro's error for it."""
    if is_uuid(identifier):
        found = library.macro_by_uid(km, identifier)
        if found is None:
            raise cant_get(f"macro id {quoted(identifier)}", KM)
        return found
    named = library.macros_named(km, identifier)
    if not named:
        raise _not_first_named("macro", identifier)
    return named[0]


def macro_exists(km: KMState, identifier: str) -> bool:
    """``exists <macro_selector(identifier)>``."""
    try:
        find_macro(km, identifier)
    except AppleEventError:
        return False
    return True


def find_group_named(km: KMState, name: str) -> library.Group:
    """``first macro group whose name is "name"``, or Keyboard Maestro's error for it."""
    named = library.groups_named(km, name)
    if not named:
        raise _not_first_named("macro group", name)
    return named[0]


def find_group(km: KMState, identifier: str) -> library.Group:
    """What :func:`group_selector` refers to, or Keyboard Maestro's error for it."""
    if not is_uuid(identifier):
        return find_group_named(km, identifier)
    group = library.group_by_uid(km, identifier)
    if group is None:
        raise cant_get(f"macro group id {quoted(identifier)}", KM)
    return group


# -- scripts that catch their own errors ------------------------------------------------


@dataclass(frozen=True)
class KMError:
    """The server's ``KMError``: a code (``EXECUTION_ERROR``, ``NOT_FOUND_ERROR``…), a
    message and optional details."""

    code: str
    message: str
    details: Any = None


class KMProblem(Exception):
    """A KMClient call that answered a :class:`KMError`."""

    def __init__(self, error: KMError) -> None:
        super().__init__(error.message)
        self.error = error


def in_try(action: Callable[[], str], *, app: str = KM) -> Callable[[], str]:
    """``action`` inside the server's ``try … on error errMsg … return "ERROR: " & errMsg``:
    an application's errors become the script's result (a script that does not compile
    never runs, so ``try`` cannot catch its syntax error); what the model refuses
    (:class:`~engine.simulator.km.library.Refused`) is ``app``'s error."""

    def run() -> str:
        try:
            return action()
        except AppleEventError as error:
            if error.syntax:
                raise
            return f"ERROR: {error.message}"
        except library.Refused as refused:
            return f"ERROR: {AppleEventError(-10000, refused.message, app).message}"

    return run


def run_guarded(ctx: ToolContext, script: str, action: Callable[[], str]) -> str:
    """KMClient.execute_applescript_async of a script whose body catches Keyboard Maestro's
    errors: its output (stripped), ``ERROR: <message>`` for a caught error;
    :class:`KMProblem` when the script cannot run at all (the dangerous-content check, no
    osascript)."""
    try:
        return ctx.osascript(script, in_try(action), apps=(KM,))
    except ScriptFailure as problem:
        raise KMProblem(KMError(problem.code, problem.message)) from None


def caught(output: str, code: str = "NOT_FOUND_ERROR") -> None:
    """:class:`KMProblem` with ``code`` when a guarded script answered ``ERROR: …``."""
    if output.startswith("ERROR:"):
        raise KMProblem(KMError(code, output[6:].strip()))


def on_macro(
    ctx: ToolContext,
    identifier: str,
    statement: str,
    change: Callable[[library.Macro], str],
    *,
    code: str | None = "EXECUTION_ERROR",
) -> str:
    """A KMClient macro operation: ``if not (exists <macro>) then return "ERROR: macro not
    found"``, then ``statement`` (``{macro}`` stands for the reference), whose effect is
    ``change``; its output, or :class:`KMProblem` with ``code`` for an ``ERROR:`` one
    (``code`` None: the ``ERROR:`` output is the caller's to read)."""
    selector = macro_selector(identifier)

    def run() -> str:
        if not macro_exists(ctx.km, identifier):
            return MACRO_NOT_FOUND
        return change(find_macro(ctx.km, identifier)[1])

    script = f"if not (exists {selector})\n{statement.format(macro=selector)}"
    output = run_guarded(ctx, script, run)
    if code is not None:
        caught(output, code)
    return output


def delete_macro(ctx: ToolContext, macro_id: str) -> None:
    """KMClient.delete_macro_async; :class:`KMProblem` ``NOT_FOUND_ERROR`` on failure."""

    def delete(macro: library.Macro) -> str:
        library.delete_macro(ctx.km, macro)
        return "deleted"

    on_macro(ctx, macro_id.strip(), "delete {macro}", delete, code="NOT_FOUND_ERROR")


def set_macro_enabled(ctx: ToolContext, macro_id: str, enabled: bool) -> None:
    """KMClient.set_macro_enabled_async; :class:`KMProblem` ``EXECUTION_ERROR`` on failure."""

    def toggle(macro: library.Macro) -> str:
        macro["enabled"] = enabled
        library.touch(ctx.km, macro)
        return "ok"

    statement = f"set enabled of ({{macro}}) to {'true' if enabled else 'false'}"
    on_macro(ctx, macro_id.strip(), statement, toggle)


def append_action(ctx: ToolContext, macro_id: str, xml: str) -> None:
    """KMClient.append_macro_action_async: ``make new action with properties {xml: …}`` in
    the macro ``macro_id`` names (stripped); :class:`KMProblem` ``EXECUTION_ERROR`` with
    Keyboard Maestro's error, or the reason the script could not run."""
    identifier = macro_id.strip()
    escaped = xml.replace("\\", "\\\\").replace('"', '\\"')
    script = (
        f"tell {macro_selector(identifier)}\n"
        f'make new action with properties {{xml:"{escaped}"}}\nreturn "appended"'
    )

    def add() -> str:
        library.add_action(ctx.km, find_macro(ctx.km, identifier)[1], xml)
        return "appended"

    caught(run_guarded(ctx, script, add), "EXECUTION_ERROR")


# -- the lists (KMClient.list_macros_async, list_groups_async) ----------------------------


def _macro_records(km: KMState) -> str:
    """What the macro listing script prints: each group's macros, as records."""
    return record_text(
        [
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
    )


def list_macros(
    ctx: ToolContext, group_filters: list[str] | None = None, *, enabled_only: bool = True
) -> list[dict[str, Any]]:
    """Every macro as the server's AppleScript listing reads it back from osascript's
    record text (so names that look like numbers become numbers, and ``, `` in a name
    breaks the record), filtered and standardised; :class:`KMProblem` ``CONNECTION_ERROR``
    when the listing fails (no osascript, or a group named like a number met by a group
    filter) and the web-server fallback on localhost:4490 fails too (it is off)."""
    try:
        output = ctx.osascript("", lambda: _macro_records(ctx.km), via=Via.SYNC, apps=(KM,))
        records = parse_records(output, "macroId", numbers=whole_numbers)
        if enabled_only:
            records = [r for r in records if r.get("enabled", False)]
        if group_filters:
            records = [
                r
                for r in records
                if any(f.lower() in r.get("groupName", "").lower() for f in group_filters)
            ]
    except (ScriptFailure, AttributeError):  # the server's listing catches any exception
        raise KMProblem(KMError("CONNECTION_ERROR", CANNOT_CONNECT)) from None
    return [
        {
            "id": r.get("macroId", ""),
            "name": r.get("macroName", ""),
            "group": r.get("groupName", ""),
            "enabled": r.get("enabled", True),
            "trigger_count": r.get("triggerCount", 0),
            "action_count": r.get("actionCount", 0),
            "last_used": None,
            "created_date": None,
        }
        for r in records
    ]


def uuid_of_name(ctx: ToolContext, name: str) -> str | None:
    """The server's ``_resolve_macro_uuid``: the UUID of the first listed macro named
    exactly ``name`` (None when there is none, or the list cannot be read)."""
    try:
        macros = list_macros(ctx, enabled_only=False)
    except KMProblem:
        return None
    for record in macros:
        uid = record.get("id")
        if record.get("name") == name and uid and is_uuid(str(uid)):
            return str(uid)
    return None


def list_groups(ctx: ToolContext) -> list[dict[str, Any]]:
    """KMClient.list_groups_async: ``groupName``, ``groupID``, ``enabled`` of every group,
    read back from record text (a group named ``42`` has the name 42)."""

    def records() -> str:
        return record_text(
            [
                {"groupName": g["name"], "groupID": g["uid"], "enabled": g["enabled"]}
                for g in ctx.km.groups
            ]
        )

    try:
        output = ctx.osascript(
            "repeat with currentGroup in (every macro group)", records, apps=(KM,)
        )
    except ScriptFailure as problem:
        raise KMProblem(KMError(problem.code, problem.message)) from None
    return parse_records(output, "groupName", numbers=whole_numbers)
