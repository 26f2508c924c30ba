"""Expressions: evaluation, the function set, lazy default/defined, analysis and messages."""

from __future__ import annotations

import datetime as dt
import doctest
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.diagnostics.errors import CompileError, ErrorKind, LimitExceeded, StepError
from engine.lang import expressions, templates
from engine.lang.expressions import ExpressionEngine
from engine.lang.limits import Limits, active_limits
from engine.lang.sandbox.functions import DEFAULT_FUNCTIONS
from engine.lang.sandbox.references import Problem, Reference
from tests.lang.mistakes import SAME_IN_BOTH, TESTER

DOCS = Path(__file__).resolve().parents[2] / "docs"
ENGINE = ExpressionEngine()
SCOPE: dict[str, Any] = {
    "inputs": {
        "name": "Ada",
        "count": 3,
        "items": [1, 2, 3],
        "notify": True,
        "empty": "",
        "nothing": None,
        "ratio": 0.5,
    },
    "steps": {
        "read": {
            "result": {"success": True, "data": {"content": "hello world", "format": "text"}},
            "status": "succeeded",
            "error": None,
        }
    },
    "vars": {"my var": 7, "tags": ["a", "b"], "_id": "x1", "items": "data key"},
    "config": {},
}
SMALL = Limits().with_overrides(max_string_length=10, max_collection_size=5)


def evaluate(text: Any, scope: dict[str, Any] = SCOPE) -> Any:
    return ENGINE.compile(text).evaluate(scope)


def failure(text: str, scope: dict[str, Any] = SCOPE) -> tuple[str, str | None]:
    with pytest.raises(StepError) as info:
        evaluate(text, scope)
    assert info.value.kind is ErrorKind.EXPRESSION_ERROR
    assert info.value.step is None and not info.value.first.path
    return info.value.message, info.value.hint


