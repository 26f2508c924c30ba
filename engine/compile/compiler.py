"""The action factory: a validated manifest becomes a frozen, runnable :class:`Pipeline`.

Longer than 400 lines: one compiler offers every piece the step kinds' ``compile`` asks
for (values, fields, numbers, conditions, sources, tool calls), each located in the file.

Templates are compiled once, expressions parsed once, tool argument checkers built once,
and each step bound to the function that runs it, wrapped only by what its fields ask
for. The compiler walks the step nodes (:mod:`engine.steps`) that validation built for
the same document; what a step of each kind runs is its node's ``compile``, in its kind's
module (:mod:`engine.steps.kinds`), handed this compiler (what
:class:`engine.steps.kinds.base.KindCompiler` says a compiler offers) and, through it,
the runtime (:data:`engine.run.parts.RUNTIME`).

>>> from engine.load.loader import load_text
>>> doc = load_text('api_version: "1.1"\\nkind: action\\nname: add\\nsteps:\\n'
...                 '  - set: {total: "{{ 1 + 2 }}"}\\noutputs: {total: "{{ vars.total }}"}\\n')
>>> pipeline = Compiler().compile(doc)
>>> pipeline.name, [s.kind for s in pipeline.steps]
('add', ['set'])
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from engine.diagnostics.errors import CompileError, ErrorKind, Path, Span, StepError
from engine.lang.expressions import Expression, ExpressionEngine, shared_expressions
from engine.lang.templates import TemplateEngine, Values, shared_templates
from engine.load.sourcemap import Document
from engine.run.model import (
    DEFAULT_RETRY_ON,
    Located,
    Pipeline,
    RetryPolicy,
    Site,
    Step,
)
from engine.run.parts import (
    RUNTIME,
    Bounds,
    Dynamic,
    KindRuntime,
    StepNumber,
    ToolPlan,
    compile_checker,
    fast_types,
    make_block,
    make_fields,
    tool_plan,
)
from engine.steps.build import iter_nodes, step_tree
from engine.steps.kinds import KindStep, ToolStep
from engine.steps.nodes import Block, StepNode
from engine.tools.catalog import ToolCatalog
from engine.validate.inputs import parse_inputs
from engine.validate.schema import ManifestSchemas

Render = Callable[[Mapping[str, Any]], Any]


def content_hash(document: Document) -> str:
    """sha256 of the manifest text (or of its canonical JSON when it has no text)."""
    text = document.text or json.dumps(document.data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Compiler:
    """Compiles manifests against one tool catalog with one template/expression engine."""

    def __init__(
        self,
        *,
        catalog: ToolCatalog | None = None,
        templates: TemplateEngine | None = None,
        expressions: ExpressionEngine | None = None,
    ) -> None:
        self.catalog = catalog or ToolCatalog.builtin()
        self.templates = templates or shared_templates()
        self.expressions = expressions or shared_expressions()
        self.runtime: KindRuntime = RUNTIME

    # -- entry point ---------------------------------------------------------------------

    def compile(self, document: Document, *, plugin: str | None = None) -> Pipeline:
        """Compile a validated manifest. Raises :class:`CompileError` on what cannot be."""
        data = document.data
        if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list):
            raise CompileError(
                "only a valid action manifest can be compiled",
                hint="run `km-actions validate` on it first",
                file=document.file,
            )
        tree = step_tree(document)
        steps = self.steps(tree.steps)
        outputs = data.get("outputs")
        output_render = (
            self.fields(outputs, ("outputs",), document) if isinstance(outputs, Mapping) else None
        )
        permissions = data.get("permissions")
        return Pipeline(
            name=str(data.get("name", "")),
            description=str(data.get("description", "")),
            version=data.get("version"),
            file=document.file,
            inputs=parse_inputs(data.get("inputs")),
            steps=steps,
            outputs=output_render,
            output_names=tuple(outputs) if isinstance(outputs, Mapping) else (),
            permissions=tuple(permissions) if isinstance(permissions, list) else None,
            tools=frozenset(_named(tree.steps, "tool")),
            calls=tuple(_named(tree.steps, "action")),
            timeout=data.get("timeout"),
            content_hash=content_hash(document),
            block=make_block(steps, progress=True),
            plugin=plugin,
            manifest=data,
            inputs_site=_inputs_site(data.get("inputs"), document),
            tests_site=_tests_site(data.get("tests"), document),
        )

    # -- pieces ----------------------------------------------------------------------------

    def steps(self, block: Block | None) -> tuple[Step, ...]:
        if block is None:
            return ()
        return tuple(self.step(node) for node in block.items)

    def step(self, node: StepNode) -> Step:
        kind, path, document = node.kind, node.path, node.document
        if kind is None or not isinstance(node, KindStep):
            raise CompileError(
                f"a step must have exactly one kind, found {list(node.kinds) or 'none'}",
                path=path,
                span=node.span(),
                file=document.file,
            )
        body = node.compile(self)
        plan = body if isinstance(body, ToolPlan) else None
        condition, timeout, retry = node.condition, node.timeout, node.retry
        spec = retry.value if retry is not None else None
        return Step(
            kind=kind,
            id=node.id,
            name=node.name,
            site=Site(document.file, path, node.span()),
            body=None if plan is not None else body,
            tool=node.tool if isinstance(node, ToolStep) else None,
            plan=plan,
            condition=self.condition(condition.value, condition.path, document)
            if condition is not None
            else None,
            timeout=self.number(timeout.value, timeout.path, document)
            if timeout is not None
            else None,
            retry=_retry(spec),
            retry_numbers=self.retry_numbers(spec, node.at("retry"), document),
            catch=self.steps(node.catch) if node.catch is not None else None,
            continue_on_error=node.continue_on_error,
        )

    def value(self, value: Any, path: Path, document: Document) -> Render:
        """A renderer for a (possibly templated) value that locates its own errors."""
        try:
            renderer = self.templates.compile(value)
        except CompileError as error:
            raise _located(error, path, document) from None
        if getattr(renderer, "constant", False):
            if isinstance(value, list | dict):
                return _FreshCopy(value)
            return renderer
        inner = _item_spans(value, path, document) if isinstance(value, list | dict) else None
        site = Site(document.file, path, document.span(path), inner)
        if isinstance(renderer, Values):
            renderer = renderer.located(site)  # a failing item is located at the item
        return Located(renderer, site)

    def fields(
        self,
        values: Mapping[str, Any],
        path: Path,
        document: Document,
        subject: str = "the outputs",
    ) -> Render:
        """A renderer for a mapping of named values (outputs, event data), each compiled on
        its own so that a failing value is reported at its own key; together they may hold
        at most ``max_template_output`` characters of data (``subject`` names them then).

        >>> from engine.load.loader import load_text
        >>> doc = load_text("outputs: {a: 1, b: '{{ x + 1 }}'}\\n")
        >>> Compiler().fields(doc.data["outputs"], ("outputs",), doc)({"x": 1})
        {'a': 1, 'b': 2}
        """
        items = tuple(
            (name, self.value(value, (*path, name), document)) for name, value in values.items()
        )
        return make_fields(
            items, subject, Site(document.file, path, document.span(path, at_key=True))
        )

    def number(self, value: Any, path: Path, document: Document) -> StepNumber:
        """One of a step's numbers (``path`` ends with its field: ``timeout``, ``wait``,
        ``("repeat", "max")``, ``("retry", "max_attempts")``…): as written, or a template
        checked against the schema's bounds for it each time the step runs."""
        schema = _number_schema(path)
        what = f"`{path[-1]}`" + (f" of `{path[-2]}`" if path[-2] in ("retry", "repeat") else "")
        bounds = Bounds.of_schema(schema)
        site = Site(document.file, path, document.span(path))
        render = self.value(value, path, document) if isinstance(value, str) else None
        if render is not None and not getattr(render, "constant", False):
            return StepNumber(what, bounds, None, render, f"`{value.strip()}`", site)
        number = StepNumber(what, bounds, None, site=site)
        # A written number (or text holding one, `wait: "1.5"`), checked once: validation
        # has refused any other, unless it was skipped.
        try:
            return StepNumber(what, bounds, number.check(value), site=site)
        except StepError as error:
            raise CompileError(
                error.message, hint=error.hint, path=path, span=site.span, file=site.file
            ) from None

    def retry_numbers(self, spec: Any, path: Path, document: Document) -> Any:
        """For a `retry` with a templated number: what gives its policy when the step runs
        (None when every number is written: :func:`_retry` gives the policy then)."""
        if not isinstance(spec, Mapping) or not any(isinstance(v, str) for v in spec.values()):
            return None
        numbers = {
            name: self.number(value, (*path, name), document)
            for name, value in spec.items()
            if name != "on"
        }
        written = _retry({**spec, **{name: 1 for name in numbers}})
        assert written is not None  # spec is a mapping

        def policy(scope: Mapping[str, Any]) -> RetryPolicy:
            given: dict[str, Any] = {name: number.value(scope) for name, number in numbers.items()}
            return replace(written, **given)

        return policy

    def condition(self, value: Any, path: Path, document: Document) -> Any:
        """A compiled expression (``if``/``when``/``until``/``while``) with ``.test``."""
        if isinstance(value, bool):
            return _Constant(value)
        try:
            expression = self.expressions.compile(str(value))
        except CompileError as error:
            raise _located(error, path, document) from None
        return _LocatedExpression(expression, Site(document.file, path, document.span(path)))

    def source(self, value: Any, path: Path, document: Document) -> Render:
        """A `foreach` source: an expression, or a literal list (possibly templated)."""
        if isinstance(value, list):
            return self.value(value, path, document)
        expression = self.condition(value, path, document)
        return expression.evaluate  # type: ignore[no-any-return]

    def tool_call(
        self, tool: str, args: Mapping[str, Any], path: Path, document: Document
    ) -> ToolPlan:
        """A tool step's plan: its arguments (constant or not) as written at ``path``."""
        spec = self.catalog.get(tool)
        constants: dict[str, Any] = {}
        dynamic: list[Dynamic] = []
        for name, value in args.items():
            render = self.value(value, (*path, name), document)
            if getattr(render, "constant", False):
                constants[name] = value
                continue
            schema = spec.properties.get(name) if spec is not None else None
            if isinstance(schema, Mapping):
                # A value the tool refuses is reported where it was written, naming the
                # template that gave it (a whole-value one: `{{ inputs.n }}`).
                source = value.strip() if isinstance(value, str) else ""
                site = render.site if isinstance(render, Located) else None
                check = compile_checker(tool, name, schema, source=source, site=site)
                dynamic.append((name, render, fast_types(schema), check))
            else:
                dynamic.append((name, render, None, None))
        site = Site(document.file, path, document.span(path, at_key=True))
        return tool_plan(tool, constants, dynamic, tuple(args), site)


