"""Safe expressions for conditions and loops, and the sandbox rules that templates share.

An expression (``if``, ``until``, ``while``, ``foreach``, hook filters) is parsed once
and evaluated by a :class:`simpleeval.SimpleEval` subclass that knows only the scope's
root names, a whitelist of functions and an allow-list of non-allocating methods.
Every operator that can allocate checks the size of its result *before* allocating,
against the limits of the current run (:func:`engine.limits.current_limits`).

The first half of this module is the sandbox core that :mod:`engine.templates` uses
too: how a value's keys and methods are looked up, the size checks, the operators, the
function set, and the messages a user sees when a name is undefined.

>>> engine = ExpressionEngine()
>>> engine.compile("len(inputs.items) > 2 and inputs.mode == 'fast'").evaluate(
...     {"inputs": {"items": [1, 2, 3], "mode": "fast"}})
True
"""

from __future__ import annotations

import ast
import base64
import binascii
import datetime
import difflib
import functools
import inspect
import io
import json
import math
import operator
import re
import threading
import tokenize
import warnings
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    Sequence,
    ValuesView,
)
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final, NoReturn

import regex  # type: ignore[import-untyped, unused-ignore]  # ships no type information
from jinja2.filters import FILTERS as JINJA_FILTERS
from simpleeval import SimpleEval

from engine.errors import CompileError, Diagnostic, ErrorKind, LimitExceeded, StepError
from engine.limits import current_limits

PathPart = str | int
Scope = Mapping[str, Any]

# ---------------------------------------------------------------------------------------
# What analysis reports


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a template or expression, found without evaluating it.

    ``code`` is stable (the validator maps it to a diagnostic); ``line`` and ``column``
    count from 1 within the text, when known.

    >>> Problem("unknown-function", "unknown function `lenght`", "did you mean `len`?", 1, 1).line
    1
    """

    code: str
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """One use of a name: ``steps.read.result.data.items[0]`` is root ``steps`` and path
    ``("read", "result", "data", "items", 0)``. The path stops at the first part that is
    not a constant. ``guarded`` is True inside ``default(...)`` / ``defined(...)`` (and
    their template forms), where an undefined value is expected.

    >>> Reference("inputs", ("name",), False, "inputs.name").root
    'inputs'
    """

    root: str
    path: tuple[PathPart, ...]
    guarded: bool
    text: str


@dataclass(frozen=True, slots=True)
class ExpressionInfo:
    """What static analysis found in one expression.

    >>> ExpressionEngine().analyze("inputs.a | length").problems[0].hint
    'write `len(inputs.a)`'
    """

    problems: tuple[Problem, ...]
    references: tuple[Reference, ...]


def compile_error(problems: Sequence[Problem]) -> CompileError:
    """The :class:`CompileError` for a list of problems: the first one leads.

    >>> compile_error([Problem("expression-syntax", "the expression is empty")]).code
    'expression-syntax'
    """
    first = problems[0]
    diagnostics = [Diagnostic(p.code, p.message, hint=p.hint) for p in problems]
    return CompileError(first.message, code=first.code, hint=first.hint, diagnostics=diagnostics)


# ---------------------------------------------------------------------------------------
# Failures inside the sandbox (the engines turn them into StepError)


class SandboxFailure(Exception):
    """A value-level failure (a bad argument, a forbidden method): message and hint.

    >>> SandboxFailure("division by zero", "check the divisor").hint
    'check the divisor'
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class MissingValue(Exception):
    """A name, key or item that is not there.

    ``parent_text`` is None for a root name (then ``parent`` is the scope), and ``""``
    when the parent has no name the user wrote (the item of a filtered list, say).

    >>> MissingValue("inputs", {"a": 1}, "b").key
    'b'
    """

    def __init__(self, parent_text: str | None, parent: Any, key: Any) -> None:
        super().__init__(key)
        self.parent_text = parent_text
        self.parent = parent
        self.key = key


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def format_reference(root: str, path: Iterable[PathPart]) -> str:
    """The canonical text of a reference.

    >>> format_reference("steps", ("read", "result", "items", 0))
    'steps.read.result.items[0]'
    >>> format_reference("vars", ("my var",))
    "vars['my var']"
    """
    parts = [root]
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            parts.append(f".{part}")
        else:
            parts.append(f"[{part!r}]")
    return "".join(parts)