def problems(text: str) -> list[tuple[str, str, str | None, int | None, int | None]]:
    return [(p.code, p.message, p.hint, p.line, p.column) for p in ENGINE.analyze(text).problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("inputs.name", "Ada", id="reference"),
        pytest.param("inputs.items", [1, 2, 3], id="list-keeps-type"),
        pytest.param("inputs.ratio", 0.5, id="float-keeps-type"),
        pytest.param("inputs.nothing", None, id="null"),
        pytest.param("{{ inputs.count }}", 3, id="braces-stripped"),
        pytest.param("{{- inputs.count -}}", 3, id="braces-with-dashes"),
        pytest.param("(\n  inputs.count\n  > 2\n)", True, id="multi-line"),
        pytest.param("inputs.count\n  > 2", True, id="multi-line-without-parentheses"),
        pytest.param("inputs.count + 2 * 3 - 1", 8, id="arithmetic"),
        pytest.param("7 / 2", 3.5, id="true-division"),
        pytest.param("7 // 2", 3, id="floor-division"),
        pytest.param("7 % 4", 3, id="modulo"),
        pytest.param("2 ** 10", 1024, id="power"),
        pytest.param("-inputs.count", -3, id="negation"),
        pytest.param("+inputs.ratio", 0.5, id="unary-plus"),
        pytest.param("'a' + 'b'", "ab", id="string-concatenation"),
        pytest.param("'ab' * 2", "abab", id="string-repetition"),
        pytest.param("[1] + [2]", [1, 2], id="list-concatenation"),
        pytest.param("(1,) + (2,)", [1, 2], id="tuple-concatenation"),
        pytest.param("'%s has %d' % (inputs.name, inputs.count)", "Ada has 3", id="printf"),
        pytest.param("1 < inputs.count <= 3", True, id="chained-comparison"),
        pytest.param("inputs.name == 'Ada' and inputs.count != 4", True, id="and"),
        pytest.param("inputs.empty or 'fallback'", "fallback", id="or-returns-value"),
        pytest.param("not inputs.notify", False, id="not"),
        pytest.param("'Ad' in inputs.name", True, id="substring"),
        pytest.param("2 in inputs.items", True, id="in-list"),
        pytest.param("'name' in inputs", True, id="in-object"),
        pytest.param("4 not in inputs.items", True, id="not-in"),
        pytest.param("'yes' if inputs.notify else 'no'", "yes", id="conditional"),
        pytest.param("inputs.items[0]", 1, id="index"),
        pytest.param("inputs.items[-1]", 3, id="negative-index"),
        pytest.param("inputs.items[1:]", [2, 3], id="slice"),
        pytest.param("inputs.name[::-1]", "adA", id="string-slice"),
        pytest.param("inputs['name']", "Ada", id="subscript-key"),
        pytest.param("vars['my var']", 7, id="key-with-space"),
        pytest.param("vars['_id']", "x1", id="underscore-key-by-subscript"),
        pytest.param("vars.items", "data key", id="key-before-method"),
        pytest.param("steps.read.result.data.content", "hello world", id="deep-reference"),
        pytest.param("steps.read.status == 'succeeded'", True, id="status"),
        pytest.param("[1, inputs.count]", [1, 3], id="list-literal"),
        pytest.param("(1, 2)", [1, 2], id="tuple-becomes-list"),
        pytest.param("{'a': inputs.count}", {"a": 3}, id="dict-literal"),
        pytest.param("true and not false", True, id="yaml-booleans"),
        pytest.param("null == None and none == None", True, id="yaml-null"),
        pytest.param("True", True, id="python-constant"),
        pytest.param("inputs.name.upper()", "ADA", id="string-method"),
        pytest.param("inputs.name.startswith('A')", True, id="string-predicate"),
        pytest.param("'a,b'.split(',')", ["a", "b"], id="string-split-method"),
        pytest.param("inputs.get('missing', 5)", 5, id="mapping-get"),
        pytest.param("steps.read.result.data.keys()", ["content", "format"], id="mapping-keys"),
        pytest.param("len(inputs.values())", 7, id="mapping-values"),
        pytest.param("inputs.items.count(2)", 1, id="list-count"),
        pytest.param(True, True, id="yaml-true-is-constant"),
        pytest.param(3, 3, id="yaml-number-is-constant"),
        pytest.param(None, None, id="yaml-null-is-constant"),
    ],
)
def test_evaluation(text: Any, expected: Any) -> None:
    value = evaluate(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("len(inputs.items)", 3, id="len"),
        pytest.param("lower('AbC')", "abc", id="lower"),
        pytest.param("upper(inputs.name)", "ADA", id="upper"),
        pytest.param("title('hello world')", "Hello World", id="title"),
        pytest.param("trim('  x  ')", "x", id="trim"),
        pytest.param("trim('--x--', '-')", "x", id="trim-chars"),
        pytest.param("str(3) + str(null)", "3None", id="str"),
        pytest.param("int('42')", 42, id="int"),
        pytest.param("int('3.0')", 3, id="int-of-decimal-text"),
        pytest.param("int('ff', 16)", 255, id="int-base"),
        pytest.param("int(2.9)", 2, id="int-of-float"),
        pytest.param("float('2.5')", 2.5, id="float"),
        pytest.param("bool('')", False, id="bool"),
        pytest.param("round(2.567, 2)", 2.57, id="round-digits"),
        pytest.param("round(2.5)", 2, id="round"),
        pytest.param("min(inputs.items)", 1, id="min-list"),
        pytest.param("max(4, 9, 2)", 9, id="max-arguments"),
        pytest.param("abs(-2)", 2, id="abs"),
        pytest.param("sum(inputs.items)", 6, id="sum"),
        pytest.param("sum([0.5, 1], 1)", 2.5, id="sum-start"),
        pytest.param("sorted([3, 1, 2])", [1, 2, 3], id="sorted"),
        pytest.param("sorted(['b', 'a'], reverse=true)", ["b", "a"], id="sorted-reverse"),
        pytest.param("any([0, '', 1])", True, id="any"),
        pytest.param("all([1, 'x'])", True, id="all"),
        pytest.param("contains(inputs.items, 2)", True, id="contains"),
        pytest.param("startswith(inputs.name, 'A')", True, id="startswith"),
        pytest.param("endswith(inputs.name, 'a')", True, id="endswith"),
        pytest.param("matches(inputs.name, '^a', true)", True, id="matches-ignorecase"),
        pytest.param("matches('Invoice 42', '\\d+')", True, id="matches-backslash"),
        pytest.param("replace('a-b-c', '-', '+')", "a+b+c", id="replace"),
        pytest.param("replace('a-b-c', '-', '+', 1)", "a+b-c", id="replace-count"),
        pytest.param("join(vars.tags, ', ')", "a, b", id="join"),
        pytest.param("join([1, null])", "1None", id="join-converts"),
        pytest.param("split('a b  c')", ["a", "b", "c"], id="split-whitespace"),
        pytest.param("split('a,b', ',')", ["a", "b"], id="split-separator"),
        pytest.param("keys({'a': 1})", ["a"], id="keys"),
        pytest.param("values({'a': 1})", [1], id="values"),
        pytest.param("items({'a': 1})", [["a", 1]], id="items"),
        pytest.param("range(3)", [0, 1, 2], id="range"),
        pytest.param("range(1, 7, 3)", [1, 4], id="range-step"),
        pytest.param("type_of(inputs.items)", "list", id="type-of-list"),
        pytest.param("type_of(steps.read)", "object", id="type-of-object"),
        pytest.param("type_of(null)", "null", id="type-of-null"),
        pytest.param("from_json('{\"a\": [1]}')", {"a": [1]}, id="from-json"),
        pytest.param("to_json({'a': [1, null]})", '{"a": [1, null]}', id="to-json"),
        pytest.param("to_json([1], 2)", "[\n  1\n]", id="to-json-indent"),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_every_function_is_tested_or_documented() -> None:
    documented = (DOCS / "templates-and-expressions.md").read_text(encoding="utf-8")
    for name in [*DEFAULT_FUNCTIONS, "default", "defined"]:
        assert f"`{name}(" in documented, name


def test_docstring_examples() -> None:
    for module in (expressions, templates):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_now_and_today_are_local_iso_8601() -> None:
    now = dt.datetime.fromisoformat(evaluate("now()"))
    assert now.tzinfo is not None
    today = dt.date.fromisoformat(evaluate("today()"))
    assert abs((today - now.date()).days) <= 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("default(inputs.missing, 'x')", "x", id="missing-key"),
        pytest.param("default(missing, 'x')", "x", id="missing-root"),
        pytest.param("default(inputs.missing.deeper.still, 1)", 1, id="missing-chain"),
        pytest.param("default(inputs.items[9], 0)", 0, id="missing-item"),
        pytest.param("default(inputs.missing)", "", id="fallback-is-empty-text"),
        pytest.param("default(inputs.name, 'x')", "Ada", id="present"),
        pytest.param("default(inputs.nothing, 'x')", "x", id="null-takes-the-fallback"),
        pytest.param("default(inputs.nothing)", "", id="null-takes-empty-text"),
        pytest.param("default(inputs.nothing, 'x', true)", "x", id="boolean-replaces-null"),
        pytest.param("default(inputs.empty, 'x', true)", "x", id="boolean-replaces-empty"),
        pytest.param("default(len(inputs.missing), 0)", 0, id="undefined-anywhere-inside"),
        pytest.param("defined(inputs.name)", True, id="defined"),
        pytest.param("defined(inputs.missing)", False, id="not-defined"),
        pytest.param("defined(missing.x)", False, id="not-defined-root"),
        pytest.param("not defined(inputs.items[5])", True, id="not-defined-item"),
    ],
)
def test_default_and_defined_are_lazy(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_default_does_not_hide_other_errors() -> None:
    assert failure("default(1 / 0, 2)") == (
        "division by zero",
        "check the divisor first, e.g. `a / b if b else 0`",
    )


def test_default_fallback_is_evaluated_only_when_needed() -> None:
    assert evaluate("default(inputs.name, 1 / 0)") == "Ada"


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        pytest.param(
            "nmae",
            "`nmae` is undefined",
            "names you can use here: config, inputs, steps, vars",
            id="unknown-root",
        ),
        pytest.param(
            "input.name",
            "`input` is undefined",
            "did you mean `inputs`? names you can use here: config, inputs, steps, vars",
            id="unknown-root-close",
        ),
        pytest.param(
            "inputs.nmae",
            "`inputs.nmae` is undefined",
            "did you mean `inputs.name`? inputs has: count, empty, items, name, nothing, "
            "notify, ratio",
            id="missing-input",
        ),
        pytest.param(
            "config.token",
            "`config.token` is undefined",
            "config is empty",
            id="empty-root",
        ),
        pytest.param(
            "steps.read.result.data.contnt",
            "`steps.read.result.data` has no key 'contnt'; it has: content, format",
            "did you mean 'content'?",
            id="missing-deep-key-close",
        ),
        pytest.param(
            "steps.read.result.data.size",
            "`steps.read.result.data` has no key 'size'; it has: content, format",
            "if it may be missing, write `default(steps.read.result.data.size, fallback)`",
            id="missing-deep-key",
        ),
        pytest.param(
            "inputs.items[5]",
            "`inputs.items` has no item 5; it has 3 item(s)",
            "items are numbered from 0 to 2",
            id="missing-item",
        ),
        pytest.param(
            "inputs.name[10]",
            "`inputs.name` has no character 10; it has 3 character(s)",
            "characters are numbered from 0 to 2",
            id="missing-character",
        ),
        pytest.param(
            "inputs.nothing.x",
            "`inputs.nothing` is null, so it has no key 'x'",
            "if it may be missing, write `default(inputs.nothing.x, fallback)`",
            id="null-parent",
        ),
        pytest.param(
            "inputs.items.first",
            "`inputs.items` is a list, so it has no key 'first'",
            "a list has no keys: it has 3 item(s), read by position: "
            "`inputs.items[0]` to `inputs.items[2]`",
            id="list-parent",
        ),
        pytest.param(
            "inputs.count.x",
            "`inputs.count` is a whole number, so it has no key 'x'",
            "if it may be missing, write `default(inputs.count.x, fallback)`",
            id="number-parent",
        ),
        pytest.param(
            "(inputs.items + [4])[9]",
            "`inputs.items + [4]` has no item 9; it has 4 item(s)",
            "items are numbered from 0 to 3",
            id="computed-parent-uses-source-text",
        ),
        pytest.param(
            "1 / 0",
            "division by zero",
            "check the divisor first, e.g. `a / b if b else 0`",
            id="division-by-zero",
        ),
        pytest.param(
            "inputs.name + 1",
            "cannot use `+` on text and a whole number",
            "convert one side first, e.g. with int(...), float(...) or str(...)",
            id="add-types",
        ),
        pytest.param(
            "inputs.name < 3",
            "cannot compare text with a whole number using `<`",
            "convert one side first, e.g. int(x) < 3 or str(x) < 'b'",
            id="compare-types",
        ),
        pytest.param(
            "3 in inputs.name",
            "cannot look for a whole number in text",
            "use str(x) in text",
            id="in-string-types",
        ),
        pytest.param(
            "int('abc')",
            'cannot turn "abc" into a whole number',
            "int() needs text like '42'",
            id="int",
        ),
        pytest.param(
            "len(3)",
            "len() needs text, a list or a mapping, not a whole number",
            None,
            id="len",
        ),
        pytest.param(
            "min([])",
            "min() of an empty list",
            "check the list has items first",
            id="min-empty",
        ),
        pytest.param(
            "sum(['a'])",
            "sum() adds numbers, but the list holds text",
            "to combine lists or text, use + or join()",
            id="sum-text",
        ),
        pytest.param(
            "(-8) ** 0.5",
            "the result is not a real number",
            "a negative number raised to a fractional power has no real value",
            id="complex",
        ),
        pytest.param(
            "matches('x', '(')",
            'invalid regular expression "(": missing ) at position 1',
            "check its brackets and escapes; in YAML, single-quote a pattern with backslashes",
            id="bad-regex",
        ),
        pytest.param(
            "from_json('{')",
            "the text is not valid JSON: Expecting property name enclosed in double quotes "
            "(line 1, column 2)",
            "check the quotes, commas and brackets of the JSON",
            id="bad-json",
        ),
        pytest.param(
            "from_json('NaN')",
            "NaN is not valid JSON",
            "JSON numbers must be finite",
            id="json-nan",
        ),
        pytest.param(
            "split('a', '')",
            "the separator cannot be empty",
            "use list(x) to get characters",
            id="split-empty",
        ),
        pytest.param(
            "inputs.name.upper",
            "the result is a function or method, not a value",
            "call it with parentheses, e.g. `name.upper()`",
            id="method-not-called",
        ),
        pytest.param(
            "inputs.name.nope",
            "`inputs.name` is text, so it has no key or method 'nope'",
            "string methods you can use: capitalize, casefold, count, endswith, find, index, "
            "isalnum, isalpha, isascii, isdecimal, isdigit, islower, isnumeric, isspace, istitle, "
            "isupper, lower, lstrip, partition, removeprefix, removesuffix, rfind, rindex, "
            "rpartition, rsplit, rstrip, split, splitlines, startswith, strip, swapcase, title, "
            "upper",
            id="unknown-string-method",
        ),
        pytest.param(
            "inputs.name.split(1)",
            "wrong arguments for `split()`: must be text or null, not a whole number",
            "see the `split` function in the docs",
            id="method-arguments",
        ),
    ],
)
def test_error_messages(text: str, message: str, hint: str | None) -> None:
    assert failure(text) == (message, hint)


