"""Schema checks: jsonschema errors rewritten into plain words, with did-you-mean.

Longer than 400 lines: one rewriting into plain words per jsonschema keyword, with the
did-you-mean they share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

from engine.diagnostics.errors import Diagnostic, Path
from engine.diagnostics.suggestions import closest, did_you_mean, you_mean
from engine.diagnostics.words import described, fits_type
from engine.lang.secrets import schema_message
from engine.load.sourcemap import Document
from engine.load.versions import CURRENT, version_problem
from engine.validate._schema_bounds import (
    bad_mock,
    one_of_keys_missing,
    out_of_range,
    repeated_item,
    wrong_size,
)
from engine.validate._words import (
    SYNONYMS,
    VALUE_SYNONYMS,
    a_step,
    context_words,
    expected_words,
    field_name,
    holds_number,
    read_as,
    show,
    type_hint,
    type_name,
)
from engine.validate.names import NameKind, name_hint
from engine.validate.schema import ManifestSchemas

_IDENTIFIER_PATTERNS = {
    "^[a-z][a-z0-9_-]{0,63}$": "name",
    "^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)*$": "plugin identifier",
    "^[a-z][a-z0-9_.-]{0,63}$": "event name",
    "^[a-z][a-z0-9_.-]*(/[a-z][a-z0-9_-]*)?$": "action name",
}
# Parts of the schema that hold a list of steps under `steps:` (by their title).
_STEP_HOLDERS = frozenset({"Branch", "Case", "Repeat"})
_PATTERN_HINTS = {
    "^https?://": "write the whole address, starting with https:// (e.g. https://example.com)",
}
# The input a hint's example template reads, for a step's number.
_EXAMPLE_INPUTS = {
    "max": "times",
    "max_attempts": "attempts",
    "wait": "delay",
    "timeout": "seconds",
}
_SEMVER_HINT = 'write a version as MAJOR.MINOR.PATCH in quotes, e.g. "1.0.0"'


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
            out.extend(self.diagnose(error, base, kind))
        return out

    def diagnose(
        self, error: jsonschema.ValidationError, base: Path, kind: str | None
    ) -> Iterator[Diagnostic]:
        path: Path = (*base, *error.absolute_path)
        keyword = str(error.validator)
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        if "propertyNames" in error.absolute_schema_path:
            yield self._bad_name((*path, str(error.instance)), error.instance, at_key=True)
            return
        # The kind names the step only for the step's own keys, not for nested parts.
        here = kind if not error.absolute_path else None
        handler = _HANDLERS.get(keyword)
        if handler is not None:
            yield from handler(self, error, path, schema, here)
            return
        yield self.document.diagnostic(
            "invalid-format",
            f"{field_name(path)} is not valid: {schema_message(error)}",
            path,
            hint=schema.get("description") or "see `km-actions schema` for the form",
        )

    def _holds_step(self, schema: Mapping[str, Any], instance: Any) -> str | None:
        """The step kind written straight into a branch/case/repeat that lacks `steps:`."""
        if schema.get("title") not in _STEP_HOLDERS or not isinstance(instance, Mapping):
            return None
        if "steps" in instance:
            return None
        return next((k for k in self.schemas.step_kinds if k in instance), None)

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
        stray_step = self._holds_step(schema, instance)
        for key in instance:
            if key in allowed or (stray_step and key in self.schemas.step_kinds):
                continue
            key_path = (*path, key)
            if kind is not None and key in self.schemas.step_properties:
                owners = [k for k, keys in self.schemas.step_kinds.items() if key in keys]
                yield self.document.diagnostic(
                    "misplaced-key",
                    f"`{key}` does not belong in {a_step(kind)}",
                    key_path,
                    at_key=True,
                    hint=f"`{key}` is used with: {', '.join(owners)}; "
                    f"{a_step(kind)} takes: {', '.join(sorted(allowed))}",
                )
                continue
            where = a_step(kind) if kind else context_words(schema, path)
            synonym = SYNONYMS.get(str(key))
            yield self.document.diagnostic(
                "unknown-key",
                f"unknown key `{key}` in {where}",
                key_path,
                at_key=True,
                hint=you_mean(synonym)
                if synonym is not None and synonym in allowed
                else did_you_mean(str(key), allowed),
            )

    def _required(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        stray_step = self._holds_step(schema, instance)
        required = error.validator_value if isinstance(error.validator_value, list) else []
        allowed = list(schema.get("properties", {}))
        for key in required:
            if key in instance or misspelt_as(key, instance, allowed):
                continue  # the misspelt key is reported, with the did-you-mean
            where = context_words(schema, path)
            if key == "steps" and stray_step:
                yield self.document.diagnostic(
                    "missing-key",
                    f"{where} has a `{stray_step}` step but no `steps:` list to hold it",
                    path,
                    at_key=True,
                    hint="write `steps:` on its own line, then the step under it, indented "
                    f"and starting with '- ' (`- {stray_step}: …`)",
                )
                continue
            yield self.document.diagnostic(
                "missing-key",
                f"{where} is missing `{key}`",
                path,
                at_key=True,
                hint=_missing_hint(schema, path, key),
            )

    def _type(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        value = error.instance
        allowed = schema.get("enum", ())
        if templated_number(schema):
            yield self._number_problem(path, value, schema)
            return
        if isinstance(value, int | float) and str(value) in allowed:
            yield self.type_problem(path, value, "text", wants_text=True, quote=str(value))
            return
        semver = str(schema.get("pattern", "")).startswith("^(0|[1-9]")
        if semver and isinstance(value, int | float) and not isinstance(value, bool):
            text = self.document.source_map.plain_text(path) or str(value)
            full = ".".join([*text.split("."), "0", "0"][:3])
            about = "a version has three numbers: MAJOR.MINOR.PATCH"
            yield self.type_problem(path, value, "text", wants_text=True, quote=full, about=about)
            return
        yield self.type_problem(
            path,
            value,
            expected_words(schema),
            wants_text="string" in str(schema.get("type")),
            about=schema.get("description"),
        )

    def type_problem(
        self,
        path: Path,
        value: Any,
        expected: str,
        *,
        wants_text: bool,
        code: str = "wrong-type",
        quote: str | None = None,
        about: str | None = None,
    ) -> Diagnostic:
        """A wrong-type diagnostic, or ``unquoted-value`` when YAML changed the text."""
        original = self.document.source_map.plain_text(path)
        if wants_text and original:
            return self.document.diagnostic(
                "unquoted-value",
                f"{field_name(path)} must be text, but YAML read the unquoted `{original}` as "
                f"{read_as(value)}",
                path,
                hint=f'put it in quotes: "{quote or original}"'
                + (f" ({about})" if quote and about else ""),
            )
        if value is None:
            return self.document.diagnostic(
                code,
                f"{field_name(path)} has no value; it must be {expected}",
                path,
                hint=type_hint(expected, value, path),
            )
        return self.document.diagnostic(
            code,
            f"{field_name(path)} must be {expected}, not {_described(value)}",
            path,
            hint=f'write it in quotes: "{quote}"'
            if quote
            else type_hint(expected, value, path, about),
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
        types = schema.get("type")
        wanted = types if isinstance(types, list) else [types] if types else []
        if wanted and not any(fits_type(value, str(t)) for t in wanted):
            return  # the `type` error says it better
        original = self.document.source_map.plain_text(path)
        if original is not None and any(isinstance(a, str) for a in allowed):
            yield self.type_problem(path, value, "text", wants_text=True)
            return
        if path == ("api_version",) and isinstance(value, str):
            yield self._api_version(value, path)
            return
        hint: str | None
        if isinstance(value, str) and VALUE_SYNONYMS.get(value) in allowed:
            hint = you_mean(VALUE_SYNONYMS[value])
        elif isinstance(value, str):
            hint = did_you_mean(value, [str(a) for a in allowed])
        else:
            hint = "expected one of: " + ", ".join(show(a) for a in allowed)
        yield self.document.diagnostic(
            "invalid-value",
            f"{field_name(path)} cannot be {show(value)}",
            path,
            hint=hint,
        )

    def _api_version(self, value: str, path: Path) -> Diagnostic:
        message, hint = version_problem(value) or ("", None)
        return self.document.diagnostic("unsupported-api-version", message, path, hint=hint)

    def _pattern(
        self,
        error: jsonschema.ValidationError,
        path: Path,
        schema: Mapping[str, Any],
        kind: str | None,
    ) -> Iterator[Diagnostic]:
        pattern = str(error.validator_value)
        value = error.instance
        if templated_number(schema):
            yield self._number_problem(path, value, schema)
        elif pattern in _IDENTIFIER_PATTERNS:
            yield self._bad_name(path, value, what=_IDENTIFIER_PATTERNS[pattern])
        elif pattern.startswith("^(0|[1-9]"):
            yield self.document.diagnostic(
                "invalid-version",
                f"{field_name(path)} {show(value)} is not a version like 1.0.0",
                path,
                hint=_SEMVER_HINT,
            )
        else:
            yield self.document.diagnostic(
                "invalid-format",
                f"{field_name(path)} {show(value)} does not have the expected form",
                path,
                hint=_PATTERN_HINTS.get(pattern)
                or schema.get("description")
                or f"it must match {pattern}",
            )

    def _number_problem(self, path: Path, value: Any, schema: Mapping[str, Any]) -> Diagnostic:
        """A step's number (which may be a template giving it) written as something else."""
        kind = "a whole number" if "integer" in schema["type"] else "a number"
        example = f'"{{{{ inputs.{_EXAMPLE_INPUTS.get(str(path[-1]), path[-1])} }}}}"'
        if isinstance(value, str) and holds_number(value):
            message = f"{field_name(path)} must be {kind}, not text ({show(value)})"
            hint = f"write the number without quotes, or a template that gives it: {example}"
        else:
            original = self.document.source_map.plain_text(path)
            found = f"`{original}`, which YAML reads as " if original else ""
            message = (
                f"{field_name(path)} must be {kind}, or a template giving one, not "
                f"{found}{read_as(value) if original else type_name(value)}"
                + (
                    ""
                    if original or value is None or isinstance(value, bool)
                    else f" ({show(value)})"
                )
            )
            hint = f"write the number itself, or a template in quotes: {example}"
        return self.document.diagnostic("wrong-type", message, path, hint=hint)

    def _bad_name(
        self, path: Path, value: Any, *, at_key: bool = False, what: str = "name"
    ) -> Diagnostic:
        kind = NameKind.PLUGIN if what == "plugin identifier" else NameKind.ACTION
        return self.document.diagnostic(
            "invalid-name",
            f"{show(value)} is not a valid {what}",
            path,
            at_key=at_key,
            hint=name_hint(value, kind),
        )


