"""Macro triggers: four tools that list, add, change and remove a macro's triggers.

Longer than 400 lines: four tools over one model of a trigger (the XML of each trigger
type and the guarded scripts that change it).

The tools are km_trigger_crud, km_trigger_manager, km_set_macro_triggers and
km_add_system_trigger.
km_trigger_crud and km_trigger_manager talk to Keyboard Maestro through guarded scripts
(``make new trigger with properties {xml: …}``, ``set xml of trigger N``, ``delete trigger
N``): KM 11 accepts only hot-key triggers that way, drops a ``Disabled`` key and resets a
modifier mask it cannot read. The other two rebuild the macro (export, delete, re-import):
its UUID changes and, imported, it is disabled.

>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> state, now = SimulatorState.seeded(), datetime(2026, 5, 4, tzinfo=UTC)
>>> def crud(**args):
...     full = {"index": None, "xml": None, "trigger": None, "triggers": None, **args}
...     return handle_trigger_crud(ToolContext("km_trigger_crud", full, state, now))
>>> crud(operation="add", macro_id="Hello World", xml="<dict><key>MacroTriggerType</key>"
...      "<string>HotKey</string><key>KeyCode</key><integer>4</integer></dict>")["data"]
{'macro_id': 'Hello World', 'index': 1, 'type': 'HotKey'}
>>> crud(operation="list", macro_id="Hello World")["data"]["triggers"][0]["description"]
'The Hot Key H is pressed'
>>> crud(operation="add", macro_id="Hello World", trigger={"MacroTriggerType": "Login"})["error"]
{'code': 'ADD_FAILED', 'message': 'Keyboard Maestro got an error: AppleEvent handler failed.', \
'recovery_suggestion': "Verify the trigger XML matches KM's plist schema."}
"""

from __future__ import annotations

import plistlib
import re
from collections.abc import Callable
from typing import Any

from engine.simulator.km import library
from engine.simulator.tools._imports import fetch_snapshot, rebuild, rotated
from engine.simulator.tools._km import (
    KMError,
    KMProblem,
    caught,
    escape_xml_literal,
    find_macro,
    macro_selector,
    run_guarded,
)
from engine.simulator.tools.context import (
    KM,
    Answer,
    ServerCrash,
    ToolContext,
    cant_get,
    engine_unreachable,
    failure,
    quoted,
)

__all__ = ["HANDLERS", "attach_trigger", "trigger_config_xml"]

_DICT = re.compile(r"<dict>.*?</dict>", re.DOTALL)
_TYPE = re.compile(r"<key>MacroTriggerType</key>\s*<string>([^<]*)</string>")
NO_ENABLED_BIT = (
    "KM 11 stores no per-trigger enabled bit (verified by round-trip probe — KM strips an "
    "injected Disabled key). Toggle the parent macro instead via km_macro_editor "
    "set_enabled. See docs/km_mcp_audit_report.md round 6 for the probe."
)


def trigger_type(xml: str) -> str:
    """The ``MacroTriggerType`` a trigger's XML names, as the server finds it ("Unknown")."""
    match = _TYPE.search(xml)
    return match.group(1) if match else "Unknown"


# -- the server's KMClient trigger calls ----------------------------------------------------


def _macro(ctx: ToolContext, macro_id: str) -> library.Macro:
    return find_macro(ctx.km, macro_id)[1]


def _trigger_spec(ctx: ToolContext, macro_id: str, index: int) -> dict[str, Any]:
    macro = _macro(ctx, macro_id)
    if not 1 <= index <= len(macro["triggers"]):
        raise cant_get(f"trigger {index} of macro id {quoted(macro['uid'])}", KM, index=True)
    trigger: dict[str, Any] = macro["triggers"][index - 1]
    return trigger


def _guarded(
    ctx: ToolContext, script: str, action: Callable[[], str], code: str = "NOT_FOUND_ERROR"
) -> str:
    output = run_guarded(ctx, script, action)
    caught(output, code)
    return output


