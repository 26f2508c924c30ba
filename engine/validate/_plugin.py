"""Plugin manifests (plugin.yaml): schema, permissions, settings schema and hooks.

Hooks are checked for their event name, their action (in the plugin, or an installed
plugin), the inputs they give it, and their templates and condition, where only
`event` is in scope.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import jsonschema

from engine.diagnostics.errors import Diagnostic, Path, Severity, sort_diagnostics
from engine.diagnostics.suggestions import closest, did_you_mean, you_mean
from engine.lang.expressions import ExpressionEngine
from engine.lang.limits import NUMERIC_LIMITS, SECONDS, Profile, looser
from engine.lang.templates import TemplateEngine, is_template
from engine.load.sourcemap import Document
from engine.validate._permissions import check_entries
from engine.validate._refs import Flow, ReferenceChecker, Scope
from engine.validate.context import ValidationContext, ValidationLevel, find_action
from engine.validate.schema import ManifestSchemas
from engine.validate.schema_pass import SchemaChecker

BUILTIN_EVENTS = (
    "installed",
    "uninstalled",
    "upgraded",
    "configured",
    "enabled",
    "disabled",
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
    found.extend(_versions(document, data, said=found))
    if context.level is ValidationLevel.STRICT:
        found.extend(_descriptions(document, data))
    if context.profile is not None:
        found.extend(limit_problems(document, context.profile))
    return sort_diagnostics(found)


def _versions(
    document: Document, data: Mapping[str, Any], said: list[Diagnostic]
) -> Iterator[Diagnostic]:
    """The plugin's own version is semver (unless the schema ``said`` it is not a version
    at all); each dependency range is one it may write."""
    # Imported here: validating an action file does not load engine.plugins at all.
    from engine.load.ranges import VersionError, dependency_range, parse_version

    version = data.get("version")
    if isinstance(version, str) and all(d.code != "invalid-version" for d in said):
        try:
            parse_version(version)
        except VersionError as exc:
            yield document.diagnostic(exc.code, exc.message, ("version",), hint=exc.hint)
    deps = data.get("dependencies")
    if isinstance(deps, Mapping):
        for dep, text in deps.items():
            try:
                dependency_range(text, str(data.get("api_version")))
            except VersionError as exc:
                yield document.diagnostic(
                    exc.code, exc.message, ("dependencies", dep), hint=exc.hint
                )


def _descriptions(document: Document, data: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """Strict: the plugin and each of its settings say what they are (install, `list`,
    `describe` and the generated docs show it)."""
    if not data.get("description"):
        yield document.diagnostic(
            "missing-description",
            "the plugin has no `description`",
            (),
            hint="say in one sentence what the plugin's actions are for",
        )
    schema = data.get("configuration_schema")
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return
    for name, spec in properties.items():
        if isinstance(spec, Mapping) and not spec.get("description"):
            yield document.diagnostic(
                "missing-description",
                f"the setting `{name}` has no `description`",
                ("configuration_schema", "properties", name),
                at_key=True,
                hint="say what the setting changes; `km-actions configure` and the docs show it",
            )


def limit_problems(document: Document, profile: Profile) -> list[Diagnostic]:
    """The ``resource_limits`` of a plugin manifest looser than ``profile``'s (a plugin's
    limits may only tighten those of the profile it is installed under), each located.

    >>> from engine.load.loader import load_text
    >>> doc = load_text('resource_limits: {run_timeout: 600}\\n', file="plugin.yaml")
    >>> print(limit_problems(doc, Profile.STANDARD)[0])  # doctest: +NORMALIZE_WHITESPACE
    plugin.yaml:1:32: error[limit-too-loose]: resource_limits.run_timeout is 600 seconds,
    looser than the standard profile's 300 seconds: a plugin's limits may only tighten its
    profile's
    """
    data = document.data if isinstance(document.data, Mapping) else {}
    declared = data.get("resource_limits")
    if not isinstance(declared, Mapping):
        return []
    numbers = {
        k: v
        for k, v in declared.items()
        if k in NUMERIC_LIMITS and isinstance(v, int | float) and not isinstance(v, bool)
    }
    out = []
    for name, value, bound in looser(profile.limits, numbers):
        unit = " seconds" if name in SECONDS else ""
        out.append(
            document.diagnostic(
                "limit-too-loose",
                f"resource_limits.{name} is {_number(value)}{unit}, looser than the "
                f"{profile.value} profile's {_number(bound)}{unit}: a plugin's limits may only "
                "tighten its profile's",
                ("resource_limits", name),
                hint=f"write {_number(bound)} or less, or leave {name} out (the profile's applies)",
            )
        )
    return out


def _number(value: float) -> str:
    """A limit as users write it: ``300``, ``0.5``, ``1,000,000``."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return f"{int(value):,}"


