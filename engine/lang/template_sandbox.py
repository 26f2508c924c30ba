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
from types import MappingProxyType
from typing import Any, Final, NoReturn

from jinja2.exceptions import SecurityError, TemplateError
from jinja2.nodes import EvalContext
from jinja2.runtime import ChainableUndefined, Context, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.words import describe_value
from engine.lang._template_code import ValuesCodeGenerator
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
    """What ``{{ value }}`` prints inside text, checked: null as no text (as GitHub
    Actions expressions print it: ``Hello {{ inputs.title }}`` with an optional input not
    given is ``Hello ``, not ``Hello None``), no functions, no oversized structures, and
    lazy sequences (``x | reverse``, ``x | map(...)``) as the lists they stand for. A
    value that is exactly one ``{{ expr }}`` is not printed: it keeps its null.

    >>> finalize_output([1, 2]), finalize_output(reversed([1, 2])), finalize_output(None)
    ([1, 2], [2, 1], '')
    """
    if value is None:
        return ""
    if type(value) is str or isinstance(value, float | str | Undefined):
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


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the km-actions rules: an allow-list of methods,
    keys before methods on objects, size-checked operators and calls."""

    # Intercepting every operator also keeps Jinja from folding `9 ** 9 ** 9` at compile.
    intercepted_binops = frozenset(BINARY_OPERATORS)
    code_generator_class = ValuesCodeGenerator

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