# The tester's mistakes (tests/lang/mistakes.py): those with the same message and hint in
# both languages, and here those whose hint is written in the expression form or that only
# an expression makes.
@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        pytest.param(
            "inputs.obj['_y']",
            "`inputs.obj` has no key '_y'; it has: a, b",
            "if it may be missing, write `default(inputs.obj['_y'], fallback)`",
            id="private-key-fallback-in-brackets",
        ),
        pytest.param(
            "inputs.obj['if']",
            "`inputs.obj` has no key 'if'; it has: a, b",
            "if it may be missing, write `default(inputs.obj['if'], fallback)`",
            id="reserved-word-key-fallback-in-brackets",
        ),
        *(pytest.param(*case, id=name) for name, case in SAME_IN_BOTH.items()),
    ],
)
def test_hints_name_what_the_user_can_write(text: str, message: str, hint: str) -> None:
    assert failure(text, TESTER) == (message, hint)


def test_a_method_name_is_a_key_unless_called() -> None:
    """`.items` reads a key (missing: a fallback applies); `.items()` calls the method."""
    assert evaluate("default(inputs.obj.items, 'none')", TESTER) == "none"
    assert evaluate("defined(inputs.obj.keys)", TESTER) is False
    assert evaluate("inputs.obj.get('a')", TESTER) == 1
    assert evaluate("{'items': 5}.items", TESTER) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "inputs.name | length",
            [
                (
                    "expression-jinja",
                    "`inputs.name | length` uses the template filter `| length`, "
                    "which expressions do not have",
                    "write `len(inputs.name)`",
                    1,
                    1,
                )
            ],
            id="length",
        ),
        pytest.param(
            "x | lower",
            [
                (
                    "expression-jinja",
                    "`x | lower` uses the template filter `| lower`, which expressions do not have",
                    "write `lower(x)`",
                    1,
                    1,
                )
            ],
            id="lower",
        ),
        pytest.param(
            "x | default(1)",
            [
                (
                    "expression-jinja",
                    "`x | default(1)` uses the template filter `| default`, which "
                    "expressions do not have",
                    "write `default(x, 1)`",
                    1,
                    1,
                )
            ],
            id="default",
        ),
        pytest.param(
            "x | int",
            [
                (
                    "expression-jinja",
                    "`x | int` uses the template filter `| int`, which expressions do not have",
                    "write `int(x)`",
                    1,
                    1,
                )
            ],
            id="int",
        ),
        pytest.param(
            "x | trim | length > 2",
            [
                (
                    "expression-jinja",
                    "`x | trim | length` uses the template filter `| length`, "
                    "which expressions do not have",
                    "write `len(trim(x))`",
                    1,
                    1,
                )
            ],
            id="chained-filters",
        ),
        pytest.param(
            "x | urlize",
            [
                (
                    "expression-jinja",
                    "`x | urlize` uses the template filter `| urlize`, which "
                    "expressions do not have",
                    "filters only work in templates; expressions call "
                    "functions: " + ", ".join(sorted(DEFAULT_FUNCTIONS)),
                    1,
                    1,
                )
            ],
            id="filter-without-function",
        ),
        pytest.param(
            "x is none",
            [
                (
                    "expression-jinja",
                    "`x is none` is a template test; expressions have no `is`",
                    "write `x == null`",
                    1,
                    1,
                )
            ],
            id="is-none",
        ),
        pytest.param(
            "x is not None",
            [
                (
                    "expression-jinja",
                    "`x is not None` is a template test; expressions have no `is`",
                    "write `x != null`",
                    1,
                    1,
                )
            ],
            id="is-not-none",
        ),
        pytest.param(
            "inputs.a is defined",
            [
                (
                    "expression-jinja",
                    "`inputs.a is defined` is a template test; expressions have no `is`",
                    "write `defined(inputs.a)`",
                    1,
                    1,
                )
            ],
            id="is-defined",
        ),
        pytest.param(
            "x is undefined",
            [
                (
                    "expression-jinja",
                    "`x is undefined` is a template test; expressions have no `is`",
                    "write `not defined(x)`",
                    1,
                    1,
                )
            ],
            id="is-undefined",
        ),
        pytest.param(
            "x is divisibleby(3)",
            [
                (
                    "expression-jinja",
                    "`x is divisibleby(3)` is a template test; expressions have no `is`",
                    "write `x % 3 == 0`",
                    1,
                    1,
                )
            ],
            id="is-divisibleby",
        ),
        pytest.param(
            "x is string",
            [
                (
                    "expression-jinja",
                    "`x is string` is a template test; expressions have no `is`",
                    "write `type_of(x) == 'string'`",
                    1,
                    1,
                )
            ],
            id="is-string",
        ),
        pytest.param(
            "a ~ b",
            [
                (
                    "expression-jinja",
                    "`~` joins text in templates; expressions use `+`",
                    "write `str(a) + str(b)`",
                    None,
                    None,
                )
            ],
            id="tilde",
        ),
        pytest.param(
            "inputs.first ~ ' ' ~ inputs.last",
            [
                (
                    "expression-jinja",
                    "`~` joins text in templates; expressions use `+`",
                    "write `str(inputs.first) + ' ' + str(inputs.last)`",
                    None,
                    None,
                )
            ],
            id="tilde-chain",
        ),
        pytest.param(
            "{{ a }} and {{ b }}",
            [
                (
                    "expression-jinja",
                    "`{{ }}` may only wrap a whole expression, once",
                    "write `a and b`",
                    None,
                    None,
                )
            ],
            id="braces-twice",
        ),
        pytest.param(
            "{% if a %}",
            [
                (
                    "expression-jinja",
                    "`{% %}` statements do not belong in expressions",
                    "write the condition alone, e.g. `inputs.count > 2`",
                    None,
                    None,
                )
            ],
            id="statement",
        ),
        pytest.param(
            "inputs.count >",
            [
                (
                    "expression-syntax",
                    "expression syntax error: invalid syntax",
                    "expressions look like `inputs.count > 2 and steps.read.status == 'succeeded'`",
                    1,
                    15,
                )
            ],
            id="syntax",
        ),
        pytest.param(
            "{{ inputs.count > }}",
            [
                (
                    "expression-syntax",
                    "expression syntax error: invalid syntax",
                    "expressions look like `inputs.count > 2 and steps.read.status == 'succeeded'`",
                    1,
                    18,
                )
            ],
            id="syntax-inside-braces",
        ),
        pytest.param(
            "",
            [
                (
                    "expression-syntax",
                    "the expression is empty",
                    "write a condition, e.g. `inputs.notify`",
                    None,
                    None,
                )
            ],
            id="empty",
        ),
        pytest.param(
            "lenght(x)",
            [("unknown-function", "unknown function `lenght`", "did you mean `len`?", 1, 1)],
            id="unknown-function-close",
        ),
        pytest.param(
            "length(x)",
            [("unknown-function", "unknown function `length`", "did you mean `len`?", 1, 1)],
            id="filter-name-as-function",
        ),
        pytest.param(
            "len(1, 2)",
            [
                (
                    "expression-syntax",
                    "wrong arguments for `len()`: too many positional arguments",
                    "see the `len` function in the docs",
                    1,
                    1,
                )
            ],
            id="arity",
        ),
        pytest.param(
            "defined(a, b)",
            [
                (
                    "expression-syntax",
                    "defined() takes exactly one value",
                    "defined(inputs.name)",
                    1,
                    1,
                )
            ],
            id="defined-arity",
        ),
        pytest.param(
            "default()",
            [
                (
                    "expression-syntax",
                    "default() takes a value and a fallback",
                    "default(inputs.name, 'anonymous')",
                    1,
                    1,
                )
            ],
            id="default-arity",
        ),
        pytest.param(
            "x and\n  y._secret",
            [
                (
                    "forbidden-name",
                    "`._secret` is not allowed: names starting with `_` are private",
                    "to read such a key, write `y['_secret']`",
                    2,
                    3,
                )
            ],
            id="underscore-attribute-position",
        ),
        pytest.param(
            "_x",
            [
                (
                    "forbidden-name",
                    "`_x` is not allowed: names starting with `_` are private",
                    "use the names in scope: inputs, vars, steps, …",
                    1,
                    1,
                )
            ],
            id="underscore-name",
        ),
        pytest.param(
            "inputs.name.ljust(10)",
            [
                (
                    "forbidden-name",
                    "the method `ljust` is not allowed",
                    "padding methods are not available (they can build huge strings)",
                    1,
                    1,
                )
            ],
            id="padding-method",
        ),
        pytest.param(
            "[x for x in y]",
            [
                (
                    "expression-syntax",
                    "comprehensions are not supported",
                    "use a `foreach` step",
                    1,
                    1,
                )
            ],
            id="comprehension",
        ),
        pytest.param(
            "f'{x}'",
            [
                (
                    "expression-syntax",
                    "f-strings are not supported",
                    "join text with +: 'Hello ' + str(name)",
                    1,
                    1,
                )
            ],
            id="f-string",
        ),
        pytest.param(
            "(y := 1)",
            [
                (
                    "expression-syntax",
                    "assignments (`:=`) are not supported",
                    "use a `set` step",
                    1,
                    2,
                )
            ],
            id="walrus",
        ),
        pytest.param(
            "x = 1",
            [
                (
                    "expression-syntax",
                    "expression syntax error: invalid syntax. Maybe you meant "
                    "'==' or ':=' instead of '='?",
                    "expressions look like `inputs.count > 2 and steps.read.status == 'succeeded'`",
                    1,
                    1,
                )
            ],
            id="assignment",
        ),
        # Found by a tester: `===` got "invalid syntax" and the generic hint.
        pytest.param(
            "inputs.n === 3",
            [
                (
                    "expression-syntax",
                    "expression syntax error: `===` is not an operator of expressions",
                    "use `==`",
                    1,
                    10,
                )
            ],
            id="strict-equality",
        ),
        pytest.param(
            "{{ inputs.a and\n  inputs.b !== 'x' }}",
            [
                (
                    "expression-syntax",
                    "expression syntax error: `!==` is not an operator of expressions",
                    "use `!=`",
                    2,
                    12,
                )
            ],
            id="strict-inequality-on-a-second-line",
        ),
        pytest.param(
            "lambda: 1",
            [
                (
                    "expression-syntax",
                    "lambdas are not supported",
                    "use the built-in functions",
                    1,
                    1,
                )
            ],
            id="lambda",
        ),
        pytest.param(
            "len(*x)",
            [
                (
                    "expression-syntax",
                    "`*` unpacking is not supported",
                    "pass the items one by one",
                    1,
                    5,
                )
            ],
            id="starred",
        ),
        pytest.param(
            "{1, 2}",
            [
                (
                    "expression-syntax",
                    "set literals `{…}` are not supported",
                    "use a list: [a, b]",
                    1,
                    1,
                )
            ],
            id="set",
        ),
        pytest.param(
            "x << 2",
            [
                (
                    "expression-syntax",
                    "the `<<` operator is not supported",
                    "use `and`, `or`, `not` for conditions",
                    1,
                    1,
                )
            ],
            id="shift",
        ),
        pytest.param(
            "~x",
            [
                (
                    "expression-syntax",
                    "the `~` operator is not supported",
                    "in expressions, join text with +: str(a) + str(b)",
                    1,
                    1,
                )
            ],
            id="invert",
        ),
        pytest.param(
            "b'x'",
            [
                (
                    "expression-syntax",
                    "bytes values are not supported",
                    "use text, numbers, true/false or null",
                    1,
                    1,
                )
            ],
            id="bytes",
        ),
        pytest.param(
            "x.y()()",
            [
                (
                    "unknown-function",
                    "only named functions can be called",
                    "call a function by its name, e.g. len(x)",
                    1,
                    1,
                ),
                (
                    "forbidden-name",
                    "the method `y` is not allowed",
                    "methods you can use: capitalize, casefold, count, endswith, find, get, index, "
                    "isalnum, isalpha, isascii, isdecimal, isdigit, islower, isnumeric, isspace, "
                    "istitle, isupper, items, keys, lower, lstrip, partition, removeprefix, "
                    "removesuffix, rfind, rindex, rpartition, rsplit, rstrip, split, splitlines, "
                    "startswith, strip, swapcase, title, upper, values",
                    1,
                    1,
                ),
            ],
            id="call-of-call",
        ),
        pytest.param("inputs.count > 2", [], id="fine"),
    ],
)
def test_analysis_problems(
    text: str, expected: list[tuple[str, str, str | None, int | None, int | None]]
) -> None:
    assert problems(text) == expected


