"""Template filters, tests and globals, each size-checked where it can allocate.

Jinja's own filters are kept where they cannot allocate without bound; the rest are
replaced by versions built on the sandbox core.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, cast

import markupsafe
from jinja2 import filters as jinja_filters
from jinja2 import nodes, pass_environment
from jinja2.environment import Environment
from jinja2.tests import TESTS as JINJA_TESTS
from jinja2.visitor import NodeTransformer

from engine.lang.limits import current_limits
from engine.lang.sandbox.budget import spend
from engine.lang.sandbox.failures import SandboxFailure
from engine.lang.sandbox.functions import now_iso, today_iso
from engine.lang.sandbox.numbers import (
    bounded_range,
    check_int_text,
    fn_abs,
    fn_float,
    fn_sum,
    int_base,
)
from engine.lang.sandbox.operators import op_mod
from engine.lang.sandbox.patterns import regex_findall, regex_replace, regex_search
from engine.lang.sandbox.sizes import (
    bounded_list,
    check_operand,
    check_size,
    estimate_text_size,
    sized_text,
    to_text,
)
from engine.lang.sandbox.text import (
    b64decode_text,
    b64encode_text,
    dump_json,
    join_text,
    parse_json,
    replace_text,
    split_text,
)
from engine.lang.template_sandbox import fail_if_undefined


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


class _Continuation(str):
    """The next part of a long word that :class:`_Wrapper` cut up."""

    __slots__ = ()


class _Wrapper(textwrap.TextWrapper):
    """textwrap's wrapper, in linear time. textwrap copies the rest of a long word once
    per line it fills (a 1,000,000-character word at width 1 takes minutes), so a long
    word is cut up once into parts twice a line long, and the part being broken always
    has the next part joined to it while the word goes on: every line then sees exactly
    the characters (and hyphens) it would see in the whole word."""

    def _handle_long_word(
        self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int
    ) -> None:
        spend()  # once a line: a long word at width 1 makes a line per character
        part = 2 * max(width, 1) + 1
        chunk = reversed_chunks[-1]
        if self.break_long_words and len(chunk) > 2 * part and not chunk[:1].isspace():
            pieces = [chunk[start : start + part] for start in range(0, len(chunk), part)]
            reversed_chunks[-1:] = [_Continuation(p) for p in reversed(pieces[1:])]
            reversed_chunks.append(pieces[0])
        super()._handle_long_word(reversed_chunks, cur_line, cur_len, width)
        while (
            len(reversed_chunks) > 1
            and isinstance(reversed_chunks[-2], _Continuation)
            and len(reversed_chunks[-1]) < part
        ):
            rest = reversed_chunks.pop()
            reversed_chunks[-1] = rest + reversed_chunks[-1]


def _filter_wordwrap(
    value: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    text = to_text(value)
    glue = "\n" if wrapstring is None else to_text(wrapstring)
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise SandboxFailure("the wordwrap width must be a whole number of at least 1")
    if break_long_words:
        # At least one break per `width` characters of words (each costs as much as a
        # character, even with an empty wrapstring): refuse before wrapping.
        words = len(text) - sum(map(str.isspace, text))
        check_size(words + (words // width) * max(len(glue), 1), "max_string_length")
    wrapper = _Wrapper(
        width=width,
        expand_tabs=False,
        replace_whitespace=False,
        break_long_words=bool(break_long_words),
        break_on_hyphens=bool(break_on_hyphens),
    )
    paragraphs = [wrapper.wrap(line) for line in text.splitlines()]
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
        raise SandboxFailure("the indent must be 0 to 100 spaces, or text of that length")
    check_size(len(text) + (text.count("\n") + 1) * size, "max_string_length")
    return jinja_filters.do_indent(text, width, first, blank)


def _filter_tojson(value: Any, indent: int | None = None) -> str:
    return dump_json(value, indent, check=fail_if_undefined)


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
    check_operand(value)
    return jinja_filters.do_round(value, precision, rounding)


def _filter_int(value: Any, default: Any = 0, base: int = 10) -> Any:
    """Jinja's ``int`` (``default`` for what is not a number), refusing text that would
    make a number too large to compute with before it is read."""
    if isinstance(value, str):
        check_int_text(value, int_base(base))
    return jinja_filters.do_int(value, default, base)


def _filter_float(value: Any, default: Any = 0.0) -> Any:
    """Jinja's ``float`` (``default`` for what is not a number), refusing infinity and
    NaN as ``float()`` does in expressions: JSON has no such numbers."""
    number = jinja_filters.do_float(value, default)
    if isinstance(number, float) and not math.isfinite(number):
        return fn_float(value)  # raises: "… is not a finite number"
    return number


def _filter_trim(value: Any, chars: str | None = None) -> str:
    return to_text(value).strip(chars)


def _filter_items(value: Any) -> Any:
    fail_if_undefined(value)
    return jinja_filters.do_items(value)


def _filter_abs(value: Any) -> Any:
    fail_if_undefined(value)
    return fn_abs(value)


def _filter_default(value: Any, fallback: Any = "", boolean: bool = False) -> Any:
    """Jinja's ``default``, for null too: an optional input not given is null, and
    ``inputs.title | default('Untitled')`` means "when there is none"."""
    if value is None:
        return fallback
    return jinja_filters.do_default(value, fallback, boolean)


CONCAT: Final = "~"  # internal filter `a ~ b` is rewritten to (no user can type this name)
_KEPT_JINJA_FILTERS: Final = (
    "count", "dictsort", "filesizeformat", "first", "groupby",
    "last", "length", "map", "max", "min", "random", "reject", "rejectattr",
    "reverse", "select", "selectattr", "sort", "unique",
)  # fmt: skip


def _concat(values: list[Any]) -> str:
    """``a ~ b``: the values as one text, null as no text (as inside text).

    >>> _concat(["Hello ", None, 3])
    'Hello 3'
    """
    return join_text(["" if value is None else value for value in values])


DEFAULT_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    **{name: jinja_filters.FILTERS[name] for name in _KEPT_JINJA_FILTERS},
    "default": _filter_default,
    "d": _filter_default,
    "abs": _filter_abs,
    "items": _filter_items,
    "int": _filter_int,
    "float": _filter_float,
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
    CONCAT: _concat,
}
"""Filters a template may use (an engine copies them; register more on the copy)."""


def _test_divisibleby(value: Any, num: Any) -> bool:
    """Jinja's ``divisibleby``, with the sandbox's ``%`` (numbers too large refused)."""
    return bool(op_mod(value, num) == 0)


DEFAULT_TESTS: Final[Mapping[str, Callable[..., Any]]] = {
    **cast("dict[str, Callable[..., Any]]", JINJA_TESTS),
    "divisibleby": _test_divisibleby,
}
"""Tests (``x is defined``, ``x is number`` …): Jinja's own, none of which allocate, and
``divisibleby`` computing as the ``%`` operator does."""


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


class ConcatToFilter(NodeTransformer):
    """``a ~ b`` becomes the size-checked internal concatenation filter, which joins the
    values as text shows them: null as no text."""

    # The NodeTransformer protocol names this method.
    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, CONCAT, [], [], None, None, lineno=node.lineno)