class _FreshCopy:
    """A literal list or mapping: each run gets its own copy, so that a caller changing
    its outputs, or an in-process tool changing its arguments, cannot change the
    compiled pipeline (and every later run)."""

    __slots__ = ("value",)
    constant = True

    def __init__(self, value: list[Any] | dict[str, Any]) -> None:
        self.value = value

    def __call__(self, scope: Mapping[str, Any]) -> Any:
        return copy.deepcopy(self.value)


class _LocatedExpression:
    """An expression (``if``, ``when``, ``until``, ``while``, a `foreach` source) whose
    errors point at where it is written, not at its step."""

    __slots__ = ("expression", "site")

    def __init__(self, expression: Expression, site: Site) -> None:
        self.expression = expression
        self.site = site

    def test(self, scope: Mapping[str, Any]) -> bool:
        try:
            return self.expression.test(scope)
        except StepError as error:
            raise self.site.locate(error, None) from None

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        try:
            return self.expression.evaluate(scope)
        except StepError as error:
            raise self.site.locate(error, None) from None


class _Constant:
    """A condition written as a literal true/false."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def test(self, scope: Mapping[str, Any]) -> bool:
        return self.value

    def evaluate(self, scope: Mapping[str, Any]) -> bool:
        return self.value


def _item_spans(value: Any, path: Path, document: Document) -> dict[Path, Span | None]:
    """Where each item of a list or mapping value (at any depth) was written, by path."""
    out: dict[Path, Span | None] = {}
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        inner = (*path, key)
        out[inner] = document.span(inner)
        if isinstance(item, list | dict):
            out.update(_item_spans(item, inner, document))
    return out


def _inputs_site(inputs: Any, document: Document) -> Site | None:
    """Where `inputs:` and each input's declaration (its key) are written."""
    span = document.span(("inputs",), at_key=True)
    if not isinstance(inputs, Mapping) or span is None:
        return None
    keys: list[Path] = [("inputs", name) for name in inputs]
    return Site(document.file, ("inputs",), span, {k: document.span(k, at_key=True) for k in keys})


