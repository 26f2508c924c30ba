"""The simulator as a tool bridge: envelope, validation, unknown tools, determinism, copies."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine.bridge import ToolBridge
from engine.catalog import ToolCatalog, ToolSpec
from engine.errors import ErrorKind, StepError
from engine.simulator import Simulator

from .conftest import KM, FakeClock

CATALOG = ToolCatalog.builtin()


def test_satisfies_the_tool_bridge_protocol(sim: Simulator) -> None:
    assert isinstance(sim, ToolBridge)
    assert sim.label == "simulator"
    assert sim.simulated is True
    assert sim.catalog() is CATALOG
    assert len(sim.catalog()) == 47


def test_call_tool_is_async_and_answers_the_envelope(sim: Simulator, clock: FakeClock) -> None:
    answer = asyncio.run(sim.call_tool("km_calculator", {"expression": "6 * 7"}))
    assert answer == {
        "success": True,
        "data": {
            "expression": "6 * 7",
            "result": 42,
            "formatted_result": "42",
            "format": "auto",
            "precision": 10,
            "variables_used": {},
            "engine_used": "simulator",
        },
        "metadata": {
            "tool": "km_calculator",
            "timestamp": clock.now.isoformat(),
            "server": "km-actions simulator (not Keyboard Maestro)",
        },
        "simulated": True,
    }


def test_failures_use_the_server_envelope(km: KM) -> None:
    answer = km("km_variable_manager", operation="get", name="Missing")
    assert answer["success"] is False
    assert answer["simulated"] is True
    assert answer["metadata"]["operation"] == "get"
    assert set(answer["error"]) == {"code", "message", "recovery_suggestion", "details"}


def test_unknown_tool_raises_step_error_with_did_you_mean(sim: Simulator) -> None:
    with pytest.raises(StepError) as raised:
        sim.call("km_clipbord_manager", {})
    error = raised.value
    assert error.kind is ErrorKind.TOOL_UNAVAILABLE
    assert error.message == "the simulator has no tool 'km_clipbord_manager'"
    assert error.hint == "did you mean 'km_clipboard_manager'?"
    assert error.details == {"tool": "km_clipbord_manager", "backend": "simulator"}


def test_unknown_tool_far_from_any_name(sim: Simulator) -> None:
    with pytest.raises(StepError) as raised:
        asyncio.run(sim.call_tool("zzz", {}))
    assert raised.value.hint == "see the tool catalog for the names"


@pytest.mark.parametrize(
    ("tool", "arguments", "message", "suggestion"),
    [
        pytest.param(
            "km_clipboard_manager",
            {"operation": "gett"},
            "invalid arguments for km_clipboard_manager: argument 'operation': 'gett' is not "
            "one of ['get', 'set', 'get_history', 'list_history', 'manage_named', "
            "'search_named', 'stats']",
            "Use one of: get, set, get_history, list_history, manage_named, search_named, "
            "stats. Did you mean 'get'?",
            id="enum-did-you-mean",
        ),
        pytest.param(
            "km_clipboard_manager",
            {},
            "invalid arguments for km_clipboard_manager: the arguments: 'operation' is a "
            "required property",
            "Add the required argument(s): operation.",
            id="required",
        ),
        pytest.param(
            "km_variable_manager",
            {"operation": "get", "nmae": "x"},
            "invalid arguments for km_variable_manager: the arguments: Additional properties "
            "are not allowed ('nmae' was unexpected)",
            "Remove 'nmae'. Did you mean 'name'? This tool takes: _instance_id, name, "
            "operation, scope, value.",
            id="unknown-argument",
        ),
        pytest.param(
            "km_notifications",
            {"notification_type": "banner", "title": "t", "message": "m"},
            "invalid arguments for km_notifications: argument 'notification_type': 'banner' "
            "does not match '^(notification|alert|hud|sound)$'",
            "Use one of: notification, alert, hud, sound.",
            id="pattern-enum",
        ),
        pytest.param(
            "km_list_macros",
            {"limit": 500},
            "invalid arguments for km_list_macros: argument 'limit': 500 is greater than the "
            "maximum of 100",
            "Use a value of at most 100.",
            id="maximum",
        ),
        pytest.param(
            "km_calculator",
            {"expression": 12},
            "invalid arguments for km_calculator: argument 'expression': 12 is not of type "
            "'string'",
            "Pass a value of type string.",
            id="type",
        ),
        pytest.param(
            "km_create_macro",
            {"name": "bad/name", "template": "custom"},
            "invalid arguments for km_create_macro: argument 'name': 'bad/name' does not "
            "match '^[a-zA-Z0-9_\\\\s\\\\-\\\\.]+$'",
            "Use a value matching the regular expression ^[a-zA-Z0-9_\\s\\-\\.]+$.",
            id="pattern",
        ),
        pytest.param(
            "km_notifications",
            {"notification_type": "alert", "title": "t", "message": "m", "buttons": ["a"] * 4},
            "invalid arguments for km_notifications: argument 'buttons': ['a', 'a', 'a', 'a'] "
            "is too long",
            "Use a value with at most this many items: 3.",
            id="any-of-best-match",
        ),
    ],
)
def test_validation_failures_answer_like_the_server(
    km: KM, tool: str, arguments: dict[str, Any], message: str, suggestion: str
) -> None:
    error = km.fails(tool, "VALIDATION_ERROR", **arguments)
    assert error["message"] == message
    assert error["recovery_suggestion"] == suggestion


def test_arguments_that_are_not_json_are_a_validation_error(sim: Simulator) -> None:
    answer = sim.call(
        "km_dictionary_manager",
        {"operation": "create", "dictionary_name": "d", "value": {"when": {1, 2}}},
    )
    assert answer["success"] is False
    assert answer["error"]["message"] == (
        "arguments are not JSON data: $.value.when: set is not JSON data"
    )
    assert answer["error"]["details"] == {"path": "$.value.when"}


def test_arguments_must_be_an_object(sim: Simulator) -> None:
    answer = sim.call("km_token_stats", ["not", "an", "object"])  # type: ignore[arg-type]
    assert answer["error"]["code"] == "VALIDATION_ERROR"
    assert answer["error"]["message"] == "arguments must be an object, not list"


def test_tuples_count_as_arrays(km: KM) -> None:
    data = km.ok("km_list_macros", group_filters=("Examples",))
    assert [m["name"] for m in data["macros"]] == ["Hello World"]


def test_every_shipped_schema_is_a_valid_json_schema() -> None:
    # The simulator skips this (slow) check for the shipped catalog; this test is why.
    problems = {}
    for spec in CATALOG.values():
        try:
            Draft202012Validator.check_schema(dict(spec.input_schema))
        except SchemaError as problem:
            problems[spec.name] = problem.message
    assert problems == {}


def test_same_calls_on_the_same_clock_give_the_same_answers(clock: FakeClock) -> None:
    script: list[tuple[str, dict[str, Any]]] = [
        ("km_notifications", {"notification_type": "hud", "title": "T", "message": "M"}),
        ("km_create_macro", {"name": "Made", "template": "custom"}),
        ("km_execute_macro", {"identifier": "Made", "trigger_value": "x"}),
        ("km_clipboard_manager", {"operation": "set", "content": "abc"}),
        ("km_token_processor", {"text": "%ICUDateTime%yyyy-MM-dd% %SystemClipboard%"}),
        ("km_list_macros", {"sort_by": "last_used"}),
    ]
    first, second = Simulator(clock=clock), Simulator(clock=FakeClock())
    for name, arguments in script:
        assert first.call(name, arguments) == second.call(name, arguments)
    assert first.snapshot() == second.snapshot()


def test_ids_come_from_counters(km: KM) -> None:
    first = km.ok("km_create_macro", name="One", template="custom")
    second = km.ok("km_create_macro", name="Two", template="custom")
    assert first["macro_id"] == "0053494D-0000-4000-8000-000000000006"
    assert second["macro_id"] == "0053494D-0000-4000-8000-000000000007"


def test_stored_values_are_copied_on_the_way_in(km: KM) -> None:
    value = {"user": {"tags": ["a"]}}
    km.ok("km_dictionary_manager", operation="create", dictionary_name="d", value=value)
    value["user"]["tags"].append("changed")
    data = km.ok("km_dictionary_manager", operation="read", dictionary_name="d")
    assert data["value"] == {"user": {"tags": ["a"]}}


def test_answers_are_copied_on_the_way_out(km: KM, sim: Simulator) -> None:
    km.ok("km_dictionary_manager", operation="create", dictionary_name="d", value={"k": [1]})
    answer = sim.call("km_dictionary_manager", {"operation": "read", "dictionary_name": "d"})
    answer["data"]["value"]["k"].append(2)
    snapshot = sim.snapshot()
    snapshot["dictionaries"]["d"]["data"]["k"].append(3)
    assert km.ok("km_dictionary_manager", operation="read", dictionary_name="d")["value"] == {
        "k": [1]
    }


def test_arguments_are_not_changed_by_the_call(sim: Simulator) -> None:
    arguments: dict[str, Any] = {"expression": "1"}
    sim.call("km_calculator", arguments)
    assert arguments == {"expression": "1"}


def test_reset_returns_to_the_example_state(sim: Simulator, km: KM) -> None:
    seed = sim.snapshot()
    km.ok("km_variable_manager", operation="set", name="X", value="1")
    sim.reset()
    assert sim.snapshot() == seed
    assert sim.state == seed


def test_a_foreign_catalog_with_other_schemas_gets_generic_answers() -> None:
    shipped = CATALOG["km_variable_manager"]
    changed = ToolSpec(
        name=shipped.name,
        description=shipped.description,
        input_schema={"type": "object", "properties": {"operation": {"type": "string"}}},
        source="upstream",
    )
    sim = Simulator(ToolCatalog([changed, CATALOG["km_calculator"]], origin="upstream"))
    answer = sim.call("km_variable_manager", {"operation": "get"})
    assert answer["data"]["simulated_effect"].startswith("none")
    assert sim.call("km_calculator", {"expression": "2*3"})["data"]["result"] == 6
    with pytest.raises(StepError):
        sim.call("km_clipboard_manager", {"operation": "get"})


def test_a_broken_foreign_schema_accepts_objects() -> None:
    broken = ToolSpec(name="km_odd", description="", input_schema={"type": 12}, source="upstream")
    sim = Simulator(ToolCatalog([broken], origin="upstream"))
    assert sim.call("km_odd", {"anything": 1})["success"] is True


def test_a_defect_in_a_handler_is_a_step_error(sim: Simulator) -> None:
    def broken(call: object) -> dict[str, Any]:
        raise KeyError("boom")

    sim._handlers["km_token_stats"] = broken
    with pytest.raises(StepError) as raised:
        sim.call("km_token_stats", {})
    assert raised.value.kind is ErrorKind.TOOL_FAILED
    assert raised.value.message == (
        "the simulator failed while answering km_token_stats: KeyError: 'boom'"
    )


def test_json_scalars_of_subclasses_travel_as_their_base_type() -> None:
    import enum

    from engine.simulator._jsondata import copy_json

    class Level(enum.IntEnum):
        HIGH = 3

    class Name(str):
        pass

    class Ratio(float):
        pass

    copied = copy_json({"level": Level.HIGH, "name": Name("x"), "ratio": Ratio(0.5)})
    assert copied == {"level": 3, "name": "x", "ratio": 0.5}
    assert [type(v) for v in copied.values()] == [int, str, float]
