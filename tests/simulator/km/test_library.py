"""Macro groups, macros, triggers and actions in the model."""

from __future__ import annotations

import plistlib

import pytest

from engine.simulator.km import library, plist
from engine.simulator.km.library import Refused
from engine.simulator.km.state import KMState
from tests.simulator.km.conftest import G_IDLE, G_MAIN, M_HELLO, M_IDLE, M_OFF

HOT_KEY = "<dict><key>MacroTriggerType</key><string>HotKey</string><key>KeyCode</key><integer>3</integer><key>Modifiers</key><integer>256</integer></dict>"  # noqa: E501


def test_lookups_ignore_case(state: KMState) -> None:
    assert library.group_by_uid(state, G_MAIN.lower()) is not None
    assert [g["name"] for g in library.groups_named(state, "MAIN")] == ["Main"]
    assert library.macro_by_uid(state, "nope") is None
    assert [m["uid"] for _, m in library.macros_named(state, "hello")] == [M_HELLO]
    assert library.macro_name(state, M_OFF) == "Off"
    assert library.macro_name(state, "nope") is None


def test_names_with_non_ascii_glyphs_never_match(state: KMState) -> None:
    macro = library.macro_by_uid(state, M_HELLO)[1]  # type: ignore[index]
    macro["name"] = "Quick Macro for ⌥F1"
    assert library.macros_named(state, "Quick Macro for ⌥F1") == []
    assert library.name_matches("Plain", "plain")


def test_groups_made_by_script_start_inactive(state: KMState) -> None:
    group = library.create_group(state, "New")
    assert group == {
        "uid": "4B4D0000-0000-4000-8000-000000000001",
        "name": "New",
        "enabled": True,
        "active": False,
        "macros": [],
    }
    library.delete_group(state, group)
    assert library.group_by_uid(state, group["uid"]) is None


def test_duplicate_move_and_delete_macros(state: KMState) -> None:
    group, hello = library.macro_by_uid(state, M_HELLO)  # type: ignore[misc]
    copy = library.duplicate_macro(state, hello)
    assert copy["name"] == "Hello" and copy["uid"] != M_HELLO
    assert group["macros"][1] is copy
    assert copy["triggers"] == hello["triggers"] and copy["triggers"] is not hello["triggers"]
    idle = library.group_by_uid(state, G_IDLE)
    library.move_macro(state, copy, idle)  # type: ignore[arg-type]
    assert library.group_of(state, copy)["uid"] == G_IDLE
    library.delete_macro(state, copy)
    assert library.macro_by_uid(state, copy["uid"]) is None


def test_a_macro_as_keyboard_maestro_writes_it(state: KMState) -> None:
    off = library.macro_by_uid(state, M_OFF)[1]  # type: ignore[index]
    written = library.macro_plist(off)
    assert written["IsActive"] is False
    assert sorted(written) == [
        "Actions", "CreationDate", "IsActive", "ModificationDate", "Name", "Triggers", "UID",
    ]  # fmt: skip
    assert "IsActive" not in library.macro_plist(library.macro_by_uid(state, M_HELLO)[1])  # type: ignore[index]


def test_importing_a_document_adds_disabled_macros(state: KMState) -> None:
    idle = library.group_by_uid(state, G_IDLE)
    document = library.kmmacros(
        idle,  # type: ignore[arg-type]
        [
            {"UID": "NEW-1", "Name": "Fresh", "Triggers": [{"MacroTriggerType": "Login"}, 5]},
            {"UID": M_IDLE, "Name": "Clash"},
            {"Name": "No UID", "Actions": [{"MacroActionType": "Beep"}]},
            "not a macro",
        ],
    )
    imported = library.import_document(state, document)
    assert [m["name"] for m in imported] == ["Fresh", "Clash", "No UID"]
    assert all(m["enabled"] is False for m in imported)
    assert imported[0]["uid"] == "NEW-1"
    assert imported[0]["triggers"] == [{"MacroTriggerType": "Login"}]
    assert imported[1]["uid"].startswith("4B4D0000-")  # its UID was taken: a new one
    assert imported[2]["actions"] == [{"MacroActionType": "Beep"}]
    assert [m["name"] for m in library.group_by_uid(state, G_IDLE)["macros"]][-3:] == [  # type: ignore[index]
        "Fresh",
        "Clash",
        "No UID",
    ]


