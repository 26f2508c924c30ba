"""km_search_macros_advanced and km_analyze_macro_metadata (seed-era tools, older handlers)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM


def names(data: dict[str, Any], key: str = "macros") -> list[str]:
    return [item["name"] for item in data[key]]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({"query": "hello"}, ["Hello World"], id="name"),
        pytest.param({"query": "examples"}, ["Hello World", "Old Macro"], id="group"),
        pytest.param({"query": "examples", "scope": "name_only"}, [], id="name-only"),
        # Keyboard Maestro keeps no template or parameters: km_create_macro imports actions.
        pytest.param({"query": "text_expansion", "scope": "metadata_only"}, [], id="metadata"),
        # Keyboard Maestro tells no use counts (km_execute_macro records none).
        pytest.param({"query": "", "min_usage_count": 1}, [], id="usage"),
        pytest.param({"query": "", "complexity_levels": "complex"}, [], id="complexity"),
    ],
)
def test_search_macros(km: KM, arguments: dict[str, Any], expected: list[str]) -> None:
    km.ok("km_macro_group_manager", operation="create", new_name="Other")
    km.ok(
        "km_create_macro",
        name="Paste Date",
        template="text_expansion",
        group_name="Other",
        parameters={"expansion_text": ";d"},
    )
    assert names(km.ok("km_search_macros_advanced", **arguments)) == expected


def test_analyze_macro(km: KM) -> None:
    km.ok("km_execute_macro", identifier="Hello World", trigger_value="x")
    data = km.ok("km_analyze_macro_metadata", macro_id="Hello World")
    assert data["macro"]["use_count"] == 0
    assert data["complexity"] == "simple"
    assert data["relationships"] == {"same_group": ["Old Macro"]}
    assert data["usage"]["recent_executions"] == []
    km.fails("km_analyze_macro_metadata", "MACRO_NOT_FOUND", macro_id="Nope")


def test_search_notes_what_is_not_simulated(km: KM) -> None:
    data = km.ok("km_search_macros_advanced", query="", action_categories="text")
    assert data["notes"] == [
        "action_categories is accepted but not simulated: macros have no actions here"
    ]
