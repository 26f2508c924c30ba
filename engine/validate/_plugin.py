"""Plugin manifests (plugin.yaml): schema, permissions, settings schema and hooks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

from engine.errors import Diagnostic, sort_diagnostics
from engine.schema import ManifestSchemas
from engine.sourcemap import Document
from engine.suggest import did_you_mean
from engine.validate._context import ValidationContext
from engine.validate._schema_pass import SchemaChecker

BUILTIN_EVENTS = (
    "installed",
    "uninstalled",
    "upgraded",
    "configured",
    "action_succeeded",
    "action_failed",
)


def validate_plugin(
    document: Document, context: ValidationContext | None = None
) -> list[Diagnostic]:
    """All problems with a plugin manifest, best first."""
    context = context or ValidationContext()
    checker = SchemaChecker(document, ManifestSchemas.load())
    found = list(checker.check_plugin())
    data = document.data if isinstance(document.data, Mapping) else {}
    found.extend(_permissions(document, data, context))
    found.extend(_configuration(document, data))
    found.extend(_hooks(document, data, context))
    return sort_diagnostics(found)


def _permissions(
    document: Document, data: Mapping[str, Any], context: ValidationContext
) -> Iterator[Diagnostic]:
    entries = data.get("permissions")
    if not isinstance(entries, list):
        return
    catalog = context.catalog
    for index, entry in enumerate(entries):
        if isinstance(entry, str) and not catalog.is_permission(entry):
            yield document.diagnostic(
                "unknown-permission",
                f"`{entry}` is not a tool or a tool group",
                ("permissions", index),
                hint=did_you_mean(entry, catalog.permission_names(), listing=False)
                or "list tool names (km_…) or groups such as clipboard, read-only",
            )


def _configuration(document: Document, data: Mapping[str, Any]) -> Iterator[Diagnostic]:
    schema = data.get("configuration_schema")
    if not isinstance(schema, Mapping):
        return
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        path = ("configuration_schema", *exc.absolute_path)
        yield document.diagnostic(
            "invalid-format",
            f"the configuration_schema is not a valid JSON Schema: {exc.message}",
            path,
            hint="see https://json-schema.org/understanding-json-schema/ for the form",
        )
        return
    for name, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, Mapping) and "default" in prop:
            sub = jsonschema.Draft202012Validator(prop)
            for error in sub.iter_errors(prop["default"]):
                yield document.diagnostic(
                    "invalid-default",
                    f"the default of setting `{name}` does not fit its schema: {error.message}",
                    ("configuration_schema", "properties", name, "default"),
                    hint="change the default or the setting's schema",
                )


def _hooks(
    document: Document, data: Mapping[str, Any], context: ValidationContext
) -> Iterator[Diagnostic]:
    hooks = data.get("hooks")
    if not isinstance(hooks, list) or not context.actions:
        return
    for index, hook in enumerate(hooks):
        if not isinstance(hook, Mapping):
            continue
        target = hook.get("action")
        if isinstance(target, str) and context.resolve_action(target) is None:
            yield document.diagnostic(
                "unknown-action",
                f"the hook runs `{target}`, which is not an action here",
                ("hooks", index, "action"),
                hint=did_you_mean(target, list(context.actions), listing=False),
            )
