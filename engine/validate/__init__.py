"""Validation: every problem in a manifest, ranked, each with its location and a fix.

>>> from engine.load.loader import load_text
>>> doc = load_text('api_version: "1.1"\\nkind: action\\nname: demo\\nsteps:\\n'
...                 '  - tool: km_list_macros\\n    wiht: {limit: 5}\\n', file="demo.yaml")
>>> [str(d) for d in validate(doc) if d.is_error]
['demo.yaml:6:5: error[unknown-key]: unknown key `wiht` in a `tool` step']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from engine.diagnostics.codes import tier
from engine.diagnostics.errors import Diagnostic, Path, Severity, sort_diagnostics
from engine.lang.expressions import shared_expressions
from engine.lang.templates import shared_templates
from engine.load.sourcemap import Document
from engine.load.versions import CURRENT, SUPPORTED
from engine.steps.build import iter_nodes, step_tree
from engine.steps.nodes import Block
from engine.validate._extra import check_inputs, check_tests, unused_warnings
from engine.validate._mocks import mock_problems
from engine.validate._permissions import (
    Granter,
    call_need,
    check_calls,
    check_ceiling,
    check_entries,
    manifest_needs,
    permission_missing,
)
from engine.validate._plugin import limit_problems, validate_plugin
from engine.validate._refs import Flow, ReferenceChecker, Scope, prepare_templates
from engine.validate._steps import StepWalker
from engine.validate.context import (
    ActionSignature,
    ValidationContext,
    ValidationLevel,
    find_action,
    readable_inputs,
    section,
)
from engine.validate.schema import ManifestSchemas
from engine.validate.schema_pass import SchemaChecker, misspelt_as
from engine.validate.tree import collect_ids_and_vars, value_at

PLUGIN_FILES = ("plugin.yaml", "plugin.yml", "plugin.json")

__all__ = [
    "ActionSignature",
    "Granter",
    "ValidationContext",
    "ValidationLevel",
    "call_need",
    "limit_problems",
    "manifest_needs",
    "mock_problems",
    "permission_missing",
    "validate",
    "validate_plugin",
]

_TEMPLATES = shared_templates()
_EXPRESSIONS = shared_expressions()
_ANALYSIS_CACHE: dict[tuple[str, str], Any] = {}
# Step keys whose strings are not read as templates: `if` is an expression; the others
# hold steps (met as steps of their own) or expressions (`when`, `while`, `until`).
_NOT_TEMPLATES = frozenset({"if", "steps", "catch", "otherwise", "parallel", "choose", "repeat"})


def validate(document: Document, context: ValidationContext | None = None) -> list[Diagnostic]:
    """All problems with an action manifest (or a plugin manifest), best first, then the
    notes loading left (an older api_version upgraded)."""
    found = _problems(document, context or ValidationContext())
    return [*found, *document.notes] if document.notes else found


def _problems(document: Document, context: ValidationContext) -> list[Diagnostic]:
    if context.level is ValidationLevel.NONE:
        return []
    data = document.data
    if not isinstance(data, Mapping):
        return [
            document.diagnostic(
                "not-a-mapping",
                "a manifest is a mapping of keys to values (api_version, kind, name, steps, …)",
                (),
                hint=f'start the file with `api_version: "{CURRENT}"` on its own line',
            )
        ]
    if _is_plugin(document, data):
        return validate_plugin(document, context)
    api = data.get("api_version")
    schemas = ManifestSchemas.load()
    checker = SchemaChecker(document, schemas)
    if isinstance(api, str) and api not in SUPPORTED:
        return [checker._api_version(api, ("api_version",))]
    if context.level is not ValidationLevel.BASIC:
        # Every template of the steps analysed first, in one pass, before the schema
        # checks: Jinja's lexer and parser stay in the processor's caches while they run
        # (measured: a cold validation 3-5 % faster than analysing each template when the
        # walk reaches its step). The walk finds each analysis in the cache.
        prepare_templates(_template_values(document, data), _TEMPLATES, _ANALYSIS_CACHE)
    found = list(checker.check_top())
    # Every step's schema check right after the top's, in one pass: jsonschema stays in
    # the processor's caches, as Jinja does above (measured: a cold typical validation
    # ~1 % faster). The walk reports a step's problems when it reaches the step, so they
    # come in the same order as when each step was checked there.
    steps = _step_schemas(checker, step_tree(document).steps)
    found.extend(_dates(document, data))
    found.extend(_stray_quotes(document, data))
    if context.level is ValidationLevel.BASIC:
        found.extend(d for problems in steps.values() for d in problems)
    else:
        broken = {d.path[1] for d in found if len(d.path) > 1 and d.path[0] == "inputs"}
        found.extend(_semantic(document, data, context, schemas, checker, broken, steps))
    return _rank(found)


def _is_plugin(document: Document, data: Mapping[str, Any]) -> bool:
    """A plugin manifest says `kind: plugin`, or (kind being optional there) is named
    plugin.yaml, or has an `identifier` and no `steps`."""
    kind = data.get("kind")
    if kind is not None:
        return bool(kind == "plugin")
    name = (document.file or "").replace("\\", "/").rsplit("/", 1)[-1].lower()
    return name in PLUGIN_FILES or ("identifier" in data and "steps" not in data)


def _semantic(
    document: Document,
    data: Mapping[str, Any],
    context: ValidationContext,
    schemas: ManifestSchemas,
    checker: SchemaChecker,
    broken: set[Any],
    step_schemas: dict[Path, list[Diagnostic]],
) -> Iterator[Diagnostic]:
    """Everything beyond the schema; ``broken`` inputs (with schema errors) are not used
    to check their own defaults; ``step_schemas``: each step's schema problems, by its
    path (the walk reports them where it reaches the step)."""
    steps = step_tree(document).steps
    inputs = section(data, "inputs")
    outputs = section(data, "outputs")
    ids, all_vars, duplicates = collect_ids_and_vars(document, steps)
    yield from duplicates
    refs = ReferenceChecker(
        document,
        inputs=inputs,
        step_ids=ids,
        all_vars=all_vars,
        config_names=context.config_names(),
        secret_settings=context.secret_settings(),
        templates=_TEMPLATES,
        expressions=_EXPRESSIONS,
        cache=_ANALYSIS_CACHE,
    )
    own = data.get("permissions")
    walker = StepWalker(document, context, schemas, checker, refs, list(outputs), step_schemas)
    flow = Flow()
    yield from walker.walk(steps, flow, Scope())
    yield from refs.value(outputs, ("outputs",), flow, Scope())
    yield from _permissions(document, context, own, walker)
    yield from _cycles(document, data, context, walker.calls)
    yield from check_inputs(document, checker, {k: v for k, v in inputs.items() if k not in broken})
    yield from check_tests(document, data, context)
    yield from unused_warnings(document, data, refs, ids, context)
    if not misspelt_as("description", data, list(schemas.action["properties"])):
        strict = context.level is ValidationLevel.STRICT
        yield from _descriptions(document, data, inputs, strict=strict)


def _template_values(document: Document, data: Mapping[str, Any]) -> Iterator[Any]:
    """The values whose template strings the walk checks: each step's fields, then the
    outputs (a template it does not check is analysed needlessly, never wrongly)."""
    for node in iter_nodes(step_tree(document).steps):
        for key, value in node.data.items():
            if key not in _NOT_TEMPLATES:
                yield value
    yield data.get("outputs")


def _step_schemas(checker: SchemaChecker, steps: Block) -> dict[Path, list[Diagnostic]]:
    """The schema problems of every step of a kind, by its path, in the order of the
    steps (each step, then the steps in it)."""
    return {
        node.path: checker.check_step(node.kind, node.data, node.path)
        for node in iter_nodes(steps)
        if node.kind is not None
    }


def _permissions(
    document: Document, context: ValidationContext, own: Any, walker: StepWalker
) -> Iterator[Diagnostic]:
    yield from check_entries(document, own, context.catalog)
    beyond = list(check_ceiling(document, context, own, walker.needs))
    # A call beyond what MCP callers may grant is not also said to be missing from the
    # permissions: adding it there would not help.
    refused = {d.path for d in beyond}
    for found in check_calls(document, context, own, walker.needs):
        if found.path not in refused:
            yield found
    yield from beyond


def _cycles(
    document: Document,
    data: Mapping[str, Any],
    context: ValidationContext,
    calls: list[tuple[str, Path]],
) -> Iterator[Diagnostic]:
    name = data.get("name")
    if not isinstance(name, str) or not calls:
        return
    me = ActionSignature.from_manifest(data, plugin=context.plugin)
    for target, path in calls:
        chain = _find_cycle(me, target, context)
        if chain is not None:
            yield document.diagnostic(
                "action-cycle",
                "actions call each other in a circle: " + " → ".join(chain),
                path,
                hint="an action cannot call itself, even through others; use `repeat` or "
                "`foreach` to do something several times",
            )


def _find_cycle(me: ActionSignature, first: str, context: ValidationContext) -> list[str] | None:
    start = me.qualified
    stack: list[tuple[ActionSignature, str, list[str]]] = [(me, first, [start])]
    seen: set[str] = set()
    while stack:
        caller, target, chain = stack.pop()
        callee = _resolve(caller, target, context, me)
        if callee is None:
            continue
        if callee.qualified == start or callee is me:
            return [*chain, start]
        if callee.qualified in seen:
            continue
        seen.add(callee.qualified)
        for nxt in callee.calls:
            stack.append((callee, nxt, [*chain, callee.qualified]))
    return None


def _resolve(
    caller: ActionSignature, target: str, context: ValidationContext, me: ActionSignature
) -> ActionSignature | None:
    if target in (me.name, me.qualified) and (caller.plugin == me.plugin or "/" in target):
        return me
    found = find_action(context.actions, target, caller.plugin)
    return found[1] if found is not None else None


def _dates(document: Document, data: Any) -> Iterator[Diagnostic]:
    for path, text in document.source_map.plain.items():
        value = value_at(data, path)
        if isinstance(value, dt.date | dt.datetime):
            yield document.diagnostic(
                "unquoted-value",
                f"YAML read the unquoted `{text}` as a date, and manifests hold no dates",
                path,
                hint=f'put it in quotes: "{text}"',
            )


def _stray_quotes(document: Document, data: Any) -> Iterator[Diagnostic]:
    """Unquoted text ending with a `"` it never opened: a quote missing at the start."""
    for path in document.source_map.stray_quotes:
        text = value_at(data, path)
        yield document.diagnostic(
            "stray-quote",
            'this text ends with a `"` but does not start with one, so the `"` is part of the text',
            path,
            severity=Severity.WARNING,
            hint=f'to quote the whole value, start it with a `"` too: "{text}',
        )


def _descriptions(
    document: Document, data: Mapping[str, Any], inputs: Mapping[str, Any], *, strict: bool
) -> Iterator[Diagnostic]:
    """A missing description: a warning for the action, an error for it and each input
    with ``strict``."""
    if not data.get("description"):
        yield document.diagnostic(
            "missing-description",
            "the action has no `description`",
            ("name",) if "name" in data else (),
            at_key=True,
            severity=Severity.ERROR if strict else Severity.WARNING,
            hint="add `description:` saying in one sentence what the action does; people and "
            "AI models read it to decide when to use the action",
        )
    if not strict:
        return
    for name, spec in readable_inputs(inputs).items():
        if not spec.description:
            yield document.diagnostic(
                "missing-description",
                f"the input `{name}` has no `description`",
                ("inputs", name),
                at_key=True,
                hint="say what the caller should give",
            )


def _rank(found: list[Diagnostic]) -> list[Diagnostic]:
    unique: dict[tuple[str, Path, str], Diagnostic] = {}
    for diagnostic in found:
        unique.setdefault((diagnostic.code, diagnostic.path, diagnostic.message), diagnostic)
    by_path: dict[Path, Diagnostic] = {}
    out = []
    ordered = sorted(
        sort_diagnostics(unique.values()), key=lambda d: (d.severity.rank, tier(d.code))
    )
    for diagnostic in ordered:
        prior = by_path.get(diagnostic.path)
        # One message per value: a date that is also a wrong type, a warning about a
        # value that already has an error, or what follows from a structural error
        # (a misspelt action name is not also reported as an unknown action).
        if (
            prior is not None
            and prior.is_error
            and (
                not diagnostic.is_error
                or prior.code == diagnostic.code == "unquoted-value"
                or tier(diagnostic.code) > tier(prior.code)
            )
        ):
            continue
        by_path.setdefault(diagnostic.path, diagnostic)
        out.append(diagnostic)
    return out
