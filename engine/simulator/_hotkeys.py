"""Hot keys and km_trigger_manager: hot key triggers with conflict checks, application triggers."""

from __future__ import annotations

from typing import Any

from engine.simulator._context import Call, ToolFailure, dispatch
from engine.simulator._library import find_macro
from engine.simulator._triggers import APP_EVENTS, changed, macro_for, view

MODIFIERS = {
    "cmd": "cmd", "command": "cmd", "⌘": "cmd",
    "opt": "opt", "option": "opt", "alt": "opt", "⌥": "opt",
    "shift": "shift", "⇧": "shift",
    "ctrl": "ctrl", "control": "ctrl", "⌃": "ctrl",
    "fn": "fn", "function": "fn",
}  # fmt: skip
ORDER = ("ctrl", "opt", "shift", "cmd", "fn")
SYMBOLS = {"ctrl": "⌃", "opt": "⌥", "shift": "⇧", "cmd": "⌘", "fn": "fn "}
# macOS shortcuts a macro should not take over.
SYSTEM_SHORTCUTS = {
    ("q", ("cmd",)), ("w", ("cmd",)), ("tab", ("cmd",)), ("space", ("cmd",)),
    ("c", ("cmd",)), ("v", ("cmd",)), ("x", ("cmd",)), ("z", ("cmd",)),
    ("a", ("cmd",)), ("s", ("cmd",)), ("h", ("cmd",)), ("m", ("cmd",)),
}  # fmt: skip


def canonical(modifiers: Any) -> tuple[str, ...]:
    """Modifier names in macOS order; a VALIDATION_ERROR for an unknown one."""
    names = []
    for raw in modifiers or []:
        name = MODIFIERS.get(str(raw).strip().lower())
        if name is None:
            raise ToolFailure(
                "VALIDATION_ERROR",
                f"unknown modifier '{raw}'",
                "Use cmd, opt, shift, ctrl or fn.",
                {"field": "modifiers"},
            )
        names.append(name)
    return tuple(m for m in ORDER if m in names)


def display(key: str, modifiers: tuple[str, ...]) -> str:
    return "".join(SYMBOLS[m] for m in modifiers) + (key.upper() if len(key) == 1 else key)


def _hotkeys(call: Call) -> list[tuple[dict[str, Any], int, dict[str, Any]]]:
    return [
        (macro, index, trigger)
        for macro in call.state.macros.values()
        for index, trigger in enumerate(macro["triggers"], 1)
        if trigger.get("MacroTriggerType") == "HotKey"
    ]


def _combo(trigger: dict[str, Any]) -> tuple[str, tuple[str, ...], int]:
    modifiers = tuple(m for m in ORDER if m in (trigger.get("modifiers") or []))
    return (str(trigger.get("key", "")).lower(), modifiers, int(trigger.get("tap_count", 1)))


def conflicts_with(call: Call, key: str, mods: tuple[str, ...], taps: int) -> list[str]:
    """Who already uses this hot key (macro names, or 'macOS' for system shortcuts)."""
    found = [
        f"{macro['name']} (trigger {index})"
        for macro, index, trigger in _hotkeys(call)
        if _combo(trigger) == (key.lower(), mods, taps)
    ]
    if taps == 1 and (key.lower(), mods) in SYSTEM_SHORTCUTS:
        found.insert(0, f"macOS shortcut {display(key, mods)}")
    return found


def _alternatives(call: Call, key: str, mods: tuple[str, ...], taps: int) -> list[str]:
    options = []
    for extra in ("shift", "opt", "ctrl"):
        candidate = tuple(m for m in ORDER if m in (*mods, extra))
        if candidate != mods and not conflicts_with(call, key, candidate, taps):
            options.append(display(key, candidate))
    return options[:3]


def handle_create_hotkey(call: Call) -> dict[str, Any]:
    """km_create_hotkey_trigger: add a hot key trigger, refusing conflicts when asked to."""
    macro = find_macro(call, call.args["macro_id"], "MACRO_NOT_FOUND")
    key, taps = call.args["key"].lower(), call.args["tap_count"]
    mods = canonical(call.args.get("modifiers"))
    conflicts = conflicts_with(call, key, mods, taps)
    if conflicts and call.args["check_conflicts"]:
        options = _alternatives(call, key, mods, taps) if call.args["suggest_alternatives"] else []
        suggestion = f"Try {', '.join(options)}." if options else "Choose another key."
        raise ToolFailure(
            "HOTKEY_CONFLICT",
            f"{display(key, mods)} is already used by {', '.join(conflicts)}",
            f"{suggestion} Or pass check_conflicts: false to add it anyway.",
            {"conflicts": conflicts, "alternatives": options},
        )
    trigger = {
        "MacroTriggerType": "HotKey",
        "key": key,
        "modifiers": list(mods),
        "activation_mode": call.args["activation_mode"],
        "tap_count": taps,
        "allow_repeat": call.args["allow_repeat"],
        "display": display(key, mods),
        "enabled": True,
    }
    macro["triggers"].append(trigger)
    changed(call, macro)
    index = len(macro["triggers"])
    return {
        "macro_id": macro["id"],
        "macro_name": macro["name"],
        "hotkey": trigger["display"],
        "trigger": view(trigger, index),
        "conflicts": conflicts,
    }


