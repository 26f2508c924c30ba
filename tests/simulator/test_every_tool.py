"""Every catalog tool answers minimal arguments; a tool the simulator does not model (one of
another catalog, such as the 2025 server's) gives the generic answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.simulator import Simulator
from engine.tools.catalog import CatalogTools, ToolCatalog, ToolSpec
from engine.tools.older_tools import OLDER_TOOLS

from .conftest import KM, FakeClock

CATALOG = ToolCatalog.builtin()


# Arguments that make the modelled tools succeed on the example state.
SEMANTIC_ARGUMENTS: dict[str, dict[str, Any]] = {
    "km_variable_manager": {"operation": "list"},
    "km_execute_macro": {"identifier": "Hello World"},
    "km_move_macro_to_group": {
        "macro_identifier": "Hello World",
        "target_group": "Global Macro Group",
    },
    "km_create_hotkey_trigger": {"macro_id": "Hello World", "key": "k"},
    "km_set_macro_triggers": {"macro_id": "Hello World"},
    "km_add_system_trigger": {"macro_id": "Hello World"},
    "km_trigger_crud": {"macro_id": "Hello World"},
    "km_trigger_manager": {"macro_id": "Hello World"},
    "km_action_builder": {"macro_id": "Hello World"},
    "km_create_macro": {"group_name": "Examples", "template": "custom"},
    "km_macro_editor": {"group_id": "Examples", "new_name": "New macro"},
    "km_application_control": {"app_identifier": "Safari"},
    "km_window_manager": {"operation": "get_info", "window_identifier": "Finder"},
    "km_add_condition": {
        "macro_identifier": "Hello World",
        "condition_type": "variable",
        "operator": "equals",
        "operand": "Mode=on",
    },
    "km_control_flow": {
        "macro_identifier": "Hello World",
        "control_type": "try_catch",
        "try_actions": [{"type": "pause"}],
    },
    "km_create_plugin_action": {"output_dir": "/Users/kmuser"},
    "km_refresh_action_templates": {"macro_id": "Hello World", "confirm": True},
}


def example_value(schema: dict[str, Any]) -> Any:
    """A value valid against a (sub)schema: enum or pattern alternatives first, then guesses."""
    validator = Draft202012Validator(schema)
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"] or [schema]
    for branch in branches:
        if "enum" in branch:
            return branch["enum"][0]
        if match := re.match(r"^\^\(([\w|]+)\)\$$", branch.get("pattern", "")):
            return match.group(1).split("|")[0]
    guesses: list[Any] = ["a", "Example description", 1, 1.0, True, [], {}]
    return next(g for g in guesses if validator.is_valid(g))


def minimal_arguments(spec: ToolSpec) -> dict[str, Any]:
    """Required arguments only, each with an example value, plus SEMANTIC_ARGUMENTS."""
    arguments = {name: example_value(dict(spec.properties[name])) for name in spec.required}
    arguments.update(SEMANTIC_ARGUMENTS.get(spec.name, {}))
    return arguments


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.name) for s in CATALOG.values()])
def test_every_tool_answers_success_to_minimal_arguments(km: KM, spec: ToolSpec) -> None:
    arguments = minimal_arguments(spec)
    assert Draft202012Validator(dict(spec.input_schema)).is_valid(arguments)
    answer = km(spec.name, **arguments)
    assert answer["success"] is True, answer


WITH_2025 = ToolCatalog.builtin(CatalogTools.WITH_2025)
GENERIC_TOOLS = sorted(set(WITH_2025) - set(Simulator(WITH_2025, clock=FakeClock())._handlers))


@pytest.fixture
def older(clock: FakeClock) -> KM:
    """A simulator serving the 2025 server's tools too (a dry run against its tool list)."""
    return KM(Simulator(WITH_2025, clock=clock))


@pytest.mark.parametrize("name", GENERIC_TOOLS)
def test_generic_answers_echo_the_arguments_with_defaults(older: KM, name: str) -> None:
    spec = WITH_2025[name]
    arguments = minimal_arguments(spec)
    data = older.ok(name, **arguments)
    assert data["tool"] == name
    assert data["operation"] == arguments.get("operation")
    assert data["simulated_effect"] == "none: the simulator accepted this call and changed nothing"
    expected = {k: v["default"] for k, v in spec.properties.items() if "default" in v}
    assert data["arguments"] == {**expected, **arguments}


def test_every_current_tool_is_modelled_and_only_the_older_ones_are_generic() -> None:
    assert set(Simulator()._handlers) == set(CATALOG)
    assert sorted(OLDER_TOOLS) == GENERIC_TOOLS


def test_generic_answers_change_no_state(older: KM) -> None:
    before = older.sim.snapshot()["keyboard_maestro"]
    older.ok("km_file_operations", operation="delete", source_path="/tmp/x")
    assert older.sim.snapshot()["keyboard_maestro"] == before


def test_action_types_and_action_search(km: KM) -> None:
    types = km.ok("km_list_action_types", category="text")
    assert [t["identifier"] for t in types["actions"]] == ["type_text", "paste"]
    found = km.ok("km_search_actions", query="set a variable")
    assert found["actions"][0]["identifier"] == "set_variable"
