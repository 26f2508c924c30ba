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


def test_list_macro_groups_without_counts(km: KM) -> None:
    data = km.ok("km_list_macro_groups", include_macro_count=False, include_enabled_count=False)
    assert set(data["groups"][0]) == {"id", "name", "enabled", "created_at"}
