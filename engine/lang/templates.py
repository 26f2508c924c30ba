"""Templates: Jinja2 interpolation in an immutable sandbox, each compiled to Python once.

Templates are expressions, not programs: ``{{ … }}`` with filters, no ``{% %}``
statements. :meth:`TemplateEngine.compile` turns any JSON value holding template
strings into a :class:`Renderer`: the one-value case of :class:`Values`, whose templates
run as ONE function Jinja's code generator writes, the one path there is (as in Jinja,
no interpreter beside it); :func:`together` makes one function of several values (a
step's arguments, an action's outputs: one call, one evaluation clock per step). A
value that is exactly one ``{{ expr }}`` yields that value and keeps its native type;
any other text is joined from the template's output, measured as it is produced. Every
filter, operator and method that allocates checks the run's limits first (see
:mod:`engine.lang.expressions` for the shared rules).

The sandbox environment, the code generator, the values' functions, the filters and the
static analysis live in ``engine.lang.template_sandbox``, ``engine.lang._template_code``,
``engine.lang._template_values``, ``engine.lang._template_filters`` and
``engine.lang._template_analysis``; this module re-exports their public names.

>>> engine = TemplateEngine()
>>> render = engine.compile({"title": "Hi {{ inputs.name | upper }}", "n": "{{ inputs.n + 1 }}"})
>>> render({"inputs": {"name": "ada", "n": 1}})
{'title': 'Hi ADA', 'n': 2}
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from engine.lang._template_analysis import Analysis, TemplateInfo

# Private here as before the split (tests compare the quick analysis with the full one).
from engine.lang._template_analysis import TemplateAnalyzer as _TemplateAnalyzer
from engine.lang._template_filters import (
    CONCAT,
    DEFAULT_FILTERS,
    DEFAULT_GLOBALS,
    DEFAULT_TESTS,
)
from engine.lang._template_values import (
    Constant,
    Leaf,
    Locator,
    Shape,
    Tree,
    Values,
    ValuesWriter,
    leaves_of,
    together,
)
from engine.lang.sandbox.references import Scope, compile_error
from engine.lang.template_sandbox import Sandbox

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
        self._writer = ValuesWriter(self.environment)

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
        if isinstance(shape, Constant):
            return shape
        values = Values(self._writer, (shape,), (None,), single=True)
        if any(len(leaf.text) > _EAGER_LENGTH for leaf in leaves_of(shape)):
            # A pathological long template (say, a 3,000-link chain Python cannot
            # compile) must fail at compile time, not on its first render.
            values.compiled(eager=True)
        return values

    def _shape(self, value: Any) -> Shape:
        if isinstance(value, str):
            return self._leaf(value) if is_template(value) else Constant(value)
        if isinstance(value, Mapping):
            items = [self._shape(item) for item in value.values()]
            if all(isinstance(item, Constant) for item in items):
                return Constant(value)
            return Tree(tuple(value), items)
        if isinstance(value, list | tuple):
            items = [self._shape(item) for item in value]
            if all(isinstance(item, Constant) for item in items):
                return Constant(value)
            return Tree(None, items)
        return Constant(value)

    def _leaf(self, text: str) -> Leaf:
        analysis = self._analysis(text)
        if analysis.info.problems:
            raise compile_error(analysis.info.problems)
        return Leaf(text, analysis.info.is_native, analysis.chains)


@functools.cache
def shared_templates() -> TemplateEngine:
    """The process's template engine with the default filters: validation, the compiler
    and the engine facade use it, so a template's text is parsed and analysed once (its
    analysis and its compiled Jinja code are kept by text), not once per stage."""
    return TemplateEngine()
