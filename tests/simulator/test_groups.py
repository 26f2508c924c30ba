"""km_list_macro_groups and km_move_macro_to_group (older handlers, not yet rebuilt)."""

from __future__ import annotations

from typing import Any

from .conftest import KM

HELLO = "0053494D-0000-4000-8000-000000000003"


def names(data: dict[str, Any], key: str = "macros") -> list[str]:
    return [item["name"] for item in data[key]]


def test_list_macro_groups(km: KM) -> None:
    data = km.ok("km_list_macro_groups", sort_by="macro_count", include_enabled_count=False)
    assert [(g["name"], g["macro_count"]) for g in data["groups"]] == [
        ("Examples", 2),
        ("Global Macro Group", 1),
    ]
    assert "enabled_count" not in data["groups"][0]
    assert data["total_groups"] == 2


def test_move_macro_to_group(km: KM) -> None:
    moved = km.ok(
        "km_move_macro_to_group", macro_identifier="Hello World", target_group="Global Macro Group"
    )
    assert moved == {
        "macro_id": HELLO,
        "macro_name": "Hello World",
        "source_group": "Examples",
        "target_group": "Global Macro Group",
        "group_created": False,
        "moved": True,
    }
    error = km.fails(
        "km_move_macro_to_group",
        "VALIDATION_ERROR",
        macro_identifier="Hello World",
        target_group="Global Macro Group",
    )
    assert error["message"] == "macro 'Hello World' is already in group 'Global Macro Group'"


def test_move_to_a_missing_group(km: KM) -> None:
    error = km.fails(
        "km_move_macro_to_group",
        "GROUP_NOT_FOUND",
        macro_identifier="Hello World",
        target_group="New Group",
    )
    assert error["recovery_suggestion"].endswith("Or pass create_group_if_missing: true.")
    moved = km.ok(
        "km_move_macro_to_group",
        macro_identifier="Hello World",
        target_group="New Group",
        create_group_if_missing=True,
    )
    assert moved["group_created"] is True
    km.fails("km_move_macro_to_group", "MACRO_NOT_FOUND", macro_identifier="Nope", target_group="x")


def test_move_refuses_a_name_taken_in_the_target(km: KM) -> None:
    km.ok("km_create_macro", name="Hello World", template="custom")
    error = km.fails(
        "km_move_macro_to_group",
        "EXECUTION_ERROR",
        macro_identifier=HELLO,
        target_group="Global Macro Group",
    )
    assert error["message"] == "group 'Global Macro Group' already has a macro named 'Hello World'"


def test_list_macro_groups_without_counts(km: KM) -> None:
    data = km.ok("km_list_macro_groups", include_macro_count=False, include_enabled_count=False)
    assert set(data["groups"][0]) == {"id", "name", "enabled", "created_at"}
