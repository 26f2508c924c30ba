"""The descriptions and names Keyboard Maestro gives triggers and actions."""

from __future__ import annotations

from typing import Any

import pytest

from engine.simulator.km.describe import action_name, hot_key, trigger_description


@pytest.mark.parametrize(
    ("code", "mask", "shown"),
    [
        pytest.param(3, 256, "⌘F", id="command"),
        pytest.param(101, 2304, "⌥⌘F9", id="option-command"),
        pytest.param(0, 4096 | 2048 | 512 | 256, "⌃⌥⇧⌘A", id="all-in-mac-order"),
        pytest.param(49, 0, "Space", id="plain"),
        pytest.param(200, 0, "Key 200", id="unknown-code"),
        pytest.param("x", "y", "?", id="not-numbers"),
    ],
)
def test_hot_keys_read_as_macos_writes_them(code: Any, mask: Any, shown: str) -> None:
    assert hot_key(code, mask) == shown


@pytest.mark.parametrize(
    ("trigger", "text"),
    [
        pytest.param(
            {"MacroTriggerType": "HotKey", "KeyCode": 109, "Modifiers": 2304},
            "The Hot Key ⌥⌘F10 is pressed",
            id="hot-key",
        ),
        pytest.param(
            {"MacroTriggerType": "HotKey", "KeyCode": 1, "Modifiers": 0, "FireType": "Released"},
            "The Hot Key S is released",
            id="released",
        ),
        pytest.param(
            {"MacroTriggerType": "HotKey", "KeyCode": 1, "FireType": "Held"},
            "The Hot Key S is down",
            id="held",
        ),
        pytest.param(
            {"MacroTriggerType": "Application", "Application": {"Name": "Safari"}, "Type": 3},
            "Safari quits",
            id="application",
        ),
        pytest.param(
            {"MacroTriggerType": "Application", "Type": "x"}, " launches", id="application-odd"
        ),
        pytest.param({"MacroTriggerType": "Login"}, "At login", id="login"),
        pytest.param({"MacroTriggerType": "ClipboardFilter"}, "The Clipboard Filter", id="filter"),
        pytest.param({"MacroTriggerType": "Typed"}, "Typed trigger", id="other"),
        pytest.param({}, "Unknown trigger", id="no-type"),
    ],
)
def test_trigger_descriptions(trigger: dict[str, Any], text: str) -> None:
    assert trigger_description(trigger) == text


@pytest.mark.parametrize(
    ("action", "name"),
    [
        pytest.param({"MacroActionType": "Pause", "Time": "1"}, "Pause for 1 Second", id="pause-1"),
        pytest.param({"MacroActionType": "Pause", "Time": "2"}, "Pause for 2 Seconds", id="pause"),
        pytest.param(
            {"MacroActionType": "InsertText", "Action": "ByTyping", "Text": "hi"},
            "Insert Text “hi” by Typing",
            id="typing",
        ),
        pytest.param(
            {"MacroActionType": "InsertText", "Action": "ByPasting", "Text": "hi"},
            "Insert Text “hi” by Pasting",
            id="pasting",
        ),
        pytest.param(
            {"MacroActionType": "SetVariableToText", "Variable": "V", "Text": "t"},
            "Set Variable “V” to Text “t”",
            id="set-variable",
        ),
        pytest.param({"MacroActionType": "ExecuteAppleScript"}, "Execute AppleScript", id="as"),
        pytest.param({"MacroActionType": "ExecuteShellScript"}, "Execute Shell Script", id="sh"),
        pytest.param(
            {"MacroActionType": "ActivateApplication", "Application": {"Name": "Finder"}},
            "Activate Finder",
            id="activate",
        ),
        pytest.param(
            {"MacroActionType": "ActivateApplication"}, "Activate Application", id="activate-odd"
        ),
        pytest.param(
            {"MacroActionType": "ManipulateWindow", "Action": "MoveAndResize"},
            "Move and Resize Front Window",
            id="window",
        ),
        pytest.param(
            {"MacroActionType": "ManipulateWindow", "Action": "Zoom"},
            "Manipulate Front Window",
            id="window-other",
        ),
        pytest.param(
            {"MacroActionType": "IfThenElse", "Conditions": {"ConditionListMatch": "Any"}},
            "If Any Conditions Met Execute Actions",
            id="if-any",
        ),
        pytest.param({"MacroActionType": "IfThenElse"}, "If All Conditions Met Execute Actions"),
        pytest.param({"MacroActionType": "For"}, "For Each Item in a Collection Execute Actions"),
        pytest.param({"MacroActionType": "While"}, "While All Conditions Met Execute Actions"),
        pytest.param({"MacroActionType": "Until"}, "Until All Conditions Met Execute Actions"),
        pytest.param({"MacroActionType": "TryCatch"}, "Try/Catch"),
        pytest.param(
            {"MacroActionType": "Switch", "Source": "Variable", "Variable": "V"},
            "Switch of Environment Variable V",
            id="switch-variable",
        ),
        pytest.param(
            {"MacroActionType": "Switch", "Source": "Calculation", "Calculation": "1+1"},
            "Switch of Calculation 1+1",
            id="switch-calculation",
        ),
        pytest.param(
            {"MacroActionType": "Switch", "Source": "Text", "Text": "t"},
            "Switch of Text t",
            id="switch-text",
        ),
        pytest.param(
            {"MacroActionType": "Switch", "Source": "NamedClipboard", "NamedClipboardName": "C"},
            "Switch of Named Clipboard C",
            id="switch-named",
        ),
        pytest.param(
            {"MacroActionType": "Switch", "Source": "Clipboard"},
            "Switch of System Clipboard",
            id="switch-clipboard",
        ),
        pytest.param(
            {"MacroActionType": "Log", "Text": "Invalid XML From AppleScript"},
            "Log “Invalid XML From AppleScript”",
            id="log",
        ),
        pytest.param(
            {"MacroActionType": "PlugIn", "PlugInFolderName": "Shout.kmactions"}, "Shout", id="pi"
        ),
        pytest.param({"MacroActionType": "SpeakText"}, "Speak Text", id="camel-case"),
        pytest.param({"MacroActionType": "MIDIAction"}, "MIDIAction", id="capitals"),
        pytest.param({}, "Unknown Action", id="no-type"),
    ],
)
def test_action_names(action: dict[str, Any], name: str) -> None:
    assert action_name(action) == name


def test_execute_macro_actions_name_their_target() -> None:
    action = {"MacroActionType": "ExecuteMacro", "MacroUID": "U"}
    assert action_name(action, {"U": "Target"}.get) == "Execute Macro “Target”"
    assert action_name(action) == "Execute Macro “Unknown”"