def test_analysis_of_a_deeply_nested_expression() -> None:
    assert problems("-" * 150 + "1") == [
        ("expression-syntax", "the expression is nested too deeply",
         "expressions look like `inputs.count > 2 and steps.read.status == 'succeeded'`", 1, 102)
    ]  # fmt: skip
    code, message, *_ = problems("(" * 300 + "1" + ")" * 300)[0]
    assert (code, message) == ("expression-syntax", "expression syntax error: too many nested "
                               "parentheses")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "steps.read.result.data.items[0] == 1",
            [
                Reference(
                    "steps",
                    ("read", "result", "data", "items", 0),
                    False,
                    "steps.read.result.data.items[0]",
                )
            ],
            id="chain",
        ),
        pytest.param(
            "vars['my var'][-1]",
            [Reference("vars", ("my var", -1), False, "vars['my var'][-1]")],
            id="subscripts",
        ),
        pytest.param(
            "inputs.items[vars.i].name",
            [
                Reference("inputs", ("items",), False, "inputs.items"),
                Reference("vars", ("i",), False, "vars.i"),
            ],
            id="stops-at-non-constant",
        ),
        pytest.param(
            "default(inputs.a.b, vars.c) and defined(item)",
            [
                Reference("inputs", ("a", "b"), True, "inputs.a.b"),
                Reference("vars", ("c",), False, "vars.c"),
                Reference("item", (), True, "item"),
            ],
            id="guarded",
        ),
        pytest.param(
            "default(len(inputs.a), 0)",
            [Reference("inputs", ("a",), True, "inputs.a")],
            id="guarded-anywhere-inside-default",
        ),
        pytest.param(
            "inputs.name.upper() == true",
            [Reference("inputs", ("name",), False, "inputs.name")],
            id="method-owner",
        ),
        pytest.param("true or null", [], id="constants-are-not-references"),
        pytest.param(
            "x is defined",
            [Reference("x", (), False, "x")],
            id="jinja-test-name-is-not-a-reference",
        ),
    ],
)
def test_references(text: str, expected: list[Reference]) -> None:
    assert list(ENGINE.analyze(text).references) == expected


