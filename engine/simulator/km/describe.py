"""The text Keyboard Maestro writes about triggers and actions ("The Hot Key ⌥⌘F9 is pressed").

Forms seen in the real server's smoke reports are used as written (hot keys, "Activate
Finder", "Move and Resize Front Window", "If All Conditions Met Execute Actions", "For
Each Item in a Collection Execute Actions", "Switch of Calculation 1+1", "Insert Text “x”
by Typing", "Execute Shell Script"); the others follow the same pattern and are guesses
(scripts/km_server/README.md lists them).

>>> trigger_description({"MacroTriggerType": "HotKey", "KeyCode": 101, "Modifiers": 2304})
'The Hot Key ⌥⌘F9 is pressed'
>>> action_name({"MacroActionType": "Pause", "Time": "1"})
'Pause for 1 Second'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# macOS virtual key codes (HIToolbox kVK_*) and the names Keyboard Maestro shows for them.
KEY_NAMES: Mapping[int, str] = {
    0: "A", 1: "S", 2: "D", 3: "F", 4: "H", 5: "G", 6: "Z", 7: "X", 8: "C", 9: "V",
    11: "B", 12: "Q", 13: "W", 14: "E", 15: "R", 16: "Y", 17: "T", 18: "1", 19: "2",
    20: "3", 21: "4", 22: "6", 23: "5", 24: "=", 25: "9", 26: "7", 27: "-", 28: "8",
    29: "0", 30: "]", 31: "O", 32: "U", 33: "[", 34: "I", 35: "P", 36: "Return", 37: "L",
    38: "J", 39: "'", 40: "K", 41: ";", 42: "\\", 43: ",", 44: "/", 45: "N", 46: "M",
    47: ".", 48: "Tab", 49: "Space", 50: "`", 51: "Delete", 53: "Escape", 71: "Clear",
    76: "Enter", 96: "F5", 97: "F6", 98: "F7", 99: "F3", 100: "F8", 101: "F9",
    103: "F11", 105: "F13", 106: "F16", 107: "F14", 109: "F10", 111: "F12", 113: "F15",
    114: "Help", 115: "Home", 116: "Page Up", 117: "Forward Delete", 118: "F4", 119: "End",
    120: "F2", 121: "Page Down", 122: "F1", 123: "Left Arrow", 124: "Right Arrow",
    125: "Down Arrow", 126: "Up Arrow",
}  # fmt: skip

# Carbon modifier bits, in the order macOS writes their symbols.
MODIFIERS: tuple[tuple[int, str], ...] = ((4096, "⌃"), (2048, "⌥"), (512, "⇧"), (256, "⌘"))
MODIFIER_MASK = sum(bit for bit, _ in MODIFIERS)

_FIRE = {"Pressed": "is pressed", "Released": "is released", "Tapped": "is tapped"}
_APP_EVENTS = {0: "activates", 1: "deactivates", 2: "launches", 3: "quits"}
_FIXED_TRIGGERS = {
    "Login": "At login",
    "EngineLaunch": "At Engine launch",
    "WakeTrigger": "At wake",
    "ClipboardFilter": "The Clipboard Filter",
}


def hot_key(key_code: Any, modifiers: Any) -> str:
    """``⌥⌘F9`` for key code 101 with Option and Command."""
    mask = modifiers if isinstance(modifiers, int) else 0
    symbols = "".join(symbol for bit, symbol in MODIFIERS if mask & bit)
    key = KEY_NAMES.get(key_code, f"Key {key_code}") if isinstance(key_code, int) else "?"
    return symbols + key


def trigger_description(trigger: Mapping[str, Any]) -> str:
    """What Keyboard Maestro's ``description`` of a trigger says."""
    kind = str(trigger.get("MacroTriggerType", ""))
    if kind == "HotKey":
        fire = _FIRE.get(str(trigger.get("FireType", "Pressed")), "is down")
        return f"The Hot Key {hot_key(trigger.get('KeyCode'), trigger.get('Modifiers'))} {fire}"
    if kind == "Application":
        app = trigger.get("Application")
        name = app.get("Name", "") if isinstance(app, Mapping) else ""
        kind_number = trigger.get("Type", 2)
        event = _APP_EVENTS.get(kind_number if isinstance(kind_number, int) else 2, "launches")
        return f"{name} {event}"
    return _FIXED_TRIGGERS.get(kind, f"{kind or 'Unknown'} trigger")


