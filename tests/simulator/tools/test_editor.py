"""km_macro_editor beyond the recordings (``test_differential.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import KM, Machine

TOOL = "km_macro_editor"
HELLO = "0053494D-0000-4000-8000-000000000003"


def listed(km: KM) -> list[tuple[str, str, bool]]:
    macros = km.ok("km_list_macros", enabled_only=False, sort_by="none")["macros"]
    return [(m["name"], m["group"], m["enabled"]) for m in macros]


def test_create_imports_a_disabled_macro_into_the_group(km: KM) -> None:
    data = km.ok(TOOL, operation="create", group_id="0053494d-0000-4000-8000-000000000002",
                 new_name=" Made ")  # fmt: skip
    assert data == {
        "macro_id": "00000000-0000-4000-8000-000000000001",
        "name": "Made",
        "group_id": "0053494D-0000-4000-8000-000000000002",
        "group_name": "Examples",
    }
    assert ("Made", "Examples", False) in listed(km)


def test_rename_toggle_duplicate_delete_by_uuid(km: KM) -> None:
    renamed = km.ok(TOOL, operation="rename", macro_id=HELLO, new_name="  Hi  ")
    assert renamed == {"macro_id": HELLO, "new_name": "  Hi  "}
    km.ok(TOOL, operation="set_enabled", macro_id="hi", enabled=False)
    copy = km.ok(TOOL, operation="duplicate", macro_id=f" {HELLO} ", new_name=" Copy ")
    assert copy == {"new_id": "4B4D0000-0000-4000-8000-000000000001", "new_name": "Copy",
                    "source": HELLO}  # fmt: skip
    assert listed(km)[:3] == [("Insert Date", "Global Macro Group", True),
                              ("Hi", "Examples", False), ("Copy", "Examples", False)]  # fmt: skip
    assert km.ok(TOOL, operation="delete", macro_id="Copy") == {
        "macro_id": "Copy",
        "deleted": True,
    }


def test_a_group_named_like_a_number_crashes_create(km: KM) -> None:
    # The server reads the group list back from record text (the name 2026 becomes a
    # number) and calls .lower() on each name: the exception reaches FastMCP uncaught.
    km.ok("km_macro_group_manager", operation="rename", group_id="Examples", new_name="2026")
    result = km.sim.result(TOOL, {"operation": "create", "group_id": "Work", "new_name": "X"})
    assert result.is_error
    assert (
        result.text == "Error calling tool 'km_macro_editor': 'int' object has no attribute 'lower'"
    )


def test_a_duplicate_is_kept_when_its_new_name_is_refused(km: KM) -> None:
    error = km.fails(
        TOOL, "DUPLICATE_FAILED", operation="duplicate", macro_id="Hello World",
        new_name="my keychain",
    )  # fmt: skip
    assert error["message"] == "Dangerous AppleScript content detected"
    assert [n for n, _, _ in listed(km)].count("Hello World") == 2


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param({"operation": "create", "group_id": "Examples"}, "VALIDATION_ERROR",
                     "new_name is required for operation='create'.", id="create-name"),
        pytest.param({"operation": "create", "new_name": "X"}, "VALIDATION_ERROR",
                     "group_id is required for operation='create'.", id="create-group"),
        pytest.param({"operation": "create", "new_name": "X", "group_id": "It's"},
                     "GROUP_NOT_FOUND", 'Group not found: "It\'s"', id="group-repr"),
        pytest.param({"operation": "delete"}, "VALIDATION_ERROR", "macro_id is required.",
                     id="delete-id"),
        pytest.param({"operation": "rename", "macro_id": "Hello World", "new_name": " "},
                     "VALIDATION_ERROR", "macro_id and new_name are both required.",
                     id="rename-name"),
        pytest.param({"operation": "rename", "macro_id": "  ", "new_name": "X"},
                     "RENAME_FAILED", "macro not found", id="rename-blank-id"),
        pytest.param({"operation": "duplicate", "macro_id": "Nope"}, "DUPLICATE_FAILED",
                     "macro not found", id="duplicate-missing"),
        pytest.param({"operation": "duplicate"}, "VALIDATION_ERROR", "macro_id is required.",
                     id="duplicate-id"),
        pytest.param({"operation": "set_enabled", "macro_id": "Nope", "enabled": True},
                     "TOGGLE_FAILED", "macro not found", id="toggle-missing"),
        pytest.param({"operation": "delete", "macro_id": "0053494D-0000-4000-8000-0000000000FF"},
                     "DELETE_FAILED", "macro not found", id="delete-unknown-uuid"),
    ],
)  # fmt: skip
def test_failures(km: KM, arguments: dict[str, Any], code: str, message: str) -> None:
    assert km.fails(TOOL, code, **arguments)["message"] == message


def test_a_stopped_engine_is_refused(machine: Machine) -> None:
    error = machine("engine_stopped").fails(TOOL, "KM_CONNECTION_FAILED", operation="delete")
    assert error["recovery_suggestion"] == (
        "Start Keyboard Maestro and ensure the Engine is running."
    )