def _permissions(
    document: Document, data: Mapping[str, Any], context: ValidationContext
) -> Iterator[Diagnostic]:
    yield from check_entries(document, data.get("permissions"), context.catalog)


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
    if not isinstance(hooks, list):
        return
    identifier = data.get("identifier")
    plugin = context.plugin or (identifier if isinstance(identifier, str) else None)
    refs = _hook_references(document)
    scope = Scope().with_names("event")
    for index, hook in enumerate(hooks):
        if not isinstance(hook, Mapping):
            continue
        path: Path = ("hooks", index)
        yield from _hook_event(document, hook.get("on"), (*path, "on"))
        if "with" in hook:
            yield from refs.value(hook["with"], (*path, "with"), Flow(), scope)
        if isinstance(hook.get("if"), str):
            yield from refs.expression(hook["if"], (*path, "if"), Flow(), scope)
        target = hook.get("action")
        if isinstance(target, str) and context.actions:
            yield from _hook_action(document, hook, target, plugin, path, context)


def _hook_event(document: Document, name: Any, path: Path) -> Iterator[Diagnostic]:
    if not isinstance(name, str) or name in BUILTIN_EVENTS:
        return
    guess = closest(name, BUILTIN_EVENTS, cutoff=0.8)
    if guess is not None:
        # Any other name is an `emit` event; one this close to a built-in is a typo.
        yield document.diagnostic(
            "unknown-event",
            f"`{name}` is not an event km-actions sends, and looks like `{guess}`",
            path,
            severity=Severity.WARNING,
            hint=f"{you_mean(guess)} (custom events are the names `emit` steps send)",
        )


def _hook_action(
    document: Document,
    hook: Mapping[str, Any],
    target: str,
    plugin: str | None,
    path: Path,
    context: ValidationContext,
) -> Iterator[Diagnostic]:
    found = find_action(context.actions, target, plugin)
    if found is None:
        yield document.diagnostic(
            "unknown-action",
            f"the hook runs `{target}`, which is not an action of this plugin or of an "
            "installed plugin",
            (*path, "action"),
            hint=did_you_mean(target, list(context.actions), listing=False)
            or "name an action of this plugin, or `plugin/action` of an installed plugin",
        )
        return
    signature = found[1]
    given = hook.get("with")
    args: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    for name, value in args.items():
        spec = signature.inputs.get(name)
        if spec is None:
            yield document.diagnostic(
                "unknown-argument",
                f"the action `{target}` has no input `{name}`",
                (*path, "with", name),
                at_key=True,
                hint=did_you_mean(str(name), signature.inputs)
                if signature.inputs
                else "this action takes no inputs: remove `with:`",
            )
        elif not (isinstance(value, str) and is_template(value)):
            for problem in spec.problems(value)[:1]:
                yield document.diagnostic(
                    "argument-type",
                    f"the input `{name}` of `{target}` {problem}",
                    (*path, "with", name),
                    hint=spec.description or None,
                )
    for name, spec in signature.inputs.items():
        if spec.required and name not in args:
            yield document.diagnostic(
                "missing-argument",
                f"the action `{target}` needs the input `{name}`",
                (*path, "with") if "with" in hook else path,
                at_key=True,
                hint=f"add `{name}: …` under the hook's `with:` (e.g. from `event.data`)",
            )


@cache
def _engines() -> tuple[TemplateEngine, ExpressionEngine]:
    return TemplateEngine(), ExpressionEngine()


def _hook_references(document: Document) -> ReferenceChecker:
    templates, expressions = _engines()
    return ReferenceChecker(
        document,
        inputs={},
        step_ids={},
        all_vars=set(),
        config_names=None,
        templates=templates,
        expressions=expressions,
        cache={},
        roots=(),
    )