def test_compile_raises_the_first_problem() -> None:
    with pytest.raises(CompileError) as info:
        ENGINE.compile("inputs.items | length > 2")
    error = info.value
    assert (error.code, error.message, error.hint) == (
        "expression-jinja",
        "`inputs.items | length` uses the template filter `| length`, which expressions do "
        "not have",
        "write `len(inputs.items)`",
    )
    assert [d.code for d in error.diagnostics] == ["expression-jinja"]


def test_problem_is_plain_data() -> None:
    assert Problem("expression-syntax", "m") == Problem("expression-syntax", "m", None, None, None)


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        pytest.param("'abcdef' * 2", "max_string_length", id="repeat"),
        pytest.param("inputs.name + 'abcdefghij'", "max_string_length", id="concatenate"),
        pytest.param("'%20s' % 'a'", "max_string_length", id="printf-width"),
        pytest.param("[1, 2, 3] * 2", "max_collection_size", id="list-repeat"),
        pytest.param("[1, 2, 3] + [4, 5, 6]", "max_collection_size", id="list-concatenate"),
        pytest.param("range(6)", "max_collection_size", id="range"),
        pytest.param("replace('aaaa', 'a', 'bbb')", "max_string_length", id="replace"),
        pytest.param("join(['abcdef', 'ghijkl'])", "max_string_length", id="join"),
        pytest.param("split('a,b,c,d,e,f', ',')", "max_collection_size", id="split"),
        pytest.param("'a b c d e f'.split()", "max_collection_size", id="split-method"),
        pytest.param("str(inputs.items * 2)", "max_collection_size", id="list-then-str"),
        pytest.param("str([[1, 2], [3, 4], [5]])", "max_string_length", id="str"),
        pytest.param("to_json({'abcdefgh': 1})", "max_string_length", id="to-json"),
        pytest.param("sorted(range(5) + [1])", "max_collection_size", id="sorted"),
        pytest.param("upper('ßßßßßß')", "max_string_length", id="growing-case-change"),
    ],
)
def test_limits(text: str, limit: str) -> None:
    expression = ENGINE.compile(text)
    with active_limits(SMALL), pytest.raises(LimitExceeded) as info:
        expression.evaluate(SCOPE)
    assert info.value.limit == limit
    assert info.value.kind is ErrorKind.LIMIT_EXCEEDED


