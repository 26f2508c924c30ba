"""Templates: Jinja2 interpolation in an immutable sandbox, compiled once into fast renderers.

Templates are expressions, not programs: ``{{ … }}`` with filters, no ``{% %}``
statements. :meth:`TemplateEngine.compile` turns any JSON value holding template
strings into a :class:`Renderer`. Plain references such as ``{{ inputs.name }}`` (and
text made only of them) are read straight from the scope with no Jinja render; a value
that is exactly one ``{{ expr }}`` keeps its native type; everything else is a
pre-compiled Jinja template. Every filter, operator and method that allocates checks
the run's limits first (see :mod:`engine.expressions` for the shared rules).

>>> engine = TemplateEngine()
>>> render = engine.compile({"title": "Hi {{ inputs.name | upper }}", "n": "{{ inputs.n + 1 }}"})
>>> render({"inputs": {"name": "ada", "n": 1}})
{'title': 'Hi ADA', 'n': 2}
"""

from __future__ import annotations

import re
import textwrap
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, NoReturn, Protocol, cast

import markupsafe
from jinja2 import filters as jinja_filters
from jinja2 import nodes, pass_environment
from jinja2.environment import Environment, Template
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.runtime import ChainableUndefined, Context, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS as JINJA_TESTS
from jinja2.utils import missing
from jinja2.visitor import NodeTransformer

from engine.errors import ErrorKind, StepError
from engine.expressions import (
    ALLOWED_METHODS,
    BINARY_OPERATORS,
    MISSING,
    PLAIN_SCALARS,
    PLAIN_TYPES,
    Lookup,
    MissingValue,
    PathPart,
    Problem,
    Reference,
    SandboxFailure,
    Scope,
    b64decode_text,
    b64encode_text,
    bounded_list,
    bounded_range,
    check_size,
    compile_error,
    describe_value,
    dump_json,
    estimate_text_size,
    fn_abs,
    fn_sum,
    format_reference,
    join_text,
    lookup_attribute,
    lookup_item,
    method_hint,
    now_iso,
    parse_json,
    regex_findall,
    regex_replace,
    regex_search,
    replace_text,
    sized_text,
    split_text,
    to_plain,
    to_step_error,
    to_text,
    today_iso,
)
from engine.limits import current_limits


def is_template(text: str) -> bool:
    """True when ``text`` holds template syntax (``{{``, ``{%`` or ``{#``).

    >>> is_template("Hello {{ inputs.name }}"), is_template("Hello")
    (True, False)
    """
    return "{{" in text or "{%" in text or "{#" in text


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """What static analysis found in one template string.

    ``is_native`` is True when the text is exactly one ``{{ expr }}`` (its value keeps
    its type).

    >>> info = TemplateEngine().analyze("{{ inputs.count | default(1) }}")
    >>> info.is_native, info.references[0].guarded
    (True, True)
    """

    problems: tuple[Problem, ...]
    references: tuple[Reference, ...]
    is_native: bool


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
# The sandbox environment


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


def _fail_if_undefined(value: Any) -> None:
    if isinstance(value, Undefined):
        raise _UndefinedUse(value)


def _json_like(value: Any, seen: dict[int, Any]) -> Any:
    """A native result as JSON-like data: tuples, ranges and generators inside it become
    lists; an undefined value anywhere fails. Unchanged containers are returned as they
    are (scope data is not copied); ``seen`` makes shared sub-structures cost once."""
    if type(value) in PLAIN_SCALARS:
        return value
    known = seen.get(id(value), MISSING)
    if known is not MISSING:
        return known
    _fail_if_undefined(value)
    result: Any
    if isinstance(value, Mapping):
        pairs = [(key, _json_like(item, seen)) for key, item in value.items()]
        unchanged = type(value) is dict and all(new is value[key] for key, new in pairs)
        result = value if unchanged else dict(pairs)
    elif isinstance(value, list):
        items = [_json_like(item, seen) for item in value]
        result = value if all(new is old for new, old in zip(items, value, strict=True)) else items
    elif isinstance(value, str):
        return str(value)
    else:
        plain = to_plain(value)
        result = [_json_like(item, seen) for item in plain] if plain is not value else value
    seen[id(value)] = result
    return result


