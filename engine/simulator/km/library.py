"""Macro groups and macros, with their triggers and actions (the Keyboard Maestro editor's side).

Lookups answer None when nothing matches; changes that Keyboard Maestro refuses raise
:class:`Refused` with Keyboard Maestro's reason.

>>> from engine.simulator.km.state import KMState
>>> state = KMState()
>>> group = create_group(state, "Work")
>>> group["name"], group["enabled"], group["active"]
('Work', True, False)
>>> [m["name"] for m in import_document(state, kmmacros(group, [{"UID": "A", "Name": "Hi"}]))]
['Hi']
>>> macro_by_uid(state, "a")[1]["enabled"]
False
"""

from __future__ import annotations

import plistlib
from collections.abc import Iterator
from typing import Any

from engine.simulator.km import plist
from engine.simulator.km.describe import MODIFIER_MASK, action_name, trigger_description
from engine.simulator.km.state import KMState

Group = dict[str, Any]
Macro = dict[str, Any]

# Trigger types ``make new trigger with properties {xml: …}`` accepts: KM 11 refuses the
# others over AppleScript (the real server's comments record it; its pipelines re-import
# the macro instead).
SCRIPTABLE_TRIGGERS = frozenset({"HotKey"})
KNOWN_TRIGGERS = frozenset(
    {"HotKey", "Application", "Login", "EngineLaunch", "WakeTrigger", "ClipboardFilter"}
)
# Keys KM drops from a trigger when its XML is set (it stores no per-trigger enabled bit).
DROPPED_TRIGGER_KEYS = frozenset({"Disabled", "IsDisabled", "Enabled"})
INVALID_XML_ACTION = {"MacroActionType": "Log", "Text": "Invalid XML From AppleScript"}
HANDLER_FAILED = "AppleEvent handler failed."


