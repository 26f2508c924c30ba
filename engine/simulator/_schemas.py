"""User-supplied JSON Schemas (dictionary schemas): checked once, compiled once, never fetched."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable

from engine.errors import format_path
from engine.simulator._context import ToolFailure

MAX_REPORTED = 20

# An empty registry: a $ref to another document is an error, never a download.
NO_REMOTE: Registry[Any] = Registry()


def compile_schema(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for ``schema``, or a VALIDATION_ERROR failure if it is not a valid schema."""
    return _compile(json.dumps(schema, sort_keys=True))


@lru_cache(maxsize=64)
def _compile(text: str) -> Draft202012Validator:
    schema = json.loads(text)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as problem:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"'schema' is not a valid JSON Schema: {problem.message}",
            'Pass a JSON Schema (draft 2020-12), e.g. {"type": "object"}.',
            {"field": "schema"},
        ) from problem
    return Draft202012Validator(schema, registry=NO_REMOTE)


def schema_errors(schema: dict[str, Any], data: Any) -> list[dict[str, str]]:
    """Where ``data`` breaks ``schema`` (at most 20 problems, in document order)."""
    validator = compile_schema(schema)
    try:
        errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    except Unresolvable as problem:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"the schema refers to something it does not contain: {problem}",
            "Keep every $ref inside the schema (e.g. '#/$defs/name'); nothing is downloaded.",
            {"field": "schema"},
        ) from problem
    return [
        {"path": format_path(tuple(e.absolute_path)), "message": e.message}
        for e in errors[:MAX_REPORTED]
    ]
