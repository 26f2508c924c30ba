"""docs/security.md states every limit of every profile exactly as engine/lang/limits.py has it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from engine.lang.limits import PROFILE_LIMITS, UNLIMITED, Limits, Profile
from engine.tools.catalog import ToolClass

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
SECONDS = {"run_timeout", "step_timeout", "max_wait"}


def cell(name: str, value: Any) -> str:
    """How the document writes one limit's value."""
    if isinstance(value, frozenset):
        return ", ".join(c.value for c in ToolClass if c in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == UNLIMITED:
        return "unlimited"
    if name in SECONDS:
        return f"{value:,g} s"
    return f"{value:,}"


def table(heading: str) -> list[list[str]]:
    """The rows (header first) of the first table after ``heading`` in the document."""
    lines = DOC.read_text("utf-8").splitlines()
    start = lines.index(heading)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([part.strip() for part in line.strip("|").split("|")])
        elif rows:
            break
    return [row for row in rows if set(row[0]) != {"-"}]


def test_the_profile_table_matches_the_engines_profiles() -> None:
    rows = table("## The four profiles")
    assert rows[0] == ["Limit", *(f"`{p.value}`" for p in Profile)]
    expected = [
        [f"`{f.name}`", *(cell(f.name, getattr(PROFILE_LIMITS[p], f.name)) for p in Profile)]
        for f in fields(Limits)
    ]
    assert rows[1:] == expected


def test_every_limit_is_explained() -> None:
    explained = [row[0] for row in table("What each limit counts:")[1:]]
    assert explained == [f"`{f.name}`" for f in fields(Limits)]


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        pytest.param("max_steps", UNLIMITED, "unlimited", id="unlimited"),
        pytest.param("run_timeout", None, "unlimited", id="no-timeout"),
        pytest.param("max_wait", 86_400.0, "86,400 s", id="seconds"),
        pytest.param("run_timeout", 0.5, "0.5 s", id="fraction-of-a-second"),
        pytest.param("max_steps", 10_000, "10,000", id="count"),
        pytest.param("destructive_needs_explicit_grant", False, "no", id="flag"),
        pytest.param(
            "allowed_classes",
            frozenset({ToolClass.WRITE, ToolClass.READ_ONLY}),
            "read-only, write",
            id="classes",
        ),
    ],
)
def test_cell(name: str, value: Any, text: str) -> None:
    assert cell(name, value) == text