def list_triggers(ctx: ToolContext, macro_id: str, *, with_xml: bool) -> list[dict[str, Any]]:
    """``list_macro_triggers[_with_xml]_async``: index and description (and XML)."""
    selector = macro_selector(macro_id)

    def read() -> str:
        texts = [library.trigger_texts(t) for t in _macro(ctx, macro_id)["triggers"]]
        if with_xml:
            return "".join(f"{description}␟{xml}␞" for description, xml in texts)
        return "".join(f"{description}\n" for description, _ in texts)

    output = _guarded(ctx, f"set trigList to triggers of ({selector})", read)
    if not with_xml:
        lines = [line for line in output.split("\n") if line]
        return [{"index": i, "description": line.strip()} for i, line in enumerate(lines, 1)]
    triggers = []
    for index, record in enumerate([r for r in output.split("␞") if r], start=1):
        parts = record.split("␟", 1)
        triggers.append(
            {
                "index": index,
                "description": parts[0].strip(),
                "xml": parts[1] if len(parts) > 1 else "",
            }
        )
    return triggers


def append_trigger(ctx: ToolContext, macro_id: str, xml: str) -> None:
    """``make new trigger with properties {xml: …}`` inside ``tell <macro>``."""
    script = (
        f"tell {macro_selector(macro_id)}\n"
        f'make new trigger with properties {{xml:"{escape_xml_literal(xml)}"}}'
    )

    def add() -> str:
        library.add_trigger(ctx.km, _macro(ctx, macro_id), xml)
        return "appended"

    _guarded(ctx, script, add, "EXECUTION_ERROR")


def attach_trigger(ctx: ToolContext, macro_id: str, kind: str, config: dict[str, Any]) -> None:
    """``attach_trigger_async``: a hot-key or application trigger from its configuration."""
    append_trigger(ctx, macro_id, trigger_config_xml(kind, config))


def _remove(ctx: ToolContext, macro_id: str, index: int) -> None:
    def delete() -> str:
        _trigger_spec(ctx, macro_id, index)
        macro = _macro(ctx, macro_id)
        del macro["triggers"][index - 1]
        library.touch(ctx.km, macro)
        return "deleted"

    _guarded(ctx, f"delete trigger {index} of ({macro_selector(macro_id)})", delete)


def _clear(ctx: ToolContext, macro_id: str) -> None:
    def clear() -> str:
        macro = _macro(ctx, macro_id)
        macro["triggers"].clear()
        library.touch(ctx.km, macro)
        return "cleared"

    _guarded(ctx, f"delete every trigger of ({macro_selector(macro_id)})", clear)


# -- trigger configurations (km_trigger_manager add, km_create_hotkey_trigger) ---------------

KEY_CODES = {
    **dict(zip("abcdefghijklmnopqrstuvwxyz", (0, 11, 8, 2, 14, 3, 5, 4, 34, 38, 40, 37, 46, 45,
                                              31, 35, 12, 15, 1, 17, 32, 9, 13, 7, 16, 6),
               strict=True)),
    **dict(zip("0123456789", (29, 18, 19, 20, 21, 23, 22, 26, 28, 25), strict=True)),
    "f1": 122, "f2": 120, "f3": 99, "f4": 118, "f5": 96, "f6": 97, "f7": 98, "f8": 100,
    "f9": 101, "f10": 109, "f11": 103, "f12": 111, "space": 49, "tab": 48, "return": 36,
    "enter": 76, "escape": 53, "delete": 51, "backspace": 51, "home": 115, "end": 119,
    "pageup": 116, "pagedown": 121, "up": 126, "down": 125, "left": 123, "right": 124,
    "help": 114, "insert": 114, "clear": 71,
}  # fmt: skip
MODIFIER_BITS = {
    "command": 256, "cmd": 256, "shift": 512, "option": 2048, "opt": 2048, "alt": 2048,
    "control": 4096, "ctrl": 4096,
}  # fmt: skip
FIRE_TYPES = ("held", "pressed", "released", "tapped")
APP_EVENTS = {"activates": 0, "deactivates": 1, "launches": 2, "quits": 3}


class _BadConfig(Exception):
    pass


def trigger_config_xml(kind: str, config: dict[str, Any]) -> str:
    """The trigger XML the server writes for a hot-key or application configuration;
    :class:`KMProblem` ``VALIDATION_ERROR`` with its reason otherwise."""
    try:
        if kind == "hotkey":
            return _hotkey_xml(config)
        if kind == "application":
            return _application_xml(config)
        raise _BadConfig(f"trigger_type '{kind}' not supported; use 'hotkey' or 'application'.")
    except _BadConfig as bad:
        raise KMProblem(KMError("VALIDATION_ERROR", str(bad))) from None


