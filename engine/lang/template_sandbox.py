"""The template sandbox: Jinja's immutable sandbox with the km-actions rules.

Undefined values are strict (but chain), output is checked, and any failure becomes the
StepError a user sees. Renders are cheap where Jinja's are not: Jinja's code generator
writes all the templates of a set of values (a step's arguments, an action's outputs;
one template is the one-value case) as one function returning their values (see
:func:`values_tree`), whose render context reads the scope in place, and a plain
object's key is read by the generated code itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from io import StringIO
from types import MappingProxyType
from typing import Any, Final, NoReturn

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.idtracking import VAR_LOAD_RESOLVE
from jinja2.nodes import EvalContext
from jinja2.runtime import ChainableUndefined, Context, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.words import describe_value
from engine.lang.limits import current_limits
from engine.lang.sandbox.budget import spend
from engine.lang.sandbox.failures import MissingValue, SandboxFailure
from engine.lang.sandbox.lookups import MISSING, lookup_attribute, lookup_item
from engine.lang.sandbox.messages import to_step_error
from engine.lang.sandbox.operators import BINARY_OPERATORS
from engine.lang.sandbox.references import Chain, Scope, format_reference
from engine.lang.sandbox.sizes import (
    check_operand,
    check_size,
    estimate_text_size,
    plain_data,
    scope_roots,
    to_plain,
)

TEMPLATE_GUARD: Final = "if it may be missing, add a fallback: `{ref} | default('')`"


class _UndefinedUse(Exception):
    """An undefined value was used (printed, compared, iterated, called …)."""

    def __init__(self, undefined: Undefined) -> None:
        super().__init__()
        self.undefined = undefined


class _Undefined(ChainableUndefined, StrictUndefined):
    """Strict, except that ``.key`` and ``[key]`` chain: ``x.a.b | default(1)`` works
    when ``x.a`` is missing, as ``default(x.a.b, 1)`` does in expressions."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise _UndefinedUse(self)

    __iter__ = __str__ = __len__ = __repr__ = __reversed__ = _fail_with_undefined_error
    __eq__ = __ne__ = __bool__ = __hash__ = __contains__ = _fail_with_undefined_error
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail_with_undefined_error
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _fail_with_undefined_error
    __mod__ = __rmod__ = __pos__ = __neg__ = __call__ = _fail_with_undefined_error
    __lt__ = __le__ = __gt__ = __ge__ = __int__ = __float__ = _fail_with_undefined_error
    __complex__ = __pow__ = __rpow__ = __abs__ = __index__ = _fail_with_undefined_error


class _MissingAttribute(_Undefined):
    """A key read with a dot and missing (``x.items``): the method ``items()`` may be what
    was meant, which the error says."""

    __slots__ = ()


def fail_if_undefined(value: Any) -> None:
    """Raise when ``value`` is undefined, so that using it reports the missing name."""
    if isinstance(value, Undefined):
        raise _UndefinedUse(value)


def json_like(value: Any, scope: Scope) -> Any:
    """A native result as JSON-like data: tuples, ranges and generators inside it become
    lists; an undefined value anywhere fails. Unchanged containers are returned as they
    are (scope data is not copied; shared sub-structures are converted once), except
    the scope's own objects (`vars`, `steps`), which later steps change: a value holds
    copies of them, never the objects themselves (a `set` would make it hold itself)."""
    return plain_data(value, {}, _check_native, scope_roots(scope))


def _check_native(value: Any) -> None:
    fail_if_undefined(value)
    to_plain(value)  # refuses functions and methods


