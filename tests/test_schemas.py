"""The published JSON Schemas: valid draft 2020-12, documented for editors, shipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine._resources import load_schema, schema_path

NAMES = ["action", "plugin", "index"]


def _properties(node: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """Every (path, property schema, root) under any `properties` keyword."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for key, sub in props.items():
                yield f"{path}.properties.{key}", sub, node
        for key, sub in node.items():
            yield from _properties(sub, f"{path}.{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from _properties(sub, f"{path}[{index}]")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**root["$defs"][ref.rsplit("/", 1)[1]], **schema}
    return schema


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", NAMES)
def test_every_property_has_a_title_and_a_description(name: str) -> None:
    root = load_schema(name)
    missing = []
    for path, sub, _ in _properties(root, "$"):
        if isinstance(sub, dict):
            resolved = _resolve(sub, root)
            if not (resolved.get("title") and resolved.get("description")):
                missing.append(path)
    assert missing == []


@pytest.mark.parametrize("name", NAMES)
def test_the_package_finds_the_schema_files(name: str) -> None:
    path = schema_path(name)
    assert path.name == f"{name}.schema.json"
    assert json.loads(Path(path).read_text("utf-8")) == load_schema(name)


def test_the_wheel_ships_the_schemas() -> None:
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text("utf-8")
    assert '"schemas" = "engine/schemas"' in pyproject


def test_resource_limits_name_every_numeric_limit() -> None:
    """A plugin may declare each limit a number sets, and no other: seconds as numbers,
    counts as whole numbers (the runtime takes them as they are)."""
    from engine.limits import NUMERIC_LIMITS, SECONDS

    declared = load_schema("plugin")["properties"]["resource_limits"]["properties"]
    assert list(declared) == list(NUMERIC_LIMITS)
    assert {name: spec["type"] for name, spec in declared.items()} == {
        name: "number" if name in SECONDS else "integer" for name in NUMERIC_LIMITS
    }
