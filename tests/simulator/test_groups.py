"""Macro groups: km_macro_group_manager, km_list_macro_groups and km_move_macro_to_group."""

from __future__ import annotations

from typing import Any

from .conftest import KM

HELLO = "0053494D-0000-4000-8000-000000000003"


def names(data: dict[str, Any], key: str = "macros") -> list[str]:
    return [item["name"] for item in data[key]]


def test_group_manager(km: KM) -> None:
    created = km.ok("km_macro_group_manager", operation="create", new_name="Work")
    assert created == {
        "group_id": "0053494D-0000-4000-8000-000000000006",
        "name": "Work",
        "enabled": True,
    }
    km.fails("km_macro_group_manager", "CREATE_FAILED", operation="create", new_name="work")
    renamed = km.ok(
        "km_macro_group_manager", operation="rename", group_id="Work", new_name="Office"
    )
    assert renamed["old_name"] == "Work"
    km.fails(
        "km_macro_group_manager",
        "RENAME_FAILED",
        operation="rename",
        group_id="Office",
        new_name="Examples",
    )
    deleted = km.ok("km_macro_group_manager", operation="delete", group_id="Examples")
    assert deleted["macros_deleted"] == 2
    assert names(km.ok("km_list_macros", enabled_only=False)) == ["Insert Date"]
    km.fails("km_macro_group_manager", "DELETE_FAILED", operation="delete", group_id="Examples")
    km.fails(
        "km_macro_group_manager",
        "TOGGLE_FAILED",
        operation="set_enabled",
        group_id="Nope",
        enabled=True,
    )


def test_list_macro_groups(km: KM) -> None:
    data = km.ok("km_list_macro_groups", sort_by="macro_count", include_enabled_count=False)
    assert [(g["name"], g["macro_count"]) for g in data["groups"]] == [
        ("Examples", 2),
        ("Global Macro Group", 1),
    ]
    assert "enabled_count" not in data["groups"][0]
    assert data["total_groups"] == 2


def test_list_macro_groups_without_counts(km: KM) -> None:
    data = km.ok("km_list_macro_groups", include_macro_count=False, include_enabled_count=False)
    assert set(data["groups"][0]) == {"id", "name", "enabled", "created_at"}