def _tests_site(tests: Any, document: Document) -> Site | None:
    """Where `tests:` and each of its tests are written."""
    span = document.span(("tests",), at_key=True)
    if not isinstance(tests, list) or span is None:
        return None
    items: list[Path] = [("tests", index) for index in range(len(tests))]
    return Site(document.file, ("tests",), span, {k: document.span(k) for k in items})


def _located(error: CompileError, path: Path, document: Document) -> CompileError:
    return CompileError(
        error.message,
        code=error.code,
        hint=error.hint,
        path=path,
        span=document.span(path),
        file=document.file,
    )


def _number_schema(path: Path) -> Mapping[str, Any]:
    """The schema of a step's number: ``timeout``, ``wait``, or one of `repeat`/`retry`."""
    props = ManifestSchemas.load().step_properties
    if path[-2] in ("retry", "repeat"):
        schema: Mapping[str, Any] = props[str(path[-2])]["properties"][path[-1]]
        return schema
    return props[str(path[-1])]  # type: ignore[no-any-return]


def _retry(spec: Any) -> RetryPolicy | None:
    """The retry policy of a step whose retry numbers are all written (a templated one is
    given by :meth:`Compiler.retry_numbers` when the step runs)."""
    if not isinstance(spec, Mapping) or any(isinstance(v, str) for v in spec.values()):
        return None
    on = spec.get("on")
    return RetryPolicy(
        max_attempts=int(spec.get("max_attempts", 1)),
        interval=float(spec.get("interval", 1.0)),
        backoff_rate=float(spec.get("backoff_rate", 2.0)),
        max_delay=float(spec.get("max_delay", 60.0)),
        jitter=float(spec.get("jitter", 0.0)),
        on=frozenset(ErrorKind(k) for k in on) if isinstance(on, list) else DEFAULT_RETRY_ON,
    )


def _named(block: Block, key: str) -> list[str]:
    """Each tool (``key`` "tool") or action ("action") the steps name, once, in order."""
    out: dict[str, None] = {}
    for node in iter_nodes(block):
        value = node.data.get(key)
        if isinstance(value, str):
            out[value] = None
    return list(out)
