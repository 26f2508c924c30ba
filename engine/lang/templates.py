"""Templates: Jinja2 interpolation in an immutable sandbox, each compiled to Python once.

Templates are expressions, not programs: ``{{ … }}`` with filters, no ``{% %}``
statements. :meth:`TemplateEngine.compile` turns any JSON value holding template
strings into a :class:`Renderer`. Every template string renders through its Jinja
compiled code, the one path there is (as in Jinja, no interpreter beside it): a value
that is exactly one ``{{ expr }}`` yields that value and keeps its native type; any
other text is joined from the template's output, measured as it is produced. Every
filter, operator and method that allocates checks the run's limits first (see
:mod:`engine.lang.expressions` for the shared rules).

The sandbox environment, the filters and the static analysis live in
``engine.lang.template_sandbox``, ``engine.lang._template_filters`` and
``engine.lang._template_analysis``; this module re-exports their public names.

>>> engine = TemplateEngine()
>>> render = engine.compile({"title": "Hi {{ inputs.name | upper }}", "n": "{{ inputs.n + 1 }}"})
>>> render({"inputs": {"name": "ada", "n": 1}})
{'title': 'Hi ADA', 'n': 2}
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping, Sequence
from types import CodeType
from typing import Any, Final, NoReturn, Protocol

from jinja2 import nodes

from engine.diagnostics.errors import CompileError, ErrorKind, StepError
from engine.lang._template_analysis import SYNTAX_HINT, Analysis, TemplateInfo

# Private here as before the split (tests compare the quick analysis with the full one).
from engine.lang._template_analysis import TemplateAnalyzer as _TemplateAnalyzer
from engine.lang._template_filters import (
    CONCAT,
    DEFAULT_FILTERS,
    DEFAULT_GLOBALS,
    DEFAULT_TESTS,
    ConcatToFilter,
)
from engine.lang.limits import current_limits
from engine.lang.sandbox.budget import begin, end
from engine.lang.sandbox.references import Chain, Problem, Scope, compile_error
from engine.lang.sandbox.sizes import (
    MAX_INT_BITS,
    PLAIN_SCALARS,
    check_data_size,
    check_operand,
    check_size,
)
from engine.lang.template_sandbox import (
    Sandbox,
    json_like,
    template_error,
    values_tree,
)

__all__ = [
    "DEFAULT_FILTERS",
    "Locator",
    "Renderer",
    "TemplateEngine",
    "Values",
    "is_template",
    "shared_templates",
    "together",
]


def is_template(text: str) -> bool:
    """True when ``text`` holds template syntax (``{{``, ``{%`` or ``{#``).

    >>> is_template("Hello {{ inputs.name }}"), is_template("Hello")
    (True, False)
    """
    return "{{" in text or "{%" in text or "{#" in text


class Renderer(Protocol):
    """A compiled value: call it with a scope to get the rendered value.

    ``constant`` is True when the value holds no template at all; calling it then
    returns the value itself.

    >>> render = TemplateEngine().compile(["{{ inputs.n * 2 }}", "fixed"])
    >>> render.constant, render({"inputs": {"n": 4}})
    (False, [8, 'fixed'])
    """

    @property
    def constant(self) -> bool: ...

    def __call__(self, scope: Scope) -> Any: ...


# ---------------------------------------------------------------------------------------
# Renderers


class _Constant:
    __slots__ = ("value",)
    constant = True

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, scope: Scope) -> Any:
        return self.value


class Locator(Protocol):
    """Where a value was written (``engine.run.model.Site``): locates its errors."""

    def locate(self, error: StepError, step: str | None) -> StepError: ...


class _Leaf:
    """One template string of a value: its text, whether it is exactly one ``{{ expr }}``
    (its value keeps its type), and the references it makes (to name a missing key)."""

    __slots__ = ("chains", "native", "text")

    def __init__(self, text: str, native: bool, chains: Sequence[Chain]) -> None:
        self.text = text
        self.native = native
        self.chains = chains


class _Tree:
    """An object (``keys``) or a list (``keys`` None) some of whose items hold templates."""

    __slots__ = ("items", "keys")

    def __init__(self, keys: Sequence[Any] | None, items: Sequence[_Shape]) -> None:
        self.keys = keys
        self.items = items


_Shape = _Leaf | _Tree | _Constant
_Where = tuple[_Leaf, Locator | None]


class Values:
    """Values holding templates, computed together by ONE function that Jinja's code
    generator writes (:class:`~engine.lang.template_sandbox.Values`): one call, one
    render context, one evaluation clock for all of them, each value checked inside it
    as it is made. A single value (``single``) is the one-value case: the function
    returns it; otherwise it returns the tuple of the values, in order. A failure is
    reported for the value being computed, located at its ``site`` when it has one.

    The function is written on the first call (or by :meth:`compiled`): Jinja's code
    generation costs about a millisecond, and start-up compiles many actions."""

    __slots__ = ("engine", "function", "ready", "shapes", "single", "sites")
    constant = False

    def __init__(
        self,
        engine: TemplateEngine,
        shapes: Sequence[_Shape],
        sites: Sequence[Locator | None],
        *,
        single: bool,
    ) -> None:
        self.engine = engine
        self.shapes = tuple(shapes)
        self.sites = tuple(sites)
        self.single = single
        self.ready = False
        self.function: Callable[[Scope], Any] = self._first_call

    def __call__(self, scope: Scope) -> Any:
        return self.function(scope)

    def _first_call(self, scope: Scope) -> Any:
        return self.compiled()(scope)

    def compiled(self, *, eager: bool = False) -> Callable[[Scope], Any]:
        """The function computing the values from a scope (written now if it was not).
        ``eager``: a template Python cannot compile raises :class:`CompileError` now
        (otherwise the function raises the located StepError each time it is called)."""
        if not self.ready:
            self.function = self.engine._values_function(self, eager=eager)
            self.ready = True
        return self.function


def together(parts: Sequence[tuple[Renderer, Locator | None]]) -> Values:
    """One :class:`Values` computing the values of several compiled ones (each from
    :meth:`TemplateEngine.compile`, holding templates) at once, each failure located
    at its value's site: a step's arguments, an action's outputs."""
    shapes: list[_Shape] = []
    sites: list[Locator | None] = []
    engine: TemplateEngine | None = None
    for renderer, site in parts:
        if not isinstance(renderer, Values) or not renderer.single:
            raise TypeError(f"not a compiled template value: {renderer!r}")
        if engine is not None and renderer.engine is not engine:
            raise ValueError("values compiled by different template engines")
        engine = renderer.engine
        shapes.append(renderer.shapes[0])
        sites.append(site)
    if engine is None:
        raise ValueError("no values to compute")
    return Values(engine, shapes, sites, single=False)


def _native_value(value: Any, scope: Scope) -> Any:
    """A native template's value, checked: sizes, and JSON-like data."""
    kind = type(value)
    if kind is str:
        if len(value) > current_limits().max_string_length:
            check_size(len(value), "max_string_length")
        return value
    if kind in PLAIN_SCALARS:
        check_operand(value)  # a number too large to show (a literal 0xfff…)
        return value
    value = json_like(value, scope)
    if isinstance(value, list | dict):
        check_size(len(value), "max_collection_size")
        check_data_size(value)
    return value


def _failure(where: Sequence[_Where], exc: Exception, at: int, scope: Scope) -> NoReturn:
    """Raise the StepError of what computing value ``at`` raised, located at its site."""
    leaf, site = where[at]
    error = exc if isinstance(exc, StepError) else template_error(exc, scope, leaf.chains)
    if site is not None:
        raise site.locate(error, None) from None
    if error is exc:
        raise error
    raise error from exc


def _uncompilable(leaf: _Where, problem: CompileError) -> Callable[[Scope], NoReturn]:
    """A function failing as a template Python could not compile fails when it runs
    (it was analysed fine, so this is rare: some deep nesting)."""
    site = leaf[1]

    def fail(scope: Scope) -> NoReturn:
        error = StepError(ErrorKind.TEMPLATE_ERROR, problem.message, hint=problem.hint)
        raise error if site is None else site.locate(error, None)

    return fail


# ---------------------------------------------------------------------------------------
# The engine

_CACHE_SIZE: Final = 4096
_EAGER_LENGTH: Final = 1_000


class TemplateEngine:
    """Analyzes and compiles templates; owns the sandbox and its filters, tests, globals.

    Register extra filters on ``engine.filters`` before compiling.

    >>> engine = TemplateEngine()
    >>> engine.analyze("{% for x in y %}{% endfor %}").problems[0].code
    'template-statement'
    >>> engine.compile("{{ steps.read.items }}")({"steps": {"read": {"items": [1]}}})
    [1]
    """

    def __init__(self) -> None:
        self.filters: dict[str, Callable[..., Any]] = dict(DEFAULT_FILTERS)
        self.tests: dict[str, Callable[..., Any]] = dict(DEFAULT_TESTS)
        self.globals: dict[str, Any] = dict(DEFAULT_GLOBALS)
        self.environment = Sandbox(self.filters, self.tests, self.globals)
        self._analyses: dict[str, Analysis] = {}
        self._codes: dict[tuple[str, tuple[tuple[str, bool], ...]], CodeType] = {}
        # What the code Jinja writes for Values refers to, besides its constants.
        self._namespace: dict[str, Any] = {
            "environment": self.environment,
            "_Context": self.environment.render_context,
            "_native": _native_value,
            "_begin": begin,
            "_end": end,
            "_limits": current_limits,
            "_max_bits": MAX_INT_BITS,
            "_check_size": check_size,
        }

    def public_filters(self) -> list[str]:
        """The filter names users may write."""
        return sorted(name for name in self.filters if name != CONCAT)

    def _analysis(self, text: str) -> Analysis:
        analysis = self._analyses.get(text)
        if analysis is None:
            analysis = _TemplateAnalyzer(self, text).run()
            if len(self._analyses) >= _CACHE_SIZE:
                self._analyses.clear()
            self._analyses[text] = analysis
        return analysis

    def analyze(self, text: str) -> TemplateInfo:
        """Every problem and every name use in ``text``, without rendering it."""
        return self._analysis(text).info

    def compile(self, value: Any) -> Renderer:
        """A :class:`Renderer` for any JSON value holding template strings: a constant,
        or the one-value case of :class:`Values`.

        Raises :class:`CompileError` (with the first problem's code, message and hint)
        when a template string has a problem. Compiling never evaluates user values.
        """
        shape = self._shape(value)
        if isinstance(shape, _Constant):
            return shape
        values = Values(self, (shape,), (None,), single=True)
        if any(len(leaf.text) > _EAGER_LENGTH for leaf in _leaves(shape)):
            # A pathological long template (say, a 3,000-link chain Python cannot
            # compile) must fail at compile time, not on its first render.
            values.compiled(eager=True)
        return values

    def _shape(self, value: Any) -> _Shape:
        if isinstance(value, str):
            return self._leaf(value) if is_template(value) else _Constant(value)
        if isinstance(value, Mapping):
            items = [self._shape(item) for item in value.values()]
            if all(isinstance(item, _Constant) for item in items):
                return _Constant(value)
            return _Tree(tuple(value), items)
        if isinstance(value, list | tuple):
            items = [self._shape(item) for item in value]
            if all(isinstance(item, _Constant) for item in items):
                return _Constant(value)
            return _Tree(None, items)
        return _Constant(value)

    def _leaf(self, text: str) -> _Leaf:
        analysis = self._analysis(text)
        if analysis.info.problems:
            raise compile_error(analysis.info.problems)
        return _Leaf(text, analysis.info.is_native, analysis.chains)

    def _values_function(self, values: Values, *, eager: bool) -> Callable[[Scope], Any]:
        """Write (or take from the cache: values alike in shape share the code) and bind
        the function of ``values``; constants are passed in its namespace."""
        where: list[_Where] = []
        constants: dict[str, Any] = {}

        def constant(value: Any) -> str:
            name = f"_k{len(constants)}"
            constants[name] = value
            return name

        def expression(shape: _Shape, site: Locator | None) -> str:
            if isinstance(shape, _Leaf):
                where.append((shape, site))
                return f"v{len(where) - 1}"
            if isinstance(shape, _Constant):
                return constant(shape.value)
            items = [expression(item, site) for item in shape.items]
            if shape.keys is None:
                return "[" + ", ".join(items) + "]"
            keys = [constant(key) for key in shape.keys]
            return "{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, items, strict=True)) + "}"

        parts = [expression(s, site) for s, site in zip(values.shapes, values.sites, strict=True)]
        result = parts[0] if values.single else "(" + ", ".join(parts) + ",)"
        key = (result, tuple((leaf.text, leaf.native) for leaf, _ in where))
        code = self._codes.get(key)
        if code is None:
            try:
                code = self._values_code([leaf for leaf, _ in where], result)
            except CompileError as problem:
                culprit = self._culprit(where, problem)
                if eager:
                    raise culprit[1] from None
                return _uncompilable(*culprit)
            if len(self._codes) >= _CACHE_SIZE:
                self._codes.clear()
            self._codes[key] = code
        namespace = {
            **self._namespace,
            **constants,
            "__file__": code.co_filename,
            "_fail": functools.partial(_failure, tuple(where)),
        }
        exec(code, namespace)  # Jinja's generated code, as Template.from_code runs it
        function: Callable[[Scope], Any] = namespace["root"]
        return function

    def _culprit(
        self, where: Sequence[_Where], problem: CompileError
    ) -> tuple[_Where, CompileError]:
        """The value whose template Python could not compile, and why."""
        if len(where) > 1:
            for leaf in where:
                try:
                    self._values_code([leaf[0]], "v0")
                except CompileError as alone:
                    return leaf, alone
        return where[0], problem

    def _values_code(self, leaves: Sequence[_Leaf], result: str) -> CodeType:
        environment = self.environment
        try:
            nodes_: list[nodes.Node] = []
            for leaf in leaves:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tree = environment.parse(leaf.text)
                tree = ConcatToFilter().visit(tree)
                outputs = [node for output in tree.body for node in output.nodes]
                nodes_.append(outputs[0] if leaf.native else nodes.Output(outputs, lineno=1))
            template = values_tree(nodes_, result)
            template.set_environment(environment)
            return environment.compile(template)
        except Exception as exc:  # Python's compiler on pathological input, say
            problem = Problem(
                "template-syntax", f"the template cannot be compiled: {exc}", SYNTAX_HINT
            )
            raise compile_error([problem]) from exc


def _leaves(shape: _Shape) -> list[_Leaf]:
    if isinstance(shape, _Leaf):
        return [shape]
    if isinstance(shape, _Tree):
        return [leaf for item in shape.items for leaf in _leaves(item)]
    return []


@functools.cache
def shared_templates() -> TemplateEngine:
    """The process's template engine with the default filters: validation, the compiler
    and the engine facade use it, so a template's text is parsed and analysed once (its
    analysis and its compiled Jinja code are kept by text), not once per stage."""
    return TemplateEngine()
