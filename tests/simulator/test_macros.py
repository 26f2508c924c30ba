"""Macros: create, list, execute, edit, search, analyze and templates."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM, FakeClock

HELLO = "0053494D-0000-4000-8000-000000000003"
OLD = "0053494D-0000-4000-8000-000000000005"


def names(data: dict[str, Any], key: str = "macros") -> list[str]:
    return [item["name"] for item in data[key]]


def test_example_state(km: KM) -> None:
    assert names(km.ok("km_list_macros", enabled_only=False)) == [
        "Hello World",
        "Insert Date",
        "Old Macro",
    ]
    groups = km.ok("km_macro_group_manager", operation="list")["groups"]
    assert [(g["name"], g["macro_count"], g["enabled_count"]) for g in groups] == [
        ("Examples", 2, 1),
        ("Global Macro Group", 1, 1),
    ]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({}, ["Hello World", "Insert Date"], id="enabled-only"),
        pytest.param(
            {"enabled_only": False, "group_filters": ["examples"]},
            ["Hello World", "Old Macro"],
            id="group-filters",
        ),
        pytest.param(
            {"group_filter": "Global Macro Group"}, ["Insert Date"], id="deprecated-filter"
        ),
        pytest.param(
            {"enabled_only": False, "sort_by": "group"},
            ["Hello World", "Old Macro", "Insert Date"],
            id="sort-group",
        ),
        pytest.param({"enabled_only": False, "limit": 1}, ["Hello World"], id="limit"),
    ],
)
def test_list_macros_filters_sorts_and_limits(
    km: KM, arguments: dict[str, Any], expected: list[str]
) -> None:
    assert names(km.ok("km_list_macros", **arguments)) == expected


def test_list_macros_pagination_and_unknown_groups(km: KM) -> None:
    data = km.ok("km_list_macros", limit=1, group_filters=["Examples", "Nope"])
    assert data["pagination"] == {"limit": 1, "returned": 1, "has_more": False}
    assert data["total_count"] == 1
    assert data["unknown_groups"] == ["Nope"]


def test_list_macros_sort_by_last_used(km: KM, clock: FakeClock) -> None:
    km.ok("km_execute_macro", identifier="Insert Date")
    clock.advance(1)
    km.ok("km_execute_macro", identifier="Hello World")
    assert names(km.ok("km_list_macros", sort_by="last_used")) == ["Hello World", "Insert Date"]
    assert names(km.ok("km_list_macros", sort_by="created_date")) == ["Hello World", "Insert Date"]


def test_list_macros_unknown_sort(km: KM) -> None:
    error = km.fails("km_list_macros", "VALIDATION_ERROR", sort_by="nam")
    assert error["recovery_suggestion"] == (
        "Use one of: name, last_used, created_date, group. Did you mean 'name'?"
    )


def test_execute_records_the_execution(km: KM, sim: Any, clock: FakeClock) -> None:
    data = km.ok("km_execute_macro", identifier="hello world", trigger_value="42", method="url")
    assert data == {
        "execution_id": "sim-exec-000001",
        "macro_id": HELLO,
        "macro_name": "Hello World",
        "trigger_value": "42",
        "method": "url",
        "timestamp": clock.now.isoformat(),
        "execution_time": 0.0,
        "method_used": "url",
        "status": "completed",
        "output": None,
        "simulated_effect": "execution recorded; the macro's actions did not run",
    }
    km.ok("km_execute_macro", identifier=HELLO.lower())
    state = sim.snapshot()
    assert [e["trigger_value"] for e in state["executions"]] == ["42", None]
    assert state["macros"][HELLO]["use_count"] == 2


def test_execute_failures(km: KM) -> None:
    error = km.fails("km_execute_macro", "MACRO_NOT_FOUND", identifier="Helo World")
    assert error["message"] == "macro 'Helo World' not found"
    assert error["recovery_suggestion"] == (
        "Check the name or UUID; km_list_macros lists them. Did you mean 'Hello World'?"
    )
    error = km.fails("km_execute_macro", "EXECUTION_ERROR", identifier="Old Macro")
    assert error["message"] == "cannot execute macro 'Old Macro': macro 'Old Macro' is disabled"
    km.ok("km_macro_group_manager", operation="set_enabled", group_id="Examples", enabled=False)
    error = km.fails("km_execute_macro", "EXECUTION_ERROR", identifier="Hello World")
    assert (
        error["message"] == "cannot execute macro 'Hello World': its group 'Examples' is disabled"
    )
    error = km.fails("km_execute_macro", "VALIDATION_ERROR", identifier="Insert Date", method="ssh")
    assert error["message"] == "unknown method 'ssh'"


def test_execution_log_is_bounded(km: KM, sim: Any) -> None:
    for _ in range(1_005):
        km.ok("km_execute_macro", identifier="Hello World")
    executions = sim.snapshot()["executions"]
    assert len(executions) == 1_000
    assert executions[0]["execution_id"] == "sim-exec-000006"


def test_ambiguous_names_ask_for_the_uuid(km: KM) -> None:
    km.ok("km_create_macro", name="Hello World", template="custom")
    error = km.fails("km_execute_macro", "VALIDATION_ERROR", identifier="Hello World")
    assert error["message"] == "2 macros are named 'Hello World'"
    assert error["details"]["macro_ids"][0] == HELLO


def test_editor_create_rename_duplicate_toggle_delete(km: KM) -> None:
    created = km.ok("km_macro_editor", operation="create", group_id="Examples", new_name="Tmp")
    macro_id = created["macro_id"]
    renamed = km.ok("km_macro_editor", operation="rename", macro_id=macro_id, new_name="Kept")
    assert renamed == {"macro_id": macro_id, "old_name": "Tmp", "new_name": "Kept"}
    copy = km.ok("km_macro_editor", operation="duplicate", macro_id="Kept")
    assert copy["name"] == "Kept copy"
    assert km.ok("km_macro_editor", operation="duplicate", macro_id="Kept")["name"] == "Kept copy 2"
    toggled = km.ok("km_macro_editor", operation="set_enabled", macro_id="Kept", enabled=False)
    assert (toggled["enabled"], toggled["changed"]) == (False, True)
    assert km.ok("km_macro_editor", operation="delete", macro_id="Kept")["deleted"] is True
    assert "Kept" not in names(km.ok("km_list_macros", enabled_only=False))


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param(
            {"operation": "create", "new_name": "x"},
            "VALIDATION_ERROR",
            "'group_id' is required for operation 'create'",
            id="create-group",
        ),
        pytest.param(
            {"operation": "create", "group_id": "Nope", "new_name": "x"},
            "CREATE_FAILED",
            "macro group 'Nope' not found",
            id="create-missing-group",
        ),
        pytest.param(
            {"operation": "delete", "macro_id": "Nope"},
            "DELETE_FAILED",
            "macro 'Nope' not found",
            id="delete",
        ),
        pytest.param(
            {"operation": "rename", "macro_id": "Nope", "new_name": "x"},
            "RENAME_FAILED",
            "macro 'Nope' not found",
            id="rename",
        ),
        pytest.param(
            {"operation": "rename", "macro_id": "Hello World", "new_name": "Old Macro"},
            "RENAME_FAILED",
            "name conflict: group 'Examples' already has a macro named 'Old Macro'",
            id="rename-conflict",
        ),
        pytest.param(
            {"operation": "duplicate", "macro_id": "Nope"},
            "DUPLICATE_FAILED",
            "macro 'Nope' not found",
            id="duplicate",
        ),
        pytest.param(
            {"operation": "set_enabled", "macro_id": "Nope", "enabled": True},
            "TOGGLE_FAILED",
            "macro 'Nope' not found",
            id="toggle",
        ),
        pytest.param(
            {"operation": "set_enabled", "macro_id": "Hello World"},
            "VALIDATION_ERROR",
            "'enabled' is required for operation 'set_enabled'",
            id="toggle-value",
        ),
    ],
)
def test_editor_failures(km: KM, arguments: dict[str, Any], code: str, message: str) -> None:
    assert km.fails("km_macro_editor", code, **arguments)["message"] == message


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({"query": "hello"}, ["Hello World"], id="name"),
        pytest.param({"query": "examples"}, ["Hello World", "Old Macro"], id="group"),
        pytest.param({"query": "examples", "scope": "name_only"}, [], id="name-only"),
        pytest.param(
            {"query": "text_expansion", "scope": "metadata_only"}, ["Insert Date"], id="metadata"
        ),
        pytest.param({"query": "", "min_usage_count": 1}, ["Insert Date"], id="usage"),
        pytest.param({"query": "", "complexity_levels": "complex"}, [], id="complexity"),
        pytest.param(
            {"query": "", "sort_by": "usage_frequency"},
            ["Insert Date", "Hello World", "Old Macro"],
            id="sort-usage",
        ),
    ],
)
def test_search_macros(km: KM, arguments: dict[str, Any], expected: list[str]) -> None:
    km.ok("km_execute_macro", identifier="Insert Date")
    assert names(km.ok("km_search_macros_advanced", **arguments)) == expected


def test_analyze_macro(km: KM) -> None:
    km.ok("km_execute_macro", identifier="Hello World", trigger_value="x")
    data = km.ok("km_analyze_macro_metadata", macro_id="Hello World")
    assert data["macro"]["use_count"] == 1
    assert data["complexity"] == "simple"
    assert data["relationships"] == {"same_group": ["Old Macro"]}
    assert data["usage"]["recent_executions"][0]["trigger_value"] == "x"
    km.fails("km_analyze_macro_metadata", "MACRO_NOT_FOUND", macro_id="Nope")


def test_disabled_macros_listed_with_their_state(km: KM) -> None:
    data = km.ok("km_list_macros", enabled_only=False, group_filters=["Examples"])
    assert [(m["name"], m["enabled"]) for m in data["macros"]] == [
        ("Hello World", True),
        ("Old Macro", False),
    ]
    assert data["macros"][1]["id"] == OLD


def test_editor_create_conflict(km: KM) -> None:
    error = km.fails(
        "km_macro_editor", "CREATE_FAILED", operation="create", group_id="Examples",
        new_name="Hello World",
    )  # fmt: skip
    assert (
        error["message"]
        == "name conflict: group 'Examples' already has a macro named 'Hello World'"
    )


def test_search_notes_what_is_not_simulated(km: KM) -> None:
    data = km.ok("km_search_macros_advanced", query="", action_categories="text")
    assert data["notes"] == [
        "action_categories is accepted but not simulated: macros have no actions here"
    ]