def _described(value: Any) -> str:
    """A value of a manifest as a message names it (a date as such)."""
    if isinstance(value, dt.date):
        return f"{type_name(value)} ({show(value)})"
    return described(value, show(value))


def templated_number(schema: Mapping[str, Any]) -> bool:
    """A step's number that may also be a template: ``type: [integer|number, string]`` and
    a pattern for the text."""
    types = schema.get("type")
    return (
        isinstance(types, list)
        and "string" in types
        and ("integer" in types or "number" in types)
        and "pattern" in schema
    )


def misspelt_as(key: str, instance: Mapping[str, Any], allowed: list[str]) -> bool:
    """Whether ``instance`` has an unknown key whose did-you-mean is ``key`` (`stpes`)."""
    return any(
        SYNONYMS.get(str(other)) == key or closest(str(other), allowed) == key
        for other in instance
        if other not in allowed
    )


def _missing_hint(schema: Mapping[str, Any], path: Path, key: str) -> str:
    if key == "api_version":
        return f'add `api_version: "{CURRENT}"` at the top of the file'
    if key == "kind" and not path:
        return "add `kind: action` near the top of the file"
    if key == "steps":
        return "add `steps:` and, under it, the steps to run, each starting with '- '"
    prop = schema.get("properties", {}).get(key, {})
    description = prop.get("description") if isinstance(prop, Mapping) else None
    return f"add `{key}:` ({description})" if description else f"add `{key}:`"


_HANDLERS: dict[str, Any] = {
    "additionalProperties": SchemaChecker._additional,
    "required": SchemaChecker._required,
    "type": SchemaChecker._type,
    "enum": SchemaChecker._enum,
    "const": SchemaChecker._enum,
    "pattern": SchemaChecker._pattern,
    "minimum": out_of_range,
    "maximum": out_of_range,
    "exclusiveMinimum": out_of_range,
    "exclusiveMaximum": out_of_range,
    "minItems": wrong_size,
    "maxItems": wrong_size,
    "minLength": wrong_size,
    "maxLength": wrong_size,
    "minProperties": wrong_size,
    "maxProperties": wrong_size,
    "uniqueItems": repeated_item,
    "oneOf": bad_mock,
    "anyOf": one_of_keys_missing,
}