def finalize_output(value: Any) -> Any:
    """What ``{{ value }}`` prints, checked: no functions, no oversized structures.

    >>> finalize_output([1, 2])
    [1, 2]
    """
    if type(value) is str or isinstance(value, int | float | str | Undefined) or value is None:
        return value
    if callable(value):
        raise SandboxFailure(
            "the template shows a function or method instead of a value",
            "call it with parentheses, e.g. `name.upper()`",
        )
    limit = current_limits().max_template_output
    check_size(estimate_text_size(value, limit), "max_template_output")
    return value


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the km-actions rules: an allow-list of methods,
    keys before methods on objects, size-checked operators and calls."""

    # Intercepting every operator also keeps Jinja from folding `9 ** 9 ** 9` at compile.
    intercepted_binops = frozenset(BINARY_OPERATORS)

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

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        try:
            return lookup_attribute(obj, attr) is not MISSING
        except SandboxFailure:
            return False

    def is_safe_callable(self, obj: Any) -> bool:
        return not isinstance(obj, type) and super().is_safe_callable(obj)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Undefined):
            return obj
        value = lookup_attribute(obj, attribute)
        return self.undefined(obj=obj, name=attribute) if value is MISSING else value

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Undefined):
            return obj
        value = lookup_item(obj, argument)
        return self.undefined(obj=obj, name=argument) if value is MISSING else value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _fail_if_undefined(left)
        _fail_if_undefined(right)
        return self.binop_table[operator](left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _fail_if_undefined(__obj)
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


# ---------------------------------------------------------------------------------------
# Filters, tests and globals


def _text_filter(method: Callable[[str], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        result = method(to_text(value))
        return sized_text(result) if isinstance(result, str) else result

    apply.__name__ = getattr(method, "__name__", "text_filter")
    return apply


@pass_environment
def _filter_truncate(environment: Environment, value: Any, *args: Any, **kwargs: Any) -> str:
    return jinja_filters.do_truncate(environment, to_text(value), *args, **kwargs)


def _filter_escape(value: Any) -> str:
    return sized_text(str(markupsafe.escape(to_text(value))))


def _filter_urlencode(value: Any) -> str:
    limit = current_limits().max_string_length
    size = len(value.encode()) * 3 if isinstance(value, str) else estimate_text_size(value, limit)
    check_size(size, "max_string_length")
    return sized_text(jinja_filters.do_urlencode(value))


@pass_environment
def _filter_join(
    environment: Environment, value: Any, d: str = "", attribute: str | int | None = None
) -> str:
    if attribute is not None:
        value = map(jinja_filters.make_attrgetter(environment, attribute), value)
    return join_text(value, d)


@pass_environment
def _filter_sum(
    environment: Environment, value: Any, attribute: str | int | None = None, start: Any = 0
) -> Any:
    if attribute is not None:
        value = map(jinja_filters.make_attrgetter(environment, attribute), value)
    return fn_sum(value, start)


def _filter_wordwrap(
    value: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    text = to_text(value)
    glue = "\n" if wrapstring is None else to_text(wrapstring)
    if not isinstance(width, int) or width < 1:
        raise SandboxFailure("the wordwrap width must be a whole number of at least 1")
    paragraphs = [
        textwrap.wrap(
            line,
            width=width,
            expand_tabs=False,
            replace_whitespace=False,
            break_long_words=break_long_words,
            break_on_hyphens=break_on_hyphens,
        )
        for line in text.splitlines()
    ]
    joints = sum(max(len(p) - 1, 0) for p in paragraphs) + max(len(paragraphs) - 1, 0)
    size = sum(len(line) for paragraph in paragraphs for line in paragraph) + joints * len(glue)
    check_size(size, "max_string_length")
    return glue.join(glue.join(paragraph) for paragraph in paragraphs)


def _filter_indent(
    value: Any, width: int | str = 4, first: bool = False, blank: bool = False
) -> str:
    text = to_text(value)
    size = len(width) if isinstance(width, str) else width
    if isinstance(width, bool) or not isinstance(size, int) or not 0 <= size <= 100:
        raise SandboxFailure("the indent must be 0 to 100 spaces, or a string of that length")
    check_size(len(text) + (text.count("\n") + 1) * size, "max_string_length")
    return jinja_filters.do_indent(text, width, first, blank)


def _filter_tojson(value: Any, indent: int | None = None) -> str:
    return dump_json(value, indent, check=_fail_if_undefined)


def _checked_count(count: Any, what: str) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise SandboxFailure(f"{what} must be a whole number of at least 1")
    check_size(count, "max_collection_size")
    return count


def _filter_batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
    return jinja_filters.do_batch(value, _checked_count(linecount, "the batch size"), fill_with)


def _filter_slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    count = _checked_count(slices, "the number of slices")
    return jinja_filters.sync_do_slice(value, count, fill_with)


_ROUNDING: Final[Mapping[Any, Literal["common", "ceil", "floor"]]] = {
    "common": "common",
    "ceil": "ceil",
    "floor": "floor",
}


def _filter_round(value: Any, precision: int = 0, method: str = "common") -> Any:
    if isinstance(precision, bool) or not isinstance(precision, int) or abs(precision) > 100:
        raise SandboxFailure("round takes a precision between -100 and 100")
    rounding = _ROUNDING.get(method)
    if rounding is None:
        raise SandboxFailure("the round method must be 'common', 'ceil' or 'floor'")
    return jinja_filters.do_round(value, precision, rounding)


def _filter_trim(value: Any, chars: str | None = None) -> str:
    return to_text(value).strip(chars)


def _filter_items(value: Any) -> Any:
    _fail_if_undefined(value)
    return jinja_filters.do_items(value)


def _filter_abs(value: Any) -> Any:
    _fail_if_undefined(value)
    return fn_abs(value)


_CONCAT: Final = "~"  # internal filter `a ~ b` is rewritten to (no user can type this name)
_KEPT_JINJA_FILTERS: Final = (
    "count", "d", "default", "dictsort", "filesizeformat", "first", "float", "groupby",
    "int", "last", "length", "map", "max", "min", "random", "reject", "rejectattr",
    "reverse", "select", "selectattr", "sort", "unique",
)  # fmt: skip

DEFAULT_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    **{name: jinja_filters.FILTERS[name] for name in _KEPT_JINJA_FILTERS},
    "abs": _filter_abs,
    "items": _filter_items,
    "capitalize": _text_filter(str.capitalize),
    "lower": _text_filter(str.lower),
    "upper": _text_filter(str.upper),
    "title": _text_filter(jinja_filters.do_title),
    "trim": _filter_trim,
    "string": to_text,
    "wordcount": _text_filter(jinja_filters.do_wordcount),
    "striptags": _text_filter(jinja_filters.do_striptags),
    "truncate": _filter_truncate,
    "escape": _filter_escape,
    "e": _filter_escape,
    "urlencode": _filter_urlencode,
    "replace": replace_text,
    "join": _filter_join,
    "sum": _filter_sum,
    "wordwrap": _filter_wordwrap,
    "indent": _filter_indent,
    "tojson": _filter_tojson,
    "list": bounded_list,
    "batch": _filter_batch,
    "slice": _filter_slice,
    "round": _filter_round,
    "split": split_text,
    "from_json": parse_json,
    "regex_search": regex_search,
    "regex_replace": regex_replace,
    "regex_findall": regex_findall,
    "b64encode": b64encode_text,
    "b64decode": b64decode_text,
    _CONCAT: join_text,
}
"""Filters a template may use (an engine copies them; register more on the copy)."""

DEFAULT_TESTS: Final[Mapping[str, Callable[..., Any]]] = cast(
    "dict[str, Callable[..., Any]]", dict(JINJA_TESTS)
)
"""Tests (``x is defined``, ``x is number`` …): Jinja's own, none of which allocate."""


