"""km_macro_group_manager beyond the recordings (``test_differential.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM, Machine

TOOL = "km_macro_group_manager"


def groups(km: KM) -> list[tuple[Any, bool]]:
    return [(g["groupName"], g["enabled"]) for g in km.ok(TOOL, operation="list")["groups"]]


def test_create_rename_toggle_delete(km: KM) -> None:
    created = km.ok(TOOL, operation="create", new_name="  Work  ")
    assert created == {"group_id": "4B4D0000-0000-4000-8000-000000000001", "name": "Work"}
    assert km.ok(TOOL, operation="rename", group_id="work", new_name=" Office ") == {
        "group_id": "work",
        "new_name": " Office ",
    }
    km.ok(TOOL, operation="set_enabled", group_id="Office", enabled=False)
    assert groups(km)[-1] == ("Office", False)
    assert km.ok(TOOL, operation="delete", group_id="Office") == {
        "group_id": "Office",
        "deleted": True,
    }
    assert [name for name, _ in groups(km)] == ["Global Macro Group", "Examples"]


def test_names_are_not_checked_for_duplicates(km: KM) -> None:
    km.ok(TOOL, operation="create", new_name="Examples")
    assert [name for name, _ in groups(km)].count("Examples") == 2


def test_deleting_a_group_deletes_its_macros(km: KM) -> None:
    km.ok(TOOL, operation="delete", group_id="Examples")
    listed = km.ok("km_list_macros", enabled_only=False)["macros"]
    assert [m["name"] for m in listed] == ["Insert Date"]


def test_a_group_named_like_a_number_is_listed_as_one(km: KM) -> None:
    km.ok(TOOL, operation="rename", group_id="Examples", new_name="2026")
    assert groups(km)[1] == (2026, True)


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param(
            {"operation": "create", "new_name": "  "},
            "VALIDATION_ERROR",
            "new_name is required for operation='create'.",
            id="create-blank",
        ),
        pytest.param(
            {"operation": "delete", "group_id": " "},
            "VALIDATION_ERROR",
            "group_id is required.",
            id="delete-blank",
        ),
        pytest.param(
            {"operation": "rename", "group_id": "Examples"},
            "VALIDATION_ERROR",
            "group_id and new_name are both required.",
            id="rename-without-name",
        ),
        pytest.param(
            {"operation": "set_enabled", "group_id": "Examples"},
            "VALIDATION_ERROR",
            "group_id and enabled are both required.",
            id="toggle-without-state",
        ),
        pytest.param(
            {"operation": "delete", "group_id": "Nope"},
            "DELETE_FAILED",
            'Keyboard Maestro got an error: Can’t get macro group 1 whose name = "Nope". '
            "Invalid index.",
            id="delete-missing",
        ),
        pytest.param(
            {"operation": "rename", "group_id": "Nope", "new_name": "X"},
            "RENAME_FAILED",
            'Keyboard Maestro got an error: Can’t get macro group 1 whose name = "Nope". '
            "Invalid index.",
            id="rename-missing",
        ),
        pytest.param(
            {"operation": "create", "new_name": "my keychain"},
            "CREATE_FAILED",
            "Dangerous AppleScript content detected",
            id="dangerous-name",
        ),
    ],
)
def test_failures(km: KM, arguments: dict[str, Any], code: str, message: str) -> None:
    assert km.fails(TOOL, code, **arguments)["message"] == message


def test_names_with_non_ascii_glyphs_are_never_found(km: KM) -> None:
    km.ok(TOOL, operation="create", new_name="Café")
    error = km.fails(TOOL, "TOGGLE_FAILED", operation="set_enabled", group_id="Café", enabled=False)
    assert 'whose name = "Café"' in error["message"]


def test_a_stopped_engine_is_refused_before_the_arguments(machine: Machine) -> None:
    error = machine("engine_stopped").fails(TOOL, "KM_CONNECTION_FAILED", operation="create")
    assert error["message"] == "Cannot connect to Keyboard Maestro Engine."