def describe_value(value: Any) -> str:
    """A value's kind in the words of a manifest author.

    >>> describe_value({"a": 1}), describe_value(None), describe_value(3.5)
    ('an object', 'null', 'a number')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple | range | KeysView | ValuesView | ItemsView):
        return "a list"
    if callable(value):
        return "a function"
    return f"a {type(value).__name__} value"


def _listing(names: Iterable[Any], limit: int = 20) -> str:
    ordered = sorted({str(name) for name in names})
    shown = ", ".join(ordered[:limit])
    if len(ordered) > limit:
        shown += f", … ({len(ordered) - limit} more)"
    return shown


def _close_match(word: Any, candidates: Iterable[Any]) -> str | None:
    matches = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1)
    return matches[0] if matches else None


def _child_text(parent_text: str, key: Any) -> str:
    if isinstance(key, str | int) and not isinstance(key, bool):
        path: tuple[PathPart, ...] = (key,)
        return format_reference(parent_text, path)
    return f"{parent_text}[{key!r}]"


def describe_missing(error: MissingValue, guard: str) -> tuple[str, str]:
    """Message and hint for a missing name, key or item.

    ``guard`` shows how to tolerate a missing value in this language; ``{ref}`` in it is
    replaced by the reference.

    >>> describe_missing(MissingValue("inputs", {"name": 1, "count": 2}, "nmae"), "")
    ('`inputs.nmae` is undefined', 'did you mean `inputs.name`? inputs has: count, name')
    """
    parent, key, parent_text = error.parent, error.key, error.parent_text
    if parent_text is None:
        names = list(parent) if isinstance(parent, Mapping) else []
        match = _close_match(key, names)
        hint = f"names you can use here: {_listing(names)}" if names else "no names are set here"
        if match is not None:
            hint = f"did you mean `{match}`? {hint}"
        return f"`{key}` is undefined", hint
    if isinstance(parent, Mapping) and _IDENTIFIER.match(parent_text):
        keys = list(parent)
        match = _close_match(key, keys) if isinstance(key, str) else None
        hint = f"{parent_text} has: {_listing(keys)}" if keys else f"{parent_text} is empty"
        if match is not None:
            hint = f"did you mean `{_child_text(parent_text, match)}`? {hint}"
        return f"`{_child_text(parent_text, key)}` is undefined", hint
    message, better = _describe_missing_key(parent, key, f"`{parent_text}`" if parent_text else "")
    if better is None:
        better = guard.format(ref=_child_text(parent_text, key)) if parent_text else _NO_GUARD
    return message[0].upper() + message[1:], better


_NO_GUARD: Final = "check the key name"


def _describe_missing_key(parent: Any, key: Any, subject: str) -> tuple[str, str | None]:
    """Message (and a hint, when there is a better one than the guard) for ``parent[key]``."""
    kind = describe_value(parent)
    if isinstance(parent, Mapping):
        keys = list(parent)
        has = f"it has: {_listing(keys)}" if keys else "it is empty"
        match = _close_match(key, keys) if isinstance(key, str) else None
        hint = f"did you mean {match!r}?" if match is not None else None
        return f"{subject or kind} has no key {key!r}; {has}", hint
    if isinstance(parent, list | tuple | range | str) and isinstance(key, int):
        count = len(parent)
        noun = "character" if isinstance(parent, str) else "item"
        numbered = f"{noun}s are numbered from 0 to {count - 1}" if count else "it is empty"
        return f"{subject or kind} has no {noun} {key}; it has {count} {noun}(s)", numbered
    what = f"{subject} is {kind}, so it" if subject else kind
    if isinstance(parent, list | tuple | range):
        return f"{what} has no key {key!r}", "pick an item first, e.g. `items[0].name`"
    if isinstance(parent, str):
        hint = f"string methods you can use: {_listing(STRING_METHODS, 40)}"
        return f"{what} has no key or method {key!r}", hint
    if callable(parent):
        name = getattr(parent, "__name__", "")
        hint = f"the object has no key {name!r}, so `.{name}` found its built-in method instead"
        return f"{subject or 'a method'} is a method, so it has no key {key!r}", hint
    return f"{what} has no key {key!r}", None


# ---------------------------------------------------------------------------------------
# Keys and methods: what a value exposes


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()

STRING_METHODS: Final = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum",
        "isalpha", "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace",
        "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
        "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split",
        "splitlines", "startswith", "strip", "swapcase", "title", "upper",
    }
)  # fmt: skip
SEQUENCE_METHODS: Final = frozenset({"count", "index"})
MAPPING_METHODS: Final = frozenset({"get", "items", "keys", "values"})
ALLOWED_METHODS: Final = STRING_METHODS | SEQUENCE_METHODS | MAPPING_METHODS

_CHANGES_DATA = "templates and expressions cannot change data: build a new value in a `set` step"
_PADDING = "padding methods are not available (they can build huge strings)"
_TEXT_BUILDING = "build text with `+` in expressions or `~` in templates"
METHOD_HINTS: Final[Mapping[str, str]] = {
    "format": _TEXT_BUILDING,
    "format_map": _TEXT_BUILDING,
    "join": "use join(items, separator) in expressions, `items | join(separator)` in templates",
    "replace": "use replace(text, old, new) in expressions, `text | replace(old, new)` in "
    "templates",
    "ljust": _PADDING,
    "rjust": _PADDING,
    "center": _PADDING,
    "zfill": _PADDING,
    "expandtabs": _PADDING,
    "encode": "byte strings are not available",
    **{
        name: _CHANGES_DATA
        for name in (
            "append", "clear", "copy", "extend", "insert", "pop", "popitem", "remove",
            "reverse", "setdefault", "sort", "update",
        )
    },
}  # fmt: skip


def method_hint(name: str) -> str:
    """Why a method is not available, and what to use instead.

    >>> method_hint("update")
    'templates and expressions cannot change data: build a new value in a `set` step'
    """
    return METHOD_HINTS.get(name, f"methods you can use: {_listing(ALLOWED_METHODS, 60)}")


def _forbidden(obj: Any, name: str) -> SandboxFailure:
    if name.startswith("_"):
        return SandboxFailure(
            f"`{name}` is not allowed: names starting with `_` are private",
            f"to read a key that starts with `_`, write `value[{name!r}]`",
        )
    return SandboxFailure(f"`.{name}` is not allowed on {describe_value(obj)}", method_hint(name))


def lookup_attribute(obj: Any, name: str) -> Any:
    """``obj.name``: a key of an object first, then an allowed method; else :data:`MISSING`.

    Raises :class:`SandboxFailure` for names starting with ``_`` and for methods that
    exist but are not allowed.

    >>> lookup_attribute({"items": [1]}, "items"), lookup_attribute({}, "nope")
    ([1], MISSING)
    """
    if name[:1] == "_":
        raise _forbidden(obj, name)
    if isinstance(obj, Mapping):
        try:
            return obj[name]
        except (KeyError, TypeError):
            pass
        return getattr(obj, name) if name in MAPPING_METHODS else MISSING
    if isinstance(obj, str):
        if name in STRING_METHODS:
            return getattr(obj, name)
    elif isinstance(obj, list | tuple | range):
        if name in SEQUENCE_METHODS:
            return getattr(obj, name)
        fields = getattr(type(obj), "_fields", ())  # named tuples, as Jinja's groupby makes
        if name in fields:
            return getattr(obj, name)
    else:
        return MISSING
    if hasattr(type(obj), name):
        raise _forbidden(obj, name)
    return MISSING


def lookup_item(obj: Any, key: Any) -> Any:
    """``obj[key]``: a key of an object, an item or slice of a list or string.

    >>> lookup_item([1, 2, 3], -1), lookup_item("abc", slice(1, None)), lookup_item({}, "a")
    (3, 'bc', MISSING)
    """
    if isinstance(obj, Mapping):
        if isinstance(key, slice):
            raise SandboxFailure("an object cannot be sliced", "slice lists and strings only")
        try:
            return obj[key]
        except (KeyError, TypeError):
            return MISSING
    if isinstance(obj, str | list | tuple | range):
        if isinstance(key, int):
            try:
                return obj[key]
            except IndexError:
                return MISSING
        if isinstance(key, slice):
            return obj[key]
        return MISSING
    if isinstance(key, slice):
        raise SandboxFailure(f"{describe_value(obj)} cannot be sliced", "slice lists and strings")
    return MISSING


class Lookup:
    """A chain of constant keys read straight from the scope, without a render.

    ``links`` are ``(key, is_attribute)`` pairs: ``x.a`` is an attribute link, ``x['a']``
    and ``x[0]`` are item links. Semantics are those of :func:`lookup_attribute` and
    :func:`lookup_item`; a missing link raises :class:`MissingValue`.

    >>> Lookup("steps", (("read", True), ("items", True), (0, False)))(
    ...     {"steps": {"read": {"items": ["a"]}}})
    'a'
    """

    __slots__ = ("_keys", "links", "root", "text")

    def __init__(self, root: str, links: Sequence[tuple[PathPart, bool]]) -> None:
        self.root = root
        self.links = tuple(links)
        self._keys = (root, *(key for key, _ in self.links))
        self.text = format_reference(root, self._keys[1:])

    def __call__(self, scope: Scope) -> Any:
        value: Any = scope
        try:
            for key in self._keys:
                value = value[key]
        except Exception:
            # Plain subscripts agree with the sandbox rules whenever they succeed on the
            # values a scope holds; anything else takes the careful path.
            return self._walk(scope)
        return value

    def _walk(self, scope: Scope) -> Any:
        try:
            value = scope[self.root]
        except KeyError:
            raise MissingValue(None, scope, self.root) from None
        for index, (key, is_attribute) in enumerate(self.links):
            found = lookup_attribute(value, str(key)) if is_attribute else lookup_item(value, key)
            if found is MISSING:
                raise MissingValue(
                    format_reference(self.root, self._keys[1 : index + 1]), value, key
                )
            value = found
        return value


# ---------------------------------------------------------------------------------------
# Sizes: every allocation is checked against the run's limits before it happens

MAX_INT_DIGITS: Final = 4300  # Python's own limit for turning an int into text
_MAX_INT_BITS: Final = MAX_INT_DIGITS * math.log2(10)
_LIMIT_MESSAGES: Final[Mapping[str, str]] = {
    "max_string_length": "this would make a string of {size:,} characters; "
    "the limit (max_string_length) is {limit:,}",
    "max_collection_size": "this would make a list of {size:,} items; "
    "the limit (max_collection_size) is {limit:,}",
    "max_template_output": "the template output would be {size:,} characters or more; "
    "the limit (max_template_output) is {limit:,}",
}


def _limit(name: str) -> int:
    value: int = getattr(current_limits(), name)
    return value


def check_size(size: int, limit_name: str) -> None:
    """Raise :class:`LimitExceeded` when ``size`` is over the named limit of this run.

    >>> check_size(10, "max_string_length")
    """
    limit = _limit(limit_name)
    if size > limit:
        message = _LIMIT_MESSAGES[limit_name].format(size=size, limit=limit)
        raise LimitExceeded(limit_name, limit, message)


def estimate_text_size(value: Any, budget: int, indent: int = 0) -> int:
    """About how many characters ``str(value)`` or JSON of it would take; stops early
    once past ``budget`` (so a list that holds itself many times costs little to measure).

    >>> estimate_text_size(["ab", 1], 1000) >= len(str(["ab", 1]))
    True
    """
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif item is None or isinstance(item, bool | float):
            total += 24
        elif isinstance(item, int):
            total += item.bit_length() * 3 // 10 + 2
        elif isinstance(item, Mapping | list | tuple | KeysView | ValuesView | ItemsView):
            per_item = 4 + (indent * (depth + 1) + 1 if indent else 0)
            total += 2 + len(item) * per_item
            if total > budget:
                return total
            if isinstance(item, Mapping):
                stack.extend((part, depth + 1) for pair in item.items() for part in pair)
            else:
                stack.extend((part, depth + 1) for part in item)
        else:
            total += 64
        if total > budget:
            return total
    return total


def to_text(value: Any, limit_name: str = "max_string_length") -> str:
    """``str(value)``, measured before it is built.

    >>> to_text([1, "a"]), to_text(None)
    ("[1, 'a']", 'None')
    """
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if value is None or isinstance(value, int | float):
        return str(value)
    limit = _limit(limit_name)
    estimate = estimate_text_size(value, limit)
    if estimate > limit:
        check_size(estimate, limit_name)
    text = str(value)
    check_size(len(text), limit_name)
    return text


def sized_text(text: str) -> str:
    """``text`` after checking it against ``max_string_length`` (for results that can
    grow by a small factor, such as ``upper``).

    >>> sized_text("ok")
    'ok'
    """
    check_size(len(text), "max_string_length")
    return text


def bounded_list(values: Any) -> list[Any]:
    """``list(values)`` of at most ``max_collection_size`` items.

    >>> bounded_list(range(3)), bounded_list("ab")
    ([0, 1, 2], ['a', 'b'])
    """
    if isinstance(values, Mapping | list | tuple | str | range | KeysView | ValuesView):
        check_size(len(values), "max_collection_size")
        return list(values)
    if isinstance(values, ItemsView):
        check_size(len(values), "max_collection_size")
        return list(values)
    if not isinstance(values, Iterable):
        raise SandboxFailure(f"expected a list, got {describe_value(values)}")
    limit = _limit("max_collection_size")
    items = list(islice(values, limit + 1))
    check_size(len(items), "max_collection_size")
    return items


PLAIN_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
PLAIN_TYPES: Final = PLAIN_SCALARS | {dict, list}


def to_plain(value: Any) -> Any:
    """A result as JSON-like data: tuples, ranges, views and generators become lists.

    >>> to_plain((1, 2)), to_plain({"a": 1}.keys())
    ([1, 2], ['a'])
    """
    if type(value) in PLAIN_TYPES:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return value
    if isinstance(value, tuple | range | KeysView | ValuesView | ItemsView | Iterator):
        return bounded_list(value)
    if callable(value):
        raise SandboxFailure(
            "the result is a function or method, not a value",
            "call it with parentheses, e.g. `name.upper()`",
        )
    return value


# ---------------------------------------------------------------------------------------
# Operators (shared with the template sandbox's intercepted binary operators)

_NUMBERS = (int, float)


def _operand_error(symbol: str, left: Any, right: Any) -> SandboxFailure:
    return SandboxFailure(
        f"cannot use `{symbol}` on {describe_value(left)} and {describe_value(right)}",
        "convert one side first, e.g. with int(...), float(...) or str(...)",
    )


def _check_int_bits(bits: float) -> None:
    if bits > _MAX_INT_BITS:
        raise SandboxFailure(
            f"the number would have about {int(bits * math.log10(2)):,} digits; numbers "
            f"are limited to {MAX_INT_DIGITS:,} digits",
            "check the arithmetic: `**` and `*` make big numbers very fast",
        )


def op_add(left: Any, right: Any) -> Any:
    """``left + right`` for numbers, strings and lists, size-checked.

    >>> op_add("a", "b"), op_add([1], [2]), op_add(1, 2.5)
    ('ab', [1, 2], 3.5)
    """
    if isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS):
        return left + right
    if isinstance(left, str) and isinstance(right, str):
        check_size(len(left) + len(right), "max_string_length")
        return left + right
    if isinstance(left, list) and isinstance(right, list):
        check_size(len(left) + len(right), "max_collection_size")
        return left + right
    if isinstance(left, tuple) and isinstance(right, tuple):
        check_size(len(left) + len(right), "max_collection_size")
        return left + right
    raise _operand_error("+", left, right)


def op_sub(left: Any, right: Any) -> Any:
    """``left - right`` for numbers.

    >>> op_sub(5, 2.5)
    2.5
    """
    if isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS):
        return left - right
    raise _operand_error("-", left, right)


def op_mul(left: Any, right: Any) -> Any:
    """``left * right``: numbers, or a string or list repeated, size-checked first.

    >>> op_mul("ab", 2), op_mul(3, [0])
    ('abab', [0, 0, 0])
    """
    if isinstance(left, int) and isinstance(right, int):
        _check_int_bits(left.bit_length() + right.bit_length())
        return left * right
    if isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS):
        return left * right
    if isinstance(right, int) and not isinstance(left, _NUMBERS):
        sequence, count = left, right
    elif isinstance(left, int):
        sequence, count = right, left
    else:
        raise _operand_error("*", left, right)
    if isinstance(sequence, str):
        check_size(len(sequence) * max(count, 0), "max_string_length")
        return sequence * count
    if isinstance(sequence, list | tuple):
        check_size(len(sequence) * max(count, 0), "max_collection_size")
        if count > 1:
            # Repeating shares the items: [[1] * 10000] * 10000 is small in memory but
            # 10^8 items to print, compare or sort. Bound the data it stands for.
            limit = _limit("max_string_length")
            size = estimate_text_size(sequence, limit) * count
            if size > limit:
                raise LimitExceeded(
                    "max_string_length",
                    limit,
                    f"this would make a list holding about {size:,} characters of data; "
                    f"the limit (max_string_length) is {limit:,}",
                )
        return sequence * count
    raise _operand_error("*", left, right)


def _division_by_zero() -> SandboxFailure:
    return SandboxFailure("division by zero", "check the divisor first, e.g. `a / b if b else 0`")


def op_truediv(left: Any, right: Any) -> Any:
    """``left / right`` for numbers.

    >>> op_truediv(7, 2)
    3.5
    """
    if not (isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS)):
        raise _operand_error("/", left, right)
    if not right:
        raise _division_by_zero()
    return left / right


def op_floordiv(left: Any, right: Any) -> Any:
    """``left // right`` for numbers.

    >>> op_floordiv(7, 2)
    3
    """
    if not (isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS)):
        raise _operand_error("//", left, right)
    if not right:
        raise _division_by_zero()
    return left // right


_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?.", re.S)


def format_text(template: str, values: Any) -> str:
    """``template % values`` (printf-style), with widths and arguments measured first.

    >>> format_text("%.2f items", 3)
    '3.00 items'
    """
    limit = _limit("max_string_length")
    size = len(template)
    for match in _PERCENT.finditer(template):
        for number in match.groups():
            if number == "*":
                raise SandboxFailure(
                    "`*` widths are not supported in % formatting", "write the width as a number"
                )
            if number:
                size += int(number) if len(number) < 10 else limit + 1
    arguments = values if isinstance(values, tuple) else (values,)
    for argument in arguments:
        size += estimate_text_size(argument, limit)
        if size > limit:
            break
    check_size(size, "max_string_length")
    return sized_text(template % values)


def op_mod(left: Any, right: Any) -> Any:
    """``left % right``: the remainder of numbers, or printf-style formatting of a string.

    >>> op_mod(7, 3), op_mod("%s!", "hi")
    (1, 'hi!')
    """
    if isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS):
        if not right:
            raise _division_by_zero()
        return left % right
    if isinstance(left, str):
        return format_text(left, right)
    raise _operand_error("%", left, right)


def op_pow(left: Any, right: Any) -> Any:
    """``left ** right`` for numbers, refusing results too large to be useful.

    >>> op_pow(2, 10)
    1024
    """
    if not (isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS)):
        raise _operand_error("**", left, right)
    if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        _check_int_bits(right * math.log2(abs(left)))
    try:
        result = left**right
    except ZeroDivisionError:
        raise SandboxFailure("zero cannot be raised to a negative power") from None
    if isinstance(result, complex):
        raise SandboxFailure(
            "the result is not a real number",
            "a negative number raised to a fractional power has no real value",
        )
    return result


def op_neg(value: Any) -> Any:
    """``-value`` for numbers.

    >>> op_neg(3)
    -3
    """
    if isinstance(value, _NUMBERS):
        return -value
    raise SandboxFailure(f"cannot negate {describe_value(value)}", "`-` works on numbers")


def op_pos(value: Any) -> Any:
    """``+value`` for numbers.

    >>> op_pos(-3)
    -3
    """
    if isinstance(value, _NUMBERS):
        return +value
    raise SandboxFailure(f"cannot use `+` on {describe_value(value)}", "`+` works on numbers")


def op_not(value: Any) -> bool:
    """``not value``.

    >>> op_not("")
    True
    """
    return not value


def _ordering(symbol: str, compare: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def ordered(left: Any, right: Any) -> Any:
        try:
            return compare(left, right)
        except TypeError:
            raise SandboxFailure(
                f"cannot compare {describe_value(left)} with {describe_value(right)} "
                f"using `{symbol}`",
                "convert one side first, e.g. int(x) < 3 or str(x) < 'b'",
            ) from None

    return ordered


def op_in(item: Any, container: Any) -> bool:
    """``item in container`` (a substring, a list item or an object's key).

    >>> op_in("b", "abc"), op_in("k", {"k": 1})
    (True, True)
    """
    if isinstance(container, str) and not isinstance(item, str):
        raise SandboxFailure(
            f"cannot look for {describe_value(item)} in a string", "use str(x) in text"
        )
    try:
        return item in container
    except TypeError:
        raise SandboxFailure(
            f"`in` needs a string, list or object on its right, not {describe_value(container)}"
        ) from None


def _not_in(item: Any, container: Any) -> bool:
    return not op_in(item, container)


COMPARISONS: Final[Mapping[type[ast.AST], Callable[[Any, Any], Any]]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: _ordering("<", operator.lt),
    ast.LtE: _ordering("<=", operator.le),
    ast.Gt: _ordering(">", operator.gt),
    ast.GtE: _ordering(">=", operator.ge),
    ast.In: op_in,
    ast.NotIn: _not_in,
}
"""Comparison operators, with friendly errors for values that cannot be ordered."""

BINARY_OPERATORS: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "+": op_add,
    "-": op_sub,
    "*": op_mul,
    "/": op_truediv,
    "//": op_floordiv,
    "%": op_mod,
    "**": op_pow,
}

# ---------------------------------------------------------------------------------------
# Functions (expression functions and the template filters built on them)

REGEX_TIMEOUT: Final = 0.2  # seconds one regular expression operation may run


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _text_argument(value: Any, what: str) -> str:
    if isinstance(value, str):
        return str(value)
    raise SandboxFailure(f"{what} must be a string, not {describe_value(value)}")


def _sequence(values: Any, function: str) -> Sequence[Any]:
    """Items to read (existing lists are read in place; others are listed, bounded)."""
    if isinstance(values, list | tuple | str | range):
        return values
    if isinstance(values, Mapping | Iterable):
        return bounded_list(values)
    raise SandboxFailure(f"{function}() needs a list, not {describe_value(values)}")


def fn_len(value: Any) -> int:
    """Length of a string, list or object.

    >>> fn_len({"a": 1})
    1
    """
    if isinstance(value, str | list | tuple | Mapping | range | KeysView | ValuesView | ItemsView):
        return len(value)
    raise SandboxFailure(f"len() needs a string, list or object, not {describe_value(value)}")


def fn_lower(value: Any) -> str:
    """Text in lower case.

    >>> fn_lower("AbC")
    'abc'
    """
    return sized_text(to_text(value).lower())


def fn_upper(value: Any) -> str:
    """Text in upper case.

    >>> fn_upper("ab")
    'AB'
    """
    return sized_text(to_text(value).upper())


def fn_title(value: Any) -> str:
    """Text with Each Word Capitalised.

    >>> fn_title("hello world")
    'Hello World'
    """
    return sized_text(to_text(value).title())


def fn_trim(value: Any, chars: str | None = None) -> str:
    """Text without leading and trailing whitespace (or ``chars``).

    >>> fn_trim("  x ")
    'x'
    """
    return to_text(value).strip(chars)


def fn_str(value: Any) -> str:
    """A value as text: ``str(3)`` is ``'3'``.

    >>> fn_str(None)
    'None'
    """
    return to_text(value)


def fn_int(value: Any, base: int = 10) -> int:
    """A whole number from a number or text (``'3.0'`` gives 3).

    >>> fn_int("3.0"), fn_int("ff", 16)
    (3, 255)
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SandboxFailure(f"cannot turn {value} into a whole number")
        return int(value)
    if isinstance(value, str):
        try:
            return int(value, base)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if base == 10 and math.isfinite(number):
            return int(number)
        raise SandboxFailure(
            f"cannot turn {_preview(value)!r} into a whole number", "int() needs text like '42'"
        )
    raise SandboxFailure(f"cannot turn {describe_value(value)} into a whole number")


def fn_float(value: Any) -> float:
    """A number from a number or text.

    >>> fn_float("2.5")
    2.5
    """
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise SandboxFailure(
                f"cannot turn {_preview(value)!r} into a number", "float() needs text like '2.5'"
            ) from None
    else:
        raise SandboxFailure(f"cannot turn {describe_value(value)} into a number")
    if not math.isfinite(number):
        raise SandboxFailure(f"{_preview(value)!r} is not a finite number")
    return number


def fn_bool(value: Any) -> bool:
    """Truthiness: false for false, null, 0, '' and empty lists/objects.

    >>> fn_bool([])
    False
    """
    return bool(value)


def fn_round(value: Any, digits: int | None = None) -> Any:
    """A number rounded to ``digits`` decimals (a whole number when omitted).

    >>> fn_round(2.567, 2), fn_round(2.5)
    (2.57, 2)
    """
    if not isinstance(value, _NUMBERS):
        raise SandboxFailure(f"round() needs a number, not {describe_value(value)}")
    if digits is None:
        return round(value)
    if not isinstance(digits, int) or not -100 <= digits <= 100:
        raise SandboxFailure("round() takes a number of digits between -100 and 100")
    return round(value, digits)


def _min_max(function: str, pick: Callable[..., Any], values: tuple[Any, ...]) -> Any:
    items = _sequence(values[0], function) if len(values) == 1 else values
    if not items:
        raise SandboxFailure(f"{function}() of an empty list", "check the list has items first")
    try:
        return pick(items)
    except TypeError:
        raise SandboxFailure(f"{function}() cannot compare items of different kinds") from None


def fn_min(*values: Any) -> Any:
    """The smallest of a list, or of the arguments.

    >>> fn_min([3, 1]), fn_min(4, 2)
    (1, 2)
    """
    return _min_max("min", min, values)


def fn_max(*values: Any) -> Any:
    """The largest of a list, or of the arguments.

    >>> fn_max([3, 1])
    3
    """
    return _min_max("max", max, values)


def fn_abs(value: Any) -> Any:
    """The absolute value of a number.

    >>> fn_abs(-2)
    2
    """
    if isinstance(value, _NUMBERS):
        return abs(value)
    raise SandboxFailure(f"abs() needs a number, not {describe_value(value)}")


def fn_sum(values: Any, start: Any = 0) -> Any:
    """The sum of a list of numbers.

    >>> fn_sum([1, 2.5])
    3.5
    """
    items = _sequence(values, "sum")
    for item in (start, *items):
        if not isinstance(item, _NUMBERS):
            raise SandboxFailure(
                f"sum() adds numbers, but the list holds {describe_value(item)}",
                "to combine lists or text, use + or join()",
            )
    return sum(items, start)


def fn_sorted(values: Any, reverse: bool = False) -> list[Any]:
    """A sorted copy of a list.

    >>> fn_sorted(["b", "a"])
    ['a', 'b']
    """
    items = bounded_list(values)
    try:
        return sorted(items, reverse=bool(reverse))
    except TypeError:
        raise SandboxFailure("sorted() cannot compare items of different kinds") from None


def fn_any(values: Any) -> bool:
    """True when any item of the list is true.

    >>> fn_any([0, 1])
    True
    """
    return any(_sequence(values, "any"))


def fn_all(values: Any) -> bool:
    """True when every item of the list is true.

    >>> fn_all([0, 1])
    False
    """
    return all(_sequence(values, "all"))


def fn_contains(container: Any, item: Any) -> bool:
    """``item in container``.

    >>> fn_contains(["a"], "a")
    True
    """
    return op_in(item, container)


def fn_startswith(text: Any, prefix: Any) -> bool:
    """True when ``text`` starts with ``prefix``.

    >>> fn_startswith("Ada", "A")
    True
    """
    return to_text(text).startswith(_text_argument(prefix, "the prefix"))


def fn_endswith(text: Any, suffix: Any) -> bool:
    """True when ``text`` ends with ``suffix``.

    >>> fn_endswith("a.pdf", ".pdf")
    True
    """
    return to_text(text).endswith(_text_argument(suffix, "the suffix"))


_QUANTIFIER = re.compile(r"\{(\d*)(?:,(\d*))?\}")
_MAX_PATTERN_COPIES: Final = 50_000


def _expanded_size(pattern: str) -> int:
    """About how many atoms ``regex`` builds for a pattern: it copies fixed repeats such as
    ``(?:a{100}){100}`` while compiling (10,000 copies), before any timeout applies.

    >>> _expanded_size("a{5}b"), _expanded_size("(?:ab{1,9}){3}")
    (6, 9)
    """
    groups: list[list[int]] = [[0, 0]]  # per open group: [size so far, size of last atom]
    index = 0
    while index < len(pattern) and groups[0][0] <= _MAX_PATTERN_COPIES:
        char, atom = pattern[index], 1
        quantifier = _QUANTIFIER.match(pattern, index) if char == "{" else None
        if char == "\\":
            index += 1
            if pattern[index + 1 : index + 2] == "{" and pattern[index : index + 1] in "pPNg":
                index = pattern.find("}", index) if "}" in pattern[index:] else len(pattern)
        elif char == "[":
            index += 2 if pattern[index + 1 : index + 2] in ("]", "^") else 1
            while index < len(pattern) and pattern[index] != "]":
                index += 2 if pattern[index] == "\\" else 1
        elif char == "(":
            groups.append([0, 0])
            index += 1
            continue
        elif char == ")" and len(groups) > 1:
            atom = groups.pop()[0]
        elif quantifier is not None and any(quantifier.groups()):
            count = max(int(quantifier.group(1)[:7] or 0), 1)  # regex copies the minimum
            current = groups[-1]
            current[0] += current[1] * (count - 1)
            current[1] *= count
            index = quantifier.end()
            continue
        elif char in "*+?|^$":
            index += 1
            continue
        groups[-1][0] += atom
        groups[-1][1] = atom
        index += 1
    return sum(group[0] for group in groups)


def _pattern(pattern: Any, ignorecase: bool = False) -> Any:
    source = _text_argument(pattern, "a regular expression")
    size = _expanded_size(source)
    if size > _MAX_PATTERN_COPIES:
        raise SandboxFailure(
            f"the regular expression repeats too much (about {size:,} copies; at most "
            f"{_MAX_PATTERN_COPIES:,})",
            "use + or a range such as {1,100} instead of large fixed counts",
        )
    try:
        return regex.compile(source, regex.IGNORECASE if ignorecase else 0)
    except (regex.error, ValueError, OverflowError) as exc:
        raise SandboxFailure(
            f"invalid regular expression {_preview(source)!r}: {exc}",
            "check its brackets and escapes; in YAML, single-quote a pattern with backslashes",
        ) from None


def _too_slow() -> NoReturn:
    raise SandboxFailure(
        f"the regular expression took longer than {REGEX_TIMEOUT} s",
        "simplify the pattern (nested repeats such as (a+)+ can take forever), "
        "or work on less text",
    )


def regex_matches(text: Any, pattern: Any, ignorecase: bool = False) -> bool:
    """True when ``pattern`` matches somewhere in ``text``.

    >>> regex_matches("Invoice 42", r"\\d+")
    True
    """
    compiled = _pattern(pattern, ignorecase)
    try:
        return compiled.search(to_text(text), timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:
        _too_slow()


def regex_search(text: Any, pattern: Any, ignorecase: bool = False) -> str | None:
    """The first text ``pattern`` matches, or null.

    >>> regex_search("Invoice 42", r"\\d+")
    '42'
    """
    compiled = _pattern(pattern, ignorecase)
    try:
        match = compiled.search(to_text(text), timeout=REGEX_TIMEOUT)
    except TimeoutError:
        _too_slow()
    return None if match is None else str(match.group(0))


def _count_matches(compiled: Any, source: str, count: int = 0) -> tuple[int, int]:
    """How many matches (up to ``count``, 0 for all) and how many characters they cover,
    counted in C without building them."""
    stripped, matches = compiled.subn("", source, count=count, timeout=REGEX_TIMEOUT)
    return matches, len(source) - len(stripped)


def regex_findall(text: Any, pattern: Any, ignorecase: bool = False) -> list[Any]:
    """Every match of ``pattern`` (the group's text when it has one group).

    >>> regex_findall("a1 b22", r"\\d+")
    ['1', '22']
    """
    compiled = _pattern(pattern, ignorecase)
    source = to_text(text)
    try:
        check_size(_count_matches(compiled, source)[0], "max_collection_size")
        found = compiled.findall(source, timeout=REGEX_TIMEOUT)
    except TimeoutError:
        _too_slow()
    return [list(item) if isinstance(item, tuple) else item for item in found]


def regex_replace(
    text: Any, pattern: Any, replacement: Any = "", count: int = 0, ignorecase: bool = False
) -> str:
    """``text`` with matches of ``pattern`` replaced (``\\1`` refers to a group).

    >>> regex_replace("a  b   c", r"\\s+", " ")
    'a b c'
    """
    compiled = _pattern(pattern, ignorecase)
    source, template = to_text(text), _text_argument(replacement, "the replacement")
    try:
        matches, covered = _count_matches(compiled, source, count)
        # Each group reference (a backslash) adds at most the text its match covers.
        size = len(source) - covered + matches * len(template) + template.count("\\") * covered
        if size > _limit("max_string_length") and "\\" in template:
            return _replace_measured(compiled, source, template, count)
        check_size(size, "max_string_length")
        return sized_text(compiled.sub(template, source, count=count, timeout=REGEX_TIMEOUT))
    except TimeoutError:
        _too_slow()
    except (regex.error, IndexError) as exc:
        raise SandboxFailure(f"invalid replacement {_preview(template)!r}: {exc}") from None


def _replace_measured(compiled: Any, source: str, template: str, count: int) -> str:
    """Replacement with group references whose worst case is too big: measure as we go."""
    limit = _limit("max_string_length")
    pieces: list[str] = []
    size = last = done = 0
    for match in compiled.finditer(source, timeout=REGEX_TIMEOUT):
        if count and done >= count:
            break
        start, end = match.span()
        piece = match.expand(template)
        size += start - last + len(piece)
        if size > limit:
            check_size(size, "max_string_length")
        pieces += (source[last:start], piece)
        last, done = end, done + 1
    check_size(size + len(source) - last, "max_string_length")
    pieces.append(source[last:])
    return "".join(pieces)


def replace_text(text: Any, old: Any, new: Any, count: int | None = None) -> str:
    """``text`` with ``old`` replaced by ``new``, size-checked before it is built.

    >>> replace_text("a-b-c", "-", "+", 1)
    'a+b-c'
    """
    source = to_text(text)
    old_text, new_text = to_text(old), to_text(new)
    occurrences = source.count(old_text) if old_text else len(source) + 1
    if count is not None and count >= 0:
        occurrences = min(occurrences, count)
    check_size(len(source) + occurrences * (len(new_text) - len(old_text)), "max_string_length")
    return source.replace(old_text, new_text, -1 if count is None else count)


def join_text(values: Any, separator: Any = "") -> str:
    """The items of a list as text, joined by ``separator``, measured as they are joined.

    >>> join_text([1, "b"], ", ")
    '1, b'
    """
    items = _sequence(values, "join")
    glue = to_text(separator)
    limit = _limit("max_string_length")
    size = len(glue) * max(len(items) - 1, 0)
    check_size(size, "max_string_length")
    parts: list[str] = []
    for item in items:
        part = to_text(item)
        size += len(part)
        if size > limit:
            check_size(size, "max_string_length")
        parts.append(part)
    return glue.join(parts)


def split_text(text: Any, separator: str | None = None, maxsplit: int = -1) -> list[str]:
    """The pieces of ``text`` between ``separator`` (whitespace when omitted).

    >>> split_text("a,b,c", ",")
    ['a', 'b', 'c']
    """
    source = to_text(text)
    if separator is not None:
        glue = _text_argument(separator, "the separator")
        if not glue:
            raise SandboxFailure("the separator cannot be empty", "use list(x) to get characters")
        check_size(source.count(glue) + 1 if maxsplit < 0 else maxsplit + 1, "max_collection_size")
        return source.split(glue, maxsplit)
    parts = source.split(None, maxsplit)
    check_size(len(parts), "max_collection_size")
    return parts


def fn_keys(value: Any) -> list[Any]:
    """The keys of an object, as a list.

    >>> fn_keys({"a": 1})
    ['a']
    """
    if not isinstance(value, Mapping):
        raise SandboxFailure(f"keys() needs an object, not {describe_value(value)}")
    return bounded_list(value.keys())


def fn_values(value: Any) -> list[Any]:
    """The values of an object, as a list.

    >>> fn_values({"a": 1})
    [1]
    """
    if not isinstance(value, Mapping):
        raise SandboxFailure(f"values() needs an object, not {describe_value(value)}")
    return bounded_list(value.values())


def fn_items(value: Any) -> list[list[Any]]:
    """The ``[key, value]`` pairs of an object, as a list.

    >>> fn_items({"a": 1})
    [['a', 1]]
    """
    if not isinstance(value, Mapping):
        raise SandboxFailure(f"items() needs an object, not {describe_value(value)}")
    return [[key, item] for key, item in bounded_list(value.items())]


def now_iso() -> str:
    """The current local time, ISO 8601 with its UTC offset (``2026-05-01T09:30:00+02:00``).

    >>> "T" in now_iso()
    True
    """
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def today_iso() -> str:
    """Today's local date, ISO 8601 (``2026-05-01``).

    >>> len(today_iso())
    10
    """
    return datetime.date.today().isoformat()


def bounded_range(*bounds: Any) -> range:
    """``range(...)`` of at most ``max_collection_size`` numbers.

    >>> list(bounded_range(1, 7, 2))
    [1, 3, 5]
    """
    if not bounds or len(bounds) > 3 or not all(isinstance(b, int) for b in bounds):
        raise SandboxFailure(
            "range() takes 1 to 3 whole numbers", "range(stop), range(start, stop, step)"
        )
    if len(bounds) == 3 and bounds[2] == 0:
        raise SandboxFailure("range() step cannot be zero")
    numbers = range(*bounds)
    try:
        size = len(numbers)
    except OverflowError:
        size = _limit("max_collection_size") + 1
    check_size(size, "max_collection_size")
    return numbers


def fn_range(*bounds: Any) -> list[int]:
    """A list of whole numbers: ``range(3)`` is ``[0, 1, 2]``.

    >>> fn_range(3)
    [0, 1, 2]
    """
    return list(bounded_range(*bounds))


def type_of(value: Any) -> str:
    """The JSON kind of a value: string, number, boolean, null, list, object.

    >>> type_of([1]), type_of(True)
    ('list', 'boolean')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple | range):
        return "list"
    return "other"


def _reject_constant(name: str) -> NoReturn:
    raise SandboxFailure(f"{name} is not valid JSON", "JSON numbers must be finite")


def parse_json(text: Any) -> Any:
    """The data a JSON text holds.

    >>> parse_json('{"a": [1, null]}')
    {'a': [1, None]}
    """
    source = _text_argument(text, "from_json's input")
    try:
        return json.loads(source, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise SandboxFailure(
            f"the text is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            "check the quotes, commas and brackets of the JSON",
        ) from None
    except RecursionError:
        raise SandboxFailure("the JSON is nested too deeply") from None


def dump_json(
    value: Any, indent: int | None = None, check: Callable[[Any], None] | None = None
) -> str:
    """``value`` as JSON text (key order kept, non-ASCII kept), measured first.

    ``check`` sees every value JSON does not know, before it is refused.

    >>> dump_json({"a": [1, None], "b": "é"})
    '{"a": [1, null], "b": "é"}'
    """
    if indent is not None and (not isinstance(indent, int) or not 0 <= indent <= 8):
        raise SandboxFailure("the JSON indent must be a whole number from 0 to 8")
    limit = _limit("max_string_length")
    check_size(estimate_text_size(value, limit, indent or 0), "max_string_length")

    def fallback(item: Any) -> Any:
        if check is not None:
            check(item)
        if isinstance(item, KeysView | ValuesView | ItemsView | range | Iterator):
            return bounded_list(item)
        raise SandboxFailure(f"cannot turn {describe_value(item)} into JSON")

    try:
        text = json.dumps(
            value, ensure_ascii=False, indent=indent, allow_nan=False, default=fallback
        )
    except ValueError:
        raise SandboxFailure("NaN and infinite numbers cannot be written as JSON") from None
    except RecursionError:
        raise SandboxFailure("the value is nested too deeply to write as JSON") from None
    return sized_text(text)


def fn_to_json(value: Any, indent: int | None = None) -> str:
    """A value as JSON text.

    >>> fn_to_json([1, None])
    '[1, null]'
    """
    return dump_json(value, indent)


def b64encode_text(value: Any) -> str:
    """Text (UTF-8) encoded as base64.

    >>> b64encode_text("hi")
    'aGk='
    """
    return sized_text(base64.b64encode(to_text(value).encode()).decode("ascii"))


def b64decode_text(value: Any) -> str:
    """Base64 decoded back to UTF-8 text.

    >>> b64decode_text("aGk=")
    'hi'
    """
    source = _text_argument(value, "b64decode's input")
    try:
        return base64.b64decode(source).decode("utf-8")
    except (binascii.Error, ValueError):
        raise SandboxFailure("the text is not valid base64 of UTF-8 text") from None


DEFAULT_FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = {
    "len": fn_len,
    "lower": fn_lower,
    "upper": fn_upper,
    "title": fn_title,
    "trim": fn_trim,
    "str": fn_str,
    "int": fn_int,
    "float": fn_float,
    "bool": fn_bool,
    "round": fn_round,
    "min": fn_min,
    "max": fn_max,
    "abs": fn_abs,
    "sum": fn_sum,
    "sorted": fn_sorted,
    "any": fn_any,
    "all": fn_all,
    "contains": fn_contains,
    "startswith": fn_startswith,
    "endswith": fn_endswith,
    "matches": regex_matches,
    "replace": replace_text,
    "join": join_text,
    "split": split_text,
    "keys": fn_keys,
    "values": fn_values,
    "items": fn_items,
    "now": now_iso,
    "today": today_iso,
    "range": fn_range,
    "type_of": type_of,
    "from_json": parse_json,
    "to_json": fn_to_json,
}
"""Functions an expression may call (``default`` and ``defined`` are special forms)."""

SPECIAL_FORMS: Final = frozenset({"default", "defined"})


# ---------------------------------------------------------------------------------------
# Turning any failure into the StepError a user sees

_TYPE_WORDS: Final[Mapping[str, str]] = {
    "str": "a string",
    "int": "a number",
    "float": "a number",
    "bool": "true/false",
    "NoneType": "null",
    "dict": "an object",
    "list": "a list",
    "tuple": "a list",
}


_TYPE_NAMES = re.compile(r"""(['"]?)\b(str|int|float|bool|NoneType|dict|list|tuple)\b\1""")


def _friendly_type_error(text: str) -> str:
    return _TYPE_NAMES.sub(lambda m: _TYPE_WORDS[m.group(2)], text)


def to_step_error(exc: BaseException, kind: ErrorKind, guard: str) -> StepError:
    """The :class:`StepError` (no step, no location) for anything evaluation raised.

    >>> to_step_error(ZeroDivisionError(), ErrorKind.EXPRESSION_ERROR, "").message
    'division by zero'
    """
    if isinstance(exc, StepError):
        return exc
    hint: str | None = None
    if isinstance(exc, MissingValue):
        message, hint = describe_missing(exc, guard)
    elif isinstance(exc, SandboxFailure):
        message, hint = exc.message, exc.hint
    elif isinstance(exc, ZeroDivisionError):
        message, hint = _division_by_zero().message, _division_by_zero().hint
    elif isinstance(exc, OverflowError):
        message, hint = f"a number is too large: {exc}", "check the arithmetic"
    elif isinstance(exc, RecursionError):
        message, hint = "the value is nested too deeply", "work on a smaller part of the data"
    elif isinstance(exc, MemoryError):
        message, hint = "out of memory", "make the action work on less data"
    elif isinstance(exc, TypeError):
        message = f"wrong kind of value: {_friendly_type_error(str(exc))}"
        hint = "convert values first, e.g. with int(...), float(...) or str(...)"
    elif isinstance(exc, ValueError):
        message = f"invalid value: {exc}"
    else:
        message = str(exc) or type(exc).__name__
    return StepError(kind, message, hint=hint)


# ---------------------------------------------------------------------------------------
# Expressions: static analysis

CONSTANT_NAMES: Final[Mapping[str, Any]] = {
    "true": True,
    "false": False,
    "null": None,
    "none": None,
    "True": True,
    "False": False,
    "None": None,
}
_MAX_DEPTH: Final = 100
_SYNTAX = "expression-syntax"
_JINJA = "expression-jinja"
_SYNTAX_HINT = "expressions look like `inputs.count > 2 and steps.read.status == 'succeeded'`"

# Template filters and the expression to write instead ({value} is the filtered value).
_FILTER_FORMS: Final[Mapping[str, str]] = {
    "length": "len({value})",
    "count": "len({value})",
    "lower": "lower({value})",
    "upper": "upper({value})",
    "title": "title({value})",
    "trim": "trim({value}{args})",
    "string": "str({value})",
    "int": "int({value})",
    "float": "float({value})",
    "abs": "abs({value})",
    "round": "round({value}{args})",
    "min": "min({value})",
    "max": "max({value})",
    "sum": "sum({value})",
    "sort": "sorted({value})",
    "first": "{value}[0]",
    "last": "{value}[-1]",
    "reverse": "{value}[::-1]",
    "list": "{value}",
    "default": "default({value}{args})",
    "d": "default({value}{args})",
    "join": "join({value}{args})",
    "replace": "replace({value}{args})",
    "split": "split({value}{args})",
    "items": "items({value})",
    "tojson": "to_json({value})",
    "from_json": "from_json({value})",
    "regex_search": "matches({value}{args})",
}
_FILTER_NAMES: Final = frozenset(JINJA_FILTERS) | frozenset(_FILTER_FORMS) | {
    "regex_replace", "regex_findall", "b64encode", "b64decode",
}  # fmt: skip

_UNSUPPORTED: Final[Mapping[type[ast.AST], tuple[str, str]]] = {
    ast.ListComp: ("comprehensions are not supported", "use a `foreach` step"),
    ast.SetComp: ("comprehensions are not supported", "use a `foreach` step"),
    ast.DictComp: ("comprehensions are not supported", "use a `foreach` step"),
    ast.GeneratorExp: ("comprehensions are not supported", "use a `foreach` step"),
    ast.Lambda: ("lambdas are not supported", "use the built-in functions"),
    ast.JoinedStr: ("f-strings are not supported", "join text with +: 'Hello ' + str(name)"),
    ast.NamedExpr: ("assignments (`:=`) are not supported", "use a `set` step"),
    ast.Starred: ("`*` unpacking is not supported", "pass the items one by one"),
    ast.Set: ("set literals `{…}` are not supported", "use a list: [a, b]"),
    ast.Await: ("`await` is not supported", _SYNTAX_HINT),
    ast.Yield: ("`yield` is not supported", _SYNTAX_HINT),
    ast.YieldFrom: ("`yield` is not supported", _SYNTAX_HINT),
}
_BITWISE: Final[Mapping[type[ast.AST], str]] = {
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
}
_BRACES = re.compile(r"\A\s*\{\{-?(.*?)-?\}\}\s*\Z", re.S)


def _constant_key(node: ast.expr) -> PathPart | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return None if isinstance(node.value, bool) else node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return -node.operand.value
    return None


def _chain_links(node: ast.expr) -> tuple[ast.expr, list[tuple[PathPart | None, bool, ast.expr]]]:
    """The base of an attribute/subscript chain and its links, root first."""
    links: list[tuple[PathPart | None, bool, ast.expr]] = []
    while True:
        if isinstance(node, ast.Attribute):
            links.append((node.attr, True, node))
            node = node.value
        elif isinstance(node, ast.Subscript):
            links.append((_constant_key(node.slice), False, node))
            node = node.value
        else:
            links.reverse()
            return node, links


def _constant_chain(node: ast.expr) -> tuple[str, list[tuple[PathPart, bool]]] | None:
    base, links = _chain_links(node)
    if not isinstance(base, ast.Name) or base.id in CONSTANT_NAMES or base.id.startswith("_"):
        return None
    constant = [(key, is_attribute) for key, is_attribute, _ in links if key is not None]
    if len(constant) != len(links) or any(str(k).startswith("_") for k, a in constant if a):
        return None
    return base.id, constant


class _Source:
    """The text handed to :func:`ast.parse` and how its positions map to the user's text."""

    def __init__(self, text: str) -> None:
        match = _BRACES.match(text)
        start, end = 0, len(text)
        if match and "{{" not in match.group(1) and "}}" not in match.group(1):
            start, end = match.span(1)
        self.inner = text[start:end]
        self.line = text.count("\n", 0, start) + 1
        self.column = start - (text.rfind("\n", 0, start) + 1) + 1
        # Parentheses let an expression span lines, as YAML block scalars do.
        self.parsed = "(\n" + self.inner + "\n)"
        self.lines = self.parsed.split("\n")

    def position(self, line: int | None, byte_column: int | None) -> tuple[int | None, int | None]:
        if line == len(self.lines) and len(self.lines) > 2:  # the closing parenthesis: the end
            line, last = line - 1, self.lines[-2].rstrip()
            byte_column = len(last.encode())
        if line is None or line < 2 or line > len(self.lines) - 1:
            return None, None
        column = 0
        if byte_column is not None:
            column = len(self.lines[line - 1].encode()[:byte_column].decode("utf-8", "replace"))
        inner_line = line - 1
        if inner_line == 1:
            return self.line, self.column + column
        return self.line + inner_line - 1, column + 1

    def segment(self, node: ast.AST) -> str:
        chain = _constant_chain(node) if isinstance(node, ast.expr) else None
        if chain is not None:
            return format_reference(chain[0], [key for key, _ in chain[1]])
        text = ast.get_source_segment(self.parsed, node)
        return " ".join(text.split()) if text else "the value"


@functools.lru_cache(maxsize=512)
def _signature(function: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(function)
    except (TypeError, ValueError):  # builtins such as max have none
        return None


def _signature_error(function: Callable[..., Any], node: ast.Call) -> str | None:
    signature = _signature(function)
    if signature is None:
        return None
    try:
        signature.bind(*node.args, **{k.arg: k.value for k in node.keywords if k.arg})
    except TypeError as exc:
        return str(exc)
    return None


class _ExpressionAnalyzer:
    def __init__(self, source: _Source, functions: Mapping[str, Callable[..., Any]]) -> None:
        self.source = source
        self.functions = functions
        self.problems: list[Problem] = []
        self.references: list[Reference] = []
        self.too_deep = False

    def problem(self, code: str, message: str, hint: str | None, node: ast.AST | None) -> None:
        line, column = (None, None)
        if node is not None:
            line, column = self.source.position(
                getattr(node, "lineno", None), getattr(node, "col_offset", None)
            )
        self.problems.append(Problem(code, message, hint, line, column))

    def visit(self, node: ast.AST, guarded: bool = False, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                self.problem(_SYNTAX, "the expression is nested too deeply", _SYNTAX_HINT, node)
            return
        depth += 1
        if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
            self.visit_chain(node, guarded, depth)
        elif isinstance(node, ast.Constant):
            if type(node.value) not in (str, int, float, bool, type(None)):
                self.problem(
                    _SYNTAX,
                    f"{type(node.value).__name__} values are not supported",
                    "use text, numbers, true/false or null",
                    node,
                )
        elif isinstance(node, ast.Call):
            self.visit_call(node, guarded, depth)
        elif isinstance(node, ast.BinOp):
            self.visit_binop(node, guarded, depth)
        elif isinstance(node, ast.Compare):
            self.visit_compare(node, guarded, depth)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            self.problem(
                _SYNTAX,
                "the `~` operator is not supported",
                "in expressions, join text with +: str(a) + str(b)",
                node,
            )
        elif isinstance(node, ast.Dict) and any(key is None for key in node.keys):
            self.problem(
                _SYNTAX, "`**` unpacking is not supported", "list the keys one by one", node
            )
        elif isinstance(
            node, ast.UnaryOp | ast.BoolOp | ast.IfExp | ast.List | ast.Tuple | ast.Dict | ast.Slice
        ):
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, ast.boolop | ast.unaryop | ast.expr_context):
                    self.visit(child, guarded, depth)
        else:
            message, hint = _UNSUPPORTED.get(
                type(node),
                (f"`{type(node).__name__}` is not supported in expressions", _SYNTAX_HINT),
            )
            self.problem(_SYNTAX, message, hint, node)

    def visit_chain(self, node: ast.expr, guarded: bool, depth: int) -> None:
        base, links = _chain_links(node)
        for key, is_attribute, link in links:
            if is_attribute and str(key).startswith("_"):
                self.problem(
                    "forbidden-name",
                    f"`.{key}` is not allowed: names starting with `_` are private",
                    f"to read such a key, write `value[{key!r}]`",
                    link,
                )
        if isinstance(base, ast.Name):
            if base.id.startswith("_"):
                self.problem(
                    "forbidden-name",
                    f"`{base.id}` is not allowed: names starting with `_` are private",
                    "use the names in scope: inputs, vars, steps, …",
                    base,
                )
            elif base.id not in CONSTANT_NAMES:
                path: list[PathPart] = []
                for key, _, _ in links:
                    if key is None:
                        break
                    path.append(key)
                text = format_reference(base.id, path)
                self.references.append(Reference(base.id, tuple(path), guarded, text))
        else:
            self.visit(base, guarded, depth)
        for key, is_attribute, link in links:
            if key is None and not is_attribute and isinstance(link, ast.Subscript):
                self.visit(link.slice, guarded, depth)

    def visit_call(self, node: ast.Call, guarded: bool, depth: int) -> None:
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                self.problem(
                    _SYNTAX, "`*` unpacking is not supported", "pass the items one by one", argument
                )
        if any(keyword.arg is None for keyword in node.keywords):
            self.problem(_SYNTAX, "`**` unpacking is not supported", "pass arguments by name", node)
        func = node.func
        arguments: list[ast.expr] = [*node.args, *(k.value for k in node.keywords)]
        if isinstance(func, ast.Name) and func.id in SPECIAL_FORMS:
            self.check_special_form(func.id, node)
            if arguments:
                self.visit(arguments[0], True, depth)
            arguments = arguments[1:]
        elif isinstance(func, ast.Name):
            function = self.functions.get(func.id)
            if function is None:
                self.unknown_function(func.id, node)
            else:
                error = _signature_error(function, node)
                if error is not None:
                    self.problem(
                        _SYNTAX,
                        f"wrong arguments for `{func.id}()`: {error}",
                        f"see the `{func.id}` function in the docs",
                        node,
                    )
        elif isinstance(func, ast.Attribute):
            if func.attr.startswith("_") or func.attr not in ALLOWED_METHODS:
                self.problem(
                    "forbidden-name",
                    f"the method `{func.attr}` is not allowed",
                    method_hint(func.attr),
                    func,
                )
            self.visit(func.value, guarded, depth)
        else:
            self.problem(
                "unknown-function",
                "only named functions can be called",
                "call a function by its name, e.g. len(x)",
                node,
            )
            self.visit(func, guarded, depth)
        for argument in arguments:
            self.visit(
                argument.value if isinstance(argument, ast.Starred) else argument, guarded, depth
            )

    def check_special_form(self, name: str, node: ast.Call) -> None:
        count = len(node.args) + len(node.keywords)
        if name == "defined" and count != 1:
            self.problem(_SYNTAX, "defined() takes exactly one value", "defined(inputs.name)", node)
        elif name == "default" and not 1 <= count <= 3:
            self.problem(
                _SYNTAX,
                "default() takes a value and a fallback",
                "default(inputs.name, 'anonymous')",
                node,
            )

    def unknown_function(self, name: str, node: ast.Call) -> None:
        known = sorted({*self.functions, *SPECIAL_FORMS})
        form = _FILTER_FORMS.get(name)
        if form is not None and "(" in form:
            hint = f"did you mean `{form.split('(')[0]}`?"
        else:
            match = _close_match(name, known)
            hint = (
                f"did you mean `{match}`?"
                if match
                else f"functions you can use: {', '.join(known)}"
            )
        self.problem("unknown-function", f"unknown function `{name}`", hint, node)

    def visit_binop(self, node: ast.BinOp, guarded: bool, depth: int) -> None:
        symbol = _BITWISE.get(type(node.op))
        if symbol is None:
            self.visit(node.left, guarded, depth)
            self.visit(node.right, guarded, depth)
            return
        suggestion = self.filter_suggestion(node)
        if suggestion is not None:
            name = self.filter_name(node) or ""
            self.problem(
                _JINJA,
                f"`{self.source.segment(node)}` uses the template filter "
                f"`| {name}`, which expressions do not have",
                suggestion,
                node,
            )
        else:
            self.problem(
                _SYNTAX,
                f"the `{symbol}` operator is not supported",
                "use `and`, `or`, `not` for conditions",
                node,
            )
        if suggestion is None:
            self.visit(node.left, guarded, depth)
            self.visit(node.right, guarded, depth)
            return
        # One problem for a whole chain `x | a | b`: visit the filters' arguments and x.
        current: ast.expr = node
        while isinstance(current, ast.BinOp) and self.filter_name(current) is not None:
            if isinstance(current.right, ast.Call):
                for argument in current.right.args:
                    self.visit(argument, guarded, depth)
            current = current.left
        self.visit(current, guarded, depth)

    @staticmethod
    def filter_name(node: ast.BinOp) -> str | None:
        right = node.right
        if isinstance(right, ast.Call):
            right = right.func
        if isinstance(node.op, ast.BitOr) and isinstance(right, ast.Name):
            return right.id if right.id in _FILTER_NAMES else None
        return None

    def filter_form(self, node: ast.expr) -> str:
        if isinstance(node, ast.BinOp) and self.filter_name(node) is not None:
            name = self.filter_name(node) or ""
            value = self.filter_form(node.left)
            right = node.right
            args = right.args if isinstance(right, ast.Call) else []
            form = _FILTER_FORMS.get(name, name + "({value}{args})")
            return form.format(value=value, args="".join(", " + self.filter_form(a) for a in args))
        return self.source.segment(node)

    def filter_suggestion(self, node: ast.BinOp) -> str | None:
        name = self.filter_name(node)
        if name is None:
            return None
        if name not in _FILTER_FORMS:
            known = ", ".join(sorted(self.functions))
            return f"filters only work in templates; expressions call functions: {known}"
        return f"write `{self.filter_form(node)}`"

    def visit_compare(self, node: ast.Compare, guarded: bool, depth: int) -> None:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.Is | ast.IsNot):
                negated = isinstance(op, ast.IsNot)
                source = f"{self.source.segment(left)} is {'not ' if negated else ''}"
                source += self.source.segment(right)
                self.problem(
                    _JINJA,
                    f"`{source}` is a template test; expressions have no `is`",
                    self.test_suggestion(left, right, negated),
                    node,
                )
            left = right
        self.visit(node.left, guarded, depth)
        for op, right in zip(node.ops, node.comparators, strict=True):
            test = right.func if isinstance(right, ast.Call) else right
            if not isinstance(op, ast.Is | ast.IsNot):
                self.visit(right, guarded, depth)
            elif isinstance(test, ast.Name) and test.id in _TEST_NAMES:
                for argument in right.args if isinstance(right, ast.Call) else ():
                    self.visit(argument, guarded, depth)
            else:
                self.visit(right, guarded, depth)

    def test_suggestion(self, left: ast.expr, right: ast.expr, negated: bool) -> str:
        value = self.source.segment(left)
        args: list[str] = []
        if isinstance(right, ast.Call) and isinstance(right.func, ast.Name):
            args = [self.source.segment(a) for a in right.args]
            right = right.func
        name = right.id if isinstance(right, ast.Name) else ""
        if isinstance(right, ast.Constant) and right.value in (None, True, False):
            name = str(right.value)
        if name in ("defined", "undefined"):
            negated = negated != (name == "undefined")
            return f"write `{'not ' if negated else ''}defined({value})`"
        if name in ("none", "None", "null", "true", "false", "True", "False"):
            constant = {"none": "null", "None": "null", "True": "true", "False": "false"}.get(
                name, name
            )
            return f"write `{value} {'!=' if negated else '=='} {constant}`"
        kinds = {
            "string": "string",
            "number": "number",
            "integer": "number",
            "float": "number",
            "mapping": "object",
            "sequence": "list",
            "iterable": "list",
            "boolean": "boolean",
        }
        equal = "!=" if negated else "=="
        if name in kinds:
            return f"write `type_of({value}) {equal} '{kinds[name]}'`"
        if name in ("even", "odd"):
            return f"write `{value} % 2 {equal} {0 if name == 'even' else 1}`"
        if name == "divisibleby" and args:
            return f"write `{value} % {args[0]} {equal} 0`"
        return f"compare with == or !=, e.g. `{value} == null`, or use defined({value})"


_TEST_NAMES: Final = frozenset(
    {"defined", "undefined", "none", "None", "null", "true", "false", "True", "False", "string",
     "number", "integer", "float", "mapping", "sequence", "iterable", "boolean", "even", "odd",
     "divisibleby"}
)  # fmt: skip


def _jinja_syntax_problem(source: _Source) -> Problem | None:
    """A Jinja-ism that makes an expression unparsable, with the form to write instead."""
    stripped = source.inner.strip()
    if "{%" in stripped or "%}" in stripped:
        return Problem(
            _JINJA,
            "`{% %}` statements do not belong in expressions",
            "write the condition alone, e.g. `inputs.count > 2`",
        )
    if "{{" in stripped or "}}" in stripped:
        bare = " ".join(stripped.replace("{{", " ").replace("}}", " ").split())
        return Problem(_JINJA, "`{{ }}` may only wrap a whole expression, once", f"write `{bare}`")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source.inner).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    tildes = [t for t in tokens if t.type == tokenize.OP and t.string == "~"]
    if not tildes or tildes[0] is tokens[0]:
        return None
    parts: list[str] = []
    previous = 0
    lines = source.inner.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for token in tildes:
        index = offsets[token.start[0] - 1] + token.start[1]
        parts.append(source.inner[previous:index].strip())
        previous = index + 1
    parts.append(source.inner[previous:].strip())
    pieces = [p if re.fullmatch(r"'[^'\\]*'|\"[^\"\\]*\"", p) else f"str({p})" for p in parts]
    return Problem(
        _JINJA, "`~` joins text in templates; expressions use `+`", f"write `{' + '.join(pieces)}`"
    )


def _parse(text: str) -> tuple[_Source, ast.expr | None, list[Problem]]:
    source = _Source(text)
    if not source.inner.strip():
        return (
            source,
            None,
            [
                Problem(
                    _SYNTAX, "the expression is empty", "write a condition, e.g. `inputs.notify`"
                )
            ],
        )
    if any(marker in source.inner for marker in ("{{", "}}", "{%", "%}")):
        jinja = _jinja_syntax_problem(source)
        if jinja is not None:
            return source, None, [jinja]
    try:
        with warnings.catch_warnings():
            # "invalid escape sequence" warnings: '\d' in a pattern means what users expect.
            warnings.simplefilter("ignore")
            tree = ast.parse(source.parsed, mode="eval")
    except SyntaxError as exc:
        jinja = _jinja_syntax_problem(source)
        if jinja is not None:
            return source, None, [jinja]
        line, column = source.position(exc.lineno, None)
        closing = exc.lineno == len(source.lines)  # at our closing parenthesis: the end
        if line is not None and exc.offset is not None and not closing:
            column = (source.column + exc.offset - 1) if exc.lineno == 2 else exc.offset
        message = f"expression syntax error: {exc.msg}"
        return source, None, [Problem(_SYNTAX, message, _SYNTAX_HINT, line, column)]
    except ValueError as exc:  # a null byte, say
        return source, None, [Problem(_SYNTAX, f"expression syntax error: {exc}", _SYNTAX_HINT)]
    except (RecursionError, MemoryError):
        message = "the expression is nested too deeply"
        return source, None, [Problem(_SYNTAX, message, _SYNTAX_HINT)]
    return source, tree.body, []


# ---------------------------------------------------------------------------------------
# Expressions: evaluation

_EXPRESSION_GUARD = "if it may be missing, write `default({ref}, fallback)`"


def _unsupported_operator(*_: Any) -> NoReturn:
    raise SandboxFailure("this operator is not supported in expressions", _SYNTAX_HINT)


_AST_OPERATORS: Final[Mapping[type[ast.AST], Callable[..., Any]]] = {
    ast.Add: op_add,
    ast.Sub: op_sub,
    ast.Mult: op_mul,
    ast.Div: op_truediv,
    ast.FloorDiv: op_floordiv,
    ast.Mod: op_mod,
    ast.Pow: op_pow,
    ast.USub: op_neg,
    ast.UAdd: op_pos,
    ast.Not: op_not,
    **COMPARISONS,
    **dict.fromkeys((*_BITWISE, ast.Is, ast.IsNot), _unsupported_operator),
}


class _Evaluator(SimpleEval):  # type: ignore[misc]  # simpleeval ships no type information
    """simpleeval with the sandbox's names, lookups, operators and lazy special forms.

    An instance holds the scope of the evaluation in progress, so each thread gets its
    own (see :class:`ExpressionEngine`).
    """

    def __init__(self, functions: dict[str, Callable[..., Any]]) -> None:
        super().__init__(operators=dict(_AST_OPERATORS), functions=functions, names={})
        self.nodes = {
            ast.Name: self._eval_name,
            ast.Constant: self._eval_constant,
            ast.UnaryOp: self._eval_unaryop,
            ast.BinOp: self._eval_binop,
            ast.BoolOp: self._eval_boolop,
            ast.Compare: self._eval_compare,
            ast.IfExp: self._eval_ifexp,
            ast.Call: self._eval_call,
            ast.Subscript: self._eval_subscript,
            ast.Attribute: self._eval_attribute,
            ast.Slice: self._eval_slice,
            ast.List: self._eval_list,
            ast.Tuple: self._eval_tuple,
            ast.Dict: self._eval_dict,
        }
        self.scope: Scope = {}
        self.source: _Source | None = None

    def run(self, tree: ast.expr, scope: Scope, source: _Source) -> Any:
        saved = self.scope, self.source
        self.scope, self.source = scope, source
        try:
            return self.eval(source.parsed, previously_parsed=tree)
        finally:
            self.scope, self.source = saved

    def _eval(self, node: ast.AST) -> Any:
        # No per-node _check_disallowed_items: it walks whole data structures, and with
        # names limited to the scope and methods to an allow-list there is nothing to find.
        handler = self.nodes.get(type(node))
        if handler is None:
            raise SandboxFailure(f"`{type(node).__name__}` is not supported in expressions")
        return handler(node)

    def _text(self, node: ast.AST) -> str:
        return self.source.segment(node) if self.source is not None else "the value"

    def _eval_name(self, node: ast.Name) -> Any:
        name = node.id
        if name in CONSTANT_NAMES:
            return CONSTANT_NAMES[name]
        if name.startswith("_"):
            raise _forbidden(None, name)
        try:
            return self.scope[name]
        except KeyError:
            raise MissingValue(None, self.scope, name) from None

    def _eval_constant(self, node: ast.Constant) -> Any:
        return node.value

    def _eval_compare(self, node: ast.Compare) -> Any:
        left = self._eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self._eval(comparator)
            if not self.operators[type(op)](left, right):
                return False
            left = right
        return True

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        owner = self._eval(node.value)
        value = lookup_attribute(owner, node.attr)
        if value is MISSING:
            raise MissingValue(self._text(node.value), owner, node.attr)
        return value

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        owner = self._eval(node.value)
        key = self._eval(node.slice)
        value = lookup_item(owner, key)
        if value is MISSING:
            raise MissingValue(self._text(node.value), owner, key)
        return value

    def _eval_list(self, node: ast.List) -> list[Any]:
        return [self._eval(item) for item in node.elts]

    def _eval_tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self._eval(item) for item in node.elts)

    def _eval_dict(self, node: ast.Dict) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                raise SandboxFailure("`**` unpacking is not supported")
            name = self._eval(key)
            if not isinstance(name, str | int | float | bool | None):
                raise SandboxFailure(
                    f"an object's key must be text or a number, not {describe_value(name)}"
                )
            result[name] = self._eval(value)
        return result

    def _eval_call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Name):
            name = func.id
            if name == "default":
                return self._default(node)
            if name == "defined":
                return self._defined(node)
            function = self.functions.get(name)
            if function is None:
                raise SandboxFailure(f"unknown function `{name}`")
        elif isinstance(func, ast.Attribute):
            owner = self._eval(func.value)
            name = func.attr
            function = lookup_attribute(owner, name)
            if function is MISSING:
                raise MissingValue(self._text(func.value), owner, name)
            if not callable(function):
                raise SandboxFailure(
                    f"`{self._text(func)}` is {describe_value(function)}, not a method",
                    "remove the parentheses",
                )
        else:
            raise SandboxFailure("only named functions can be called")
        args = [self._eval(argument) for argument in node.args]
        kwargs = {str(k.arg): self._eval(k.value) for k in node.keywords}
        try:
            result = function(*args, **kwargs)
        except TypeError as exc:
            raise SandboxFailure(
                f"wrong arguments for `{name}()`: {_friendly_type_error(str(exc))}",
                f"see the `{name}` function in the docs",
            ) from None
        if isinstance(func, ast.Attribute):
            if isinstance(result, str):
                check_size(len(result), "max_string_length")
            elif isinstance(result, list | tuple):
                check_size(len(result), "max_collection_size")
        return result

    def _default(self, node: ast.Call) -> Any:
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if not 1 <= len(arguments) <= 3:
            raise SandboxFailure(
                "default() takes a value and a fallback", "default(inputs.name, 'anonymous')"
            )
        try:
            value = self._eval(arguments[0])
        except MissingValue:
            return self._eval(arguments[1]) if len(arguments) > 1 else ""
        if len(arguments) == 3 and not value and self._eval(arguments[2]):
            return self._eval(arguments[1])
        return value

    def _defined(self, node: ast.Call) -> bool:
        if len(node.args) != 1 or node.keywords:
            raise SandboxFailure("defined() takes exactly one value", "defined(inputs.name)")
        try:
            self._eval(node.args[0])
        except MissingValue:
            return False
        return True


_Fast = Callable[[Scope], Any]


def _constant_reader(value: Any) -> _Fast:
    return lambda scope: value


def _evaluator_runner(engine: ExpressionEngine, tree: ast.expr, source: _Source) -> _Fast:
    return lambda scope: engine.evaluator().run(tree, scope, source)


def _compile_fast(node: ast.expr) -> _Fast | None:
    """Closures for the common shapes (references, constants, one comparison, not/and/or),
    with exactly the evaluator's semantics; None when simpleeval is needed."""
    if isinstance(node, ast.Constant) and type(node.value) in (str, int, float, bool, type(None)):
        return _constant_reader(node.value)
    if isinstance(node, ast.Name) and node.id in CONSTANT_NAMES:
        return _constant_reader(CONSTANT_NAMES[node.id])
    chain = _constant_chain(node)
    if chain is not None:
        return Lookup(*chain)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        operand = _compile_fast(node.operand)
        return None if operand is None else (lambda scope: not operand(scope))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARISONS:
        left, right = _compile_fast(node.left), _compile_fast(node.comparators[0])
        compare = COMPARISONS[type(node.ops[0])]
        if left is None or right is None:
            return None
        return lambda scope: compare(left(scope), right(scope))
    if isinstance(node, ast.BoolOp):
        parts = [_compile_fast(value) for value in node.values]
        if any(part is None for part in parts):
            return None
        readers = [part for part in parts if part is not None]
        return _all_of(readers) if isinstance(node.op, ast.And) else _any_of(readers)
    return None


def _all_of(readers: list[_Fast]) -> _Fast:
    def all_of(scope: Scope) -> Any:
        value: Any = True
        for reader in readers:
            value = reader(scope)
            if not value:
                return value
        return value

    return all_of


def _any_of(readers: list[_Fast]) -> _Fast:
    def any_of(scope: Scope) -> Any:
        value: Any = False
        for reader in readers:
            value = reader(scope)
            if value:
                return value
        return value

    return any_of


class Expression:
    """A compiled expression: evaluate it against a scope as often as needed.

    >>> e = ExpressionEngine().compile("{{ default(inputs.count, 0) + 1 }}")
    >>> e.evaluate({"inputs": {}}), e.test({"inputs": {"count": -1}})
    (1, False)
    """

    __slots__ = ("_run", "references", "text")

    def __init__(self, text: str, references: tuple[Reference, ...], run: _Fast) -> None:
        self.text = text
        self.references = references
        self._run = run

    def evaluate(self, scope: Scope) -> Any:
        """The expression's value; failures raise :class:`StepError` (no step, no location)."""
        try:
            return to_plain(self._run(scope))
        except StepError:
            raise
        except (MissingValue, SandboxFailure) as exc:
            raise to_step_error(exc, ErrorKind.EXPRESSION_ERROR, _EXPRESSION_GUARD) from None
        except Exception as exc:
            raise to_step_error(exc, ErrorKind.EXPRESSION_ERROR, _EXPRESSION_GUARD) from exc

    def test(self, scope: Scope) -> bool:
        """The expression's truthiness, for ``if``/``until``/``while``."""
        return bool(self.evaluate(scope))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


class ExpressionEngine:
    """Analyzes and compiles expressions; owns the function registry.

    Evaluation is synchronous and never awaits, so asyncio tasks cannot interleave inside
    one; the simpleeval instance (which holds the scope being evaluated) is kept per
    thread, so threads may share an engine.

    >>> engine = ExpressionEngine()
    >>> engine.analyze("steps.read.result.data.items[0] == 1").references[0].path
    ('read', 'result', 'data', 'items', 0)
    >>> engine.compile("matches(inputs.name, '^A')").test({"inputs": {"name": "Ada"}})
    True
    """

    def __init__(
        self, functions: Mapping[str, Callable[..., Any]] | None = None, *, fast_paths: bool = True
    ) -> None:
        self.functions: dict[str, Callable[..., Any]] = dict(DEFAULT_FUNCTIONS)
        self.functions.update(functions or {})
        self.fast_paths = fast_paths
        self._local = threading.local()

    def evaluator(self) -> _Evaluator:
        """This thread's evaluator."""
        evaluator: _Evaluator | None = getattr(self._local, "evaluator", None)
        if evaluator is None:
            evaluator = self._local.evaluator = _Evaluator(self.functions)
        return evaluator

    def _analyze(self, text: str) -> tuple[ExpressionInfo, _Source, ast.expr | None]:
        source, tree, problems = _parse(text)
        references: list[Reference] = []
        if tree is not None:
            analyzer = _ExpressionAnalyzer(source, self.functions)
            analyzer.visit(tree)
            problems, references = analyzer.problems, analyzer.references
        return ExpressionInfo(tuple(problems), tuple(references)), source, tree

    def analyze(self, text: str) -> ExpressionInfo:
        """Every problem and every name use in ``text``, without evaluating it."""
        return self._analyze(text)[0]

    def compile(self, text: str | bool | float | None) -> Expression:
        """A reusable :class:`Expression`; raises :class:`CompileError` on any problem.

        A YAML ``true``/number/``null`` compiles to a constant expression.
        """
        if not isinstance(text, str):
            return Expression(repr(text), (), _constant_reader(text))
        info, source, tree = self._analyze(text)
        if info.problems or tree is None:
            raise compile_error(info.problems)
        run = _compile_fast(tree) if self.fast_paths else None
        if run is None:
            run = _evaluator_runner(self, tree, source)
        return Expression(text, info.references, run)