def _make_dict(*args: Any, **kwargs: Any) -> dict[Any, Any]:
    result = dict(*args, **kwargs)
    check_size(len(result), "max_collection_size")
    return result


DEFAULT_GLOBALS: Final[Mapping[str, Any]] = {
    "range": bounded_range,
    "dict": _make_dict,
    "now": now_iso,
    "today": today_iso,
}
"""Functions a template may call: ``range`` (capped), ``dict``, ``now()``, ``today()``."""

_REMOVED: Final[Mapping[str, str]] = {
    "center": "padding filters are not available (they can build huge strings)",
    "format": "join text with `~`, or format a number with `'%.2f' % value`",
    "pprint": "use `value | tojson(2)`",
    "xmlattr": "build the text with `~`",
    "urlize": "links are not made automatically; write the text as it should be",
    "attr": "read keys with `value.name` or `value['name']`",
    "safe": "templates are not HTML-escaped, so this is not needed",
    "forceescape": "use `escape`",
    "lipsum": "not available in km-actions templates",
    "cycler": "not available: templates have no loops; use a `foreach` step",
    "joiner": "not available: use `items | join(', ')`",
    "namespace": "not available: templates cannot set variables; use a `set` step",
}
# Expression functions and the template form to write instead.
_TEMPLATE_FORMS: Final[Mapping[str, str]] = {
    "len": "value | length",
    "lower": "value | lower",
    "upper": "value | upper",
    "str": "value | string",
    "int": "value | int",
    "float": "value | float",
    "default": "value | default(fallback)",
    "defined": "value is defined",
    "join": "items | join(separator)",
    "replace": "text | replace(old, new)",
    "split": "text | split(separator)",
    "trim": "text | trim",
    "title": "text | title",
    "round": "number | round",
    "sorted": "items | sort",
    "sum": "items | sum",
    "min": "items | min",
    "max": "items | max",
    "abs": "number | abs",
    "matches": "text | regex_search(pattern)",
    "contains": "item in container",
    "keys": "object.keys()",
    "values": "object.values()",
    "items": "object | items",
    "to_json": "value | tojson",
    "from_json": "text | from_json",
    "type_of": "value is string (or number, mapping, sequence, boolean, none)",
}
_JINJA_SPECIAL: Final = frozenset({"self", "super", "caller", "varargs", "kwargs"})
_STATEMENT_HINT: Final = "templates are expressions only; use a `foreach`/`if`/`set` step"
_SYNTAX_HINT: Final = (
    "check the `{{ … }}` parts: brackets, quotes, and filters as `value | name(args)`"
)
_MAX_DEPTH: Final = 100
_CACHE_SIZE: Final = 4096
_TEMPLATE_GUARD: Final = "if it may be missing, add a fallback: `{ref} | default('')`"


