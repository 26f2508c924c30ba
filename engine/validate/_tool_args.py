"""Literal tool arguments checked against the tool's inputSchema, before anything runs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jsonschema

from engine.catalog import ToolSpec
from engine.errors import Diagnostic, Path
from engine.secrets import schema_message
from engine.sourcemap import Document
from engine.suggest import closest, did_you_mean
from engine.templates import is_template
from engine.tool_schema import allowed_values, argument_types
from engine.validate._schema_pass import SchemaChecker
from engine.validate._words import show as _show
from engine.words import TYPE_WORDS, fits_type


@lru_cache(maxsize=2048)
def _property_validator(schema_json: str) -> Any:
    return jsonschema.Draft202012Validator(json.loads(schema_json))


_BY_ID: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _validator_for(schema: Mapping[str, Any]) -> Any:
    """The validator of a property schema (built once); catalogs are long-lived, so
    look up by identity first and fall back to the schema's content."""
    found = _BY_ID.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    validator = _property_validator(json.dumps(schema, sort_keys=True))
    if len(_BY_ID) > 4096:
        _BY_ID.clear()
    _BY_ID[id(schema)] = (schema, validator)
    return validator


def _has_template(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if is_template(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def check_tool_arguments(
    document: Document, checker: SchemaChecker, tool: ToolSpec, args: Any, path: Path
) -> Iterator[Diagnostic]:
    """Unknown, missing, mistyped and out-of-enum arguments of one tool step."""
    if not isinstance(args, Mapping):
        args = {}
    props = tool.properties
    closed = tool.input_schema.get("additionalProperties") is False
    for name, value in args.items():
        arg_path = (*path, name)
        schema = props.get(name)
        if schema is None:
            if closed:
                yield document.diagnostic(
                    "unknown-argument",
                    f"{tool.name} has no argument `{name}`",
                    arg_path,
                    at_key=True,
                    hint=did_you_mean(str(name), props),
                )
            continue
        if _has_template(value):
            continue
        known = _operations_named_by(tool, name)
        if known is not None and isinstance(value, str) and value not in known:
            yield document.diagnostic(
                "argument-value",
                f"{tool.name} has no operation {_show(value)}",
                arg_path,
                hint=did_you_mean(value, known),
            )
            continue
        yield from _check_value(document, checker, tool, name, schema, value, arg_path)
    # An unknown argument is reported (with its did-you-mean) when the tool takes no other.
    unknown = [str(k) for k in args if k not in props] if closed else []
    for name in tool.required:
        if name not in args and not any(closest(k, props) == name for k in unknown):
            # (a misspelt argument is reported, with its did-you-mean, not also missing)
            described = props.get(name, {}).get("description", "")
            yield document.diagnostic(
                "missing-argument",
                f"{tool.name} needs the argument `{name}`",
                path if args else path[:-1],
                at_key=True,
                hint=f"add `{name}: …` under `with:`" + (f" ({described})" if described else ""),
            )


def _operations_named_by(tool: ToolSpec, argument: str) -> Mapping[str, Any] | None:
    """The operations of a tool, when ``argument`` is the one that names them (the server's
    schema says only "text" there; the catalog knows each operation)."""
    operations = tool.operations
    return operations.classes if operations and argument == operations.parameter else None


def _check_value(
    document: Document,
    checker: SchemaChecker,
    tool: ToolSpec,
    name: str,
    schema: Mapping[str, Any],
    value: Any,
    path: Path,
) -> Iterator[Diagnostic]:
    validator = _validator_for(schema)
    if validator.is_valid(value):
        return
    allowed = allowed_values(schema)
    if allowed is not None and isinstance(value, str) and value not in allowed:
        yield document.diagnostic(
            "argument-value",
            f"{tool.name} does not accept {_show(value)} for `{name}`",
            path,
            hint=did_you_mean(value, [str(a) for a in allowed]),
        )
        return
    types = argument_types(schema)
    if types and not any(_fits(value, t) for t in types):
        words = " or ".join(dict.fromkeys(_word(t) for t in types if t != "null"))
        yield checker.type_problem(
            path,
            value,
            words or "a different value",
            wants_text="string" in types,
            code="argument-type",
        )
        return
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    detail = schema_message(error) if error is not None else "it does not fit the tool's schema"
    yield document.diagnostic(
        "argument-type",
        f"`{name}` of {tool.name} is not valid: {detail}",
        path,
        hint=schema.get("description") or "`km-actions schema --tools` shows what each tool takes",
    )


def _fits(value: Any, json_type: str) -> bool:
    if json_type == "null":
        return value is None
    return fits_type(value, json_type)


def _word(json_type: str) -> str:
    return TYPE_WORDS.get(json_type, json_type)