def test_limit_message() -> None:
    with active_limits(SMALL), pytest.raises(LimitExceeded) as info:
        evaluate("'abcdef' * 2")
    assert info.value.message == (
        "this would make text of 12 characters; the limit (max_string_length) is 10"
    )
    assert info.value.hint == (
        "raise the limit with a less strict security profile, or make the action do less"
    )


def test_limits_are_read_at_evaluation_time() -> None:
    expression = ENGINE.compile("'abcdef' * 2")
    assert expression.evaluate(SCOPE) == "abcdefabcdef"
    with active_limits(SMALL), pytest.raises(LimitExceeded):
        expression.evaluate(SCOPE)


def test_functions_belong_to_an_engine() -> None:
    engine = ExpressionEngine({"double": lambda x: x * 2})
    assert engine.compile("double(inputs.count)").evaluate(SCOPE) == 6
    assert "double" not in ExpressionEngine().functions
    assert problems("double(1)")[0][0] == "unknown-function"


def test_each_thread_gets_its_own_evaluator() -> None:
    expression = ExpressionEngine().compile("len(inputs.items) + inputs.count")
    results: dict[int, list[int]] = {}

    def work(index: int) -> None:
        scope = {"inputs": {"items": list(range(index)), "count": index}}
        results[index] = [expression.evaluate(scope) for _ in range(200)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: [2 * i] * 200 for i in range(8)}


