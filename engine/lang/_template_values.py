"""Values holding templates, computed together by one function Jinja's code generator
writes (see :mod:`engine.lang.templates`, which compiles them, and
:mod:`engine.lang._template_code`, the code generator).

A set of values (a step's arguments, an action's outputs; one value is the one-value
case) is a tuple of shapes: constants, template strings (leaves) and the objects and
lists holding them. The function computing it reads the scope once, keeps one evaluation
clock, checks each value as it is made, and reports a failure at the value it was
computing (``at``), located at that value's site.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from types import CodeType
from typing import Any, Final, NoReturn, Protocol

from jinja2 import nodes

from engine.diagnostics.errors import CompileError, ErrorKind, StepError
from engine.lang._template_analysis import SYNTAX_HINT
from engine.lang._template_code import values_tree
from engine.lang._template_filters import ConcatToFilter
from engine.lang.limits import current_limits, read_limits
from engine.lang.sandbox.budget import begin, end
from engine.lang.sandbox.references import Chain, Problem, Scope, compile_error
from engine.lang.sandbox.sizes import (
    MAX_INT_BITS,
    PLAIN_SCALARS,
    check_data_size,
    check_operand,
    check_size,
)
from engine.lang.template_sandbox import Sandbox, json_like, template_error

_CACHE_SIZE: Final = 4096


class Constant:
    """A value holding no template: calling it returns the value itself."""

    __slots__ = ("value",)
    constant = True

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, scope: Scope) -> Any:
        return self.value


class Locator(Protocol):
    """Where a value was written (``engine.run.model.Site``): locates its errors."""

    def locate(self, error: StepError, step: str | None) -> StepError: ...

    def within(self, key: Any) -> Locator:
        """Where the item ``key`` (a key or an index) of the value was written."""
        ...


class Leaf:
    """One template string of a value: its text, whether it is exactly one ``{{ expr }}``
    (its value keeps its type), and the references it makes (to name a missing key)."""

    __slots__ = ("chains", "native", "text")

    def __init__(self, text: str, native: bool, chains: Sequence[Chain]) -> None:
        self.text = text
        self.native = native
        self.chains = chains


class Tree:
    """An object (``keys``) or a list (``keys`` None) some of whose items hold templates."""

    __slots__ = ("items", "keys")

    def __init__(self, keys: Sequence[Any] | None, items: Sequence[Shape]) -> None:
        self.keys = keys
        self.items = items


Shape = Leaf | Tree | Constant
Where = tuple[Leaf, Locator | None]


class Values:
    """Values holding templates, computed together by ONE function that Jinja's code
    generator writes (:class:`~engine.lang.template_sandbox.Values`): one call, one
    render context, one evaluation clock for all of them, each value checked inside it
    as it is made. A single value (``single``) is the one-value case: the function
    returns it; otherwise it returns the tuple of the values, in order. A failure is
    reported for the value being computed, located at its ``site`` when it has one.

    The function is written on the first call (or by :meth:`compiled`): Jinja's code
    generation costs about a millisecond, and start-up compiles many actions."""

    __slots__ = ("function", "ready", "shapes", "single", "sites", "writer")
    constant = False

    def __init__(
        self,
        writer: ValuesWriter,
        shapes: Sequence[Shape],
        sites: Sequence[Locator | None],
        *,
        single: bool,
    ) -> None:
        self.writer = writer
        self.shapes = tuple(shapes)
        self.sites = tuple(sites)
        self.single = single
        self.ready = False
        self.function: Callable[[Scope], Any] = self._first_call

    def __call__(self, scope: Scope) -> Any:
        return self.function(scope)

    def _first_call(self, scope: Scope) -> Any:
        return self.compiled()(scope)

    def located(self, site: Locator) -> Values:
        """The same value (a single one), its failures located at ``site``."""
        return Values(self.writer, self.shapes, (site,), single=self.single)

    def compiled(self, *, eager: bool = False) -> Callable[[Scope], Any]:
        """The function computing the values from a scope (written now if it was not).
        ``eager``: a template Python cannot compile raises :class:`CompileError` now
        (otherwise the function raises the located StepError each time it is called)."""
        if not self.ready:
            self.function = self.writer.function(self, eager=eager)
            self.ready = True
        return self.function


def together(parts: Sequence[tuple[Any, Locator | None]]) -> Values:
    """One :class:`Values` computing the values of several compiled ones (each from
    :meth:`~engine.lang.templates.TemplateEngine.compile`, holding templates) at once,
    each failure located at its value's site: a step's arguments, an action's outputs."""
    shapes: list[Shape] = []
    sites: list[Locator | None] = []
    writer: ValuesWriter | None = None
    for renderer, site in parts:
        if not isinstance(renderer, Values) or not renderer.single:
            raise TypeError(f"not a compiled template value: {renderer!r}")
        if writer is not None and renderer.writer is not writer:
            raise ValueError("values compiled by different template engines")
        writer = renderer.writer
        shapes.append(renderer.shapes[0])
        sites.append(site)
    if writer is None:
        raise ValueError("no values to compute")
    return Values(writer, shapes, sites, single=False)


