"""Schema handlers for sizes and bounds: ranges, lengths, repeats, and either-or keys."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import jsonschema

from engine.diagnostics.errors import Diagnostic, Path
from engine.lang.secrets import schema_message
from engine.validate._words import context_words, field_name, show
from engine.validate.schema import NESTED_STEP_KEYS

if TYPE_CHECKING:
    from engine.validate.schema_pass import SchemaChecker


def out_of_range(
    checker: SchemaChecker,
    error: jsonschema.ValidationError,
    path: Path,
    schema: Mapping[str, Any],
    kind: str | None,
) -> Iterator[Diagnostic]:
    bound = error.validator_value
    words = {
        "minimum": f"at least {bound}",
        "maximum": f"at most {bound}",
        "exclusiveMinimum": f"more than {bound}",
        "exclusiveMaximum": f"less than {bound}",
    }[str(error.validator)]
    yield checker.document.diagnostic(
        "out-of-range",
        f"{field_name(path)} must be {words}, not {show(error.instance)}",
        path,
        hint=schema.get("description") or f"write a number {words}",
    )


def wrong_size(
    checker: SchemaChecker,
    error: jsonschema.ValidationError,
    path: Path,
    schema: Mapping[str, Any],
    kind: str | None,
) -> Iterator[Diagnostic]:
    keyword = str(error.validator)
    bound = error.validator_value
    unit = {
        "minItems": "item",
        "maxItems": "item",
        "minLength": "character",
        "maxLength": "character",
        "minProperties": "entry",
        "maxProperties": "entry",
    }[keyword]
    if keyword.startswith("min") and bound == 1:
        what = "step" if path and path[-1] in NESTED_STEP_KEYS else unit
        yield checker.document.diagnostic(
            "empty",
            f"{field_name(path)} is empty; it needs at least one {what}",
            path,
            hint=schema.get("description") or f"add at least one {what}, or remove it",
        )
        return
    code = "too-short" if keyword.startswith("min") else "too-long"
    word = "at least" if keyword.startswith("min") else "at most"
    yield checker.document.diagnostic(
        code,
        f"{field_name(path)} must have {word} {bound} {unit}s",
        path,
        hint=schema.get("description") or f"make it {word} {bound} {unit}s long",
    )


def repeated_item(
    checker: SchemaChecker,
    error: jsonschema.ValidationError,
    path: Path,
    schema: Mapping[str, Any],
    kind: str | None,
) -> Iterator[Diagnostic]:
    seen: list[Any] = []
    items = error.instance if isinstance(error.instance, list) else []
    for index, item in enumerate(items):
        if item in seen:
            yield checker.document.diagnostic(
                "duplicate-item",
                f"{show(item)} appears twice in {field_name(path)}",
                (*path, index),
                hint="remove the repeated item",
            )
            return
        seen.append(item)


def bad_mock(
    checker: SchemaChecker,
    error: jsonschema.ValidationError,
    path: Path,
    schema: Mapping[str, Any],
    kind: str | None,
) -> Iterator[Diagnostic]:
    # A list or a `match` mapping that is wrong inside: report what is wrong in it.
    value = error.instance
    branch = 0 if isinstance(value, list) else 1 if isinstance(value, Mapping) else None
    if isinstance(value, list) or (isinstance(value, Mapping) and "match" in value):
        base = path[: len(path) - len(error.absolute_path)]
        inner = [e for e in error.context or () if e.relative_schema_path[0] == branch]
        for sub in inner:
            yield from checker.diagnose(sub, base, None)
        if inner:
            return
    yield checker.document.diagnostic(
        "invalid-mock",
        f"the mock for {field_name(path)} must be a list of answers or a mapping with `match`",
        path,
        hint="write answers in call order as a list ([{success: true, data: …}]), or "
        "`match: [{with: {…}, result: {…}}]` to answer by arguments",
    )


def one_of_keys_missing(
    checker: SchemaChecker,
    error: jsonschema.ValidationError,
    path: Path,
    schema: Mapping[str, Any],
    kind: str | None,
) -> Iterator[Diagnostic]:
    options = error.validator_value if isinstance(error.validator_value, list) else []
    keys = [o["required"][0] for o in options if list(o) == ["required"]]
    if len(keys) != len(options) or not keys:
        yield checker.document.diagnostic(
            "invalid-format",
            f"{field_name(path)} is not valid: {schema_message(error)}",
            path,
            hint=schema.get("description") or "see `km-actions schema` for the form",
        )
        return
    listed = ", ".join(f"`{k}`" for k in keys[:-1]) + f" or `{keys[-1]}`"
    yield checker.document.diagnostic(
        "missing-key",
        f"{context_words(schema, path)} needs {listed}",
        path,
        at_key=True,
        hint=schema.get("description") or f"add one of {listed}",
    )