def _hotkey_xml(config: dict[str, Any]) -> str:
    key = config.get("key")
    if not isinstance(key, str) or not key:
        raise _BadConfig("hotkey requires 'key' (str)")
    code = KEY_CODES.get(key.strip().lower())
    if code is None:
        raise _BadConfig(
            f"unknown hotkey 'key': {key!r}; use a-z, 0-9, f1-f12, or a named special key."
        )
    modifiers = config.get("modifiers", [])
    if not isinstance(modifiers, list):
        raise _BadConfig("'modifiers' must be a list")
    mask = 0
    for modifier in modifiers:
        if not isinstance(modifier, str):
            continue
        bit = MODIFIER_BITS.get(modifier.strip().lower())
        if bit is None:
            raise _BadConfig(f"unknown modifier: {modifier!r}")
        mask |= bit
    fire = str(config.get("activation_mode", "pressed")).lower()
    if fire not in FIRE_TYPES:
        raise _BadConfig(f"'activation_mode' must be one of {list(FIRE_TYPES)}")
    return (
        "<dict><key>MacroTriggerType</key><string>HotKey</string>"
        f"<key>KeyCode</key><integer>{code}</integer>"
        f"<key>Modifiers</key><integer>{mask}</integer>"
        f"<key>FireType</key><string>{fire.capitalize()}</string></dict>"
    )


def _application_xml(config: dict[str, Any]) -> str:
    app, event = config.get("application"), config.get("event", "launches")
    if not isinstance(app, str) or not app:
        raise _BadConfig("application trigger requires 'application' (str)")
    if event not in APP_EVENTS:
        raise _BadConfig("'event' must be launches|quits|activates|deactivates")
    name = app.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        "<dict><key>MacroTriggerType</key><string>Application</string>"
        f"<key>Application</key><dict><key>Name</key><string>{name}</string></dict>"
        f"<key>Type</key><integer>{APP_EVENTS[event]}</integer></dict>"
    )


# -- km_trigger_crud ----------------------------------------------------------------------


def _payload(xml: Any, trigger: dict[str, Any] | None) -> tuple[str, str] | Answer:
    """``(xml, type)`` of an add/update payload, or the failure answer."""
    if xml is not None and trigger is not None:
        return failure(
            "BOTH_XML_AND_TRIGGER",
            "Pass exactly one of 'xml' or 'trigger', not both.",
            "Remove whichever you didn't mean.",
            field="xml/trigger",
        )
    if xml is not None:
        if not isinstance(xml, str):
            raise ServerCrash(f"'{type(xml).__name__}' object has no attribute 'strip'")
        cleaned = xml.strip()
        if not cleaned.startswith("<dict>") or not cleaned.endswith("</dict>"):
            return failure(
                "VALIDATION_ERROR",
                "'xml' must be a single <dict>...</dict> element.",
                "Wrap or trim to a bare <dict> trigger element.",
                field="xml",
            )
        return cleaned, trigger_type(cleaned)
    if trigger is not None:
        try:
            full = plistlib.dumps(trigger, fmt=plistlib.FMT_XML, sort_keys=False).decode("utf-8")
        except (ValueError, TypeError, OverflowError) as problem:
            return failure(
                "VALIDATION_ERROR",
                f"Could not serialise 'trigger' to plist XML: {problem}",
                "Use plist-compatible types (str/int/bool/list/dict).",
                field="trigger",
            )
        match = _DICT.search(full)
        if match is None:
            return failure(
                "VALIDATION_ERROR",
                "Could not serialise 'trigger' to plist XML: "
                "plistlib emitted no <dict> for trigger payload",
                "Use plist-compatible types (str/int/bool/list/dict).",
                field="trigger",
            )
        serialised = match.group(0)
        return serialised, str(trigger.get("MacroTriggerType", trigger_type(serialised)))
    return failure(
        "MISSING_PAYLOAD",
        "Provide either 'xml' or 'trigger'.",
        "Pass a structured dict via 'trigger', or raw XML via 'xml'.",
        field="xml/trigger",
    )