def native_value(value: Any, scope: Scope) -> Any:
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


def failure(where: Sequence[Where], exc: Exception, at: int, scope: Scope) -> NoReturn:
    """Raise the StepError of what computing value ``at`` raised, located at its site."""
    leaf, site = where[at]
    error = exc if isinstance(exc, StepError) else template_error(exc, scope, leaf.chains)
    if site is not None:
        raise site.locate(error, None) from None
    if error is exc:
        raise error
    raise error from exc


def uncompilable(leaf: Where, problem: CompileError) -> Callable[[Scope], NoReturn]:
    """A function failing as a template Python could not compile fails when it runs
    (it was analysed fine, so this is rare: some deep nesting)."""
    site = leaf[1]

    def fail(scope: Scope) -> NoReturn:
        error = StepError(ErrorKind.TEMPLATE_ERROR, problem.message, hint=problem.hint)
        raise error if site is None else site.locate(error, None)

    return fail


class ValuesWriter:
    """Writes the functions of :class:`Values` for one sandbox, keeping their code by
    shape (values alike in shape, in any action, share it)."""

    def __init__(self, environment: Sandbox) -> None:
        self.environment = environment
        self._codes: dict[tuple[str, tuple[tuple[str, bool], ...]], CodeType] = {}
        # What the code refers to, besides each function's constants.
        self._namespace: dict[str, Any] = {
            "environment": environment,
            "_Context": environment.render_context,
            "_native": native_value,
            "_begin": begin,
            "_end": end,
            "_limits": read_limits,
            "_max_bits": MAX_INT_BITS,
            "_check_size": check_size,
        }

    def function(self, values: Values, *, eager: bool) -> Callable[[Scope], Any]:
        """Write (or take from the cache: values alike in shape share the code) and bind
        the function of ``values``; constants are passed in its namespace."""
        where: list[Where] = []
        constants: dict[str, Any] = {}

        def constant(value: Any) -> str:
            name = f"_k{len(constants)}"
            constants[name] = value
            return name

        def expression(shape: Shape, site: Locator | None) -> str:
            if isinstance(shape, Leaf):
                where.append((shape, site))
                return f"v{len(where) - 1}"
            if isinstance(shape, Constant):
                return constant(shape.value)
            # Each item is located at its own site: a failing template in a list or a
            # mapping is reported at the item, not at the whole value.
            keys_ = range(len(shape.items)) if shape.keys is None else shape.keys
            items = [
                expression(item, None if site is None else site.within(key))
                for key, item in zip(keys_, shape.items, strict=True)
            ]
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
                code = self._code([leaf for leaf, _ in where], result)
            except CompileError as problem:
                culprit = self._culprit(where, problem)
                if eager:
                    raise culprit[1] from None
                return uncompilable(*culprit)
            if len(self._codes) >= _CACHE_SIZE:
                self._codes.clear()
            self._codes[key] = code
        namespace = {
            **self._namespace,
            **constants,
            "__file__": code.co_filename,
            "_fail": functools.partial(failure, tuple(where)),
        }
        exec(code, namespace)  # Jinja's generated code, as Template.from_code runs it
        function: Callable[[Scope], Any] = namespace["root"]
        return function

    def _culprit(self, where: Sequence[Where], problem: CompileError) -> tuple[Where, CompileError]:
        """The value whose template Python could not compile, and why."""
        if len(where) > 1:
            for leaf in where:
                try:
                    self._code([leaf[0]], "v0")
                except CompileError as alone:
                    return leaf, alone
        return where[0], problem

    def _code(self, leaves: Sequence[Leaf], result: str) -> CodeType:
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


def leaves_of(shape: Shape) -> list[Leaf]:
    """The template strings of a value, in order."""
    if isinstance(shape, Leaf):
        return [shape]
    if isinstance(shape, Tree):
        return [leaf for item in shape.items for leaf in leaves_of(item)]
    return []