class Refused(Exception):
    """Keyboard Maestro refuses a change; ``message`` is its reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def same(a: str, b: str) -> bool:
    """Names and ids compare as AppleScript compares text: ignoring case."""
    return a.casefold() == b.casefold()


def name_matches(candidate: str, wanted: str) -> bool:
    """A ``whose name is`` test as KM 11 answers it: names with non-ASCII glyphs never match.

    The real server's audit saw ``first macro whose name is "Quick Macro for ⌥F1"`` fail with
    "Invalid index" on KM 11.0.4; UUIDs still find such macros.
    """
    return candidate.isascii() and wanted.isascii() and same(candidate, wanted)


# -- groups ---------------------------------------------------------------------------


def group_by_uid(state: KMState, uid: str) -> Group | None:
    return next((g for g in state.groups if same(g["uid"], uid)), None)


def groups_named(state: KMState, name: str) -> list[Group]:
    return [g for g in state.groups if name_matches(g["name"], name)]


def create_group(state: KMState, name: str) -> Group:
    """A new, empty, enabled group at the end of the list.

    Groups made by AppleScript are not "currently active" (the real server saw ``do script``
    by name fail for macros in them); groups from the seed say whether they are.
    """
    group: Group = {
        "uid": state.new_uid(),
        "name": name,
        "enabled": True,
        "active": False,
        "macros": [],
    }
    state.groups.append(group)
    return group


def delete_group(state: KMState, group: Group) -> None:
    """Delete the group and every macro in it."""
    state.groups.remove(group)


# -- macros ---------------------------------------------------------------------------


def all_macros(state: KMState) -> Iterator[tuple[Group, Macro]]:
    """Every macro with its group, groups in order and macros in order."""
    for group in state.groups:
        for macro in group["macros"]:
            yield group, macro


def macro_by_uid(state: KMState, uid: str) -> tuple[Group, Macro] | None:
    return next(((g, m) for g, m in all_macros(state) if same(m["uid"], uid)), None)


def macros_named(state: KMState, name: str) -> list[tuple[Group, Macro]]:
    return [(g, m) for g, m in all_macros(state) if name_matches(m["name"], name)]


def group_of(state: KMState, macro: Macro) -> Group:
    return next(g for g, m in all_macros(state) if m is macro)


def macro_name(state: KMState, uid: str) -> str | None:
    found = macro_by_uid(state, uid)
    return found[1]["name"] if found else None


def new_macro(state: KMState, name: str, *, uid: str | None = None) -> Macro:
    stamp = _now_seconds(state)
    return {
        "uid": uid or state.new_uid(),
        "name": name,
        "enabled": True,
        "created": stamp,
        "modified": stamp,
        "triggers": [],
        "actions": [],
    }


def delete_macro(state: KMState, macro: Macro) -> None:
    group_of(state, macro)["macros"].remove(macro)


def duplicate_macro(state: KMState, macro: Macro) -> Macro:
    """A copy with a new UID, same name, right after the original in its group."""
    siblings = group_of(state, macro)["macros"]
    copy: Macro = plist.to_json(plist.from_json(macro))
    copy["uid"] = state.new_uid()
    copy["created"] = copy["modified"] = _now_seconds(state)
    siblings.insert(siblings.index(macro) + 1, copy)
    return copy


def move_macro(state: KMState, macro: Macro, group: Group) -> None:
    delete_macro(state, macro)
    group["macros"].append(macro)
    touch(state, macro)


def touch(state: KMState, macro: Macro) -> None:
    macro["modified"] = _now_seconds(state)


def macro_plist(macro: Macro) -> dict[str, Any]:
    """The macro as Keyboard Maestro writes it (``xml of macro``)."""
    out: dict[str, Any] = {
        "Actions": macro["actions"],
        "CreationDate": macro.get("created", 0.0),
        "ModificationDate": macro.get("modified", 0.0),
        "Name": macro["name"],
        "Triggers": macro["triggers"],
        "UID": macro["uid"],
    }
    if not macro["enabled"]:
        out["IsActive"] = False
    return out


# -- importing .kmmacros documents ------------------------------------------------------


def kmmacros(group: Group, macros: list[dict[str, Any]]) -> bytes:
    """A .kmmacros document holding ``macros`` (plist dicts) for ``group``."""
    document = [{"Macros": macros, "Name": group["name"], "UID": group["uid"]}]
    return plistlib.dumps(plist.from_json(document), fmt=plistlib.FMT_XML)


def import_document(state: KMState, data: bytes) -> list[Macro]:
    """Import a .kmmacros document (as opening it in Keyboard Maestro does).

    Groups are matched by UID (a new group is made when none has it); imported macros
    are disabled, and a macro whose UID is taken gets a new one.
    """
    try:
        document = plist.to_json(plistlib.loads(data))
    except Exception as problem:  # plistlib raises many kinds on damaged input
        raise Refused(f"The document could not be opened: {problem}") from None
    if not isinstance(document, list) or not all(isinstance(g, dict) for g in document):
        raise Refused("The document is not a Keyboard Maestro macros file.")
    imported: list[Macro] = []
    for entry in document:
        group = _import_group(state, entry)
        for item in entry.get("Macros") or []:
            if isinstance(item, dict):
                imported.append(_import_macro(state, group, item))
    return imported


def _import_group(state: KMState, entry: dict[str, Any]) -> Group:
    uid = str(entry.get("UID") or "")
    group = group_by_uid(state, uid) if uid else None
    if group is None:
        group = create_group(state, str(entry.get("Name") or "Imported Macros"))
        if uid:
            group["uid"] = uid
    return group


def _import_macro(state: KMState, group: Group, item: dict[str, Any]) -> Macro:
    uid = str(item.get("UID") or "")
    if not uid or macro_by_uid(state, uid) is not None:
        uid = state.new_uid()
    macro = new_macro(state, str(item.get("Name") or "Untitled Macro"), uid=uid)
    macro["enabled"] = False
    macro["triggers"] = [t for t in item.get("Triggers") or [] if isinstance(t, dict)]
    macro["actions"] = [a for a in item.get("Actions") or [] if isinstance(a, dict)]
    group["macros"].append(macro)
    return macro


# -- triggers -------------------------------------------------------------------------


def _trigger(text: str) -> dict[str, Any]:
    trigger = plist.parse_dict(text)
    kind = trigger.get("MacroTriggerType") if trigger is not None else None
    if trigger is None or not isinstance(kind, str) or kind not in KNOWN_TRIGGERS:
        raise Refused(HANDLER_FAILED)
    for key in DROPPED_TRIGGER_KEYS:
        trigger.pop(key, None)
    if trigger["MacroTriggerType"] == "HotKey":
        modifiers = trigger.get("Modifiers", 0)
        if not isinstance(modifiers, int) or modifiers & ~MODIFIER_MASK:
            trigger["Modifiers"] = 0  # KM normalises a mask it cannot read (seen live)
    return trigger


def add_trigger(state: KMState, macro: Macro, xml: str) -> dict[str, Any]:
    """``make new trigger with properties {xml: …}``: HotKey triggers only."""
    trigger = _trigger(xml)
    if trigger["MacroTriggerType"] not in SCRIPTABLE_TRIGGERS:
        raise Refused(HANDLER_FAILED)
    macro["triggers"].append(trigger)
    touch(state, macro)
    return trigger


def set_trigger(state: KMState, macro: Macro, index: int, xml: str) -> None:
    """``set xml of trigger N`` (1-based; the caller checks the index)."""
    macro["triggers"][index - 1] = _trigger(xml)
    touch(state, macro)


def trigger_texts(trigger: dict[str, Any]) -> tuple[str, str]:
    """A trigger's ``description`` and ``xml``."""
    return trigger_description(trigger), plist.document(trigger)


# -- actions --------------------------------------------------------------------------


def add_action(state: KMState, macro: Macro, xml: str) -> dict[str, Any]:
    """``make new action with properties {xml: …}``.

    XML that is not an action plist becomes a Log "Invalid XML From AppleScript" action, as
    KM does; KM 11 does the same to Execute Macro actions made this way (seen live).
    """
    action = plist.parse_dict(xml)
    kind = action.get("MacroActionType") if action else None
    if action is None or not isinstance(kind, str) or not kind or kind == "ExecuteMacro":
        action = dict(INVALID_XML_ACTION)
    macro["actions"].append(action)
    touch(state, macro)
    return action


def action_texts(state: KMState, action: dict[str, Any]) -> tuple[str, bool]:
    """An action's ``name`` and ``enabled``."""
    name = action_name(action, lambda uid: macro_name(state, uid))
    return name, not action.get("IsDisabled", False)


def _now_seconds(state: KMState) -> float:
    """The model's clock as Cocoa reference-date seconds (since 2001-01-01 UTC)."""
    from datetime import datetime

    return datetime.fromisoformat(state.clock).timestamp() - 978_307_200.0
