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
from typing import Any, Final, Protocol, TypeVar

from jinja2 import nodes
from jinja2.environment import Template

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
    PLAIN_SCALARS,
    check_data_size,
    check_operand,
    check_size,
)
from engine.lang.template_sandbox import (
    RenderContext,
    Sandbox,
    json_like,
    native_output,
    template_error,
)

__all__ = [
    "DEFAULT_FILTERS",
    "Renderer",
    "TemplateEngine",
    "is_template",
    "shared_templates",
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


class _CompiledTemplate:
    """A template's compiled Jinja code and what is needed to run it cheaply. Jinja's
    code generation costs about a millisecond per template, so it happens on the first
    render (once): compiling many installed actions at start-up stays fast. The text was
    analysed when the renderer was made, so it is known to compile."""

    __slots__ = ("chains", "context", "engine", "native", "render_function", "text")
    constant = False

    def __init__(
        self, engine: TemplateEngine, text: str, native: bool, chains: Sequence[Chain]
    ) -> None:
        self.engine = engine
        self.context = engine.environment.render_context
        self.text = text
        self.native = native
        self.chains = chains
        # Native: a function returning the value; text: a generator of its pieces.
        self.render_function: Callable[[RenderContext], Any] = self._first_render

    def _compile(self) -> None:
        self.render_function = self.engine._jinja(self.text, native=self.native).root_render_func

    def _first_render(self, context: RenderContext) -> Any:
        try:
            self._compile()
        except CompileError as error:  # analysed fine, yet Python could not compile it
            raise StepError(ErrorKind.TEMPLATE_ERROR, error.message, hint=error.hint) from error
        return self.render_function(context)


class _NativeRenderer(_CompiledTemplate):
    """Exactly one ``{{ expr }}``: a pre-compiled Jinja expression keeping its value's type."""

    __slots__ = ()

    def __call__(self, scope: Scope) -> Any:
        clock = begin()
        try:
            value = self.render_function(self.context(scope))
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
        except StepError:
            raise
        except Exception as exc:
            raise template_error(exc, scope, self.chains) from exc
        finally:
            end(clock)


class _JinjaText(_CompiledTemplate):
    """Mixed text: a pre-compiled Jinja template, output measured as it is produced."""

    __slots__ = ()

    def __call__(self, scope: Scope) -> str:
        pieces: list[str] = []
        clock = begin()
        try:
            limit = current_limits().max_template_output
            size = 0
            for piece in self.render_function(self.context(scope)):
                size += len(piece)
                if size > limit:
                    check_size(size, "max_template_output")
                pieces.append(piece)
        except StepError:
            raise
        except Exception as exc:
            raise template_error(exc, scope, self.chains) from exc
        finally:
            end(clock)
        return "".join(pieces)


class _DictRenderer:
    """An object some of whose values are templates (constant values are copied as is)."""

    __slots__ = ("dynamic", "shape")
    constant = False

    def __init__(self, value: Mapping[Any, Any], items: Sequence[tuple[Any, Renderer]]) -> None:
        self.shape = dict(value)  # key order kept; dynamic values are overwritten per call
        self.dynamic = tuple((key, render) for key, render in items if not render.constant)

    def __call__(self, scope: Scope) -> dict[Any, Any]:
        result = self.shape.copy()
        for key, render in self.dynamic:
            result[key] = render(scope)
        return result


class _ListRenderer:
    __slots__ = ("renderers",)
    constant = False

    def __init__(self, renderers: Sequence[Renderer]) -> None:
        self.renderers = tuple(renderers)

    def __call__(self, scope: Scope) -> list[Any]:
        return [render(scope) for render in self.renderers]


# ---------------------------------------------------------------------------------------
# The engine

_CACHE_SIZE: Final = 4096
_EAGER_LENGTH: Final = 1_000
_T = TypeVar("_T", bound="_CompiledTemplate")


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
        self._templates: dict[tuple[str, bool], Template] = {}  # compiled Jinja, shared

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
        """A :class:`Renderer` for any JSON value holding template strings.

        Raises :class:`CompileError` (with the first problem's code, message and hint)
        when a template string has a problem. Compiling never evaluates user values.
        """
        if isinstance(value, str):
            return self._compile_text(value) if is_template(value) else _Constant(value)
        if isinstance(value, Mapping):
            items = [(key, self.compile(item)) for key, item in value.items()]
            if all(render.constant for _, render in items):
                return _Constant(value)
            return _DictRenderer(value, items)
        if isinstance(value, list | tuple):
            renderers = [self.compile(item) for item in value]
            if all(render.constant for render in renderers):
                return _Constant(value)
            return _ListRenderer(renderers)
        return _Constant(value)

    def _compile_text(self, text: str) -> Renderer:
        analysis = self._analysis(text)
        if analysis.info.problems:
            raise compile_error(analysis.info.problems)
        if analysis.info.is_native:
            return self._eager_if_large(_NativeRenderer(self, text, True, analysis.chains))
        return self._eager_if_large(_JinjaText(self, text, False, analysis.chains))

    def _eager_if_large(self, renderer: _T) -> _T:
        """Long templates are compiled now: a pathological one (say, a 3,000-link chain
        Python cannot compile) must fail at compile time, not on its first render."""
        if len(renderer.text) > _EAGER_LENGTH:
            renderer._compile()
        return renderer

    def _jinja(self, text: str, *, native: bool) -> Template:
        template = self._templates.get((text, native))
        if template is None:
            template = self._compile_jinja(text, native=native)
            if len(self._templates) >= _CACHE_SIZE:
                self._templates.clear()
            self._templates[text, native] = template
        return template

    def _compile_jinja(self, text: str, *, native: bool) -> Template:
        environment = self.environment
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = environment.parse(text)
            tree = ConcatToFilter().visit(tree)
            output = tree.body[0] if native else None
            if isinstance(output, nodes.Output):  # exactly one `{{ expr }}`: keep its value
                tree = native_output(output.nodes[0])
            tree.set_environment(environment)
            return environment.from_string(tree)
        except Exception as exc:  # Python's compiler on pathological input, say
            problem = Problem(
                "template-syntax", f"the template cannot be compiled: {exc}", SYNTAX_HINT
            )
            raise compile_error([problem]) from exc


@functools.cache
def shared_templates() -> TemplateEngine:
    """The process's template engine with the default filters: validation, the compiler
    and the engine facade use it, so a template's text is parsed and analysed once (its
    analysis and its compiled Jinja code are kept by text), not once per stage."""
    return TemplateEngine()
