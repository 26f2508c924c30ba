"""Keyboard Maestro as the server's KMClient reaches it: macro references, guarded scripts,
the macro list, and the export-edit-reimport rebuild that rotates a macro's UUID.

The server writes each script with a macro reference chosen by the identifier's shape
(``macro id "…"`` for a UUID, ``first macro whose name is "…"`` for anything else) and
mostly wraps the body in ``try … on error errMsg return "ERROR: " & errMsg``: Keyboard
Maestro's error then comes back as text (``ERROR: Keyboard Maestro got an error: …``),
not as osascript's failure. :func:`run_guarded` runs such a script on the model.

>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> ctx = ToolContext("km_x", {}, SimulatorState.seeded(), datetime(2026, 5, 4, tzinfo=UTC))
>>> macro_selector("Hello World")
'first macro whose name is "Hello World"'
>>> run_guarded(ctx, "", lambda: find_macro(ctx.km, "Nope")[1]["name"])
'ERROR: Keyboard Maestro got an error: Can’t get macro 1 whose name = "Nope". Invalid index.'
>>> [m["name"] for m in list_macros(ctx)][:2]
['Insert Date', 'Hello World']
"""

from __future__ import annotations

import plistlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.simulator.km import library, plist
from engine.simulator.km.state import KMState
from engine.simulator.tools._context import (
    KM,
    AppleEventError,
    ScriptFailure,
    ServerCrash,
    ToolContext,
    Via,
    cant_get,
    quoted,
)
from engine.simulator.tools._records import parse_records, record_text, whole_numbers

__all__ = [
    "KMError",
    "KMProblem",
    "MacroSnapshot",
    "Rebuilt",
    "append_action",
    "escape",
    "escape_xml_literal",
    "fetch_snapshot",
    "find_group",
    "find_macro",
    "group_named",
    "group_records",
    "group_selector",
    "import_new_macro",
    "in_try",
    "is_uuid",
    "list_groups",
    "list_macros",
    "macro_records",
    "macro_selector",
    "not_first_named",
    "rebuild",
    "run_guarded",
    "set_macro_enabled",
]

_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
ROTATION_WARNING = (
    "The macro's UUID changed. Any ExecuteMacro action in other macros that referenced "
    "the old UID must be rewritten to use the new UID."
)
UID_WAIT_SECONDS = 5.0


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
    if is_uuid(identifier):
        return f'macro group id "{escape(identifier)}"'
    return f'first macro group whose name is "{escape(identifier)}"'


def find_macro(km: Any, identifier: str) -> tuple[library.Group, library.Macro]:
    """What :func:`macro_selector` refers to, or Keyboard Maestro's error for it."""
    if is_uuid(identifier):
        found = library.macro_by_uid(km, identifier)
        if found is None:
            raise cant_get(f"macro id {quoted(identifier)}", KM)
        return found
    named = library.macros_named(km, identifier)
    if not named:
        raise cant_get(f"macro 1 whose name = {quoted(identifier)}", KM, index=True)
    return named[0]


def find_group(km: Any, identifier: str) -> library.Group:
    """What :func:`group_selector` refers to, or Keyboard Maestro's error for it."""
    if is_uuid(identifier):
        group = library.group_by_uid(km, identifier)
        if group is None:
            raise cant_get(f"macro group id {quoted(identifier)}", KM)
        return group
    named = library.groups_named(km, identifier)
    if not named:
        raise cant_get(f"macro group 1 whose name = {quoted(identifier)}", KM, index=True)
    return named[0]


def macro_exists(km: Any, identifier: str) -> bool:
    try:
        find_macro(km, identifier)
    except AppleEventError:
        return False
    return True


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


def run_guarded(ctx: ToolContext, script: str, action: Callable[[], str]) -> str:
    """Run a script whose body catches Keyboard Maestro's errors: its output (stripped),
    ``ERROR: <message>`` for a caught error; :class:`KMProblem` when the script cannot
    run at all (the dangerous-content check, no osascript)."""

    def body() -> str:
        try:
            return action()
        except AppleEventError as error:
            return f"ERROR: {error.message}"
        except library.Refused as refused:
            return f"ERROR: {KM} got an error: {refused.message}"

    try:
        return ctx.osascript(script, body, apps=(KM,))
    except ScriptFailure as failure:
        raise KMProblem(KMError(failure.code, failure.message)) from None


def caught(output: str, code: str = "NOT_FOUND_ERROR") -> None:
    """:class:`KMProblem` with ``code`` when a guarded script answered ``ERROR: …``."""
    if output.startswith("ERROR:"):
        raise KMProblem(KMError(code, output[6:].strip()))


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


# -- the macro list (KMClient.list_macros_async) ------------------------------------------


