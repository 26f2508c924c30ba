"""A fast yes/no JSON Schema check for the keyword subset our schemas use.

jsonschema explains errors well but costs ~40 µs per small object, which puts a
10-step manifest over its 2 ms budget. Valid manifests are the common case, so the
validator asks this compiled check first and calls jsonschema only for the parts that
fail, to collect and explain the errors. Compiling a schema with a keyword this module
does not know raises :class:`Unsupported`; callers then use jsonschema alone. The tests
check, on random documents, that both always agree.

>>> check = compile_schema({"type": "object", "required": ["a"],
...                         "properties": {"a": {"type": "integer", "minimum": 1}}})
>>> check({"a": 2}), check({"a": 0}), check({"a": True}), check({})
(True, False, False, False)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "$schema",
        "$id",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "secret",
        "$defs",
        "patternErrorMessage",  # what editors (yaml-language-server) say when a pattern fails
    }
)


class Unsupported(Exception):
    """The schema uses a keyword this fast path does not implement."""


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def equal(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema sees it: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if type(a) is not type(b) and not (_is_number(a) and _is_number(b)):
        return False
    return bool(a == b)


def compile_schema(schema: Any) -> Check:
    """A function telling whether an instance is valid against ``schema``."""
    if schema is True or schema == {}:
        return lambda value: True
    if schema is False:
        return lambda value: False
    if not isinstance(schema, Mapping):
        raise Unsupported(f"not a schema: {schema!r}")
    unknown = set(schema) - set(_KEYWORDS) - _ANNOTATIONS
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))
    made = [_KEYWORDS[k](schema[k], schema) for k in schema if k in _KEYWORDS]
    checks: list[Check] = [c for c in made if c is not None]
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)
    if len(checks) == 3:
        a, b, c = checks
        return lambda value: a(value) and b(value) and c(value)
    return lambda value: all(check(value) for check in checks)


def _type(spec: Any, schema: Mapping[str, Any]) -> Check:
    names = spec if isinstance(spec, list) else [spec]
    tests = [_TYPES[n] for n in names]
    if len(tests) == 1:
        return tests[0]
    return lambda value: any(test(value) for test in tests)


def _enum(spec: Any, schema: Mapping[str, Any]) -> Check:
    options = list(spec)
    return lambda value: any(equal(value, option) for option in options)


def _const(spec: Any, schema: Mapping[str, Any]) -> Check:
    return lambda value: equal(value, spec)


def _properties(spec: Any, schema: Mapping[str, Any]) -> Check:
    props = {name: compile_schema(sub) for name, sub in spec.items()}

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        return all(sub(value[name]) for name, sub in props.items() if name in value)

    return check


def _additional(spec: Any, schema: Mapping[str, Any]) -> Check:
    if "patternProperties" in schema:
        raise Unsupported("patternProperties")
    known = frozenset(schema.get("properties", {}))
    if spec is False:
        return lambda value: not isinstance(value, dict) or value.keys() <= known
    sub = compile_schema(spec)
    return lambda value: (
        not isinstance(value, dict) or all(sub(v) for k, v in value.items() if k not in known)
    )


def _required(spec: Any, schema: Mapping[str, Any]) -> Check:
    names = tuple(spec)
    return lambda value: not isinstance(value, dict) or all(n in value for n in names)


def _pattern(spec: Any, schema: Mapping[str, Any]) -> Check:
    regex = re.compile(spec)
    return lambda value: not isinstance(value, str) or regex.search(value) is not None


def _bound(test: Callable[[Any, Any], bool], kind: str) -> Callable[[Any, Any], Check]:
    def make(spec: Any, schema: Mapping[str, Any]) -> Check:
        if kind == "number":
            return lambda value: not _is_number(value) or test(value, spec)
        if kind == "string":
            return lambda value: not isinstance(value, str) or test(len(value), spec)
        if kind == "array":
            return lambda value: not isinstance(value, list) or test(len(value), spec)
        return lambda value: not isinstance(value, dict) or test(len(value), spec)

    return make


def _items(spec: Any, schema: Mapping[str, Any]) -> Check:
    if isinstance(spec, list):
        raise Unsupported("items as a list")
    sub = compile_schema(spec)
    return lambda value: not isinstance(value, list) or all(sub(item) for item in value)


def _unique(spec: Any, schema: Mapping[str, Any]) -> Check | None:
    if not spec:
        return None

    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        for i, a in enumerate(value):
            for b in value[i + 1 :]:
                if equal(a, b):
                    return False
        return True

    return check


def _property_names(spec: Any, schema: Mapping[str, Any]) -> Check:
    sub = compile_schema(spec)
    return lambda value: not isinstance(value, dict) or all(sub(k) for k in value)


def _one_of(spec: Any, schema: Mapping[str, Any]) -> Check:
    subs = [compile_schema(s) for s in spec]
    return lambda value: sum(1 for sub in subs if sub(value)) == 1


def _any_of(spec: Any, schema: Mapping[str, Any]) -> Check:
    subs = [compile_schema(s) for s in spec]
    return lambda value: any(sub(value) for sub in subs)


def _all_of(spec: Any, schema: Mapping[str, Any]) -> Check:
    subs = [compile_schema(s) for s in spec]
    return lambda value: all(sub(value) for sub in subs)


def _not(spec: Any, schema: Mapping[str, Any]) -> Check:
    sub = compile_schema(spec)
    return lambda value: not sub(value)


_KEYWORDS: dict[str, Callable[[Any, Mapping[str, Any]], Check | None]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "pattern": _pattern,
    "minimum": _bound(lambda v, b: v >= b, "number"),
    "maximum": _bound(lambda v, b: v <= b, "number"),
    "exclusiveMinimum": _bound(lambda v, b: v > b, "number"),
    "exclusiveMaximum": _bound(lambda v, b: v < b, "number"),
    "minLength": _bound(lambda v, b: v >= b, "string"),
    "maxLength": _bound(lambda v, b: v <= b, "string"),
    "minItems": _bound(lambda v, b: v >= b, "array"),
    "maxItems": _bound(lambda v, b: v <= b, "array"),
    "minProperties": _bound(lambda v, b: v >= b, "object"),
    "maxProperties": _bound(lambda v, b: v <= b, "object"),
    "items": _items,
    "uniqueItems": _unique,
    "propertyNames": _property_names,
    "oneOf": _one_of,
    "anyOf": _any_of,
    "allOf": _all_of,
    "not": _not,
}
