"""The simulator as a tool bridge: results, schema checks, unknown tools, determinism, copies."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine.diagnostics.errors import ErrorKind, StepError
from engine.simulator import Simulator
from engine.tools.bridge import ToolBridge
from engine.tools.bridge.results import UPSTREAM_TOOL_ERROR
from engine.tools.catalog import ToolCatalog, ToolSpec

from .conftest import KM, FakeClock

CATALOG = ToolCatalog.builtin()


def test_satisfies_the_tool_bridge_protocol(sim: Simulator) -> None:
    assert isinstance(sim, ToolBridge)
    assert sim.label == "simulator"
    assert sim.simulated is True
    assert sim.catalog() is CATALOG
    assert len(sim.catalog()) == 29


def test_call_tool_is_async_and_answers_as_the_server(sim: Simulator) -> None:
    answer = asyncio.run(
        sim.call_tool("km_variable_manager", {"operation": "get", "name": "Greeting"})
    )
    assert answer == {
        "success": True,
        "data": {
            "name": "Greeting",
            "value": "Hello",
            "scope": "global",
            "exists": True,
            "type": "string",
        },
    }


def test_results_carry_the_same_json_twice(sim: Simulator) -> None:
    result = sim.result("km_variable_manager", {"operation": "get", "name": "Greeting"})
    assert result.is_error is False
    assert result.text == (
        '{"success":true,"data":{"name":"Greeting","value":"Hello","scope":"global",'
        '"exists":true,"type":"string"}}'
    )
    assert json.loads(result.text) == result.structured


def test_a_tool_only_the_2025_server_had_is_unknown_with_what_to_use_instead(
    sim: Simulator,
) -> None:
    result = sim.result("km_clipboard_manager", {"operation": "get"})
    assert (result.is_error, result.text, result.structured) == (
        True,
        "Unknown tool: 'km_clipboard_manager'",
        None,
    )
    with pytest.raises(StepError) as raised:
        sim.call("km_clipboard_manager", {"operation": "get"})
    error = raised.value
    assert error.kind is ErrorKind.TOOL_UNAVAILABLE
    assert error.message == "Unknown tool: 'km_clipboard_manager'"
    assert error.hint is not None
    assert error.hint.startswith(
        "read the clipboard with km_engine_control, operation: process_tokens, expression: "
        '"%SystemClipboard%"'
    )
    assert error.hint.endswith('set `[catalog] tools = "2025"` in config.toml')
    assert error.details == {"tool": "km_clipboard_manager", "backend": "simulator"}


def test_unknown_tool_raises_step_error_with_did_you_mean(sim: Simulator) -> None:
    with pytest.raises(StepError) as raised:
        sim.call("km_variable_manger", {})
    error = raised.value
    assert error.kind is ErrorKind.TOOL_UNAVAILABLE
    assert error.message == "Unknown tool: 'km_variable_manger'"
    assert error.hint == "did you mean 'km_variable_manager'?"
    assert error.details == {"tool": "km_variable_manger", "backend": "simulator"}


def test_unknown_tool_in_other_case_is_suggested_as_everywhere(sim: Simulator) -> None:
    """The simulator guesses with the engine's did-you-mean, which matches across case."""
    with pytest.raises(StepError) as raised:
        sim.call("KM_NOTIFICATIONS", {})
    assert raised.value.hint == "did you mean 'km_notifications'?"


def test_unknown_tool_far_from_any_name(sim: Simulator) -> None:
    with pytest.raises(StepError) as raised:
        asyncio.run(sim.call_tool("zzz", {}))
    assert raised.value.hint == "see the tool catalog for the names (`km-actions tools`)"


def _violation(tool: str, field: str, message: str, kind: str, value: str, type_: str) -> str:
    return (
        f"1 validation error for call[{tool}]\n{field}\n  {message} [type={kind}, "
        f"input_value={value}, input_type={type_}]\n"
        f"    For further information visit https://errors.pydantic.dev/2.14/v/{kind}"
    )


@pytest.mark.parametrize(
    ("tool", "arguments", "text"),
    [
        pytest.param(
            "km_variable_manager",
            {"name": "x"},
            _violation("km_variable_manager", "operation", "Missing required argument",
                       "missing_argument", "{'name': 'x'}", "dict"),
            id="missing-required",
        ),
        pytest.param(
            "km_variable_manager",
            {"operation": "get", "nmae": "x"},
            _violation("km_variable_manager", "nmae", "Unexpected keyword argument",
                       "unexpected_keyword_argument", "'x'", "str"),
            id="unexpected-keyword",
        ),
        pytest.param(
            "km_variable_manager",
            {"operation": 5},
            _violation("km_variable_manager", "operation", "Input should be a valid string",
                       "string_type", "5", "int"),
            id="wrong-type",
        ),
        pytest.param(
            "km_notifications",
            {"notification_type": "banner", "title": "t", "message": "m"},
            _violation("km_notifications", "notification_type",
                       "String should match pattern '^(notification|alert|hud|sound)$'",
                       "string_pattern_mismatch", "'banner'", "str"),
            id="pattern",
        ),
        pytest.param(
            "km_engine_control",
            {"operation": "restart"},
            _violation("km_engine_control", "operation",
                       "Input should be 'reload', 'calculate', 'process_tokens', "
                       "'search_replace' or 'status'", "literal_error", "'restart'", "str"),
            id="literal",
        ),
        pytest.param(
            "km_list_macros",
            {"limit": 500},
            _violation("km_list_macros", "limit", "Input should be less than or equal to 100",
                       "less_than_equal", "500", "int"),
            id="maximum",
        ),
        pytest.param(
            "km_list_macros",
            {"limit": 0},
            _violation("km_list_macros", "limit", "Input should be greater than or equal to 1",
                       "greater_than_equal", "0", "int"),
            id="minimum",
        ),
    ],
)  # fmt: skip
def test_schema_violations_are_answered_like_fastmcp(
    sim: Simulator, tool: str, arguments: dict[str, Any], text: str
) -> None:
    result = sim.result(tool, arguments)
    assert (result.is_error, result.text, result.structured) == (True, text, None)
    assert sim.call(tool, arguments) == {
        "success": False,
        "error": {
            "code": UPSTREAM_TOOL_ERROR,
            "message": text,
            "recovery_suggestion": "The Keyboard Maestro MCP server reported this error; "
            "check the arguments, and that Keyboard Maestro is running.",
        },
    }


