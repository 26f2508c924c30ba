"""km_create_macro, km_search_macros_advanced, km_analyze_macro_metadata and km_list_templates
(older handlers, not yet rebuilt)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM, FakeClock

HELLO = "0053494D-0000-4000-8000-000000000003"
OLD = "0053494D-0000-4000-8000-000000000005"


def names(data: dict[str, Any], key: str = "macros") -> list[str]:
    return [item["name"] for item in data[key]]


def test_create_macro_defaults_to_the_global_group(km: KM, clock: FakeClock) -> None:
    data = km.ok(
        "km_create_macro",
        name="Paste Date",
        template="text_expansion",
        parameters={"abbreviation": ";d"},
    )
    assert data == {
        "macro_id": "0053494D-0000-4000-8000-000000000006",
        "name": "Paste Date",
        "group": "Global Macro Group",
        "group_id": "0053494D-0000-4000-8000-000000000001",
        "enabled": True,
        "template": "text_expansion",
        "created_at": clock.now.isoformat(),
    }


def test_create_macro_in_a_missing_group(km: KM) -> None:
    error = km.fails(
        "km_create_macro", "GROUP_NOT_FOUND", name="M", template="custom", group_name="Exampels"
    )
    assert error["message"] == "macro group 'Exampels' not found"
    assert error["recovery_suggestion"].endswith("Did you mean 'Examples'?")


def test_create_macro_name_conflict_in_the_same_group(km: KM) -> None:
    error = km.fails(
        "km_create_macro",
        "CREATE_FAILED",
        name="Hello World",
        template="custom",
        group_name="Examples",
    )
    assert error["message"] == (
        "name conflict: group 'Examples' already has a macro named 'Hello World'"
    )
    km.ok("km_create_macro", name="Hello World", template="custom")  # another group is fine


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({"query": "hello"}, ["Hello World"], id="name"),
        pytest.param({"query": "examples"}, ["Hello World", "Old Macro"], id="group"),
        pytest.param({"query": "examples", "scope": "name_only"}, [], id="name-only"),
        pytest.param(
            {"query": "text_expansion", "scope": "metadata_only"}, ["Paste Date"], id="metadata"
        ),
        # Keyboard Maestro tells no use counts (km_execute_macro records none).
        pytest.param({"query": "", "min_usage_count": 1}, [], id="usage"),
        pytest.param({"query": "", "complexity_levels": "complex"}, [], id="complexity"),
    ],
)
def test_search_macros(km: KM, arguments: dict[str, Any], expected: list[str]) -> None:
    km.ok("km_macro_group_manager", operation="create", new_name="Other")
    km.ok("km_create_macro", name="Paste Date", template="text_expansion", group_name="Other")
    assert names(km.ok("km_search_macros_advanced", **arguments)) == expected


def test_analyze_macro(km: KM) -> None:
    km.ok("km_execute_macro", identifier="Hello World", trigger_value="x")
    data = km.ok("km_analyze_macro_metadata", macro_id="Hello World")
    assert data["macro"]["use_count"] == 0
    assert data["complexity"] == "simple"
    assert data["relationships"] == {"same_group": ["Old Macro"]}
    assert data["usage"]["recent_executions"] == []
    km.fails("km_analyze_macro_metadata", "MACRO_NOT_FOUND", macro_id="Nope")


def test_templates(km: KM) -> None:
    data = km.ok("km_list_templates")
    assert [t["id"] for t in data["templates"]] == [
        "hotkey_action",
        "app_launcher",
        "text_expansion",
        "file_processor",
        "window_manager",
        "custom",
    ]


def test_search_notes_what_is_not_simulated(km: KM) -> None:
    data = km.ok("km_search_macros_advanced", query="", action_categories="text")
    assert data["notes"] == [
        "action_categories is accepted but not simulated: macros have no actions here"
    ]
