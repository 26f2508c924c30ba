"""Fixtures for the Keyboard Maestro model: a small installation to change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.simulator.km.state import KMState

G_MAIN = "9A1F0000-0000-4000-8000-000000000001"
G_IDLE = "9A1F0000-0000-4000-8000-000000000002"
M_HELLO = "5EED0000-0000-4000-8000-000000000001"
M_OFF = "5EED0000-0000-4000-8000-000000000002"
M_IDLE = "5EED0000-0000-4000-8000-000000000003"
M_CALLER = "5EED0000-0000-4000-8000-000000000004"


def _macro(uid: str, name: str, *, enabled: bool = True, **parts: Any) -> dict[str, Any]:
    return {
        "uid": uid,
        "name": name,
        "enabled": enabled,
        "created": 0.0,
        "modified": 0.0,
        "triggers": parts.get("triggers", []),
        "actions": parts.get("actions", []),
    }


SEED: dict[str, Any] = {
    "format": "km-model-state",
    "version": 1,
    "clock": "2026-05-04T09:30:15+00:00",
    "variables": {"Greeting": "Hello", "Counter": "41"},
    "password_variables": {"MyPassword": "s3cret"},
    "groups": [
        {
            "uid": G_MAIN,
            "name": "Main",
            "enabled": True,
            "active": True,
            "macros": [
                _macro(
                    M_HELLO,
                    "Hello",
                    triggers=[{"MacroTriggerType": "HotKey", "KeyCode": 4, "Modifiers": 2304}],
                    actions=[
                        {
                            "MacroActionType": "SetVariableToText",
                            "Variable": "Said",
                            "Text": "%Variable%Greeting%, %TriggerValue%",
                        },
                        {"MacroActionType": "InsertText", "Action": "ByTyping", "Text": "hi"},
                        {"MacroActionType": "Beep"},
                    ],
                ),
                _macro(M_OFF, "Off", enabled=False),
                _macro(
                    M_CALLER,
                    "Caller",
                    actions=[{"MacroActionType": "ExecuteMacro", "MacroUID": M_HELLO}],
                ),
            ],
        },
        {
            "uid": G_IDLE,
            "name": "Idle",
            "enabled": True,
            "active": False,
            "macros": [_macro(M_IDLE, "Sleeper")],
        },
    ],
    "clipboards": ["now", "before"],
    "named_clipboards": {"Sig": "Ann"},
    "system": {
        "applications": [
            {"name": "Safari", "bundle_id": "com.apple.Safari"},
            {"name": "Notes", "bundle_id": "com.apple.Notes"},
        ],
        "processes": [
            {
                "name": "Finder",
                "bundle_id": "com.apple.finder",
                "frontmost": True,
                "windows": [{"title": "Home", "position": [0, 0], "size": [800, 600]}],
            },
            {"name": "Keyboard Maestro Engine", "background_only": True},
        ],
    },
}


@pytest.fixture
def state() -> KMState:
    """A fresh copy of ``SEED`` as a model state."""
    return KMState.from_json(copy.deepcopy(SEED))