# ---------------------------------------------------------------------------------------
# Static analysis


@dataclass(frozen=True, slots=True)
class _Analysis:
    info: TemplateInfo
    parts: tuple[str | nodes.Expr | Lookup, ...]  # the output in order (shared: never mutated)
    chains: tuple[Lookup, ...]  # every constant chain, to name the parent of a missing key


_INTEGER = r"-?(?:0|[1-9][0-9]*)"
_LINK = (
    r"\.([A-Za-z][A-Za-z0-9_]*)|\.(0|[1-9][0-9]*)|\[ *(" + _INTEGER + r") *\]"
    r"|\[ *'([^'\\\r\n]*)' *\]|\[ *\"([^\"\\\r\n]*)\" *\]"
)
_LINKS = re.compile(_LINK)
# `{{ root.key['key'][0] }}` in the plain form whose Jinja parse is known in advance.
_PLAIN_REFERENCE = re.compile(r"\{\{ *([A-Za-z][A-Za-z0-9_]*)((?:" + _LINK + r")*) *\}\}")
_NOT_ROOTS: Final = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
     "else"}
) | _JINJA_SPECIAL  # fmt: skip


def _quick_analysis(text: str, globals_: Mapping[str, Any]) -> _Analysis | None:
    """The analysis of text whose every ``{{ }}`` is a plain reference, without Jinja's
    parser (which costs ~100 µs a string); None for anything else."""
    if "{%" in text or "{#" in text or "\r" in text:
        return None
    parts: list[str | Lookup] = []
    references: list[Reference] = []
    last = 0
    for match in _PLAIN_REFERENCE.finditer(text):
        root = match.group(1)
        if root in _NOT_ROOTS or root in globals_:
            return None
        links: list[tuple[PathPart, bool]] = []
        for link in _LINKS.finditer(match.group(2)):
            name, digits, integer, single, double = link.groups()
            if name is not None:
                links.append((name, True))
            elif digits is not None or integer is not None:
                links.append((int(digits if digits is not None else integer), False))
            else:
                links.append((single if single is not None else double, False))
        lookup = Lookup(root, links)
        if match.start() > last:
            if text[match.start() - 1] == "{":  # `{{{x}}`: Jinja's block starts one earlier
                return None
            parts.append(text[last : match.start()])
        parts.append(lookup)
        references.append(Reference(root, tuple(k for k, _ in links), False, lookup.text))
        last = match.end()
    if last < len(text):
        parts.append(text[last:])
    if any(isinstance(part, str) and "{{" in part for part in parts):
        return None
    native = len(parts) == 1 and isinstance(parts[0], Lookup)
    chains = tuple(part for part in parts if isinstance(part, Lookup))
    return _Analysis(TemplateInfo((), tuple(references), native), tuple(parts), chains)