# The sandbox core that templates share, tested directly ---------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("inputs.name.format", "`.format` is not allowed on text", id="format"),
        pytest.param("inputs.items.append", "`.append` is not allowed on a list", id="append"),
        pytest.param("inputs[1:2]", "a mapping cannot be sliced", id="slice-object"),
        pytest.param("inputs.count[1:2]", "a whole number cannot be sliced", id="slice-number"),
        pytest.param("[1] + (2,)", "cannot use `+` on a list and a list", id="list-plus-tuple"),
        pytest.param("'a' - 1", "cannot use `-` on text and a whole number", id="sub"),
        pytest.param("'a' * 'b'", "cannot use `*` on text and text", id="mul-strings"),
        pytest.param("null * 2", "cannot use `*` on null and a whole number", id="mul-null"),
        pytest.param("'a' / 2", "cannot use `/` on text and a whole number", id="div-types"),
        pytest.param("'a' // 2", "cannot use `//` on text and a whole number", id="floordiv-types"),
        pytest.param("1 // 0", "division by zero", id="floordiv-zero"),
        pytest.param("1 % 0", "division by zero", id="mod-zero"),
        pytest.param("[1] % 2", "cannot use `%` on a list and a whole number", id="mod-types"),
        pytest.param("'a' ** 2", "cannot use `**` on text and a whole number", id="pow-types"),
        pytest.param("0 ** -1", "zero cannot be raised to a negative power", id="zero-power"),
        pytest.param("-'a'", "cannot negate text", id="neg"),
        pytest.param("+'a'", "cannot use `+` on text", id="pos"),
        pytest.param(
            "'%*s' % (3, 'a')", "`*` widths are not supported in % formatting", id="printf-star"
        ),
        pytest.param(
            "startswith('a', 1)", "the prefix must be text, not a whole number", id="text-argument"
        ),
        pytest.param("any(5)", "any() needs a list, not a whole number", id="sequence"),
        pytest.param("int(1e308 * 10)", "cannot turn inf into a whole number", id="int-inf"),
        pytest.param("int(null)", "cannot turn null into a whole number", id="int-null"),
        pytest.param("float('x')", 'cannot turn "x" into a number', id="float-text"),
        pytest.param("float(null)", "cannot turn null into a number", id="float-null"),
        pytest.param("float('inf')", '"inf" is not a finite number', id="float-inf"),
        pytest.param("round('a')", "round() needs a number, not text", id="round-type"),
        pytest.param(
            "round(1.5, 1000)",
            "round() takes a number of digits between -100 and 100",
            id="round-digits",
        ),
        pytest.param(
            "min([1, 'a'])", "min() cannot compare items of different kinds", id="min-mixed"
        ),
        pytest.param(
            "sorted([1, 'a'])",
            "sorted() cannot compare items of different kinds",
            id="sorted-mixed",
        ),
        pytest.param("abs('a')", "abs() needs a number, not text", id="abs"),
        pytest.param("keys([])", "keys() needs a mapping, not a list", id="keys"),
        pytest.param("values(1)", "values() needs a mapping, not a whole number", id="values"),
        pytest.param("items('a')", "items() needs a mapping, not text", id="items"),
        pytest.param("range('a')", "range() takes 1 to 3 whole numbers", id="range-type"),
        pytest.param("range(1, 5, 0)", "range() step cannot be zero", id="range-step"),
        pytest.param(
            "from_json('[' * 100000 + ']' * 100000)",
            "the JSON is nested too deeply",
            id="json-deep",
        ),
        pytest.param(
            "to_json(1, 9)", "the JSON indent must be a whole number from 0 to 8", id="json-indent"
        ),
        pytest.param(
            "to_json([1e308 * 10])",
            "NaN and infinite numbers cannot be written as JSON",
            id="json-inf",
        ),
        pytest.param(
            "from_json(1)", "from_json's input must be text, not a whole number", id="json-input"
        ),
        pytest.param(
            "inputs.count()", "`inputs.count` is a whole number, not a method", id="call-a-value"
        ),
        pytest.param(
            "inputs.name.get('a')",
            "`inputs.name` is text, so it has no key or method 'get'",
            id="method-of-another-type",
        ),
        pytest.param(
            "{[1]: 2}", "a mapping's key must be text or a number, not a list", id="dict-key"
        ),
        pytest.param(
            "'a' in 1",
            "`in` needs text, a list or a mapping on its right, not a whole number",
            id="in-number",
        ),
        pytest.param(
            "{'a': 1} < {'b': 2}",
            "cannot compare a mapping (key: value pairs) with a mapping (key: value pairs) "
            "using `<`",
            id="compare-objects",
        ),
        pytest.param(
            "matches('x', 1)",
            "a regular expression must be text, not a whole number",
            id="pattern-type",
        ),
    ],
)
def test_value_errors(text: str, message: str) -> None:
    assert failure(text)[0] == message


def test_values_that_are_not_json_are_handled() -> None:
    assert evaluate("type_of(inputs.keys())") == "other"
    assert evaluate("type_of(1.5)") == "number" and evaluate("type_of('x')") == "string"
    assert evaluate("to_json(inputs.keys())").startswith('["name"')
    assert evaluate("inputs.keys()") == list(SCOPE["inputs"])
    assert evaluate("int(true)") == 1
    assert evaluate("float(2)") == 2.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("matches('x]', '[]x]+$')", True, id="class-starting-with-bracket"),
        pytest.param("matches('a]', '[^\\\\]]')", True, id="negated-class-with-escape"),
        pytest.param("matches('é', '\\\\p{L}')", True, id="unicode-property"),
        pytest.param("matches('{x', '{x')", True, id="literal-brace"),
        pytest.param("matches('aaa', '(?:a{1,100}){1,100}')", True, id="ranges-are-cheap"),
        pytest.param("matches('ab', '(a)(?P<x>b)')", True, id="groups"),
    ],
)
def test_patterns_that_are_fine(text: str, expected: Any) -> None:
    assert evaluate(text) is expected