def handle_trigger_crud(ctx: ToolContext) -> Answer:
    """km_trigger_crud: list, get, add, update, remove, replace_all on one macro."""
    args = ctx.args
    operation, macro_id = args["operation"], args["macro_id"].strip()
    if not macro_id:
        return failure("VALIDATION_ERROR", "macro_id is required.", "Pass macro name or UUID.")
    if not ctx.engine_running():
        return engine_unreachable("KME_UNREACHABLE")
    index = args["index"]
    if operation in ("get", "remove", "update") and index is None:
        return failure(
            "VALIDATION_ERROR",
            f"index is required for '{operation}'.",
            "Pass index >= 1.",
            field="index",
        )
    try:
        return _CRUD[operation](ctx, macro_id, index)
    except KMProblem as problem:  # only list reaches here: the others map their own codes
        return failure("LIST_FAILED", problem.error.message, "Verify the macro exists.")


def _crud_list(ctx: ToolContext, macro_id: str, index: int) -> Answer:
    triggers = list_triggers(ctx, macro_id, with_xml=True)
    for trigger in triggers:
        trigger["type"] = trigger_type(trigger.get("xml", ""))
    return {"success": True, "data": {"macro_id": macro_id, "triggers": triggers}}


def _crud_get(ctx: ToolContext, macro_id: str, index: int) -> Answer:
    script = f"return xml of trigger {index} of ({macro_selector(macro_id)})"
    try:
        xml = _guarded(
            ctx, script, lambda: library.trigger_texts(_trigger_spec(ctx, macro_id, index))[1]
        )
    except KMProblem as problem:
        message = problem.error.message
        lowered = message.lower()
        code = (
            "INDEX_OUT_OF_RANGE" if "out of" in lowered or "invalid" in lowered else "LIST_FAILED"
        )
        return failure(code, message, "Call operation='list' to see valid indices.")
    data = {"macro_id": macro_id, "index": index, "type": trigger_type(xml), "xml": xml}
    return {"success": True, "data": data}


def _crud_add(ctx: ToolContext, macro_id: str, index: int) -> Answer:
    resolved = _payload(ctx.args["xml"], ctx.args["trigger"])
    if isinstance(resolved, dict):
        return resolved
    xml, kind = resolved
    try:
        append_trigger(ctx, macro_id, xml)
    except KMProblem as problem:
        message = problem.error.message
        code = "KM_REJECTED_XML" if "xml" in message.lower() else "ADD_FAILED"
        return failure(code, message, "Verify the trigger XML matches KM's plist schema.")
    try:
        count: int | None = len(list_triggers(ctx, macro_id, with_xml=True))
    except KMProblem:
        count = None
    return {"success": True, "data": {"macro_id": macro_id, "index": count, "type": kind}}


def _crud_update(ctx: ToolContext, macro_id: str, index: int) -> Answer:
    resolved = _payload(ctx.args["xml"], ctx.args["trigger"])
    if isinstance(resolved, dict):
        return resolved
    xml, kind = resolved
    script = (
        f'set xml of trigger {index} of ({macro_selector(macro_id)}) to "{escape_xml_literal(xml)}"'
    )

    def update() -> str:
        _trigger_spec(ctx, macro_id, index)
        library.set_trigger(ctx.km, _macro(ctx, macro_id), index, xml)
        return "updated"

    try:
        _guarded(ctx, script, update, "EXECUTION_ERROR")
    except KMProblem as problem:
        message = problem.error.message
        lowered = message.lower()
        if "out of" in lowered or "invalid index" in lowered:
            code = "INDEX_OUT_OF_RANGE"
        elif "xml" in lowered:
            code = "KM_REJECTED_XML"
        else:
            code = "UPDATE_FAILED"
        return failure(code, message, "Call operation='list' to confirm indices and current XML.")
    return {"success": True, "data": {"macro_id": macro_id, "index": index, "type": kind}}


def _crud_remove(ctx: ToolContext, macro_id: str, index: int) -> Answer:
    try:
        _remove(ctx, macro_id, index)
    except KMProblem as problem:
        message = problem.error.message
        code = "INDEX_OUT_OF_RANGE" if "out of" in message.lower() else "REMOVE_FAILED"
        return failure(code, message, "Call operation='list' to find a valid 1-based index.")
    return {"success": True, "data": {"macro_id": macro_id, "index": index}}


