"""The published JSON Schemas: valid draft 2020-12, documented for editors, shipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine.load.loader import load_text
from engine.resources import load_schema, schema_path
from engine.tools.catalog import ToolCatalog
from engine.tools.schema_tools import TOOL_CALLS, action_schema, schema_text, write_shipped

NAMES = ["action", "plugin", "index"]
ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted(p for p in (ROOT / "actions").rglob("*.yaml") if p.name != "plugin.yaml")


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
    # The tools part is generated from the catalog: its words are the server's.
    written = {k: v for k, v in root.items() if k != "$defs"}
    written["$defs"] = {k: v for k, v in root.get("$defs", {}).items() if k != TOOL_CALLS}
    for path, sub, _ in _properties(written, "$"):
        if isinstance(sub, dict):
            resolved = _resolve(sub, root)
            if not (resolved.get("title") and resolved.get("description")):
                missing.append(path)
    assert missing == []


@pytest.mark.parametrize("name", NAMES)
def test_the_package_reads_the_published_schema_files(name: str) -> None:
    """In a checkout, the files in schemas/ (tests/test_wheel.py: the wheel's copies)."""
    assert schema_path(name) == ROOT / "schemas" / f"{name}.schema.json"


INDEX = {
    "format_version": 1,
    "plugins": [
        {
            "id": "clipboard-tools",
            "name": "Clipboard tools",
            "description": "Tidy the clipboard text.",
            "plugin_type": "transformation",
            "author": "km-actions developers",
            "versions": [
                {
                    "version": "1.0.0",
                    "api_version": "1.1",
                    "archive": "https://example.com/clipboard-tools-1.0.0.zip",
                    "sha256": "0" * 64,
                    "size": 2048,
                }
            ],
        }
    ],
}


def _plugin_manifest() -> dict[str, Any]:
    return load_text((ROOT / "actions/clipboard-tools/plugin.yaml").read_text("utf-8")).data


@pytest.mark.parametrize(
    ("name", "change", "problem"),
    [
        pytest.param("plugin", {}, None, id="plugin-shipped"),
        pytest.param(
            "plugin", {"identifier": "Clipboard Tools"}, "does not match", id="plugin-identifier"
        ),
        pytest.param(
            "plugin", {"plugin_type": "gadget"}, "is not one of", id="plugin-unknown-type"
        ),
        pytest.param(
            "plugin", {"permisions": []}, "'permisions' was unexpected", id="plugin-misspelt-key"
        ),
        pytest.param("index", {}, None, id="index-good"),
        pytest.param("index", {"format_version": 0}, "less than the minimum", id="index-format"),
        pytest.param("index", {"plugins": {}}, "is not of type 'array'", id="index-plugins"),
        pytest.param("index", {"market": "x"}, "'market' was unexpected", id="index-extra-key"),
    ],
)
def test_known_good_and_bad_manifests_against_the_published_schemas(
    name: str, change: dict[str, Any], problem: str | None
) -> None:
    document = {**(_plugin_manifest() if name == "plugin" else INDEX), **change}
    validator = jsonschema.Draft202012Validator(load_schema(name))
    messages = [e.message for e in validator.iter_errors(document)]
    if problem is None:
        assert messages == []
    else:
        assert messages and all(problem in m for m in messages), messages


def test_resource_limits_name_every_numeric_limit() -> None:
    """A plugin may declare each limit a number sets, and no other: seconds as numbers,
    counts as whole numbers (the runtime takes them as they are)."""
    from engine.lang.limits import NUMERIC_LIMITS, SECONDS

    declared = load_schema("plugin")["properties"]["resource_limits"]["properties"]
    assert list(declared) == list(NUMERIC_LIMITS)
    assert {name: spec["type"] for name, spec in declared.items()} == {
        name: "number" if name in SECONDS else "integer" for name in NUMERIC_LIMITS
    }


# -- the tools part: generated from the catalog, so editors know tools and arguments ------


def test_the_shipped_action_schema_is_generated_from_the_shipped_catalog(
    tmp_path: Path,
) -> None:
    shipped = schema_path("action").read_text("utf-8")
    assert shipped == schema_text(action_schema(ToolCatalog.builtin())), (
        "run `python -m engine.tools.schema_tools` to regenerate schemas/action.schema.json"
    )
    target = write_shipped(tmp_path / "action.schema.json")
    assert target.read_text("utf-8") == shipped


def test_the_tools_part_follows_the_catalog() -> None:
    tool = ToolCatalog.builtin()["km_notifications"]
    narrow = ToolCatalog([tool])
    rules = action_schema(narrow)["$defs"][TOOL_CALLS]["allOf"]
    assert rules[0]["then"]["properties"]["tool"] == {"enum": ["km_notifications"]}
    arguments = rules[1]["then"]["properties"]["with"]
    assert sorted(arguments["properties"]) == sorted(tool.properties)
    assert (arguments["required"], arguments["additionalProperties"]) == (
        ["notification_type", "title", "message"],
        False,
    )


def _published() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema("action"))


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in BUNDLED])
def test_the_bundled_actions_fit_the_published_schema(path: Path) -> None:
    data = load_text(path.read_text("utf-8"), file=path.name).data
    assert [e.message for e in _published().iter_errors(data)] == []


