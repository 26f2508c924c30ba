"""Macros made by importing a .kmmacros document, as the server makes them: new macros
(``create_empty_macro``, for km_macro_editor create and km_create_macro) and the
export-delete-reimport rebuild that changes what AppleScript cannot (triggers other than
hot keys, Execute Macro actions) and gives the macro a new UUID.

Keyboard Maestro 11 has no ``make new macro``: the server writes a document for the group
into a temporary file, has Keyboard Maestro open it (imported macros arrive **disabled**),
and polls the macro list until the new UUID shows (every 0.25 s, for at most 5 s).

>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> ctx = ToolContext("km_x", {}, SimulatorState.seeded(), datetime(2026, 5, 4, tzinfo=UTC))
>>> made = import_new_macro(ctx, "examples", "Sig")
>>> made["group_name"], find_macro(ctx.km, made["macro_id"])[1]["enabled"]
('Examples', False)
>>> rebuilt = rebuild(ctx, fetch_snapshot(ctx, "Sig"), {"Name": "Sig 2"})
>>> rebuilt.old_uid == made["macro_id"], find_macro(ctx.km, rebuilt.new_uid)[1]["name"]
(True, 'Sig 2')
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass
from typing import Any

from engine.simulator.km import library, plist
from engine.simulator.tools._km import (
    KMError,
    KMProblem,
    delete_macro,
    find_macro,
    list_groups,
    list_macros,
    on_macro,
)
from engine.simulator.tools.context import (
    KM,
    AppleEventError,
    ScriptFailure,
    ServerCrash,
    ToolContext,
)

__all__ = [
    "MacroSnapshot",
    "Rebuilt",
    "fetch_snapshot",
    "import_new_macro",
    "rebuild",
    "rotated",
]

# Where the server's temporary files go (a Mac's temporary folder).
TEMPORARY = "/var/folders/km/T"
UID_WAIT_SECONDS = 5.0
UID_POLL_SECONDS = 0.25
ROTATION_WARNING = (
    "The macro's UUID changed. Any ExecuteMacro action in other macros that referenced "
    "the old UID must be rewritten to use the new UID."
)


def _document(macro: dict[str, Any], group_name: Any, group_uid: Any) -> bytes:
    """The .kmmacros document the server writes: ``macro`` (plist data) in its group.
    (plistlib's TypeError for a value it cannot write is not caught there.)"""
    group = {"Activate": "Normal", "KeyCount": 0, "Macros": [macro]}
    return plistlib.dumps([{**group, "Name": group_name, "UID": group_uid}], fmt=plistlib.FMT_XML)


def _open(ctx: ToolContext, path: str, document: bytes) -> None:
    """``tell application "Keyboard Maestro" to open POSIX file …`` of the document (written
    to ``path``); :class:`ScriptFailure` when it cannot run or Keyboard Maestro refuses."""
    escaped = path.replace('"', '\\"')

    def imported() -> str:
        try:
            library.import_document(ctx.km, document)
        except library.Refused as refused:
            raise AppleEventError(-10000, refused.message, KM) from None
        return ""

    ctx.osascript(f'tell application "{KM}" to open POSIX file "{escaped}"', imported, apps=(KM,))


def _temporary(prefix: str, uid: str) -> str:
    return f"{TEMPORARY}/{prefix}{uid[:8].lower()}.kmmacros"


def _listed(ctx: ToolContext, uid: str) -> bool:
    """Whether the macro list shows ``uid`` within the server's wait."""
    deadline = ctx.elapsed + UID_WAIT_SECONDS
    while ctx.elapsed < deadline:
        try:
            if any(
                str(m["id"]).lower() == uid.lower() for m in list_macros(ctx, enabled_only=False)
            ):
                return True
        except KMProblem:
            pass
        ctx.sleep(UID_POLL_SECONDS)
    return False


# -- new macros (src/integration/kmmacros_import) ----------------------------------------


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
    """``create_empty_macro``: a macro imported into the group named (or with the UID)
    ``group_id``, ignoring case. Returns ``{macro_id, name, group_id, group_name}``;
    :class:`KMProblem` otherwise (``Group not found: …`` when no group matches)."""
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
    document = _document(macro, group_name, group_uid)
    try:
        _open(ctx, _temporary("km_mcp_create_", uid), document)
    except ScriptFailure as problem:
        raise KMProblem(KMError(problem.code, problem.message)) from None
    if not _listed(ctx, uid):
        raise KMProblem(
            KMError(
                "EXECUTION_ERROR",
                f"Imported {name!r} but UID {uid} was not visible in KM within "
                f"{UID_WAIT_SECONDS:.1f}s",
            )
        )
    return {"macro_id": uid, "name": name, "group_id": group_uid, "group_name": group_name}


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

    def export(macro: library.Macro) -> str:
        group = find_macro(ctx.km, macro["uid"])[0]
        document = plist.document(library.macro_plist(macro))
        return f"{document}{_SEP}{group['name']}{_SEP}{group['uid']}"

    output = on_macro(
        ctx, macro_id.strip(), "set m to {macro}\nset macroXml to xml of m", export, code=None
    )
    if output.startswith("ERROR:"):
        message = output[6:].strip()
        code = "NOT_FOUND_ERROR" if "not found" in message.lower() else "EXECUTION_ERROR"
        raise KMProblem(KMError(code, message))
    parts = output.split(_SEP)
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
    document = _document({**new_plist, "UID": fresh}, snapshot.group_name, snapshot.group_uid)
    try:
        delete_macro(ctx, snapshot.original_uid)
    except KMProblem as problem:
        message = f"pre-import delete failed: {problem.error.message}"
        raise KMProblem(KMError("EXECUTION_ERROR", message)) from None
    try:
        _open(ctx, _temporary("km_mcp_rebuild_", fresh), document)
    except ScriptFailure as problem:
        message = f"KM rejected rebuilt .kmmacros: {problem.message}"
        raise KMProblem(KMError("EXECUTION_ERROR", message)) from None
    if not _listed(ctx, fresh):
        message = f"Imported macro but UID {fresh} did not appear within {UID_WAIT_SECONDS:.1f}s"
        raise KMProblem(KMError("EXECUTION_ERROR", message))
    return Rebuilt(snapshot.original_uid, fresh, snapshot.group_name)


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