def list_macros(ctx: ToolContext, *, enabled_only: bool = False) -> list[dict[str, Any]]:
    """Every macro as the server's AppleScript listing reads it back from osascript's
    record text (so names that look like numbers become numbers, and ``, `` in a name
    breaks the record); :class:`KMProblem` ``CONNECTION_ERROR`` when it cannot run (the
    web-server fallback on localhost:4490 fails too)."""

    def records() -> str:
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
                for group, macro in library.all_macros(ctx.km)
            ]
        )

    try:
        output = ctx.osascript("", records, via=Via.SYNC, apps=(KM,))
    except ScriptFailure:
        raise KMProblem(KMError("CONNECTION_ERROR", "Cannot connect to Keyboard Maestro")) from None
    macros = parse_records(output, "macroId", numbers=whole_numbers)
    if enabled_only:
        macros = [m for m in macros if m.get("enabled", False)]
    return [
        {
            "id": m.get("macroId", ""),
            "name": m.get("macroName", ""),
            "group": m.get("groupName", ""),
            "enabled": m.get("enabled", True),
            "trigger_count": m.get("triggerCount", 0),
            "action_count": m.get("actionCount", 0),
            "last_used": None,
            "created_date": None,
        }
        for m in macros
    ]


# -- export, edit, re-import (src/integration/km_macro_rebuild) ----------------------------


@dataclass(frozen=True)
class MacroSnapshot:
    """A macro's plist (as ``xml of macro`` gives it) and its group."""

    plist: dict[str, Any]
    group_name: str
    group_uid: str
    original_uid: str


@dataclass(frozen=True)
class Rebuilt:
    old_uid: str
    new_uid: str
    group_name: str


_SEP = "###SEP###"


def fetch_snapshot(ctx: ToolContext, macro_id: str) -> MacroSnapshot:
    """The macro's XML and group; :class:`KMProblem` ``NOT_FOUND_ERROR`` "macro not found"."""
    selector = macro_selector(macro_id.strip())

    def export() -> str:
        if not macro_exists(ctx.km, macro_id.strip()):
            return "ERROR: macro not found"
        group, macro = find_macro(ctx.km, macro_id.strip())
        document = plist.document(library.macro_plist(macro))
        return f"{document}{_SEP}{group['name']}{_SEP}{group['uid']}"

    script = f"if not (exists {selector}) then\nset m to {selector}\nset macroXml to xml of m"
    output = run_guarded(ctx, script, export)
    if output.startswith("ERROR:"):
        message = output[6:].strip()
        code = "NOT_FOUND_ERROR" if "not found" in message.lower() else "EXECUTION_ERROR"
        raise KMProblem(KMError(code, message))
    parts = output.split(_SEP)
    if len(parts) < 3:
        raise KMProblem(KMError("EXECUTION_ERROR", "fetch xml returned unexpected format"))
    data = plistlib.loads(parts[0].strip().encode("utf-8"))
    return MacroSnapshot(
        plist=data,
        group_name=parts[1].strip(),
        group_uid=parts[2].strip(),
        original_uid=str(data.get("UID", macro_id.strip())),
    )


def rebuild(ctx: ToolContext, snapshot: MacroSnapshot, new_plist: dict[str, Any]) -> Rebuilt:
    """Delete the macro and import ``new_plist`` under a fresh UUID in its group (imported
    macros are disabled); :class:`KMProblem` ``EXECUTION_ERROR`` when a step fails."""
    fresh = ctx.uuid4().upper()
    macro = {**new_plist, "UID": fresh}
    document = plistlib.dumps(
        [
            {
                "Activate": "Normal",
                "KeyCount": 0,
                "Macros": [macro],
                "Name": snapshot.group_name,
                "UID": snapshot.group_uid,
            }
        ],
        fmt=plistlib.FMT_XML,
    )
    _delete_macro(ctx, snapshot.original_uid)
    path = f"/tmp/km_mcp_rebuild_{fresh[:8].lower()}.kmmacros"
    try:
        ctx.osascript(
            f'tell application "{KM}" to open POSIX file "{path}"',
            lambda: _import(ctx, document),
            apps=(KM,),
        )
    except ScriptFailure as failure:
        raise KMProblem(
            KMError("EXECUTION_ERROR", f"KM rejected rebuilt .kmmacros: {failure.message}")
        ) from None
    try:
        visible = any(str(m["id"]).lower() == fresh.lower() for m in list_macros(ctx))
    except KMProblem:
        visible = False
    if not visible:
        raise KMProblem(
            KMError(
                "EXECUTION_ERROR",
                f"Imported macro but UID {fresh} did not appear within {UID_WAIT_SECONDS:.1f}s",
            )
        )
    return Rebuilt(snapshot.original_uid, fresh, snapshot.group_name)


