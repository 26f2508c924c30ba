"""The Keyboard Maestro Engine in the model: variables, tokens, calculations, running macros."""

from __future__ import annotations

import pytest

from engine.simulator.km import engine, library
from engine.simulator.km.calc import CalcError
from engine.simulator.km.library import Refused
from engine.simulator.km.state import KMState
from tests.simulator.km.conftest import M_CALLER, M_HELLO, M_IDLE, M_OFF


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        pytest.param("Greeting", "global"),
        pytest.param("LocalCount", "local"),
        pytest.param("Local__x", "local"),
        pytest.param("InstanceName", "instance"),
        pytest.param("PasswordHome", "password"),
        pytest.param("pwSecret", "password"),
        pytest.param("My Password", "password"),
        pytest.param("MyPW", "password"),
        pytest.param("Pwned List", "password"),
    ],
)
def test_the_name_decides_the_scope(name: str, kind: str) -> None:
    assert engine.variable_kind(name) == kind


def test_global_variables(state: KMState) -> None:
    assert engine.get_variable(state, "Greeting") == "Hello"
    assert engine.get_variable(state, "Nope") == ""
    engine.set_variable(state, "New", "x")
    assert state.variables["New"] == "x"
    engine.set_variable(state, "New", "")
    assert "New" not in state.variables  # empty text deletes
    assert engine.delete_variable(state, "Greeting") is True
    assert engine.delete_variable(state, "Greeting") is False
    assert engine.variable_names(state) == ["Counter"]


def test_password_variables_live_apart(state: KMState) -> None:
    engine.set_variable(state, "WebPassword", "hunter2")
    assert state.password_variables == {"MyPassword": "s3cret", "WebPassword": "hunter2"}
    assert engine.get_variable(state, "WebPassword") == "hunter2"
    assert "WebPassword" not in engine.variable_names(state)


def test_local_variables_need_an_instance(state: KMState) -> None:
    engine.set_variable(state, "LocalX", "1")
    assert engine.get_variable(state, "LocalX") == ""
    engine.set_variable(state, "LocalX", "1", instance="I")
    assert engine.get_variable(state, "LocalX", instance="I") == "1"
    assert engine.get_variable(state, "LocalX", instance="other") == ""
    assert state.instances == {"I": {"LocalX": "1"}}


def test_tokens_expand_from_the_model(state: KMState) -> None:
    text = (
        "%Variable%Greeting% %Variable%MyPassword% %SystemClipboard% %PastClipboard%1% "
        "%PastClipboard%9% %NamedClipboard%Sig% %NamedClipboard%None% %Calculate%Counter+1% "
        "%ICUDateTime%yyyy-MM-dd% %TriggerValue% %Calculate%1/0%"
    )
    assert engine.process_tokens(state, text) == (
        "Hello s3cret now before  Ann  42 2026-05-04 %TriggerValue% %Calculate%1/0%"
    )


def test_calculations_read_variables(state: KMState) -> None:
    assert engine.calculate_text(state, "Counter * 2") == "82"
    with pytest.raises(CalcError, match="unknown variable 'Nothing'"):
        engine.calculate_text(state, "Nothing + 1")


def test_do_script_finds_macros_by_uid_in_any_state(state: KMState) -> None:
    assert engine.find_for_do_script(state, M_OFF)["name"] == "Off"  # type: ignore[index]
    assert engine.find_for_do_script(state, f" {M_IDLE.lower()} ")["name"] == "Sleeper"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "found"),
    [
        pytest.param("Hello", True, id="enabled-in-active-group"),
        pytest.param("Off", False, id="disabled"),
        pytest.param("Sleeper", False, id="group-not-active"),
        pytest.param("Nothing", False, id="unknown"),
    ],
)
def test_do_script_by_name_needs_a_macro_that_can_run(
    state: KMState, name: str, found: bool
) -> None:
    assert (engine.find_for_do_script(state, name) is not None) is found


def test_do_script_refuses_as_keyboard_maestro_does(state: KMState) -> None:
    with pytest.raises(Refused) as caught:
        engine.do_script(state, "Off")
    assert caught.value.message == engine.NO_MATCHING_MACRO


def test_running_a_macro_does_what_its_actions_say(state: KMState) -> None:
    assert engine.do_script(state, "Caller", "from test") == ""
    assert state.variables["Said"] == "Hello, from test"
    assert state.log["typed"] == [{"text": "hi", "how": "typed"}]
    caller, hello = state.log["executions"][1], state.log["executions"][0]
    assert caller == {
        "macro": M_CALLER,
        "name": "Caller",
        "trigger_value": "from test",
        "actions_run": ["ExecuteMacro"],
        "actions_not_modelled": [],
        "at": "2026-05-04T09:30:15+00:00",
    }
    assert hello["actions_run"] == ["SetVariableToText", "InsertText"]
    assert hello["actions_not_modelled"] == ["Beep"]
    assert state.instances == {}


def test_local_variables_belong_to_one_run(state: KMState) -> None:
    hello = library.macro_by_uid(state, M_HELLO)[1]  # type: ignore[index]
    hello["actions"] = [
        {"MacroActionType": "SetVariableToText", "Variable": "LocalA", "Text": "a"},
        {"MacroActionType": "SetVariableToText", "Variable": "Seen", "Text": "%Variable%LocalA%"},
        {"MacroActionType": "Pause", "Time": "1", "IsDisabled": True},
        {"MacroActionType": "Pause", "Time": "1"},
    ]
    engine.run_macro(state, hello)
    assert state.variables["Seen"] == "a"
    assert state.instances == {}
    assert state.log["executions"][-1]["actions_not_modelled"] == ["Pause"]


def test_execute_macro_stops_at_missing_targets_and_depth(state: KMState) -> None:
    caller = library.macro_by_uid(state, M_CALLER)[1]  # type: ignore[index]
    caller["actions"] = [
        {"MacroActionType": "ExecuteMacro", "MacroUID": "missing"},
        {"MacroActionType": "ExecuteMacro", "MacroUID": M_CALLER},
    ]
    engine.run_macro(state, caller)
    runs = state.log["executions"]
    assert len(runs) == engine.MAX_DEPTH + 1
    assert runs[0]["actions_not_modelled"] == ["ExecuteMacro", "ExecuteMacro"]


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        pytest.param("100%% %41%%263A%", "100% A☺", id="escapes-and-characters"),
        pytest.param("%ShortDate% %LongDate% %Time%", "5/4/26 May 4, 2026 9:30 AM", id="dates"),
        pytest.param(
            "%ICUDateTimePlus%2%Days%yyyy-MM-dd% %ICUDateTimeMinus%1%Months%MMM%",
            "2026-05-06 Apr",
            id="date-arithmetic",
        ),
        pytest.param("%ICUDateTimePlus%1%Fortnights%y%", "%ICUDateTimePlus%1%Fortnights%y%",
                     id="unknown-unit-stays"),
        pytest.param("[%Variable%Nothing%]", "[]", id="missing-variable-is-empty"),
        pytest.param("%CurrentClipboard%", "now", id="current-clipboard"),
    ],
)  # fmt: skip
def test_the_token_forms(state: KMState, text: str, expanded: str) -> None:
    assert engine.process_tokens(state, text) == expanded
