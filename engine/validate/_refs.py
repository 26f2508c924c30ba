"""Templates and expressions: do they parse, and does every name they use exist here?

Longer than 400 lines: one checker of every name a template or expression reads, with
the scope and data flow it is checked against.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path, Severity
from engine.diagnostics.suggestions import closest, did_you_mean, you_mean
from engine.lang.expressions import ExpressionEngine
from engine.lang.templates import TemplateEngine, is_template
from engine.load.sourcemap import Document
from engine.validate._results import (
    Finding,
    ItemShape,
    ResultShape,
    foreach_items,
    foreach_reference,
    item_finding,
    result_finding,
)
from engine.validate._spans import find_reference, position, span_within

ROOT_NAMES = ("inputs", "vars", "steps", "config")
STEP_FIELDS = ("result", "status", "error")
_LITERAL_NAMES = frozenset({"true", "false", "null", "none", "True", "False", "None"})


@dataclass
class Flow:
    """What has happened before a point in the action: steps run, variables set."""

    ran: set[str] = field(default_factory=set)
    vars: set[str] = field(default_factory=set)

    def copy(self) -> Flow:
        return Flow(set(self.ran), set(self.vars))

    def merge(self, *others: Flow) -> Flow:
        merged = self.copy()
        for other in others:
            merged.ran |= other.ran
            merged.vars |= other.vars
        return merged


@dataclass(frozen=True)
class Scope:
    """Names that exist only in some places: loop variables, `loop`, `error`, `event`;
    ``items``: the loop variables whose items have a known shape (a list in an answer)."""

    locals: frozenset[str] = frozenset()
    items: tuple[tuple[str, ItemShape], ...] = ()

    def with_names(self, *names: str) -> Scope:
        kept = tuple((n, shape) for n, shape in self.items if n not in names)
        return Scope(self.locals | frozenset(names), kept)

    def with_item(self, name: str, shape: ItemShape | None) -> Scope:
        """The scope inside a loop whose items are called ``name``."""
        inner = self.with_names(name, "loop")
        if shape is None:
            return inner
        return Scope(inner.locals, (*inner.items, (name, shape)))

    def item(self, name: str) -> ItemShape | None:
        return next((shape for n, shape in self.items if n == name), None)


_ONLY_IN = {
    "item": (
        "inside the steps of a `foreach`",
        "to use an item after the loop, keep it with `set` inside the loop and read `vars.<name>`",
    ),
    "loop": (
        "inside the steps of a `foreach` or `repeat`",
        "count rounds yourself with `set` if you need the number after the loop",
    ),
    "error": (
        "inside a step's `catch:` steps",
        "after the step, read `steps.<id>.error` (give the step an `id:`)",
    ),
    "event": (
        "in the `with:` and `if:` of a plugin's hooks (in plugin.yaml)",
        "an action run by a hook gets the event through its inputs: declare an input and "
        'pass it from the hook, e.g. `with: {text: "{{ event.data.text }}"}`',
    ),
}
EVENT_FIELDS = ("name", "plugin", "action", "data")


def _templates_in(value: Any, path: Path) -> Iterator[tuple[str, Path]]:
    """Every template string inside a (possibly nested) value, and where it is."""
    stack: list[tuple[Any, Path]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if is_template(node):
                yield node, where
        elif isinstance(node, dict):
            stack.extend((v, (*where, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(node))


def prepare_templates(
    values: Iterable[Any], templates: TemplateEngine, cache: dict[tuple[str, str], Any]
) -> None:
    """Analyse now every template string inside ``values``, into the ``cache`` a
    :class:`ReferenceChecker` then reads."""
    for value in values:
        for text, _ in _templates_in(value, ()):
            _analysed(cache, templates, text, False)


def _analysed(
    cache: dict[tuple[str, str], Any],
    engine: TemplateEngine | ExpressionEngine,
    text: str,
    expression: bool,
) -> Any:
    key = ("e" if expression else "t", text)
    info = cache.get(key)
    if info is None:
        info = engine.analyze(text)
        if len(cache) > 20_000:
            cache.clear()
        cache[key] = info
    return info


class ReferenceChecker:
    """Analyzes template/expression text (cached) and checks every reference in it."""

    def __init__(
        self,
        document: Document,
        *,
        inputs: Mapping[str, Any],
        step_ids: Mapping[str, Path],
        all_vars: set[str],
        config_names: list[str] | None,
        templates: TemplateEngine,
        secret_settings: Mapping[str, Mapping[str, Any]] | None = None,
        expressions: ExpressionEngine,
        cache: dict[tuple[str, str], Any],
        roots: tuple[str, ...] = ROOT_NAMES,
    ) -> None:
        self.document = document
        self.roots = roots  # hooks see only `event`: no inputs, vars, steps or config
        self.inputs = inputs
        self.step_ids = step_ids
        self.all_vars = all_vars
        self.config_names = config_names
        self.secret_settings = secret_settings or {}
        self.templates = templates
        self.expressions = expressions
        self.cache = cache
        self.used_inputs: set[str] = set()
        self.used_steps: set[str] = set()
        # What the steps seen so far give, by id (set by the step walker).
        self.results: dict[str, ResultShape] = {}
        self.whole_inputs_used = False
        self.incomplete = False

    # -- entry points ----------------------------------------------------------------

    def value(self, value: Any, path: Path, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        """Check every template string inside a (possibly nested) value."""
        for text, where in _templates_in(value, path):
            yield from self.text(text, where, flow, scope, expression=False)

    def expression(self, value: Any, path: Path, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        """Check an expression field (``if``, ``when``, ``until``, ``while``, ``foreach``)."""
        if isinstance(value, str):
            yield from self.text(value, path, flow, scope, expression=True)

    def text(
        self, text: str, path: Path, flow: Flow, scope: Scope, *, expression: bool
    ) -> Iterator[Diagnostic]:
        info = self._analyze(text, expression)
        for problem in info.problems:
            yield Diagnostic(
                problem.code,
                problem.message,
                path=path,
                span=span_within(
                    self.document, path, text, problem.line, problem.column, problem.width
                ),
                file=self.document.file,
                hint=problem.hint,
            )
        if info.problems:
            # What a broken template reads is unknown, so "unused" warnings would guess.
            self.incomplete = True
            return
        for ref in info.references:
            for diagnostic in self._reference(ref, path, flow, scope):
                offset = find_reference(text, ref.text, expression)
                line, column = position(text, offset)
                span = span_within(self.document, path, text, line, column, len(ref.text))
                yield replace(diagnostic, span=span)

    # -- analysis ----------------------------------------------------------------------

    def _analyze(self, text: str, expression: bool) -> Any:
        engine = self.expressions if expression else self.templates
        return _analysed(self.cache, engine, text, expression)

    # -- references --------------------------------------------------------------------

    def _reference(self, ref: Any, path: Path, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        root: str = ref.root
        rest: tuple[Any, ...] = tuple(ref.path)
        if root == "event" and "event" in scope.locals:
            yield from self._event(ref, rest, path)
            return
        if root in scope.locals or root in _LITERAL_NAMES:
            item = scope.item(root) if rest else None
            found = item_finding(item, root, rest) if item is not None else None
            if found is not None:
                yield self._found(found, path)
            return
        check = _ROOT_CHECKS.get(root) if root in self.roots else None
        if check is not None:
            yield from check(self, ref, rest, path, flow)
            return
        items = sorted(scope.locals - _ONLY_IN.keys())
        if root == "item" and "loop" in scope.locals and items:
            yield self._diag(
                "unknown-name",
                f"this loop calls its item `{items[-1]}` (its `as:`), not `item`",
                path,
                hint=f"write `{ref.text.replace('item', items[-1], 1)}`",
            )
            return
        if root in _ONLY_IN:
            where, hint = _ONLY_IN[root]
            shown = f"`{root}`" + (f" (in `{ref.text}`)" if ref.text != root else "")
            yield self._diag("unknown-name", f"{shown} exists only {where}", path, hint=hint)
            return
        names = [*self.roots, *sorted(scope.locals)]
        if root in ROOT_NAMES:  # a root this place does not have (hooks see only `event`)
            yield self._diag(
                "unknown-name",
                f"`{root}` (in `{ref.text}`) is not in scope here; only "
                + ", ".join(f"`{n}`" for n in names)
                + (" is" if len(names) == 1 else " are"),
                path,
                hint="a hook's `with:` and `if:` read the event; its action reads its own "
                "inputs and settings",
            )
            return
        guess = did_you_mean(root, names, listing=False)
        yield self._diag(
            "unknown-name",
            f"`{root}` is not a name known here"
            + (f" (in `{ref.text}`)" if ref.text != root else ""),
            path,
            hint=(f"{guess} " if guess else "") + f"names in scope: {', '.join(names)}",
        )

    def _event(self, ref: Any, rest: tuple[Any, ...], path: Path) -> Iterator[Diagnostic]:
        if rest and rest[0] not in EVENT_FIELDS and not ref.guarded:
            yield self._diag(
                "unknown-event-field",
                f"`event.{rest[0]}` does not exist; an event has name, plugin, action and data",
                path,
                hint=(did_you_mean(str(rest[0]), EVENT_FIELDS, listing=False) or "")
                + f" (what the event carries is in `event.data`, e.g. `event.data.{rest[0]}`)",
            )

    def _inputs(
        self, ref: Any, rest: tuple[Any, ...], path: Path, flow: Flow
    ) -> Iterator[Diagnostic]:
        if not rest:
            self.whole_inputs_used = True
            return
        name = rest[0]
        if name in self.inputs:
            self.used_inputs.add(name)
            spec = self.inputs[name]
            if isinstance(spec, Mapping) and spec.get("secret") is True:
                yield from self._secret_changed("input", spec, ref, rest, path)
            return
        if ref.guarded:
            return
        declared = list(self.inputs)
        hint = did_you_mean(str(name), declared) if declared else "declare it under `inputs:`"
        yield self._diag(
            "unknown-input", f"`inputs.{name}` is not a declared input", path, hint=hint
        )

    def _vars(
        self, ref: Any, rest: tuple[Any, ...], path: Path, flow: Flow
    ) -> Iterator[Diagnostic]:
        if not rest or ref.guarded:
            return
        name = rest[0]
        if name in flow.vars:
            return
        if name in self.all_vars:
            yield self._diag(
                "variable-not-set-yet",
                f"`vars.{name}` is read here, but no step before this one sets it",
                path,
                hint=f"move the `set` of {name} before this step, or write "
                f"`default(vars.{name}, …)` / `vars.{name} | default(…)`",
            )
            return
        known = sorted(self.all_vars)
        match = closest(str(name), known) if known else None
        # `vars` are the action's own; a Keyboard Maestro variable (`Mood`, capitalised as
        # they usually are) is read through its tool.
        km = (
            f"`vars` holds this action's own variables, set by `set` steps; a Keyboard "
            f"Maestro variable is read with km_variable_manager (operation: get, name: {name})"
        )
        if str(name)[:1].isupper():
            hint = km + (f"; or {you_mean(match)}" if match else "")
        elif match is not None:
            hint = you_mean(match)
        else:
            hint = f"set it first with a step like `set: {{{name}: …}}`"
        yield self._diag("unknown-variable", f"`vars.{name}` is never set", path, hint=hint)

    def _steps(
        self, ref: Any, rest: tuple[Any, ...], path: Path, flow: Flow
    ) -> Iterator[Diagnostic]:
        if not rest:
            return
        step_id = rest[0]
        if step_id in self.step_ids:
            self.used_steps.add(step_id)
        if ref.guarded:
            # A fallback for a key no answer has would always be used: still a mistake.
            yield from self._result(step_id, rest, path, flow, guarded=True)
            return
        if step_id not in self.step_ids:
            # only the steps that have run here can be read (not this one, nor later ones)
            known = [s for s in self.step_ids if s in flow.ran]
            yield self._diag(
                "unknown-step",
                f"no step has the id `{step_id}` (in `{ref.text}`)",
                path,
                hint=did_you_mean(str(step_id), known)
                if known
                else "a step is read by its `id:`, and only after it has run",
            )
            return
        if step_id not in flow.ran:
            where = self.step_ids[step_id]
            span = self.document.span(where)
            line = f" (line {span.line})" if span else ""
            yield self._diag(
                "step-not-run-yet",
                f"step `{step_id}`{line} has not run at this point, so `{ref.text}` has no value",
                path,
                hint="a step can only read the steps before it; move this after "
                f"`{step_id}`, or give the value through `vars`",
            )
            return
        if len(rest) > 1 and rest[1] not in STEP_FIELDS:
            yield self._diag(
                "unknown-step-field",
                f"`steps.{step_id}.{rest[1]}` does not exist; a step has result, status and error",
                path,
                hint=(did_you_mean(str(rest[1]), STEP_FIELDS) or "")
                + f" (a tool's answer is in `steps.{step_id}.result`)",
            )
            return
        yield from self._result(step_id, rest, path, flow, guarded=False)

    def _result(
        self, step_id: Any, rest: tuple[Any, ...], path: Path, flow: Flow, *, guarded: bool
    ) -> Iterator[Diagnostic]:
        """A read inside `steps.<id>.result` of a step whose result is known."""
        shape = self.results.get(step_id)
        if len(rest) < 3 or rest[1] != "result" or shape is None or step_id not in flow.ran:
            return
        found = result_finding(shape, step_id, rest[2:], guarded=guarded)
        if found is not None:
            yield self._found(found, path)

    def item_shape(self, source: Any, scope: Scope) -> ItemShape | None:
        """The shape of the items of `foreach: <source>`, when known (see
        :func:`foreach_items`)."""
        text = foreach_reference(source)
        if text is None:
            return None
        info = self._analyze(text, True)
        if info.problems or len(info.references) != 1:
            return None
        return foreach_items(info.references[0], text, self.results, scope.item)

    def _found(self, found: Finding, path: Path) -> Diagnostic:
        return self._diag(found.code, found.message, path, hint=found.hint, severity=found.severity)

    def _config(
        self, ref: Any, rest: tuple[Any, ...], path: Path, flow: Flow
    ) -> Iterator[Diagnostic]:
        if not rest or ref.guarded:
            return
        name = rest[0]
        names = self.config_names
        if names is None:
            yield self._diag(
                "unknown-config",
                f"`config.{name}` is used, but this action has no configuration",
                path,
                hint="settings come from a plugin's `configuration_schema`; use an input "
                "instead, or put the action in a plugin that declares the setting",
            )
        elif name not in names:
            yield self._diag(
                "unknown-config",
                f"`config.{name}` is not a setting of this plugin",
                path,
                hint=did_you_mean(str(name), names)
                if names
                else "declare it in the plugin's configuration_schema",
            )
        elif name in self.secret_settings:
            yield from self._secret_changed("setting", self.secret_settings[name], ref, rest, path)

    def _secret_changed(
        self, what: str, schema: Mapping[str, Any], ref: Any, rest: tuple[Any, ...], path: Path
    ) -> Iterator[Diagnostic]:
        """A secret changed before it is shown (a filter, a slice, a method; a character of
        secret text): masking finds a secret's own text, never what was made of it."""
        if not (ref.changed or (len(rest) > 1 and schema.get("type") == "string")):
            return
        whole = f"{ref.root}.{rest[0]}"
        yield self._diag(
            "secret-changed",
            f"the secret {what} `{whole}` is changed here (a filter, a slice, a method): what "
            "that makes is not the secret's text, so it is not masked where it is shown",
            path,
            hint=f"pass the secret on whole (`{{{{ {whole} }}}}`) to the tool that needs it; "
            "keep anything made from it out of outputs, messages and `fail:`",
            severity=Severity.WARNING,
        )

    def _diag(
        self,
        code: str,
        message: str,
        path: Path,
        *,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        return self.document.diagnostic(code, message, path, hint=hint, severity=severity)


_ROOT_CHECKS: dict[str, Any] = {
    "inputs": ReferenceChecker._inputs,
    "vars": ReferenceChecker._vars,
    "steps": ReferenceChecker._steps,
    "config": ReferenceChecker._config,
}
