"""Macro triggers: km_trigger_crud, km_set_macro_triggers and km_add_system_trigger."""

from __future__ import annotations

import plistlib
from typing import Any
from xml.parsers.expat import ErrorString, ExpatError

from engine.simulator._context import Call, ToolFailure, dispatch
from engine.simulator._jsondata import NotJSONData, copy_json
from engine.simulator._library import find_macro

TRIGGER_TYPES = ("HotKey", "Application", "Login", "EngineLaunch", "WakeTrigger")
SYSTEM_KINDS = {"login": "Login", "engine_launch": "EngineLaunch", "system_wake": "WakeTrigger"}
APP_EVENTS = ("launches", "quits", "activates", "deactivates")
NOT_ROTATED = "the simulator keeps the macro's UUID (Keyboard Maestro gives it a new one)"


def macro_for(call: Call, code: str) -> dict[str, Any]:
    return find_macro(call, call.need("macro_id", "the macro's name or UUID"), code)


def changed(call: Call, macro: dict[str, Any]) -> None:
    macro["modified_at"] = call.timestamp
    call.touch()


def view(trigger: dict[str, Any], index: int) -> dict[str, Any]:
    return {"index": index, **trigger}


def checked(trigger: Any, *, code: str = "VALIDATION_ERROR") -> dict[str, Any]:
    """A trigger dict with a known MacroTriggerType (enabled unless it says otherwise)."""
    kind = trigger.get("MacroTriggerType") if isinstance(trigger, dict) else None
    if kind not in TRIGGER_TYPES:
        raise ToolFailure(
            code,
            f"a trigger needs 'MacroTriggerType' set to one of {', '.join(TRIGGER_TYPES)}"
            f" (found {kind!r})",
            "Add the MacroTriggerType key, e.g. {'MacroTriggerType': 'HotKey', ...}.",
        )
    return {**trigger, "enabled": trigger.get("enabled", True) is not False}


def from_xml(xml: str) -> dict[str, Any]:
    """A trigger from its plist XML (``<dict>…</dict>``); KM_REJECTED_XML if it is not one."""
    document = f'<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">{xml}</plist>'
    try:
        parsed = copy_json(plistlib.loads(document.encode("utf-8", "surrogatepass")))
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, ExpatError) as problem:
        reason = str(problem)
        if isinstance(problem, NotJSONData):
            reason = problem.reason
        elif isinstance(problem, ExpatError):
            reason = ErrorString(problem.code)  # its position is in our wrapper, not the input
        raise ToolFailure(
            "KM_REJECTED_XML",
            f"the trigger XML is not a usable plist <dict>: {reason}",
            "Pass one <dict>…</dict> with a MacroTriggerType key (strings, numbers, "
            "booleans, arrays and dicts only), or pass 'trigger' as an object.",
        ) from problem
    return checked(parsed, code="KM_REJECTED_XML")


def _position(call: Call, name: str, macro: dict[str, Any], code: str) -> int:
    index = call.need(name, "the trigger's 1-based position")
    count = len(macro["triggers"])
    if index > count:
        raise ToolFailure(
            code,
            f"index {index} is out of range: macro '{macro['name']}' has {count} trigger(s)",
            "List the triggers first (operation 'list') and use a position from 1 to the count.",
            {"trigger_count": count},
        )
    return int(index) - 1


def _payload(call: Call) -> dict[str, Any]:
    xml, trigger = call.args.get("xml"), call.args.get("trigger")
    if xml is None and trigger is None:
        raise ToolFailure(
            "MISSING_PAYLOAD", "neither 'xml' nor 'trigger' was given", "Pass one of them."
        )
    if xml is not None and trigger is not None:
        raise ToolFailure(
            "BOTH_XML_AND_TRIGGER", "both 'xml' and 'trigger' were given", "Pass only one of them."
        )
    return from_xml(xml) if xml is not None else checked(trigger)


def crud_list(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "LIST_FAILED")
    triggers = [view(t, i) for i, t in enumerate(macro["triggers"], 1)]
    return {"macro_id": macro["id"], "triggers": triggers, "count": len(triggers)}


def crud_get(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "LIST_FAILED")
    position = _position(call, "index", macro, "INDEX_OUT_OF_RANGE")
    return {"macro_id": macro["id"], "trigger": view(macro["triggers"][position], position + 1)}


def crud_add(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "ADD_FAILED")
    trigger = _payload(call)
    macro["triggers"].append(trigger)
    changed(call, macro)
    count = len(macro["triggers"])
    return {"macro_id": macro["id"], "trigger": view(trigger, count), "trigger_count": count}


def crud_update(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "UPDATE_FAILED")
    position = _position(call, "index", macro, "INDEX_OUT_OF_RANGE")
    trigger = _payload(call)
    macro["triggers"][position] = trigger
    changed(call, macro)
    return {"macro_id": macro["id"], "trigger": view(trigger, position + 1)}


def crud_remove(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "REMOVE_FAILED")
    position = _position(call, "index", macro, "INDEX_OUT_OF_RANGE")
    removed = macro["triggers"].pop(position)
    changed(call, macro)
    return {"macro_id": macro["id"], "removed": removed, "trigger_count": len(macro["triggers"])}


def crud_replace_all(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "REPLACE_FAILED")
    items = call.args.get("triggers")
    if items is None:
        raise ToolFailure(
            "VALIDATION_ERROR",
            "'triggers' is required for operation 'replace_all'",
            "Pass the full list (trigger dicts or {'xml': '<dict>…</dict>'}); [] removes all.",
            {"field": "triggers"},
        )
    triggers = [
        from_xml(item["xml"]) if set(item) == {"xml"} and isinstance(item["xml"], str)
        else checked(item)
        for item in items
    ]  # fmt: skip
    macro["triggers"] = triggers
    changed(call, macro)
    return {"macro_id": macro["id"], "trigger_count": len(triggers), "note": NOT_ROTATED}


CRUD_OPERATIONS = {
    "list": crud_list,
    "get": crud_get,
    "add": crud_add,
    "update": crud_update,
    "remove": crud_remove,
    "replace_all": crud_replace_all,
}


def handle_trigger_crud(call: Call) -> dict[str, Any]:
    """km_trigger_crud: list, get, add, update, remove or replace a macro's triggers."""
    return dispatch(call, CRUD_OPERATIONS)


def handle_set_macro_triggers(call: Call) -> dict[str, Any]:
    """km_set_macro_triggers: replace the macro's whole trigger list."""
    macro = macro_for(call, "MACRO_NOT_FOUND")
    macro["triggers"] = [checked(item) for item in call.args["triggers"]]
    changed(call, macro)
    return {
        "macro_id": macro["id"],
        "new_macro_id": macro["id"],
        "trigger_count": len(macro["triggers"]),
        "note": NOT_ROTATED,
    }


def handle_add_system_trigger(call: Call) -> dict[str, Any]:
    """km_add_system_trigger: a login, engine-launch or wake trigger."""
    macro = macro_for(call, "MACRO_NOT_FOUND")
    trigger = {"MacroTriggerType": SYSTEM_KINDS[call.args["trigger_kind"]], "enabled": True}
    macro["triggers"].append(trigger)
    changed(call, macro)
    return {
        "macro_id": macro["id"],
        "new_macro_id": macro["id"],
        "trigger": view(trigger, len(macro["triggers"])),
        "note": NOT_ROTATED,
    }