def _seconds(value: Any) -> str:
    text = str(value)
    return f"{text} Second" if text == "1" else f"{text} Seconds"


def _window_verb(action: Mapping[str, Any]) -> str:
    verb = {"MoveAndResize": "Move and Resize", "Move": "Move", "Resize": "Resize"}
    return verb.get(str(action.get("Action", "")), "Manipulate")


def _switch_source(action: Mapping[str, Any]) -> str:
    source = str(action.get("Source", ""))
    if source == "Variable":
        return f"Environment Variable {action.get('Variable', '')}"
    if source == "Calculation":
        return f"Calculation {action.get('Calculation', '')}"
    if source == "Text":
        return f"Text {action.get('Text', '')}"
    if source == "NamedClipboard":
        return f"Named Clipboard {action.get('NamedClipboardName', '')}"
    return "System Clipboard"


NAMERS: Mapping[str, Callable[[Mapping[str, Any]], str]] = {
    "Pause": lambda a: f"Pause for {_seconds(a.get('Time', '1'))}",
    "InsertText": lambda a: (
        f"Insert Text “{a.get('Text', '')}” "
        f"{'by Pasting' if a.get('Action') == 'ByPasting' else 'by Typing'}"
    ),
    "SetVariableToText": lambda a: (
        f"Set Variable “{a.get('Variable', '')}” to Text “{a.get('Text', '')}”"
    ),
    "ExecuteAppleScript": lambda a: "Execute AppleScript",
    "ExecuteShellScript": lambda a: "Execute Shell Script",
    "ActivateApplication": lambda a: (
        f"Activate {a['Application'].get('Name', '')}"
        if isinstance(a.get("Application"), Mapping)
        else "Activate Application"
    ),
    "ManipulateWindow": lambda a: f"{_window_verb(a)} Front Window",
    "IfThenElse": lambda a: f"If {_match(a)} Conditions Met Execute Actions",
    "For": lambda a: "For Each Item in a Collection Execute Actions",
    "While": lambda a: f"While {_match(a)} Conditions Met Execute Actions",
    "Until": lambda a: f"Until {_match(a)} Conditions Met Execute Actions",
    "TryCatch": lambda a: "Try/Catch",
    "Switch": lambda a: f"Switch of {_switch_source(a)}",
    "Log": lambda a: f"Log “{a.get('Text', '')}”",
    "PlugIn": lambda a: str(a.get("PlugInFolderName", "Plug In")).removesuffix(".kmactions"),
}


def _match(action: Mapping[str, Any]) -> str:
    conditions = action.get("Conditions")
    match = conditions.get("ConditionListMatch") if isinstance(conditions, Mapping) else None
    return "Any" if match == "Any" else "All"


def action_name(
    action: Mapping[str, Any], macro_name: Callable[[str], str | None] = lambda uid: None
) -> str:
    """The name Keyboard Maestro gives an action (its ``name`` in AppleScript).

    ``macro_name`` finds a macro's name from its UID, for Execute Macro actions.
    """
    kind = str(action.get("MacroActionType", ""))
    if kind == "ExecuteMacro":
        target = macro_name(str(action.get("MacroUID", "")))
        return f"Execute Macro “{target if target is not None else 'Unknown'}”"
    namer = NAMERS.get(kind)
    if namer is not None:
        return namer(action)
    return _spaced(kind) or "Unknown Action"


def _spaced(camel: str) -> str:
    """``SpeakText`` → ``Speak Text``."""
    out: list[str] = []
    for index, char in enumerate(camel):
        if char.isupper() and index and not camel[index - 1].isupper():
            out.append(" ")
        out.append(char)
    return "".join(out)
