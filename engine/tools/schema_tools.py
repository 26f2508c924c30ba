"""The tools part of the action schema: each tool's name and arguments, for editors.

``schemas/action.schema.json`` is written by hand, except ``$defs.tool_calls``, which
this module generates from a tool catalog: in a `tool` step, `tool` is one of the
catalog's names, and for each tool an ``if``/``then`` rule gives `with` that tool's
arguments (``additionalProperties: false``), so an editor using the schema flags a
misspelt tool or argument as it is typed. A value holding a ``{{ … }}`` template is
accepted wherever an argument is (it is checked when the step runs).

The shipped file is generated from the shipped catalog (a test keeps them in step:
``python -m engine.tools.schema_tools`` rewrites it); ``km-actions schema`` prints it for the
tools `km-actions validate` checks against (those of the server last connected to).

>>> from engine.tools.catalog import ToolCatalog
>>> rules = tool_calls_schema(ToolCatalog.builtin())["allOf"]
>>> names = rules[0]["then"]["properties"]["tool"]["enum"]
>>> "km_notifications" in names, len(rules) == len(names) + 1
(True, True)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.resources import load_schema, schema_path
from engine.tools.catalog import ToolCatalog, ToolSpec

TOOL_CALLS = "tool_calls"
TEMPLATE = "template"
_TEMPLATE_REF = {"$ref": f"#/$defs/{TEMPLATE}"}
_TEMPLATE_SCHEMA = {
    "title": "Template",
    "description": "A value computed when the step runs, from a `{{ … }}` template, e.g. "
    '"{{ inputs.count }}". Checked against what the tool takes when the step runs.',
    "type": "string",
    "pattern": "\\{\\{",
}
_WIDTH = 100
# Keywords an argument's schema keeps beside the alternatives (what an editor shows).
_SHOWN = ("title", "description", "default", "examples")


def action_schema(catalog: ToolCatalog) -> dict[str, Any]:
    """The published action schema, its tools part generated from ``catalog``."""
    schema = copy.deepcopy(load_schema("action"))
    schema["$defs"][TEMPLATE] = dict(_TEMPLATE_SCHEMA)
    schema["$defs"][TOOL_CALLS] = tool_calls_schema(catalog)
    return schema


def language_schema() -> dict[str, Any]:
    """The shipped action schema without its tools part: what MCP callers read (they have
    the tools, with their classes, in ``km-actions://catalog``; a schema 3 times the size
    would cost them tokens for nothing).

    >>> schema = language_schema()
    >>> TOOL_CALLS in schema["$defs"], "tool_calls" in json.dumps(schema["$defs"]["step"])
    (False, False)
    """
    schema = copy.deepcopy(load_schema("action"))
    defs = schema["$defs"]
    for name in (TOOL_CALLS, TEMPLATE):
        defs.pop(name, None)
    rules = defs["step"]["allOf"]
    defs["step"]["allOf"] = [r for r in rules if r != {"$ref": f"#/$defs/{TOOL_CALLS}"}]
    return schema


def schema_text(schema: Mapping[str, Any]) -> str:
    """A schema as the shipped file holds it (and `km-actions schema` prints it): indented,
    with what fits in a line of 100 characters, and each tool argument, on one line.

    >>> print(schema_text({"a": {"b": [1, 2]}, "c": ["x" * 50, "y" * 50]}), end="")
    {
      "a": {"b": [1, 2]},
      "c": [
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
      ]
    }
    """
    return _dump(schema, (), 0, 0) + "\n"


def _dump(node: Any, path: tuple[Any, ...], indent: int, before: int) -> str:
    """``node`` as JSON starting at column ``indent + before``."""
    flat = json.dumps(node, ensure_ascii=False, separators=(", ", ": "))
    if (
        not isinstance(node, dict | list)
        or not node
        or indent + before + len(flat) <= _WIDTH
        or _is_argument(path)
    ):
        return flat
    pad = " " * (indent + 2)
    if isinstance(node, dict):
        lines = []
        for key, value in node.items():
            label = json.dumps(key, ensure_ascii=False) + ": "
            lines.append(pad + label + _dump(value, (*path, key), indent + 2, len(label)))
        return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"
    items = [pad + _dump(v, (*path, i), indent + 2, 0) for i, v in enumerate(node)]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def _is_argument(path: tuple[Any, ...]) -> bool:
    """``$defs.tool_calls.allOf[i].then.properties.with.properties.<argument>``."""
    return (
        len(path) == 9
        and path[:2] == ("$defs", TOOL_CALLS)
        and path[-3:-1] == ("with", "properties")
    )


def tool_calls_schema(catalog: ToolCatalog) -> dict[str, Any]:
    """``if``/``then`` rules for the `tool` steps: the tool names, and each one's `with`."""
    names = sorted(catalog)
    rules: list[dict[str, Any]] = [
        {"if": {"required": ["tool"]}, "then": {"properties": {"tool": {"enum": names}}}}
    ]
    rules.extend(_tool_rule(catalog[name]) for name in names)
    return {
        "title": "Tool calls",
        "description": "Generated from the km_* tools km-actions checks against (`km-actions "
        "schema --tools`): the name of the tool of a `tool` step, and the arguments it takes "
        "under `with`.",
        "allOf": rules,
    }


def _tool_rule(tool: ToolSpec) -> dict[str, Any]:
    schema = tool.input_schema
    arguments: dict[str, Any] = {
        "type": "object",
        "properties": {name: _argument(tool, name, prop) for name, prop in tool.properties.items()},
    }
    if tool.required:
        arguments["required"] = list(tool.required)
    if schema.get("additionalProperties") is False:
        arguments["additionalProperties"] = False
    then: dict[str, Any] = {"properties": {"with": arguments}}
    if tool.required:
        then["required"] = ["with"]
    return {
        "if": {"properties": {"tool": {"const": tool.name}}, "required": ["tool"]},
        "then": then,
    }


def _argument(tool: ToolSpec, name: str, prop: Any) -> Any:
    """One argument's schema, with a template allowed wherever the value is not free text;
    the operation argument of a tool with operations lists them."""
    if not isinstance(prop, Mapping):
        return prop
    shown = {k: prop[k] for k in _SHOWN if k in prop}
    rest = {k: v for k, v in prop.items() if k not in _SHOWN}
    operations = tool.operations
    if operations is not None and name == operations.parameter:
        return {**shown, "anyOf": [{"enum": list(operations.classes)}, _TEMPLATE_REF]}
    options = rest["anyOf"] if list(rest) == ["anyOf"] else [rest]
    if any(_any_text(option) for option in options):
        return dict(prop)
    return {**shown, "anyOf": [*options, _TEMPLATE_REF]}


def _any_text(option: Any) -> bool:
    """Whether a schema accepts any text (so a template too): no type, or a string type
    with no other constraint."""
    if not isinstance(option, Mapping):
        return False
    kind = option.get("type")
    if kind is None:
        return not option
    return kind == "string" and set(option) == {"type"}


def write_shipped(path: Path | None = None) -> Path:
    """Rewrite the shipped action schema with the shipped catalog's tools."""
    target = path or schema_path("action")
    target.write_text(schema_text(action_schema(ToolCatalog.builtin())), "utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover
    print(f"wrote {write_shipped()}")