def handle_list_hotkeys(call: Call) -> dict[str, Any]:
    """km_list_hotkey_triggers: every hot key trigger (of one macro, if macro_id is given)."""
    only = call.args.get("macro_id")
    wanted = find_macro(call, only, "MACRO_NOT_FOUND")["id"] if only else None
    listed = []
    for macro, index, trigger in _hotkeys(call):
        if wanted and macro["id"] != wanted:
            continue
        item = {"macro_id": macro["id"], "macro_name": macro["name"], **view(trigger, index)}
        if call.args["include_conflicts"]:
            key, mods, taps = _combo(trigger)
            mine = f"{macro['name']} (trigger {index})"
            item["conflicts"] = [c for c in conflicts_with(call, key, mods, taps) if c != mine]
        listed.append(item)
    return {"hotkeys": listed, "count": len(listed)}


def _manager_trigger(call: Call) -> dict[str, Any]:
    kind = call.need("trigger_type", "'hotkey' or 'application'")
    config = call.need("config", "the trigger's settings")
    if kind == "hotkey" and isinstance(config.get("key"), str) and config["key"]:
        mods = canonical(config.get("modifiers"))
        key = config["key"].lower()
        return {"MacroTriggerType": "HotKey", "key": key, "modifiers": list(mods),
                "tap_count": 1, "display": display(key, mods), "enabled": True}  # fmt: skip
    if kind == "application" and config.get("event", "launches") in APP_EVENTS:
        app = config.get("application")
        if isinstance(app, str) and app:
            event = config.get("event", "launches")
            return {"MacroTriggerType": "Application", "application": app, "event": event,
                    "enabled": True}  # fmt: skip
    raise ToolFailure(
        "ADD_FAILED",
        f"invalid {kind!s} trigger config: {config}",
        "hotkey: {'key': 'f', 'modifiers': ['cmd', 'opt']}; application: "
        f"{{'application': 'Safari', 'event': one of {', '.join(APP_EVENTS)}}}.",
    )


def manager_list(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "LIST_FAILED")
    triggers = [view(t, i) for i, t in enumerate(macro["triggers"], 1)]
    return {"macro_id": macro["id"], "triggers": triggers, "count": len(triggers)}


def manager_add(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "ADD_FAILED")
    trigger = _manager_trigger(call)
    macro["triggers"].append(trigger)
    changed(call, macro)
    return {"macro_id": macro["id"], "trigger": view(trigger, len(macro["triggers"]))}


def _index(call: Call, macro: dict[str, Any], code: str) -> int:
    index = call.need("trigger_index", "the trigger's 1-based position")
    if index > len(macro["triggers"]):
        raise ToolFailure(
            code,
            f"trigger index {index} is out of range: macro '{macro['name']}' has "
            f"{len(macro['triggers'])} trigger(s)",
            "List the triggers first (operation 'list').",
        )
    return int(index) - 1


def manager_remove(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "REMOVE_FAILED")
    removed = macro["triggers"].pop(_index(call, macro, "REMOVE_FAILED"))
    changed(call, macro)
    return {"macro_id": macro["id"], "removed": removed, "trigger_count": len(macro["triggers"])}


def manager_clear(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "CLEAR_FAILED")
    count = len(macro["triggers"])
    macro["triggers"] = []
    changed(call, macro)
    return {"macro_id": macro["id"], "removed_count": count}


def manager_set_enabled(call: Call) -> dict[str, Any]:
    macro = macro_for(call, "TOGGLE_FAILED")
    position = _index(call, macro, "TOGGLE_FAILED")
    enabled = call.need("enabled", "true or false")
    macro["triggers"][position]["enabled"] = enabled
    changed(call, macro)
    return {"macro_id": macro["id"], "trigger": view(macro["triggers"][position], position + 1)}


MANAGER_OPERATIONS = {
    "list": manager_list,
    "add": manager_add,
    "remove": manager_remove,
    "clear": manager_clear,
    "set_enabled": manager_set_enabled,
}


def handle_trigger_manager(call: Call) -> dict[str, Any]:
    """km_trigger_manager: list, add, remove, clear or enable/disable triggers."""
    return dispatch(call, MANAGER_OPERATIONS)