def _crud_replace_all(ctx: ToolContext, macro_id: str, index: int) -> Answer:
    triggers: list[dict[str, Any]] | None = ctx.args["triggers"]
    if triggers is None:
        return failure(
            "VALIDATION_ERROR",
            "triggers list is required for 'replace_all'.",
            "Pass triggers=[{...}, ...].",
            field="triggers",
        )
    try:
        _clear(ctx, macro_id)
    except KMProblem as problem:
        return failure(
            "REPLACE_FAILED",
            f"clear failed: {problem.error.message}",
            "Verify the macro exists and KM Engine is responsive.",
        )
    for position, entry in enumerate(triggers, start=1):
        raw = entry.get("xml") if "xml" in entry else None
        resolved = _payload(raw, None if raw is not None else entry)
        if isinstance(resolved, dict):
            resolved["error"]["failed_index"] = position
            return resolved
        try:
            append_trigger(ctx, macro_id, resolved[0])
        except KMProblem as problem:
            return failure(
                "REPLACE_FAILED",
                f"append at index {position} failed: {problem.error.message}",
                "Earlier triggers were already inserted; inspect with operation='list'.",
                field=f"triggers[{position - 1}]",
            )
    return {"success": True, "data": {"macro_id": macro_id, "count": len(triggers)}}


# Each gets the stripped macro_id and the index (checked present where it is needed).
_CRUD: dict[str, Callable[[ToolContext, str, int], Answer]] = {
    "list": _crud_list,
    "get": _crud_get,
    "add": _crud_add,
    "update": _crud_update,
    "remove": _crud_remove,
    "replace_all": _crud_replace_all,
}


# -- km_trigger_manager -------------------------------------------------------------------


def handle_trigger_manager(ctx: ToolContext) -> Answer:
    """km_trigger_manager: list, add (hot key or application), remove, clear; set_enabled
    always fails (KM 11 keeps no enabled bit per trigger)."""
    if not ctx.engine_running():
        return engine_unreachable()
    args = ctx.args
    operation, raw_id = args["operation"], args["macro_id"]
    macro_id = raw_id.strip() if raw_id else ""
    index = args["trigger_index"]
    required = {
        "list": ((macro_id,), "macro_id is required.", "Pass macro_id."),
        "clear": ((macro_id,), "macro_id is required.", "Pass macro_id."),
        "add": (
            (macro_id, args["trigger_type"]),
            "macro_id and trigger_type are required for operation='add'.",
            "Pass both, plus a config dict appropriate for the trigger_type.",
        ),
        "remove": (
            (macro_id, index is not None),
            "macro_id and trigger_index are required.",
            "Use operation='list' first to find the 1-indexed position.",
        ),
        "set_enabled": (
            (macro_id, index is not None, args["enabled"] is not None),
            "macro_id, trigger_index, and enabled are all required.",
            "Pass all three.",
        ),
    }
    present, message, suggestion = required[operation]
    if not all(present):
        return failure("VALIDATION_ERROR", message, suggestion)
    return _MANAGER[operation](ctx, macro_id)


def _manager_list(ctx: ToolContext, macro_id: str) -> Answer:
    try:
        triggers = list_triggers(ctx, macro_id, with_xml=False)
    except KMProblem as problem:
        return failure("LIST_FAILED", problem.error.message, "Verify the macro exists.")
    return {"success": True, "data": {"macro_id": ctx.args["macro_id"], "triggers": triggers}}


def _manager_add(ctx: ToolContext, macro_id: str) -> Answer:
    kind = ctx.args["trigger_type"]
    try:
        attach_trigger(ctx, macro_id, kind, ctx.args["config"] or {})
    except KMProblem as problem:
        return failure("ADD_FAILED", problem.error.message, "Check config shape.")
    data = {"macro_id": ctx.args["macro_id"], "trigger_type": kind, "attached": True}
    return {"success": True, "data": data}


def _manager_remove(ctx: ToolContext, macro_id: str) -> Answer:
    index = ctx.args["trigger_index"]
    try:
        _remove(ctx, macro_id, index)
    except KMProblem as problem:
        return failure("REMOVE_FAILED", problem.error.message, "Verify the index is valid.")
    return {"success": True, "data": {"macro_id": ctx.args["macro_id"], "trigger_index": index}}