def test_regex_functions() -> None:
    from engine.lang.sandbox.patterns import regex_findall, regex_replace, regex_search

    assert regex_findall("a1 b2", "([a-z])([0-9])") == [["a", "1"], ["b", "2"]]
    assert regex_findall("a1 b2", "[a-z]([0-9])") == ["1", "2"]
    assert regex_search("abc", "x") is None
    assert regex_replace("aaaa", "a", "b", count=2) == "bbaa"
    assert regex_replace("ab", "(?P<x>a)", "\\g<x>!") == "a!b"
    with pytest.raises(Exception, match="invalid replacement"):
        regex_replace("a", "(a)", "\\9")


def test_regex_replacement_with_groups_is_measured_when_it_could_be_big() -> None:
    from engine.lang.sandbox.patterns import regex_replace

    with active_limits(SMALL):
        # Worst case 8 + 8 * 2 + 8: more than 10, so it is measured, and is 8 in fact.
        assert regex_replace("aaaaaaaa", "(a)", "\\1") == "aaaaaaaa"
        assert regex_replace("aaaaaaaa", "(a)", "\\1", count=3) == "aaaaaaaa"
        with pytest.raises(LimitExceeded):
            regex_replace("aaaaaaaa", "(a)", "\\1\\1")
        with pytest.raises(LimitExceeded):
            regex_replace("aaaaaaaa", "(a)", "\\1b")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda f: f.regex_findall("a" * 100000, "(a|aa)+$b"), id="findall"),
        pytest.param(lambda f: f.regex_search("a" * 100000, "(a|aa)+$b"), id="search"),
        pytest.param(lambda f: f.regex_replace("a" * 100000, "(a|aa)+$b", "x"), id="replace"),
    ],
)
def test_regex_timeout(call: Any) -> None:
    from engine.lang.sandbox import patterns as functions
    from engine.lang.sandbox.failures import SandboxFailure

    with pytest.raises(SandboxFailure) as info:
        call(functions)
    assert info.value.message == "the regular expression took longer than 0.2 s"


@pytest.mark.parametrize(
    ("error", "message", "hint"),
    [
        pytest.param(
            RecursionError(),
            "the value is nested too deeply",
            "work on a smaller part of the data",
            id="recursion",
        ),
        pytest.param(
            MemoryError(), "out of memory", "make the action work on less data", id="memory"
        ),
        pytest.param(
            TypeError("must be str, not int"),
            "wrong kind of value: must be text, not a whole number",
            "convert values first, e.g. with int(...), float(...) or str(...)",
            id="type",
        ),
        pytest.param(ValueError("bad"), "invalid value: bad", None, id="value"),
        pytest.param(
            OverflowError("big"),
            "a number is too large: big",
            "check the arithmetic",
            id="overflow",
        ),
        pytest.param(KeyError("k"), "'k'", None, id="other"),
        pytest.param(RuntimeError(), "RuntimeError", None, id="no-message"),
    ],
)
def test_any_failure_becomes_a_step_error(
    error: BaseException, message: str, hint: str | None
) -> None:
    from engine.lang.sandbox.messages import to_step_error

    step_error = to_step_error(error, ErrorKind.EXPRESSION_ERROR, "")
    assert (step_error.message, step_error.hint) == (message, hint)


def test_a_function_failing_in_its_own_way_is_reported() -> None:
    def boom(value: Any) -> Any:
        raise RuntimeError("boom")

    engine = ExpressionEngine({"boom": boom})
    with pytest.raises(StepError) as info:
        engine.compile("boom(1)").evaluate(SCOPE)
    assert info.value.message == "boom"


def test_a_function_removed_after_compiling() -> None:
    engine = ExpressionEngine({"twice": lambda x: 2 * x})
    expression = engine.compile("twice(2) + 0")
    del engine.functions["twice"]
    with pytest.raises(StepError) as info:
        expression.evaluate(SCOPE)
    assert info.value.message == "unknown function `twice`"


def test_builtins_without_a_signature_are_not_arity_checked() -> None:
    engine = ExpressionEngine({"biggest": max})
    assert engine.analyze("biggest(1, 2, 3)").problems == ()
    assert engine.compile("biggest(1, 2, 3)").evaluate({}) == 3


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        pytest.param(
            "{**inputs}",
            "expression-syntax",
            "`**` unpacking is not supported",
            id="dict-unpacking",
        ),
        pytest.param(
            "len(**inputs)",
            "expression-syntax",
            "`**` unpacking is not supported",
            id="keyword-unpacking",
        ),
        pytest.param(
            "x is even",
            "expression-jinja",
            "`x is even` is a template test; expressions have no `is`",
            id="is-even",
        ),
        pytest.param(
            "x is callable",
            "expression-jinja",
            "`x is callable` is a template test; expressions have no `is`",
            id="is-other",
        ),
        pytest.param(
            "a\x00",
            "expression-syntax",
            "expression syntax error: source code string cannot contain null bytes",
            id="null-byte",
        ),
        pytest.param(
            "-" * 100000 + "1",
            "expression-syntax",
            "the expression is nested too deeply",
            id="parser-exhaustion",
        ),
    ],
)
def test_more_analysis_problems(text: str, code: str, message: str) -> None:
    first = ENGINE.analyze(text).problems[0]
    assert (first.code, first.message) == (code, message)


def test_is_suggestions() -> None:
    hints = [ENGINE.analyze(t).problems[0].hint for t in ("x is even", "x is callable")]
    assert hints == ["write `x % 2 == 0`",
                     "compare with == or !=, e.g. `x == null`, or use defined(x)"]  # fmt: skip


def test_listing_is_shortened() -> None:
    scope = {"inputs": {f"k{i:02}": i for i in range(25)}}
    assert failure("inputs.zz", scope)[1] == (
        "inputs has: k00, k01, k02, k03, k04, k05, k06, k07, k08, k09, k10, k11, k12, k13, "
        "k14, k15, k16, k17, k18, k19, … (5 more)"
    )
    assert failure("inputs[1.5]") == (
        "`inputs[1.5]` is undefined",
        "inputs has: count, empty, items, name, nothing, notify, ratio",
    )


def test_expression_repr() -> None:
    assert repr(ENGINE.compile("inputs.a")) == "Expression('inputs.a')"
    assert repr(ENGINE.compile(True)) == "Expression('True')"