def test_importing_into_an_unknown_group_makes_it(state: KMState) -> None:
    data = plistlib.dumps([{"UID": "G-NEW", "Macros": [{"Name": "M"}]}])
    library.import_document(state, data)
    group = library.group_by_uid(state, "G-NEW")
    assert group is not None and group["name"] == "Imported Macros"
    anonymous = plistlib.dumps([{"Name": "Plain", "Macros": []}])
    library.import_document(state, anonymous)
    assert state.groups[-1]["name"] == "Plain"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"garbage", "The document could not be opened: ", id="not-a-plist"),
        pytest.param(
            plistlib.dumps({"Macros": []}),
            "The document is not a Keyboard Maestro macros file.",
            id="not-a-list",
        ),
    ],
)
def test_documents_keyboard_maestro_cannot_read_are_refused(
    state: KMState, data: bytes, message: str
) -> None:
    with pytest.raises(Refused) as caught:
        library.import_document(state, data)
    assert caught.value.message.startswith(message)


def test_only_hot_key_triggers_can_be_made_by_script(state: KMState) -> None:
    hello = library.macro_by_uid(state, M_HELLO)[1]  # type: ignore[index]
    added = library.add_trigger(state, hello, HOT_KEY)
    assert added == {"MacroTriggerType": "HotKey", "KeyCode": 3, "Modifiers": 256}
    for xml in ("<dict><key>MacroTriggerType</key><string>Login</string></dict>", "nonsense"):
        with pytest.raises(Refused, match=r"^AppleEvent handler failed\.$"):
            library.add_trigger(state, hello, xml)
    assert len(hello["triggers"]) == 2


def test_setting_trigger_xml_drops_what_keyboard_maestro_does_not_keep(state: KMState) -> None:
    hello = library.macro_by_uid(state, M_HELLO)[1]  # type: ignore[index]
    xml = plist.document(
        {"MacroTriggerType": "HotKey", "KeyCode": 9, "Modifiers": 99999, "Disabled": True}
    )
    library.set_trigger(state, hello, 1, xml)
    assert hello["triggers"][0] == {"MacroTriggerType": "HotKey", "KeyCode": 9, "Modifiers": 0}
    description, text = library.trigger_texts(hello["triggers"][0])
    assert description == "The Hot Key V is pressed"
    assert text.startswith("<?xml")
    library.set_trigger(state, hello, 1, plist.document({"MacroTriggerType": "Login"}))
    assert hello["triggers"][0] == {"MacroTriggerType": "Login"}


@pytest.mark.parametrize(
    ("xml", "kind"),
    [
        pytest.param("<dict><key>MacroActionType</key><string>Beep</string></dict>", "Beep"),
        pytest.param("<dict><key>NoType</key><string>x</string></dict>", "Log", id="no-type"),
        pytest.param("<dict><key>MacroActionType</key><integer>1</integer></dict>", "Log"),
        pytest.param("junk", "Log", id="junk"),
        pytest.param(
            "<dict><key>MacroActionType</key><string>ExecuteMacro</string></dict>",
            "Log",
            id="execute-macro-refused",
        ),
    ],
)
def test_actions_made_by_script(state: KMState, xml: str, kind: str) -> None:
    hello = library.macro_by_uid(state, M_HELLO)[1]  # type: ignore[index]
    added = library.add_action(state, hello, xml)
    assert added["MacroActionType"] == kind
    if kind == "Log":
        assert library.action_texts(state, added) == ("Log “Invalid XML From AppleScript”", True)


def test_action_names_know_other_macros(state: KMState) -> None:
    action = {"MacroActionType": "ExecuteMacro", "MacroUID": M_OFF, "IsDisabled": True}
    assert library.action_texts(state, action) == ("Execute Macro “Off”", False)