def _constant_key(node: nodes.Node) -> PathPart | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str | int):
        return None if isinstance(node.value, bool) else node.value
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const):
        value = node.node.value
        return -value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def _chain_links(
    node: nodes.Node,
) -> tuple[nodes.Node, list[tuple[PathPart | None, bool, nodes.Node]]]:
    links: list[tuple[PathPart | None, bool, nodes.Node]] = []
    while True:
        if isinstance(node, nodes.Getattr):
            links.append((node.attr, True, node))
            node = node.node
        elif isinstance(node, nodes.Getitem):
            links.append((_constant_key(node.arg), False, node))
            node = node.node
        else:
            links.reverse()
            return node, links


def _tokens(environment: Environment, text: str) -> list[tuple[int, int, str, str]]:
    """Jinja's tokens with exact 1-based line and column."""
    found: list[tuple[int, int, str, str]] = []
    cursor, line = 0, 1
    for _, kind, value in environment.lex(text):
        index = text.find(value, cursor) if value else cursor
        index = cursor if index < 0 else index
        line += text.count("\n", cursor, index)
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        found.append((line, column, kind, value))
        line += value.count("\n")
        cursor = index + len(value)
    return found


class _TemplateAnalyzer:
    def __init__(self, engine: TemplateEngine, text: str) -> None:
        self.engine = engine
        self.text = text
        self.tokens: list[tuple[int, int, str, str]] = []
        self.problems: list[Problem] = []
        self.references: list[Reference] = []
        self.chains: list[Lookup] = []
        self.too_deep = False

    def run(self) -> _Analysis:
        environment = self.engine.environment
        try:
            with warnings.catch_warnings():
                # "invalid escape sequence": '\d' in a pattern means what users expect.
                warnings.simplefilter("ignore")
                self.tokens = _tokens(environment, self.text)
                self.check_statements()
                tree = None if self.problems else environment.parse(self.text)
        except TemplateSyntaxError as exc:
            self.add(
                "template-syntax", f"template syntax error: {exc.message}", _SYNTAX_HINT, exc.lineno
            )
        except (RecursionError, MemoryError):
            self.add("template-syntax", "the template is nested too deeply", _SYNTAX_HINT)
        except Exception as exc:  # pragma: no cover - Jinja failing in a way it does not document
            self.add("template-syntax", f"template syntax error: {exc}", _SYNTAX_HINT)
        if self.problems or tree is None:
            return _Analysis(TemplateInfo(tuple(self.problems), (), False), (), ())
        parts: list[str | nodes.Expr] = []
        for node in tree.body:
            if not isinstance(node, nodes.Output):  # pragma: no cover - statements were caught
                self.add("template-statement", "statements are not allowed", _STATEMENT_HINT)
                continue
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    parts.append(child.data)
                else:
                    parts.append(child)
                    self.visit(child, False, 0)
        native = len(parts) == 1 and not isinstance(parts[0], str)
        info = TemplateInfo(tuple(self.problems), tuple(self.references), native)
        return _Analysis(info, tuple(parts), tuple(self.chains))

    def add(
        self,
        code: str,
        message: str,
        hint: str | None,
        line: int | None = None,
        value: str | None = None,
    ) -> None:
        column = None
        if line is not None and value is not None:
            column = next((c for at, c, _, v in self.tokens if at == line and v == value), None)
        self.problems.append(Problem(code, message, hint, line, column))

    def check_statements(self) -> None:
        for index, (line, column, kind, _) in enumerate(self.tokens):
            if kind == "raw_begin":
                name = "raw"
            elif kind == "block_begin":
                following = (t for t in self.tokens[index + 1 :] if t[2] != "whitespace")
                name = next((t[3] for t in following if t[2] == "name"), "")
                if name.startswith("end") or name in ("else", "elif"):
                    continue
            else:
                continue
            message = f"`{{% {name} %}}`: statements are not allowed in templates"
            self.problems.append(
                Problem("template-statement", message, _STATEMENT_HINT, line, column)
            )

    def visit(self, node: nodes.Node, guarded: bool, depth: int) -> None:
        if depth > _MAX_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                self.add(
                    "template-syntax",
                    "the template is nested too deeply",
                    _SYNTAX_HINT,
                    node.lineno,
                )
            return
        depth += 1
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            self.visit_chain(node, guarded, depth)
            return
        if isinstance(node, nodes.Filter):
            self.visit_filter(node)
        elif isinstance(node, nodes.Test):
            self.visit_test(node)
        elif isinstance(node, nodes.Call):
            self.visit_call(node, depth)
            return
        elif isinstance(node, nodes.CondExpr) and node.expr2 is None:
            self.add(
                "template-syntax",
                "an inline `if` needs an `else`",
                "write `{{ a if condition else b }}`",
                node.lineno,
                "if",
            )
        guard_first = isinstance(node, nodes.Filter) and node.name in ("default", "d")
        guard_first |= isinstance(node, nodes.Test) and node.name in ("defined", "undefined")
        for index, child in enumerate(node.iter_child_nodes()):
            self.visit(child, guard_first and index == 0, depth)

    def visit_chain(self, node: nodes.Node, guarded: bool, depth: int) -> None:
        base, links = _chain_links(node)
        for key, is_attribute, link in links:
            if is_attribute and str(key).startswith("_"):
                self.add(
                    "forbidden-name",
                    f"`.{key}` is not allowed: names starting with `_` are private",
                    f"to read such a key, write `value[{key!r}]`",
                    link.lineno,
                    str(key),
                )
        if isinstance(base, nodes.Name):
            name = base.name
            if name.startswith("_") or name in _JINJA_SPECIAL:
                self.add(
                    "forbidden-name",
                    f"`{name}` is not available in templates",
                    "use the names in scope: inputs, vars, steps, …",
                    base.lineno,
                    name,
                )
            elif name not in self.engine.globals:
                constant: list[tuple[PathPart, bool]] = []
                for key, is_attribute, _ in links:
                    if key is None:
                        break
                    constant.append((key, is_attribute))
                path = tuple(key for key, _ in constant)
                text = format_reference(name, path)
                self.references.append(Reference(name, path, guarded, text))
                self.chains.append(Lookup(name, constant))
        else:
            self.visit(base, False, depth)
        for key, is_attribute, link in links:
            if key is None and not is_attribute and isinstance(link, nodes.Getitem):
                self.visit(link.arg, False, depth)

    def visit_filter(self, node: nodes.Filter) -> None:
        name = node.name
        if name in self.engine.filters and name != _CONCAT:
            return
        if name in _REMOVED:
            hint = _REMOVED[name]
        elif name in _TEMPLATE_FORMS:
            hint = f"in templates, write `{_TEMPLATE_FORMS[name]}`"
        else:
            hint = _suggest(name, self.engine.public_filters(), "filters")
        self.add("unknown-filter", f"unknown filter `{name}`", hint, node.lineno, name)

    def visit_test(self, node: nodes.Test) -> None:
        if node.name not in self.engine.tests:
            hint = _suggest(node.name, self.engine.tests, "tests")
            self.add("unknown-test", f"unknown test `{node.name}`", hint, node.lineno, node.name)

    def visit_call(self, node: nodes.Call, depth: int) -> None:
        func = node.node
        if isinstance(func, nodes.Name):
            name = func.name
            if name not in self.engine.globals:
                if name in _REMOVED:
                    hint = _REMOVED[name]
                elif name in _TEMPLATE_FORMS:
                    hint = f"in templates, write `{_TEMPLATE_FORMS[name]}`"
                else:
                    hint = _suggest(name, self.engine.globals, "functions")
                self.add("unknown-function", f"unknown function `{name}`", hint, node.lineno, name)
        elif isinstance(func, nodes.Getattr):
            if func.attr.startswith("_") or func.attr not in ALLOWED_METHODS:
                self.add(
                    "forbidden-name",
                    f"the method `{func.attr}` is not allowed",
                    method_hint(func.attr),
                    node.lineno,
                    func.attr,
                )
            self.visit(func.node, False, depth)
        else:
            self.visit(func, False, depth)
        for child in (*node.args, *node.kwargs, node.dyn_args, node.dyn_kwargs):
            if child is not None:
                self.visit(child, False, depth)


