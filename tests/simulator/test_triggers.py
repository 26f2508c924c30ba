"""Triggers: km_trigger_crud, km_trigger_manager, hot keys, system triggers, replace all."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM

HOTKEY = {"MacroTriggerType": "HotKey", "KeyCode": 49, "Modifiers": 256}
XML = "<dict><key>MacroTriggerType</key><string>Login</string></dict>"
NEEDS_TYPE = (
    "a trigger needs 'MacroTriggerType' set to one of HotKey, Application, Login, "
    "EngineLaunch, WakeTrigger"
)


def crud(km: KM, operation: str, **arguments: Any) -> dict[str, Any]:
    return km.ok("km_trigger_crud", operation=operation, macro_id="Hello World", **arguments)


def test_crud_add_list_get_update_remove(km: KM) -> None:
    added = crud(km, "add", trigger=HOTKEY)
    assert added["trigger"] == {"index": 1, **HOTKEY, "enabled": True}
    crud(km, "add", xml=XML)
    assert [t["MacroTriggerType"] for t in crud(km, "list")["triggers"]] == ["HotKey", "Login"]
    assert crud(km, "get", index=2)["trigger"] == {
        "index": 2,
        "MacroTriggerType": "Login",
        "enabled": True,
    }
    crud(km, "update", index=1, trigger={"MacroTriggerType": "WakeTrigger"})
    removed = crud(km, "remove", index=1)
    assert (removed["removed"]["MacroTriggerType"], removed["trigger_count"]) == ("WakeTrigger", 1)
    listed = km.ok("km_list_macros")["macros"]
    assert listed[0]["trigger_count"] == 1


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param(
            {"operation": "add"},
            "MISSING_PAYLOAD",
            "neither 'xml' nor 'trigger' was given",
            id="missing",
        ),
        pytest.param(
            {"operation": "add", "xml": XML, "trigger": HOTKEY},
            "BOTH_XML_AND_TRIGGER",
            "both 'xml' and 'trigger' were given",
            id="both",
        ),
        pytest.param(
            {"operation": "get", "index": 3},
            "INDEX_OUT_OF_RANGE",
            "index 3 is out of range: macro 'Hello World' has 0 trigger(s)",
            id="range",
        ),
        pytest.param(
            {"operation": "get"},
            "VALIDATION_ERROR",
            "'index' is required for operation 'get'",
            id="no-index",
        ),
        pytest.param(
            {"operation": "add", "xml": "<dict><key>A</key>"},
            "KM_REJECTED_XML",
            "the trigger XML is not a usable plist <dict>: mismatched tag",
            id="malformed",
        ),
        pytest.param(
            {"operation": "add", "xml": "<dict><key>A</key><string>b</string></dict>"},
            "KM_REJECTED_XML",
            NEEDS_TYPE + " (found None)",
            id="no-type",
        ),
        pytest.param(
            {
                "operation": "add",
                "xml": "<dict><key>MacroTriggerType</key><date>2020-01-01T00:00:00Z</date></dict>",
            },
            "KM_REJECTED_XML",
            "the trigger XML is not a usable plist <dict>: datetime is not JSON data",
            id="date",
        ),
        pytest.param(
            {"operation": "add", "trigger": {"MacroTriggerType": "Typed"}},
            "VALIDATION_ERROR",
            NEEDS_TYPE + " (found 'Typed')",
            id="bad-type",
        ),
        pytest.param(
            {"operation": "replace_all"},
            "VALIDATION_ERROR",
            "'triggers' is required for operation 'replace_all'",
            id="replace-missing",
        ),
    ],
)
def test_crud_failures(km: KM, arguments: dict[str, Any], code: str, message: str) -> None:
    error = km.fails("km_trigger_crud", code, macro_id="Hello World", **arguments)
    assert error["message"] == message


def test_crud_on_a_missing_macro_names_the_operation(km: KM) -> None:
    km.fails("km_trigger_crud", "LIST_FAILED", operation="list", macro_id="Nope")
    km.fails("km_trigger_crud", "ADD_FAILED", operation="add", macro_id="Nope", trigger=HOTKEY)
    km.fails(
        "km_trigger_crud", "REPLACE_FAILED", operation="replace_all", macro_id="Nope", triggers=[]
    )


def test_entity_declarations_are_rejected(km: KM) -> None:
    bomb = (
        '<!DOCTYPE d [<!ENTITY a "aaaa">]>'
        "<dict><key>MacroTriggerType</key><string>&a;</string></dict>"
    )
    error = km.fails(
        "km_trigger_crud", "KM_REJECTED_XML", operation="add", macro_id="Hello World", xml=bomb
    )
    assert "not a usable plist" in error["message"]


def test_replace_all_and_set_macro_triggers(km: KM) -> None:
    data = crud(km, "replace_all", triggers=[HOTKEY, {"xml": XML}])
    assert data["trigger_count"] == 2
    replaced = km.ok("km_set_macro_triggers", macro_id="Hello World", triggers=[])
    assert replaced["new_macro_id"] == replaced["macro_id"]
    assert replaced["trigger_count"] == 0
    km.fails("km_set_macro_triggers", "VALIDATION_ERROR", macro_id="Hello World", triggers=[{}])
    km.fails("km_set_macro_triggers", "MACRO_NOT_FOUND", macro_id="Nope", triggers=[])


@pytest.mark.parametrize(
    ("kind", "trigger_type"),
    [("login", "Login"), ("engine_launch", "EngineLaunch"), ("system_wake", "WakeTrigger")],
)
def test_add_system_trigger(km: KM, kind: str, trigger_type: str) -> None:
    data = km.ok("km_add_system_trigger", macro_id="Hello World", trigger_kind=kind)
    assert data["trigger"] == {"index": 1, "MacroTriggerType": trigger_type, "enabled": True}


def test_hotkey_creation_and_conflicts(km: KM) -> None:
    data = km.ok(
        "km_create_hotkey_trigger", macro_id="Hello World", key="N", modifiers=["shift", "command"]
    )
    assert data["hotkey"] == "⇧⌘N"
    error = km.fails(
        "km_create_hotkey_trigger",
        "HOTKEY_CONFLICT",
        macro_id="Insert Date",
        key="n",
        modifiers=["cmd", "shift"],
    )
    assert error["message"] == "⇧⌘N is already used by Hello World (trigger 1)"
    assert error["recovery_suggestion"] == (
        "Try ⌥⇧⌘N, ⌃⇧⌘N. Or pass check_conflicts: false to add it anyway."
    )
    km.ok(
        "km_create_hotkey_trigger",
        macro_id="Insert Date",
        key="n",
        modifiers=["cmd", "shift"],
        check_conflicts=False,
    )
    listed = km.ok("km_list_hotkey_triggers", include_conflicts=True)
    assert [(h["macro_name"], h["conflicts"]) for h in listed["hotkeys"]] == [
        ("Insert Date", ["Hello World (trigger 1)"]),
        ("Hello World", ["Insert Date (trigger 1)"]),
    ]
    only = km.ok("km_list_hotkey_triggers", macro_id="Insert Date")
    assert only["count"] == 1


def test_system_shortcuts_conflict(km: KM) -> None:
    error = km.fails(
        "km_create_hotkey_trigger",
        "HOTKEY_CONFLICT",
        macro_id="Hello World",
        key="q",
        modifiers=["cmd"],
        suggest_alternatives=False,
    )
    assert error["message"] == "⌘Q is already used by macOS shortcut ⌘Q"
    assert error["recovery_suggestion"].startswith("Choose another key.")


def test_unknown_modifier(km: KM) -> None:
    error = km.fails(
        "km_create_hotkey_trigger",
        "VALIDATION_ERROR",
        macro_id="Hello World",
        key="k",
        modifiers=["hyper"],
    )
    assert error["message"] == "unknown modifier 'hyper'"


def test_trigger_manager(km: KM) -> None:
    def manage(operation: str, **arguments: Any) -> dict[str, Any]:
        return km.ok("km_trigger_manager", operation=operation, macro_id="Hello World", **arguments)

    added = manage(
        "add", trigger_type="hotkey", config={"key": "f", "modifiers": ["command", "option"]}
    )
    assert added["trigger"]["display"] == "⌥⌘F"
    app = manage("add", trigger_type="application", config={"application": "Safari"})
    assert app["trigger"]["event"] == "launches"
    toggled = manage("set_enabled", trigger_index=2, enabled=False)
    assert toggled["trigger"]["enabled"] is False
    assert manage("list")["count"] == 2
    assert manage("remove", trigger_index=1)["trigger_count"] == 1
    assert manage("clear") == {
        "macro_id": "0053494D-0000-4000-8000-000000000003",
        "removed_count": 1,
    }


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param(
            {"operation": "list"},
            "VALIDATION_ERROR",
            "'macro_id' is required for operation 'list'",
            id="no-macro",
        ),
        pytest.param(
            {"operation": "list", "macro_id": "Nope"},
            "LIST_FAILED",
            "macro 'Nope' not found",
            id="missing-macro",
        ),
        pytest.param(
            {"operation": "add", "macro_id": "Hello World", "trigger_type": "typed", "config": {}},
            "ADD_FAILED",
            "invalid typed trigger config: {}",
            id="bad-kind",
        ),
        pytest.param(
            {
                "operation": "add",
                "macro_id": "Hello World",
                "trigger_type": "application",
                "config": {"application": "X", "event": "explodes"},
            },
            "ADD_FAILED",
            "invalid application trigger config: {'application': 'X', 'event': 'explodes'}",
            id="bad-event",
        ),
        pytest.param(
            {"operation": "remove", "macro_id": "Hello World", "trigger_index": 1},
            "REMOVE_FAILED",
            "trigger index 1 is out of range: macro 'Hello World' has 0 trigger(s)",
            id="remove-range",
        ),
        pytest.param(
            {"operation": "set_enabled", "macro_id": "Nope", "trigger_index": 1, "enabled": True},
            "TOGGLE_FAILED",
            "macro 'Nope' not found",
            id="toggle",
        ),
        pytest.param(
            {"operation": "clear", "macro_id": "Nope"},
            "CLEAR_FAILED",
            "macro 'Nope' not found",
            id="clear",
        ),
    ],
)
def test_trigger_manager_failures(
    km: KM, arguments: dict[str, Any], code: str, message: str
) -> None:
    assert km.fails("km_trigger_manager", code, **arguments)["message"] == message
