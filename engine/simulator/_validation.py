"""Arguments checked against each tool's inputSchema, with answers that say how to fix them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from engine.catalog import ToolSpec
from engine.errors import format_path
from engine.simulator._context import ToolFailure, did_you_mean
from engine.simulator._jsondata import copy_json
from engine.simulator._schemas import NO_REMOTE

# A pattern that is really an enum: ^(a|b|c)$
_ALTERNATION = re.compile(r"^\^\(([\w|]+)\)\$$")
_PERMISSIVE: dict[str, Any] = {"type": "object"}


class ToolValidator:
    """One tool's compiled validator and its argument defaults (built once, then cached)."""

    __slots__ = ("defaults", "properties", "spec", "validator")

    def __init__(self, spec: ToolSpec) -> None:
        self.spec = spec
        schema = dict(spec.input_schema)
        # The shipped schemas are checked by the test suite; checking one costs ~8 ms.
        if spec.source != "builtin":
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError:
                # A connected server published a broken schema: accept objects, not crash.
                schema = _PERMISSIVE
        self.validator = Draft202012Validator(schema, registry=NO_REMOTE)
        props = schema.get("properties", {})
        self.properties: Mapping[str, Any] = props if isinstance(props, Mapping) else {}
        self.defaults = {
            name: sub["default"]
            for name, sub in self.properties.items()
            if isinstance(sub, Mapping) and "default" in sub
        }

    def check(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Validated arguments with defaults filled in, or a VALIDATION_ERROR failure."""
        errors = self.validator.iter_errors(arguments)
        first = next(errors, None)
        if first is not None:
            raise self._failure(best_match([first, *errors]), arguments)
        args = dict(arguments)
        for name, value in arguments.items():
            # JSON Schema lets 1.0 be an integer; handlers slice and count with it.
            if (
                isinstance(value, float)
                and value.is_integer()
                and _is_integer(self.properties, name)
            ):
                args[name] = int(value)
        for name, default in self.defaults.items():
            if name not in args:
                args[name] = copy_json(default)
        return args

    def _failure(self, error: ValidationError, arguments: Mapping[str, Any]) -> ToolFailure:
        path = tuple(error.absolute_path)
        where = f"argument '{_display(path)}'" if path else "the arguments"
        message = f"invalid arguments for {self.spec.name}: {where}: {error.message}"
        hint = self._hint(error, arguments)
        details = {"path": format_path(path), "rule": str(error.validator)}
        return ToolFailure("VALIDATION_ERROR", message, hint, details)

    def _hint(self, error: ValidationError, arguments: Mapping[str, Any]) -> str:
        rule, value = error.validator, error.instance
        expected: Any = error.validator_value
        if rule == "required" and not error.absolute_path:
            missing = [r for r in expected if r not in arguments]
            return f"Add the required argument(s): {', '.join(missing)}."
        if rule == "additionalProperties" and not error.absolute_path:
            extra = sorted(k for k in arguments if k not in self.properties)
            known = ", ".join(sorted(self.properties)) or "none"
            first = extra[0] if extra else ""
            return (
                f"Remove {', '.join(repr(e) for e in extra)}.{did_you_mean(first, self.properties)}"
                f" This tool takes: {known}."
            )
        if rule == "enum":
            return _one_of([str(v) for v in expected], value)
        if rule == "pattern" and (match := _ALTERNATION.match(str(expected))):
            return _one_of(match.group(1).split("|"), value)
        if rule == "pattern":
            return f"Use a value matching the regular expression {expected}."
        if rule == "type":
            return f"Pass a value of type {_types(expected)}."
        if rule in _BOUNDS:
            return f"Use a value {_BOUNDS[str(rule)]} {expected}."
        return f"Check the argument against {self.spec.name}'s inputSchema ({rule}: {expected})."


_BOUNDS = {
    "minimum": "of at least",
    "maximum": "of at most",
    "exclusiveMinimum": "greater than",
    "exclusiveMaximum": "less than",
    "minLength": "with at least this many characters:",
    "maxLength": "with at most this many characters:",
    "minItems": "with at least this many items:",
    "maxItems": "with at most this many items:",
}


def _one_of(allowed: list[str], value: Any) -> str:
    guess = did_you_mean(value, allowed) if isinstance(value, str) else ""
    return f"Use one of: {', '.join(allowed)}.{guess}"


def _types(expected: Any) -> str:
    if isinstance(expected, list):
        return " or ".join(str(t) for t in expected)
    return str(expected)


def _is_integer(properties: Mapping[str, Any], name: str) -> bool:
    """Whether the argument is an integer (directly, or as an ``anyOf`` option)."""
    sub = properties.get(name)
    if not isinstance(sub, Mapping):
        return False
    options = [sub, *(o for o in sub.get("anyOf", ()) if isinstance(o, Mapping))]
    kinds = [o.get("type") for o in options]
    flat = [k for kind in kinds for k in (kind if isinstance(kind, list) else [kind])]
    return "integer" in flat and "number" not in flat


def _display(path: tuple[str | int, ...]) -> str:
    """``operation`` or ``buttons[3]``: a JSON path without its leading ``$.``."""
    return format_path(path).removeprefix("$").removeprefix(".")