def _suggest(name: str, known: Mapping[str, Any] | Sequence[str], what: str) -> str:
    from difflib import get_close_matches

    candidates = sorted(known)
    match = get_close_matches(name, candidates, n=1)
    return (
        f"did you mean `{match[0]}`?" if match else f"{what} you can use: {', '.join(candidates)}"
    )


class _ConcatToFilter(NodeTransformer):
    """``a ~ b`` becomes the size-checked internal concatenation filter."""

    # The NodeTransformer protocol names this method.
    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, _CONCAT, [], [], None, None, lineno=node.lineno)


# ---------------------------------------------------------------------------------------
# Renderers


def _find_parent(scope: Scope, chains: Sequence[Lookup], parent: Any, key: Any) -> str:
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


def _template_error(exc: BaseException, scope: Scope, chains: Sequence[Lookup]) -> StepError:
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
            failure = MissingValue(_find_parent(scope, chains, parent, key), parent, key)
    elif isinstance(exc, SecurityError):  # pragma: no cover - from paths this sandbox replaces
        failure = SandboxFailure(f"not allowed: {exc}", "use keys, filters and allowed methods")
    elif isinstance(exc, TemplateError):
        failure = SandboxFailure(exc.message or type(exc).__name__)
    return to_step_error(failure, ErrorKind.TEMPLATE_ERROR, _TEMPLATE_GUARD)


