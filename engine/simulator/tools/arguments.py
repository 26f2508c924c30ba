"""A tool's arguments checked as the real server's FastMCP checks them, before any tool code.

The Keyboard Maestro MCP server is built on FastMCP: pydantic validates a call's arguments
against the tool function's signature, and a violation is answered as an MCP error
(``isError`` true, pydantic's message as text, no structured content). The simulator
compiles each tool's *published* inputSchema into the same pydantic-core validator (the
signature is what the schema was made from), so the messages are pydantic's own and
values are coerced the same way (``"5"`` for an integer is 5, 2 for a number is 2.0).

>>> from engine.tools.catalog import ToolCatalog
>>> spec = ToolCatalog.builtin()["km_variable_manager"]
>>> ArgumentChecker(spec).check({"operation": "get", "name": "Greeting"})
{'operation': 'get', 'name': 'Greeting', 'value': None, 'scope': 'global', '_instance_id': None}
>>> try:
...     ArgumentChecker(spec).check({"name": "Greeting", "limit": 5})
... except SchemaViolation as violation:
...     print(violation.text)
2 validation errors for call[km_variable_manager]
operation
  Missing required argument [type=missing_argument, input_value={'name': 'Greeting', 'limit': 5}, \
input_type=dict]
    For further information visit https://errors.pydantic.dev/2.14/v/missing_argument
limit
  Unexpected keyword argument [type=unexpected_keyword_argument, input_value=5, input_type=int]
    For further information visit https://errors.pydantic.dev/2.14/v/unexpected_keyword_argument
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import SchemaValidator, ValidationError, core_schema

from engine.tools.catalog import ToolSpec

__all__ = ["ArgumentChecker", "SchemaViolation", "checker_for"]

CoreSchema = core_schema.CoreSchema


class SchemaViolation(Exception):
    """Arguments the tool's schema refuses; ``str()`` is pydantic's message, as sent."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ArgumentChecker:
    """One tool's compiled validator (built once per tool specification)."""

    __slots__ = ("absent", "spec", "validator")

    def __init__(self, spec: ToolSpec) -> None:
        self.spec = spec
        schema = spec.input_schema
        required = set(spec.required)
        parameters = [
            _parameter(name, prop if isinstance(prop, Mapping) else {}, name in required)
            for name, prop in spec.properties.items()
        ]
        # FastMCP publishes additionalProperties false; a connected server's schema that
        # does not say so accepts other arguments, as JSON Schema does.
        extra = None if schema.get("additionalProperties") is False else core_schema.any_schema()
        arguments = core_schema.arguments_schema(parameters, var_kwargs_schema=extra)
        # Optional parameters the schema gives no default: absent stays absent.
        self.absent = tuple(
            name
            for name, prop in spec.properties.items()
            if name not in required and not (isinstance(prop, Mapping) and "default" in prop)
        )
        self.validator = SchemaValidator(
            core_schema.call_schema(arguments, _keywords, function_name=spec.name)
        )

    def check(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments with defaults filled in and values coerced; :class:`SchemaViolation`
        with pydantic's text when the schema refuses them."""
        try:
            checked: dict[str, Any] = self.validator.validate_python(dict(arguments))
        except ValidationError as problem:
            raise SchemaViolation(str(problem)) from None
        for name in self.absent:
            if name not in arguments:
                del checked[name]
        return checked


def _keywords(**arguments: Any) -> dict[str, Any]:
    return arguments


def _parameter(
    name: str, prop: Mapping[str, Any], required: bool
) -> core_schema.ArgumentsParameter:
    schema = schema_of(prop)
    if not required:
        schema = core_schema.with_default_schema(schema, default=prop.get("default"))
    return core_schema.arguments_parameter(name, schema)


def schema_of(prop: Mapping[str, Any]) -> CoreSchema:
    """The pydantic-core schema of one JSON Schema property (the subset FastMCP publishes).

    >>> schema_of({"anyOf": [{"type": "string"}, {"type": "null"}]})["type"]
    'nullable'
    """
    options = prop.get("anyOf")
    if isinstance(options, list) and options:
        return _alternatives([o if isinstance(o, Mapping) else {} for o in options])
    if isinstance(prop.get("enum"), list):
        return core_schema.literal_schema(list(prop["enum"]))
    kind = prop.get("type")
    if isinstance(kind, list):
        return _alternatives([{**prop, "type": k} for k in kind])
    builder = _BUILDERS.get(str(kind)) if kind is not None else None
    return builder(prop) if builder is not None else core_schema.any_schema()


def _alternatives(options: list[Mapping[str, Any]]) -> CoreSchema:
    """``X | None`` is pydantic's nullable schema; anything else a (smart) union."""
    others = [o for o in options if o.get("type") != "null"]
    inner = (
        schema_of(others[0])
        if len(others) == 1
        else core_schema.union_schema([schema_of(o) for o in others])
        if others
        else core_schema.none_schema()
    )
    return core_schema.nullable_schema(inner) if len(others) < len(options) else inner


def _bounds(prop: Mapping[str, Any]) -> dict[str, Any]:
    names = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt"}
    return {key: prop[word] for word, key in names.items() if word in prop}


def _string(prop: Mapping[str, Any]) -> CoreSchema:
    return core_schema.str_schema(
        pattern=prop.get("pattern"),
        min_length=prop.get("minLength"),
        max_length=prop.get("maxLength"),
    )


def _array(prop: Mapping[str, Any]) -> CoreSchema:
    items = prop.get("items")
    return core_schema.list_schema(
        schema_of(items) if isinstance(items, Mapping) else core_schema.any_schema(),
        min_length=prop.get("minItems"),
        max_length=prop.get("maxItems"),
    )


def _object(prop: Mapping[str, Any]) -> CoreSchema:
    values = prop.get("additionalProperties")
    return core_schema.dict_schema(
        core_schema.str_schema(),
        schema_of(values) if isinstance(values, Mapping) else core_schema.any_schema(),
    )


_BUILDERS: Mapping[str, Any] = {
    "string": _string,
    "integer": lambda p: core_schema.int_schema(**_bounds(p)),
    "number": lambda p: core_schema.float_schema(**_bounds(p)),
    "boolean": lambda p: core_schema.bool_schema(),
    "null": lambda p: core_schema.none_schema(),
    "array": _array,
    "object": _object,
}

# Compiled checkers, shared by every simulator serving the same (immutable) ToolSpec.
_COMPILED: dict[int, ArgumentChecker] = {}
_MAX_COMPILED = 2_000


def checker_for(spec: ToolSpec) -> ArgumentChecker:
    """The cached :class:`ArgumentChecker` of ``spec``."""
    checker = _COMPILED.get(id(spec))
    if checker is None or checker.spec is not spec:
        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.clear()
        checker = _COMPILED[id(spec)] = ArgumentChecker(spec)
    return checker