def finalize_output(value: Any) -> Any:
    """What ``{{ value }}`` prints, checked: no functions, no oversized structures, and
    lazy sequences (``x | reverse``, ``x | map(...)``) as the lists they stand for.

    >>> finalize_output([1, 2]), finalize_output(reversed([1, 2]))
    ([1, 2], [2, 1])
    """
    if type(value) is str or isinstance(value, float | str | Undefined) or value is None:
        return value
    if isinstance(value, int):
        check_operand(value)
        return value
    if callable(value):
        raise SandboxFailure(
            "the template shows a function or method instead of a value",
            "call it with parentheses, e.g. `name.upper()`",
        )
    value = plain_data(value)
    limit = current_limits().max_template_output
    check_size(estimate_text_size(value, limit), "max_template_output")
    return value


def values_tree(leaves: Sequence[nodes.Node], result: str) -> nodes.Template:
    """The tree of a set of values computed by one function (see
    :class:`engine.lang.templates.Values`): ``leaves`` are the templates, in order, each
    a native template's expression or a text template's :class:`~jinja2.nodes.Output`;
    ``result`` is the Python expression of what the function returns, built of the
    names ``v0``, ``v1``, … of the leaves' values and of constants the function's
    namespace holds (never of manifest text). Jinja allows no new node types: the
    template node carries ``result``, which :class:`_CodeGenerator` reads."""
    body = [
        leaf if isinstance(leaf, nodes.Output) else nodes.ExprStmt(leaf, lineno=1)
        for leaf in leaves
    ]
    template = nodes.Template(body, lineno=1)
    template.values_result = result  # type: ignore[attr-defined]  # see the docstring
    return template


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, writing a :func:`values_tree` as one function that
    computes every value from a scope and returns them (any other tree as Jinja writes
    it). Jinja creates an ExprStmt for ``{% do %}`` only, an extension the sandbox does
    not enable (and templates hold no statements): here it is a native value."""

    values: str | None = None  # values_tree's result: the root computes values from a scope
    outer: Any = None  # the stream write_commons set aside, and the one it wrote to
    aside: StringIO
    texts = False  # values_tree's leaves include text templates
    leaf = 0  # the index of the value being written

    # The NodeVisitor protocol names these methods.
    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        self.values = getattr(node, "values_result", None)
        self.texts = any(isinstance(leaf, nodes.Output) for leaf in node.body)
        super().visit_Template(node, frame)

    def enter_frame(self, frame: Frame) -> None:
        """The names a values function reads: from the scope, else from the engine's
        globals (as the render context's ``resolve_or_missing`` reads them)."""
        if self.values is None or not frame.rootlevel:
            super().enter_frame(frame)
            return
        for target, (action, name) in frame.symbols.loads.items():
            if action != VAR_LOAD_RESOLVE:  # pragma: no cover - expressions only resolve
                raise NotImplementedError(f"unexpected load {action} in a values function")
            self.writeline(f"{target} = scope_get({name!r}, missing)")
            self.writeline(f"if {target} is missing:")
            self.indent()
            self.writeline(f"{target} = environment.globals.get({name!r}, missing)")
            self.outdent()

    def visit_ExprStmt(self, node: nodes.ExprStmt, frame: Frame) -> None:
        if self.values is None:  # pragma: no cover - `{% do %}` is not enabled
            super().visit_ExprStmt(node, frame)
            return
        # A native value: a string within max_string_length, a whole number that can be
        # shown, a float, a boolean or None is what it is; anything else is checked by
        # `_native` (sizes, JSON-like data), which refuses what the test here lets through.
        value = f"v{self._next_value()}"
        self.writeline(f"{value} = ", node)
        self.visit(node.node, frame)
        self.writeline(
            f"if not (type({value}) is str and len({value}) <= max_string"
            f" or type({value}) is int and {value}.bit_length() <= _max_bits"
            f" or type({value}) is bool or {value} is None or type({value}) is float):"
        )
        self.indent()
        self.writeline(f"{value} = _native({value}, scope)")
        self.outdent()

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        if self.values is None:
            super().visit_Output(node, frame)
            return
        self._text(node, f"v{self._next_value()}", frame)

    def _next_value(self) -> int:
        """``at`` names the value being computed (:func:`values_tree`): when it fails,
        ``_fail`` turns what was raised into that value's StepError."""
        index = self.leaf
        self.leaf += 1
        self.writeline(f"at = {index}")
        return index

    def leave_frame(self, frame: Frame, with_python_scope: bool = False) -> None:
        super().leave_frame(frame, with_python_scope)
        if self.values is None or not frame.rootlevel:
            return
        # The end of what write_commons began: every value computed, under one clock.
        self.writeline(f"return {self.values}")
        self.outdent()
        self.writeline("except Exception as exc:")
        self.indent()
        self.writeline("_fail(exc, at, scope)")
        self.outdent()
        self.writeline("finally:")
        self.indent()
        self.writeline("_end(clock)")
        self.outdent()
        body, self.stream = self.aside.getvalue(), self.outer
        if "context" in body:  # (or a constant's text holds the word: made for nothing)
            self.writeline("context = _Context(scope)")
        self.stream.write(body)

    def _text(self, node: nodes.Output, target: str, frame: Frame) -> None:
        """A text template's pieces, grouped and finalized as Jinja's ``visit_Output``
        groups them, each measured against ``max_template_output`` as it is made."""
        finalize = self._make_finalize()
        body: list[list[Any] | nodes.Expr] = []
        for child in node.nodes:  # constants folded as visit_Output folds them
            try:
                if not (finalize.const or isinstance(child, nodes.TemplateData)):
                    raise nodes.Impossible()
                const = self._output_child_to_const(child, frame, finalize)
            except Exception:  # not constant (Impossible), or fails when it runs
                body.append(child)
                continue
            if body and isinstance(body[-1], list):
                body[-1].append(const)
            else:
                body.append([const])
        pieces: list[str] = []
        self.writeline("size = 0")
        for item in body:
            if isinstance(item, list):
                pieces.append(self._output_const_repr(item))
                self.writeline(f"size += {len(''.join(map(str, item)))}")
            else:
                piece = self.temporary_identifier()
                pieces.append(piece)
                self.writeline(f"{piece} = ", item)
                self._output_child_pre(item, frame, finalize)
                self.visit(item, frame)
                self._output_child_post(item, frame, finalize)
                self.writeline(f"size += len({piece})")
            self.writeline("if size > limit:")
            self.indent()
            self.writeline("_check_size(size, 'max_template_output')")
            self.outdent()
        if not pieces:  # only comments
            self.writeline(f"{target} = ''")
        elif len(pieces) == 1:
            self.writeline(f"{target} = {pieces[0]}")
        else:
            self.writeline(f"{target} = ''.join(({', '.join(pieces)},))")

    callee: nodes.Node | None = None  # the `x.name` of the call being written

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        """A call: Jinja writes its callee first, which :meth:`visit_Getattr` then looks
        up as a method (an object's methods are found only when called)."""
        self.callee = node.node
        super().visit_Call(node, frame, forward_caller=forward_caller)

    @optimizeconst
    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        """``x.key``: a plain object's key is read by the compiled code itself, as
        :meth:`Sandbox.getattr` reads it first; anything else (another type, a missing
        key) calls that method (:meth:`Sandbox.getmethod` for ``x.name(…)``). Most of a
        template's work is such reads."""
        if node.attr[:1] == "_":  # never a key read: the sandbox decides
            super().visit_Getattr(node, frame)
            return
        method = "getmethod" if node is self.callee else "getattr"
        self._key_read(node.node, repr(node.attr), method, frame)

    @optimizeconst
    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        """``x['key']`` and ``x[0]`` with a constant key: as :meth:`visit_Getattr`."""
        key = node.arg
        if not isinstance(key, nodes.Const) or type(key.value) not in (str, int):
            super().visit_Getitem(node, frame)
            return
        self._key_read(node.node, repr(key.value), "getitem", frame)

    def _key_read(self, target: nodes.Node, key: str, method: str, frame: Frame) -> None:
        """``(v[key] if type(v := target) is dict and key in v else environment.method(v,
        key))``: the value is named once (``v`` is a fresh identifier), so the target is
        computed once; a dict's key never raises here (``in`` was checked first)."""
        value = self.temporary_identifier()
        self.write(f"({value}[{key}] if type({value} := ")
        self.visit(target, frame)
        self.write(f") is dict and {key} in {value} else environment.{method}({value}, {key}))")

    def write_commons(self) -> None:
        if self.values is None:
            super().write_commons()
            return
        # Called with the scope. Each value is checked as it is made (see visit_ExprStmt
        # and _text); one evaluation clock for all of them. The render context (reading
        # the scope in place) is made only when the code uses it (calls, operators):
        # what follows is written aside until that is known (see leave_frame).
        self.writeline("scope = context")
        self.writeline("scope_get = scope.get")
        self.outer = self.stream
        self.aside = self.stream = StringIO()
        self.writeline("at = 0")
        self.writeline("clock = _begin()")
        self.writeline("try:")
        self.indent()
        self.writeline("limits = _limits()")
        self.writeline("max_string = limits.max_string_length")
        if self.texts:
            self.writeline("limit = limits.max_template_output")
        # Jinja's preamble without `resolve` (names are read in enter_frame) and `if 0:
        # yield None`, which makes every root a generator.
        self.writeline("undefined = environment.undefined")
        self.writeline("cond_expr_undefined = Undefined")


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the km-actions rules: an allow-list of methods,
    keys before methods on objects, size-checked operators and calls."""

    # Intercepting every operator also keeps Jinja from folding `9 ** 9 ** 9` at compile.
    intercepted_binops = frozenset(BINARY_OPERATORS)
    code_generator_class = _CodeGenerator

    def __init__(
        self,
        filters: dict[str, Callable[..., Any]],
        tests: dict[str, Callable[..., Any]],
        globals_: dict[str, Any],
    ) -> None:
        super().__init__(
            undefined=_Undefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=finalize_output,
            cache_size=0,
            auto_reload=False,
        )
        # The engine owns these registries; the environment uses the very same dicts.
        self.filters = filters
        self.tests = tests  # type: ignore[assignment]  # Jinja annotates tests narrowly
        self.globals = globals_
        self.binop_table = dict(BINARY_OPERATORS)
        environment = self

        class _Context(RenderContext):
            # Shared by every render: only `{% autoescape %}` statements would change it.
            eval_ctx = EvalContext(environment)

        _Context.environment = environment
        self.render_context: type[RenderContext] = _Context

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        try:
            return lookup_attribute(obj, attr, called=True) is not MISSING
        except SandboxFailure:
            return False

    def is_safe_callable(self, obj: Any) -> bool:
        return not isinstance(obj, type) and super().is_safe_callable(obj)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:  # most reads: a key of an object, as lookup_attribute reads it
            value = obj.get(attribute, MISSING)
            if value is not MISSING and attribute[:1] != "_":
                return value
        elif isinstance(obj, Undefined):
            return obj
        value = lookup_attribute(obj, attribute)
        return _MissingAttribute(obj=obj, name=attribute) if value is MISSING else value

    def getmethod(self, obj: Any, attribute: str) -> Any:
        """``obj.name(…)``: as :meth:`getattr`, an object's allowed methods included."""
        if isinstance(obj, Undefined):
            return obj
        value = lookup_attribute(obj, attribute, called=True)
        return _MissingAttribute(obj=obj, name=attribute) if value is MISSING else value

    def getitem(self, obj: Any, argument: Any) -> Any:
        kind = type(obj)
        if kind is dict or (kind is list and type(argument) is int):
            try:  # most reads, as lookup_item reads them; anything else takes its path
                return obj[argument]
            except (LookupError, TypeError):
                pass
        elif isinstance(obj, Undefined):
            return obj
        value = lookup_item(obj, argument)
        return self.undefined(obj=obj, name=argument) if value is MISSING else value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        spend()
        fail_if_undefined(left)
        fail_if_undefined(right)
        return self.binop_table[operator](left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        spend()
        fail_if_undefined(__obj)
        if not callable(__obj):
            raise SandboxFailure(
                f"{describe_value(__obj)} is not a function", "remove the parentheses"
            )
        if not __self.is_safe_callable(__obj):
            raise SandboxFailure("this value cannot be called", "call functions and methods only")
        result = __context.call(__obj, *args, **kwargs)
        if isinstance(result, str):
            check_size(len(result), "max_string_length")
        elif isinstance(result, list | tuple):
            check_size(len(result), "max_collection_size")
        return result


class RenderContext(Context):
    """The context of one render, made with one attribute store: names are read from the
    scope, then from the engine's globals, never merged into a new mapping (Jinja's own
    context copies both for every render). Templates hold no statements, so what only
    statements use (variables they set, blocks, exports, a template's name) stays
    empty; each :class:`Sandbox` makes its own subclass, holding it and its EvalContext."""

    name = None
    vars: dict[str, Any] = MappingProxyType({})  # type: ignore[assignment]  # never set
    exported_vars: set[str] = frozenset()  # type: ignore[assignment]  # never set

    def __init__(self, scope: Scope) -> None:
        # Context.__init__ is not called: it builds all that this context leaves out.
        self.scope = scope

    def resolve_or_missing(self, key: str) -> Any:
        value = self.scope.get(key, missing)
        return self.environment.globals.get(key, missing) if value is missing else value

    def get_all(self) -> dict[str, Any]:
        return {**self.environment.globals, **self.scope}

    def __contains__(self, name: str) -> bool:
        return self.resolve_or_missing(name) is not missing


def _find_parent(scope: Scope, chains: Sequence[Chain], parent: Any, key: Any) -> str:
    """The text of the reference whose value is ``parent`` (to name a missing key)."""
    fallback = ""
    same = (lambda node: node is parent or node == parent) if callable(parent) else None
    for chain in chains:
        node = scope.get(chain.root, MISSING)
        for index in range(len(chain.links) + 1):
            if node is parent or (same is not None and same(node)):
                text = format_reference(chain.root, [k for k, _ in chain.links[:index]])
                if index < len(chain.links) and chain.links[index][0] == key:
                    return text
                fallback = fallback or text
            if index == len(chain.links) or node is MISSING:
                break
            link, is_attribute = chain.links[index]
            try:
                node = (
                    lookup_attribute(node, str(link)) if is_attribute else lookup_item(node, link)
                )
            except SandboxFailure:
                break
    return fallback


def template_error(exc: BaseException, scope: Scope, chains: Sequence[Chain]) -> StepError:
    """The :class:`StepError` for anything a render raised, naming a missing key's parent."""
    failure: BaseException = exc
    if isinstance(exc, _UndefinedUse):
        undefined = exc.undefined
        hint, parent, key = (
            undefined._undefined_hint,
            undefined._undefined_obj,
            undefined._undefined_name,
        )
        if hint:
            failure = SandboxFailure(hint, "add `| default(…)` for this case")
        elif parent is missing:
            failure = MissingValue(None, scope, key)
        else:
            failure = MissingValue(
                _find_parent(scope, chains, parent, key),
                parent,
                key,
                attribute=isinstance(undefined, _MissingAttribute),
            )
    elif isinstance(exc, SecurityError):  # pragma: no cover - from paths this sandbox replaces
        failure = SandboxFailure(f"not allowed: {exc}", "use keys, filters and allowed methods")
    elif isinstance(exc, TemplateError):
        failure = SandboxFailure(exc.message or type(exc).__name__)
    return to_step_error(failure, ErrorKind.TEMPLATE_ERROR, TEMPLATE_GUARD)