class _Constant:
    __slots__ = ("value",)
    constant = True

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, scope: Scope) -> Any:
        return self.value


class _ReferenceRenderer:
    """``{{ inputs.name }}``: a direct lookup, no Jinja render."""

    __slots__ = ("lookup",)
    constant = False

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def __call__(self, scope: Scope) -> Any:
        try:
            value = self.lookup(scope)
            return value if type(value) in PLAIN_TYPES else to_plain(value)
        except (MissingValue, SandboxFailure) as exc:
            raise to_step_error(exc, ErrorKind.TEMPLATE_ERROR, _TEMPLATE_GUARD) from None


class _PlainText:
    """Text whose every ``{{ }}`` is a plain reference: joined lookups, no Jinja render."""

    __slots__ = ("parts",)
    constant = False

    def __init__(self, parts: Sequence[str | Lookup]) -> None:
        self.parts = tuple(parts)

    def __call__(self, scope: Scope) -> str:
        pieces: list[str] = []
        try:
            for part in self.parts:
                if isinstance(part, str):
                    pieces.append(part)
                else:
                    value = part(scope)
                    pieces.append(value if type(value) is str else str(finalize_output(value)))
        except StepError:
            raise
        except Exception as exc:
            raise _template_error(exc, scope, ()) from None
        text = "".join(pieces)
        check_size(len(text), "max_template_output")
        return text


class _CompiledTemplate:
    """A pre-compiled Jinja template and what is needed to run it cheaply."""

    __slots__ = ("_globals", "chains", "render_function", "template")
    constant = False

    def __init__(self, template: Template, chains: Sequence[Lookup]) -> None:
        self.template = template
        self.chains = chains
        self.render_function = template.root_render_func
        # Flattened once: Jinja's new_context re-reads a ChainMap of globals per render.
        self._globals = dict(template.globals)

    def new_context(self, scope: Scope) -> Context:
        parent = dict(self._globals)
        parent.update(scope)
        template = self.template
        return template.environment.context_class(
            template.environment, parent, template.name, template.blocks
        )