def _import(ctx: ToolContext, document: bytes) -> str:
    try:
        library.import_document(ctx.km, document)
    except library.Refused as refused:
        raise AppleEventError(-10000, refused.message, KM) from None
    return ""


def _delete_macro(ctx: ToolContext, macro_id: str) -> None:
    """KMClient.delete_macro_async, as the rebuild's first step."""
    identifier = macro_id.strip()

    def delete() -> str:
        if not macro_exists(ctx.km, identifier):
            return "ERROR: macro not found"
        library.delete_macro(ctx.km, find_macro(ctx.km, identifier)[1])
        return "deleted"

    selector = macro_selector(identifier)
    try:
        output = run_guarded(ctx, f"if not (exists {selector})\ndelete {selector}", delete)
        caught(output)
    except KMProblem as problem:
        raise KMProblem(
            KMError("EXECUTION_ERROR", f"pre-import delete failed: {problem.error.message}")
        ) from None


def rotated(rebuilt: Rebuilt, **fields: Any) -> dict[str, Any]:
    """The success answer of a tool that rebuilt a macro (``fields`` after the group)."""
    return {
        "success": True,
        "data": {
            "old_macro_id": rebuilt.old_uid,
            "new_macro_id": rebuilt.new_uid,
            "group_name": rebuilt.group_name,
            **fields,
            "uuid_changed": True,
        },
        "warning": ROTATION_WARNING,
    }


# -- groups, and new macros by import (src/integration/kmmacros_import) ----------------------


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
    except ScriptFailure as failure:
        raise KMProblem(KMError(failure.code, failure.message)) from None
    return parse_records(output, "groupName", numbers=whole_numbers)


def _lowered(value: Any) -> str:
    if not isinstance(value, str):  # the server calls .lower() on what it read back
        raise ServerCrash(f"'{type(value).__name__}' object has no attribute 'lower'")
    return value.lower()


def import_new_macro(
    ctx: ToolContext,
    group_id: str,
    name: str,
    actions: list[dict[str, Any]] | None = None,
    triggers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``create_empty_macro``: a macro imported from a .kmmacros document into the group
    named (or with the UID) ``group_id``, ignoring case; it arrives disabled. Returns
    ``{macro_id, name, group_id, group_name}``; :class:`KMProblem` otherwise."""
    needle = group_id.strip().lower()
    for entry in list_groups(ctx):
        group_name, group_uid = entry.get("groupName", ""), entry.get("groupID", "")
        if _lowered(group_name) == needle or _lowered(group_uid) == needle:
            break
    else:
        raise KMProblem(KMError("EXECUTION_ERROR", f"Group not found: {group_id!r}"))
    uid = ctx.uuid4().upper()
    macro = {
        "Actions": actions or [],
        "CreationDate": 0,
        "ModificationDate": 0,
        "Name": name,
        "Triggers": triggers or [],
        "UID": uid,
    }
    document = plistlib.dumps(
        [{"Activate": "Normal", "KeyCount": 0, "Macros": [macro], "Name": group_name,
          "UID": group_uid}],
        fmt=plistlib.FMT_XML,
    )  # fmt: skip
    path = f"/tmp/km_mcp_create_{uid[:8].lower()}.kmmacros"
    try:
        ctx.osascript(
            f'tell application "{KM}" to open POSIX file "{path}"',
            lambda: _import(ctx, document),
            apps=(KM,),
        )
    except ScriptFailure as failure:
        raise KMProblem(KMError(failure.code, failure.message)) from None
    try:
        visible = any(str(m["id"]).lower() == uid.lower() for m in list_macros(ctx))
    except KMProblem:
        visible = False
    if not visible:
        raise KMProblem(
            KMError(
                "EXECUTION_ERROR",
                f"Imported {name!r} but UID {uid} was not visible in KM within "
                f"{UID_WAIT_SECONDS:.1f}s",
            )
        )
    return {"macro_id": uid, "name": name, "group_id": group_uid, "group_name": group_name}


def set_macro_enabled(ctx: ToolContext, macro_id: str, enabled: bool) -> None:
    """KMClient.set_macro_enabled_async; :class:`KMProblem` ``EXECUTION_ERROR`` on failure."""
    identifier = macro_id.strip()

    def toggle() -> str:
        if not macro_exists(ctx.km, identifier):
            return "ERROR: macro not found"
        macro = find_macro(ctx.km, identifier)[1]
        macro["enabled"] = enabled
        library.touch(ctx.km, macro)
        return "ok"

    selector = macro_selector(identifier)
    flag = "true" if enabled else "false"
    output = run_guarded(ctx, f"set enabled of ({selector}) to {flag}", toggle)
    caught(output, "EXECUTION_ERROR")