def test_arguments_are_coerced_and_completed_as_pydantic_does(sim: Simulator) -> None:
    listed = sim.call("km_list_macros", {"limit": "1", "enabled_only": "false"})
    assert listed["data"]["pagination"]["limit"] == 1
    assert listed["data"]["total_count"] == 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            {"operation": "set", "name": "d", "value": {"when": {1, 2}}},
            "the arguments of km_variable_manager are not JSON data: set is not JSON data "
            "at $.value.when",
            id="not-json",
        ),
        pytest.param(
            ["not", "an", "object"],
            "the arguments of km_variable_manager must be an object, not list",
            id="not-an-object",
        ),
    ],
)
def test_arguments_that_mcp_cannot_carry_are_a_step_error(
    sim: Simulator, arguments: Any, message: str
) -> None:
    with pytest.raises(StepError) as raised:
        sim.call("km_variable_manager", arguments)
    assert raised.value.kind is ErrorKind.INVALID_ARGUMENTS
    assert raised.value.message == message


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
        ("km_create_macro", {"name": "Made", "template": "custom", "group_name": "Examples"}),
        ("km_execute_macro", {"identifier": "Made", "trigger_value": "x"}),
        ("km_variable_manager", {"operation": "set", "name": "Clip", "value": "abc"}),
        ("km_token_processor", {"text": "%ICUDateTime%yyyy-MM-dd% %Variable%Clip%"}),
        ("km_list_macros", {"sort_by": "last_used"}),
    ]
    first, second = Simulator(clock=clock), Simulator(clock=FakeClock())
    for name, arguments in script:
        assert first.call(name, arguments) == second.call(name, arguments)
    assert first.snapshot() == second.snapshot()


def test_ids_come_from_counters(km: KM) -> None:
    first = km.ok("km_create_macro", name="One", template="custom", group_name="Examples")
    second = km.ok("km_create_macro", name="Two", template="custom", group_name="Examples")
    assert first["macro_id"] == "00000000-0000-4000-8000-000000000001"
    assert second["macro_id"] == "00000000-0000-4000-8000-000000000002"


def test_stored_values_are_copied_on_the_way_in(km: KM) -> None:
    config = {"text": "hi"}
    km.ok("km_action_builder", operation="append", macro_id="Hello World",
          action_type="type_text", action_config=config)  # fmt: skip
    config["text"] = "changed"
    data = km.ok("km_action_builder", operation="list", macro_id="Hello World")
    assert data["actions"][-1]["name"] == "Insert Text “hi” by Typing"


def test_answers_are_copied_on_the_way_out(km: KM, sim: Simulator) -> None:
    answer = sim.call("km_list_macros", {"enabled_only": False})
    answer["data"]["macros"].clear()
    snapshot = sim.snapshot()
    snapshot["keyboard_maestro"]["groups"][1]["macros"].clear()
    assert [m["name"] for m in km.ok("km_list_macros", enabled_only=False)["macros"]] == [
        "Hello World",
        "Insert Date",
        "Old Macro",
    ]


def test_arguments_are_not_changed_by_the_call(sim: Simulator) -> None:
    arguments: dict[str, Any] = {"operation": "calculate", "expression": "1"}
    sim.call("km_engine_control", arguments)
    assert arguments == {"operation": "calculate", "expression": "1"}


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
    sim = Simulator(ToolCatalog([changed, CATALOG["km_engine_control"]], origin="upstream"))
    answer = sim.call("km_variable_manager", {"operation": "get"})
    assert answer == {
        "success": True,
        "data": {
            "tool": "km_variable_manager",
            "operation": "get",
            "arguments": {"operation": "get"},
            "simulated_effect": "none: the simulator accepted this call and changed nothing",
        },
    }
    calculated = sim.call("km_engine_control", {"operation": "calculate", "expression": "2*3"})
    assert calculated["data"]["result"] == "6"
    with pytest.raises(StepError):
        sim.call("km_clipboard_manager", {"operation": "get"})


def test_a_broken_foreign_schema_accepts_objects() -> None:
    broken = ToolSpec(name="km_odd", description="", input_schema={"type": 12}, source="upstream")
    sim = Simulator(ToolCatalog([broken], origin="upstream"))
    assert sim.call("km_odd", {"anything": 1})["success"] is True


def test_a_defect_in_a_handler_is_a_step_error(sim: Simulator) -> None:
    def broken(ctx: object) -> dict[str, Any]:
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
