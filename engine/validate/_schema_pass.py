"""Schema checks: jsonschema errors rewritten into plain words, with did-you-mean."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

from engine.errors import Diagnostic, Path
from engine.inputs import TYPE_WORDS, type_word
from engine.schema import NESTED_STEP_KEYS, ManifestSchemas
from engine.sourcemap import Document
from engine.suggest import did_you_mean

_IDENTIFIER_PATTERNS = ("^[a-z][a-z0-9_-]{0,63}$", "^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)*$")
_SEMVER_HINT = 'write a version as MAJOR.MINOR.PATCH in quotes, e.g. "1.0.0"'


def _field(path: Path) -> str:
    """How a value is named in a message: `max_attempts`, `step 3`, `item 2 of permissions`."""
    if not path:
        return "the document"
    last = path[-1]
    if isinstance(last, str):
        return f"`{last}`"
    parent = path[-2] if len(path) > 1 else None
    if parent in ("steps", "catch", "otherwise"):
        return f"step {last + 1}" + (
            f" of `{parent}`" if parent != "steps" or len(path) > 2 else ""
        )
    return f"item {last + 1}" + (f" of `{parent}`" if isinstance(parent, str) else "")


def _show(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 50 else text[:47] + "…"


def _expected(schema: Mapping[str, Any]) -> str:
    types = schema.get("type")
    names = types if isinstance(types, list) else [types]
    words = [TYPE_WORDS.get(str(t), str(t)) for t in names if t]
    return " or ".join(words) if words else "a different value"


class SchemaChecker:
    """Turns jsonschema errors for one document into diagnostics."""

    def __init__(self, document: Document, schemas: ManifestSchemas) -> None:
        self.document = document
        self.schemas = schemas

    def check_top(self) -> list[Diagnostic]:
        return self._run(self.schemas.top, self.document.data, ())

    def check_plugin(self) -> list[Diagnostic]:
        return self._run(self.schemas.plugin_validator, self.document.data, ())

    def check_step(self, kind: str, step: Mapping[str, Any], path: Path) -> list[Diagnostic]:
        return self._run(self.schemas.steps[kind], step, path, kind=kind)

    def _run(
        self, validator: Any, instance: Any, base: Path, kind: str | None = None
    ) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        for error in validator.iter_errors(instance):
            out.extend(self._diagnose(error, base, kind))
        return out

    def _diagnose(
        self, error: jsonschema.ValidationError, base: Path, kind: str | None
    ) -> Iterator[Diagnostic]:
        path: Path = (*base, *error.absolute_path)
        keyword = str(error.validator)
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        if "propertyNames" in error.absolute_schema_path:
            yield self._bad_name(path, error.instance)
            return
        handler = _HANDLERS.get(keyword)
        if handler is not None:
            yield from handler(self, error, path, schema, kind)
            return
        yield self.document.diagnostic(
            "invalid-format", f"{_field(path)} is not valid: {error.message}", path
        )

    # -- keyword handlers --------------------------------------------------------------

    def _additional(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        allowed = list(schema.get("properties", {}))
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        for key in instance:
            if key in allowed:
                continue
            key_path = (*path, key)
            if kind is not None and key in self.schemas.step_properties:
                owners = [k for k, keys in self.schemas.step_kinds.items() if key in keys]
                yield self.document.diagnostic(
                    "misplaced-key",
                    f"`{key}` does not belong in a `{kind}` step",
                    key_path,
                    at_key=True,
                    hint=f"`{key}` is used with: {', '.join(owners)}; "
                    f"a `{kind}` step takes: {', '.join(sorted(allowed))}",
                )
                continue
            where = f"a `{kind}` step" if kind else _context(schema, path)
            yield self.document.diagnostic(
                "unknown-key",
                f"unknown key `{key}` in {where}",
                key_path,
                at_key=True,
                hint=did_you_mean(str(key), allowed),
            )

    def _required(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        for key in error.validator_value:
            if key in instance:
                continue
            prop = schema.get("properties", {}).get(key, {})
            hint = prop.get("description") or None
            if key == "api_version":
                hint = 'add `api_version: "1.0"` at the top of the file'
            elif key == "kind" and not path:
                hint = "add `kind: action` near the top of the file"
            yield self.document.diagnostic(
                "missing-key",
                f"{_context(schema, path)} is missing `{key}`",
                path,
                at_key=True,
                hint=hint,
            )

    def _type(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        value = error.instance
        expected = _expected(schema)
        yield self.type_problem(
            path, value, expected, wants_text="string" in str(schema.get("type"))
        )

    def type_problem(
        self, path: Path, value: Any, expected: str, *, wants_text: bool, code: str = "wrong-type"
    ) -> Diagnostic:
        """A wrong-type diagnostic, or ``unquoted-value`` when YAML changed the text."""
        original = self.document.source_map.plain_text(path)
        if wants_text and original is not None:
            return self.document.diagnostic(
                "unquoted-value",
                f"{_field(path)} must be text, but YAML read the unquoted `{original}` as "
                f"{_read_as(value)}",
                path,
                hint=f'put it in quotes: "{original}"',
            )
        return self.document.diagnostic(
            code,
            f"{_field(path)} must be {expected}, not {_type_name(value)} ({_show(value)})",
            path,
            hint=_type_hint(expected, value),
        )

    def _enum(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        allowed = schema.get("enum", [schema.get("const")])
        value = error.instance
        if isinstance(value, str):
            hint = did_you_mean(value, [str(a) for a in allowed])
        else:
            hint = "expected one of: " + ", ".join(_show(a) for a in allowed)
        original = self.document.source_map.plain_text(path)
        if original is not None and any(isinstance(a, str) for a in allowed):
            yield self.type_problem(path, value, "text", wants_text=True)
            return
        if path == ("api_version",) and isinstance(value, str):
            yield self._api_version(value, path)
            return
        yield self.document.diagnostic(
            "invalid-value",
            f"{_field(path)} cannot be {_show(value)}",
            path,
            hint=hint,
        )

    def _api_version(self, value: str, path: Path) -> Diagnostic:
        return self.document.diagnostic(
            "unsupported-api-version",
            f'this file is written for api_version {value!r}; this km-actions reads "1.0"',
            path,
            hint="upgrade km-actions (pip install -U km-actions), or write the file for "
            'api_version "1.0"',
        )

    def _pattern(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        pattern = str(error.validator_value)
        value = error.instance
        if pattern in _IDENTIFIER_PATTERNS:
            yield self._bad_name(path, value)
        elif pattern.startswith("^(0|[1-9]"):
            yield self.document.diagnostic(
                "invalid-version",
                f"{_field(path)} {_show(value)} is not a version like 1.0.0",
                path,
                hint=_SEMVER_HINT,
            )
        else:
            yield self.document.diagnostic(
                "invalid-format",
                f"{_field(path)} {_show(value)} does not have the expected form",
                path,
                hint=schema.get("description"),
            )

    def _bad_name(self, path: Path, value: Any) -> Diagnostic:
        suggestion = _slug(str(value))
        hint = "use lower-case letters, digits, - and _, starting with a letter"
        if suggestion and suggestion != value:
            hint += f", e.g. {suggestion!r}"
        return self.document.diagnostic(
            "invalid-name",
            f"{_show(value)} is not a valid name",
            path,
            at_key=True,
            hint=hint,
        )

    def _range(
        self,
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
        yield self.document.diagnostic(
            "out-of-range",
            f"{_field(path)} must be {words}, not {_show(error.instance)}",
            path,
            hint=schema.get("description"),
        )

    def _size(
        self,
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
            yield self.document.diagnostic(
                "empty",
                f"{_field(path)} is empty; it needs at least one {what}",
                path,
                hint=schema.get("description"),
            )
            return
        code = "too-short" if keyword.startswith("min") else "too-long"
        word = "at least" if keyword.startswith("min") else "at most"
        yield self.document.diagnostic(
            code,
            f"{_field(path)} must have {word} {bound} {unit}s",
            path,
            hint=schema.get("description"),
        )

    def _unique(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        seen: list[Any] = []
        items = error.instance if isinstance(error.instance, list) else []
        for index, item in enumerate(items):
            if item in seen:
                yield self.document.diagnostic(
                    "duplicate-item",
                    f"{_show(item)} appears twice in {_field(path)}",
                    (*path, index),
                    hint="remove the repeated item",
                )
                return
            seen.append(item)

    def _one_of(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        yield self.document.diagnostic(
            "invalid-mock",
            f"the mock for {_field(path)} must be a list of answers or a mapping with `match`",
            path,
            hint="write answers in call order as a list ([{success: true, data: …}]), or "
            "`match: [{with: {…}, result: {…}}]` to answer by arguments",
        )


def _read_as(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null (nothing)"
    if isinstance(value, dt.date | dt.datetime):
        return "a date"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return type_word(value)


def _type_name(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return "a date"
    return type_word(value)


def _type_hint(expected: str, value: Any) -> str | None:
    if expected.startswith("a list") and isinstance(value, str | dict):
        return "write a list with one '- ' line per item, or [a, b] on one line"
    if expected.startswith("a mapping") and isinstance(value, str):
        return "write `key: value` lines indented under this key"
    if "number" in expected and isinstance(value, str):
        return "write the number without quotes"
    if expected == "true or false" and isinstance(value, str):
        return "write true or false without quotes"
    return None


def _context(schema: Mapping[str, Any], path: Path) -> str:
    if not path:
        return "the action" if "steps" in schema.get("properties", {}) else "the plugin"
    title = schema.get("title")
    if isinstance(title, str) and title:
        last = path[-1]
        if isinstance(last, str) and title.lower() in ("input", "hook"):
            return f"{title.lower()} `{last}`"
        return f"`{last}`" if isinstance(last, str) else title.lower()
    return _field(path)


def _slug(text: str) -> str:
    out = []
    for ch in text.strip().lower():
        out.append(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-")
    slug = "".join(out).strip("-_")
    while "--" in slug:
        slug = slug.replace("--", "-")
    if slug and not slug[0].isalpha():
        slug = "a-" + slug
    return slug[:64]


_HANDLERS: dict[str, Any] = {
    "additionalProperties": SchemaChecker._additional,
    "required": SchemaChecker._required,
    "type": SchemaChecker._type,
    "enum": SchemaChecker._enum,
    "const": SchemaChecker._enum,
    "pattern": SchemaChecker._pattern,
    "minimum": SchemaChecker._range,
    "maximum": SchemaChecker._range,
    "exclusiveMinimum": SchemaChecker._range,
    "exclusiveMaximum": SchemaChecker._range,
    "minItems": SchemaChecker._size,
    "maxItems": SchemaChecker._size,
    "minLength": SchemaChecker._size,
    "maxLength": SchemaChecker._size,
    "minProperties": SchemaChecker._size,
    "maxProperties": SchemaChecker._size,
    "uniqueItems": SchemaChecker._unique,
    "oneOf": SchemaChecker._one_of,
}