class _NativeRenderer(_CompiledTemplate):
    """Exactly one ``{{ expr }}``: a pre-compiled Jinja expression keeping its value's type."""

    __slots__ = ()

    def __call__(self, scope: Scope) -> Any:
        try:
            context = self.new_context(scope)
            deque(self.render_function(context), maxlen=0)  # runs the assignment
            value = context.vars["result"]
            kind = type(value)
            if kind is str:
                check_size(len(value), "max_string_length")
                return value
            if kind in PLAIN_SCALARS:
                return value
            value = _json_like(value, {})
            if isinstance(value, list | dict):
                check_size(len(value), "max_collection_size")
            return value
        except StepError:
            raise
        except Exception as exc:
            raise _template_error(exc, scope, self.chains) from exc


class _JinjaText(_CompiledTemplate):
    """Mixed text: a pre-compiled Jinja template, output measured as it is produced."""

    __slots__ = ()

    def __call__(self, scope: Scope) -> str:
        pieces: list[str] = []
        try:
            context = self.new_context(scope)
            limit = current_limits().max_template_output
            size = 0
            for piece in self.render_function(context):
                size += len(piece)
                if size > limit:
                    check_size(size, "max_template_output")
                pieces.append(piece)
        except StepError:
            raise
        except Exception as exc:
            raise _template_error(exc, scope, self.chains) from exc
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


class TemplateEngine:
    """Analyzes and compiles templates; owns the sandbox and its filters, tests, globals.

    Register extra filters on ``engine.filters`` before compiling. ``fast_paths=False``
    renders plain references through Jinja too (tests compare the two).

    >>> engine = TemplateEngine()
    >>> engine.analyze("{% for x in y %}{% endfor %}").problems[0].code
    'template-statement'
    >>> engine.compile("{{ steps.read.items }}")({"steps": {"read": {"items": [1]}}})
    [1]
    """

    def __init__(self, *, fast_paths: bool = True) -> None:
        self.filters: dict[str, Callable[..., Any]] = dict(DEFAULT_FILTERS)
        self.tests: dict[str, Callable[..., Any]] = dict(DEFAULT_TESTS)
        self.globals: dict[str, Any] = dict(DEFAULT_GLOBALS)
        self.fast_paths = fast_paths
        self.environment = _Sandbox(self.filters, self.tests, self.globals)
        self._analyses: dict[str, _Analysis] = {}
        self._templates: dict[tuple[str, bool], Template] = {}  # compiled Jinja, shared

    def public_filters(self) -> list[str]:
        """The filter names users may write."""
        return sorted(name for name in self.filters if name != _CONCAT)

    def _analysis(self, text: str) -> _Analysis:
        analysis = self._analyses.get(text)
        if analysis is None:
            analysis = _quick_analysis(text, self.globals) or _TemplateAnalyzer(self, text).run()
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
        parts = analysis.parts
        if analysis.info.is_native:
            lookup = self._plain(parts[0])
            if lookup is not None:
                return _ReferenceRenderer(lookup)
            return _NativeRenderer(self._jinja(text, native=True), analysis.chains)
        plain = [part if isinstance(part, str) else self._plain(part) for part in parts]
        if all(part is not None for part in plain):
            return _PlainText([part for part in plain if part is not None])
        return _JinjaText(self._jinja(text, native=False), analysis.chains)

    def _plain(self, node: str | nodes.Expr | Lookup) -> Lookup | None:
        if not self.fast_paths or isinstance(node, str):
            return None
        if isinstance(node, Lookup):
            return node
        base, links = _chain_links(node)
        if not isinstance(base, nodes.Name) or base.name in self.globals:
            return None
        constant = [(key, is_attribute) for key, is_attribute, _ in links if key is not None]
        if len(constant) != len(links):
            return None
        return Lookup(base.name, constant)

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
            tree = _ConcatToFilter().visit(tree)
            output = tree.body[0] if native else None
            if isinstance(output, nodes.Output):  # exactly one `{{ expr }}`: keep its value
                target = nodes.Name("result", "store", lineno=1)
                tree = nodes.Template([nodes.Assign(target, output.nodes[0], lineno=1)], lineno=1)
            tree.set_environment(environment)
            return environment.from_string(tree)
        except Exception as exc:  # Python's compiler on pathological input, say
            problem = Problem(
                "template-syntax", f"the template cannot be compiled: {exc}", _SYNTAX_HINT
            )
            raise compile_error([problem]) from exc