NOTIFY = """\
api_version: "1.1"
kind: action
name: notify
inputs:
  seconds: {type: number, default: 2}
steps:
  - tool: km_notifications
    with: {notification_type: hud, title: Hi, message: there, duration: 2}
"""


@pytest.mark.parametrize(
    ("before", "after", "problem"),
    [
        pytest.param("message:", "mesage:", "'mesage' was unexpected", id="misspelt-argument"),
        pytest.param("km_notifications", "km_notification", "is not one of", id="misspelt-tool"),
        pytest.param("hud,", "hdu,", "is not valid", id="value-not-allowed"),
        pytest.param("duration: 2", 'duration: "two"', "is not valid", id="text-for-a-number"),
        pytest.param("title: Hi, ", "", "'title' is a required property", id="missing"),
    ],
)
def test_a_wrong_tool_call_fails_the_published_schema(
    before: str, after: str, problem: str
) -> None:
    assert list(_published().iter_errors(load_text(NOTIFY).data)) == []
    data = load_text(NOTIFY.replace(before, after, 1)).data
    messages = [e.message for e in _published().iter_errors(data)]
    assert messages and any(problem in m for m in messages), messages


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(
            {"notification_type": "hud", "title": "a", "message": "b", "duration": "{{ x }}"},
            id="number",
        ),
        pytest.param(
            {"notification_type": "{{ inputs.kind }}", "title": "a", "message": "b"},
            id="pattern",
        ),
    ],
)
def test_a_template_fits_any_argument(arguments: dict[str, Any]) -> None:
    step = {"tool": "km_notifications", "with": arguments}
    data = {**load_text(NOTIFY).data, "steps": [step]}
    assert [e.message for e in _published().iter_errors(data)] == []


@pytest.mark.parametrize(
    ("operation", "valid"), [("get", True), ("{{ x }}", True), ("gett", False)]
)
def test_the_operations_of_a_tool_are_listed(operation: str, valid: bool) -> None:
    step = {"tool": "km_variable_manager", "with": {"operation": operation, "name": "x"}}
    data = {**load_text(NOTIFY).data, "steps": [step]}
    assert _published().is_valid(data) is valid


ORDER_PROBE = """
import json, sys
from engine.engine import Engine
from engine.load.sourcemap import Document
data = {
    "api_version": "1.1", "kind": "action", "name": "x", "description": "X.",
    "inputs": {"a": {"type": "string", "colour": 1, "size": 2}, "b": {"tpye": "string"}},
    "steps": [{"set": {"x": "{{ inputs.a }}{{ inputs.b }}"}}],
}
document = Document.from_data(data, file="x.json")
print(json.dumps([[d.code, list(d.path)] for d in Engine().validate(document)]))
"""


def test_problems_of_a_manifest_given_as_data_come_in_one_order_in_every_process() -> None:
    """A manifest given as data (MCP `create`) has no lines to sort its problems by: they
    come in the order of its keys, whatever the process's string hash seed (jsonschema
    collects extra keys in a set, whose order changes with the seed)."""
    import json
    import os
    import subprocess
    import sys

    orders = set()
    for seed in ("1", "2", "3"):
        said = subprocess.run(
            [sys.executable, "-c", ORDER_PROBE],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        orders.add(said)
    assert len(orders) == 1
    assert json.loads(orders.pop()) == [
        ["unknown-key", ["inputs", "a", "colour"]],
        ["unknown-key", ["inputs", "a", "size"]],
        ["unknown-key", ["inputs", "b", "tpye"]],
    ]
