"""What the rebuilt tools do beyond the recorded calls (those are in test_differential.py).

Each case follows the server's source where no recording shows the behaviour; the answers
are the server's, word for word.
"""

from __future__ import annotations

from typing import Any

from engine.simulator import Simulator
from tests.simulator.conftest import KM


def test_a_trigger_whose_type_is_not_text_is_refused_not_a_crash(km: KM) -> None:
    error = km.fails(
        "km_trigger_crud",
        "ADD_FAILED",
        operation="add",
        macro_id="Hello World",
        xml="<dict><key>MacroTriggerType</key><dict/></dict>",
    )
    assert error["message"] == "Keyboard Maestro got an error: AppleEvent handler failed."


def test_a_nested_trigger_dict_is_cut_at_its_first_closing_dict(km: KM) -> None:
    # The server's regex takes the first <dict>…</dict>: a trigger dict holding a dict is
    # cut inside it, and Keyboard Maestro cannot read what is left.
    trigger = {"MacroTriggerType": "HotKey", "Extra": {"A": 1}, "KeyCode": 4, "Modifiers": 256}
    error = km.fails(
        "km_trigger_crud", "ADD_FAILED", operation="add", macro_id="Hello World", trigger=trigger
    )
    assert error["message"] == "Keyboard Maestro got an error: AppleEvent handler failed."
    flat = {"MacroTriggerType": "HotKey", "KeyCode": 4, "Modifiers": 256}
    data = km.ok("km_trigger_crud", operation="add", macro_id="Hello World", trigger=flat)
    assert data == {"macro_id": "Hello World", "index": 1, "type": "HotKey"}


def test_a_replace_all_entry_that_is_no_plist_fails_after_the_clear(km: KM) -> None:
    km.ok("km_trigger_manager", operation="add", macro_id="Hello World", trigger_type="hotkey",
          config={"key": "h", "modifiers": ["cmd"]})  # fmt: skip
    answer = km(
        "km_trigger_crud", operation="replace_all", macro_id="Hello World", triggers=[{"x": None}]
    )
    assert answer["error"] == {
        "code": "VALIDATION_ERROR",
        "message": (
            "Could not serialise 'trigger' to plist XML: unsupported type: <class 'NoneType'>"
        ),
        "recovery_suggestion": "Use plist-compatible types (str/int/bool/list/dict).",
        "field": "trigger",
        "failed_index": 1,
    }
    assert km.ok("km_trigger_crud", operation="list", macro_id="Hello World")["triggers"] == []


def test_a_trigger_the_rebuild_cannot_write_is_an_mcp_error(sim: Simulator) -> None:
    result = sim.result(
        "km_set_macro_triggers",
        {"macro_id": "Hello World", "triggers": [{"MacroTriggerType": "Login", "x": None}]},
    )
    assert result.is_error
    assert result.text == (
        "Error calling tool 'km_set_macro_triggers': unsupported type: <class 'NoneType'>"
    )


def test_the_rebuild_rotates_the_uuid_and_disables_the_macro(km: KM, sim: Simulator) -> None:
    data = km.ok("km_add_system_trigger", macro_id="Hello World", trigger_kind="login")
    assert data["old_macro_id"] == "0053494D-0000-4000-8000-000000000003"
    assert data["new_macro_id"] == "00000000-0000-4000-8000-000000000001"
    macros = {
        m["uid"]: m for g in sim.snapshot()["keyboard_maestro"]["groups"] for m in g["macros"]
    }
    rebuilt = macros[data["new_macro_id"]]
    assert rebuilt["enabled"] is False
    assert rebuilt["triggers"] == [{"MacroTriggerType": "Login"}]
    assert data["old_macro_id"] not in macros


def test_a_target_group_named_in_another_case_is_moved_to_and_back(km: KM) -> None:
    error = km.fails(
        "km_move_macro_to_group",
        "EXECUTION_ERROR",
        macro_identifier="Insert Date",
        target_group="examples",
    )
    assert error["message"] == "Move verification failed: macro in Examples, expected examples"
    data = km.ok("km_move_macro_to_group", macro_identifier="Insert Date", target_group="Examples")
    assert data["source_group"] == "0053494D-0000-4000-8000-000000000001"


def test_hot_key_alternatives_without_a_neighbouring_key(km: KM) -> None:
    answer = km("km_create_hotkey_trigger", macro_id="Hello World", key="space", modifiers=["cmd"])
    details: dict[str, Any] = answer["error"]["details"]
    assert details["conflicts"][0]["description"] == "Conflicts with system shortcut cmd+space"
    assert [a["hotkey"] for a in details["suggested_alternatives"]] == [
        "cmd+opt+space",
        "cmd+shift+space",
    ]


def test_fn_passes_the_hot_key_check_but_cannot_be_written(km: KM) -> None:
    error = km.fails(
        "km_create_hotkey_trigger", "VALIDATION_ERROR", macro_id="Hello World", key="j",
        modifiers=["fn"],
    )  # fmt: skip
    assert error["message"] == "unknown modifier: 'fn'"
    assert error["details"] is None


def test_catalog_action_with_an_unknown_parameter(km: KM) -> None:
    error = km.fails(
        "km_action_builder", "VALIDATION_ERROR", operation="append", macro_id="Hello World",
        action_type="speak_text", action_config={"pitch": 2},
    )  # fmt: skip
    assert error["message"] == (
        "action_config invalid for action_type 'speak_text': unknown parameter 'pitch'"
    )


def test_create_macro_enables_the_imported_macro_when_asked(km: KM, sim: Simulator) -> None:
    data = km.ok("km_create_macro", name="Made", template="custom", group_name="examples")
    assert data["macro_id"] == "00000000-0000-4000-8000-000000000001"
    assert data["group_name"] == "Examples"
    macros = {
        m["name"]: m for g in sim.snapshot()["keyboard_maestro"]["groups"] for m in g["macros"]
    }
    assert macros["Made"]["enabled"] is True