def _manager_clear(ctx: ToolContext, macro_id: str) -> Answer:
    try:
        _clear(ctx, macro_id)
    except KMProblem as problem:
        return failure("CLEAR_FAILED", problem.error.message, "Verify the macro exists.")
    return {"success": True, "data": {"macro_id": ctx.args["macro_id"], "cleared": True}}


def _manager_set_enabled(ctx: ToolContext, macro_id: str) -> Answer:
    return failure("TOGGLE_FAILED", NO_ENABLED_BIT, "Verify the index is valid.")


_MANAGER: dict[str, Callable[[ToolContext, str], Answer]] = {
    "list": _manager_list,
    "add": _manager_add,
    "remove": _manager_remove,
    "clear": _manager_clear,
    "set_enabled": _manager_set_enabled,
}


# -- km_set_macro_triggers / km_add_system_trigger (the rebuild) ---------------------------

KNOWN_TYPES = ("Application", "EngineLaunch", "HotKey", "Login", "WakeTrigger")
SYSTEM_TRIGGERS = {"login": "Login", "engine_launch": "EngineLaunch", "system_wake": "WakeTrigger"}


def _rebuilt_with(
    ctx: ToolContext,
    change: Callable[[list[Any]], list[Any]],
    *,
    not_found_hint: str,
    rebuild_code: str,
    **fields: Any,
) -> Answer:
    """Export the macro, change its triggers, re-import it (a new UUID)."""
    macro_id = ctx.args["macro_id"]
    try:
        snapshot = fetch_snapshot(ctx, macro_id)
    except KMProblem as problem:
        code = "NOT_FOUND" if problem.error.code == "NOT_FOUND_ERROR" else "EXPORT_FAILED"
        return failure(code, problem.error.message, not_found_hint)
    new_plist = dict(snapshot.plist)
    new_plist["Triggers"] = change(list(new_plist.get("Triggers", [])))
    try:
        rebuilt = rebuild(ctx, snapshot, new_plist)
    except KMProblem as problem:
        return failure(
            rebuild_code,
            problem.error.message,
            "Inspect KM Editor for import dialogs or naming conflicts.",
        )
    except (TypeError, OverflowError) as problem:  # plistlib refuses a value: uncaught there
        raise ServerCrash(str(problem)) from None
    return rotated(rebuilt, **fields)


def handle_set_macro_triggers(ctx: ToolContext) -> Answer:
    """km_set_macro_triggers: the macro's whole trigger list replaced (UUID rotation)."""
    triggers: list[dict[str, Any]] = ctx.args["triggers"]
    for position, trigger in enumerate(triggers):
        kind = trigger.get("MacroTriggerType")
        problem = None
        if not isinstance(kind, str) or not kind:
            problem = f"triggers[{position}] missing 'MacroTriggerType' string"
        elif kind not in KNOWN_TYPES:
            problem = (
                f"triggers[{position}].MacroTriggerType {kind!r} is not in the known-types "
                "allowlist"
            )
        if problem is not None:
            return failure(
                "VALIDATION_ERROR",
                problem,
                f"Pass 'MacroTriggerType' as one of {list(KNOWN_TYPES)}.",
            )
    return _rebuilt_with(
        ctx,
        lambda _old: [dict(t) for t in triggers],
        not_found_hint="Verify the macro UID/name via km_list_macros.",
        rebuild_code="REBUILD_FAILED",
        trigger_count=len(triggers),
    )


def handle_add_system_trigger(ctx: ToolContext) -> Answer:
    """km_add_system_trigger: a Login, EngineLaunch or WakeTrigger trigger appended (UUID
    rotation)."""
    kind = ctx.args["trigger_kind"]
    return _rebuilt_with(
        ctx,
        lambda old: [*old, {"MacroTriggerType": SYSTEM_TRIGGERS[kind]}],
        not_found_hint="Verify the UID/name via km_list_macros.",
        rebuild_code="IMPORT_FAILED",
        trigger_kind=kind,
    )


HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_trigger_crud": handle_trigger_crud,
    "km_trigger_manager": handle_trigger_manager,
    "km_set_macro_triggers": handle_set_macro_triggers,
    "km_add_system_trigger": handle_add_system_trigger,
}
