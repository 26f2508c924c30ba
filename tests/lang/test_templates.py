"""Templates: renderer kinds, native types, filters, analysis, messages, limits, key rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagnostics.errors import CompileError, ErrorKind, LimitExceeded, StepError
from engine.lang.limits import Limits, active_limits
from engine.lang.sandbox.failures import MissingValue, SandboxFailure
from engine.lang.sandbox.lookups import MISSING, lookup_attribute, lookup_item
from engine.lang.sandbox.messages import to_step_error
from engine.lang.sandbox.references import Reference, format_reference
from engine.lang.sandbox.sizes import to_plain
from engine.lang.template_sandbox import TEMPLATE_GUARD, finalize_output
from engine.lang.templates import DEFAULT_FILTERS, TemplateEngine, is_template
from tests.lang.mistakes import SAME_IN_BOTH, TESTER

STRAY = "`{{ … }}` closes with two braces, `}}`: add the missing `}`, or remove this one"

DOCS = Path(__file__).resolve().parents[2] / "docs"
ENGINE = TemplateEngine()
SCOPE: dict[str, Any] = {
    "inputs": {"name": "ada", "count": 3, "items": [3, 1, 2], "flag": True, "none": None},
    "steps": {
        "read": {
            "result": {"success": True, "data": {"content": "hello world", "format": "text"}},
            "status": "succeeded",
        }
    },
    "vars": {
        "my var": 7,
        "people": [{"name": "Bo", "age": 30}, {"name": "Al", "age": 25}],
        "six": "abcdef",
        "csv": "a,b,c,d,e,f",
    },
    "item": "x",
}
SMALL = Limits().with_overrides(max_string_length=10, max_collection_size=5, max_template_output=20)


def render(value: Any, scope: dict[str, Any] = SCOPE, engine: TemplateEngine = ENGINE) -> Any:
    return engine.compile(value)(scope)


def failure(text: str, scope: dict[str, Any] = SCOPE) -> tuple[str, str | None]:
    """The message and hint of the error rendering ``text`` raises."""
    with pytest.raises(StepError) as info:
        render(text, scope)
    assert info.value.kind is ErrorKind.TEMPLATE_ERROR
    assert info.value.step is None and not info.value.first.path
    return info.value.message, info.value.hint


def problems(text: str) -> list[tuple[str, str, str | None, int | None, int | None]]:
    return [(p.code, p.message, p.hint, p.line, p.column) for p in ENGINE.analyze(text).problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{{ x }}", True, id="expression"),
        pytest.param("{% if %}", True, id="statement"),
        pytest.param("{# note #}", True, id="comment"),
        pytest.param("{ x }", False, id="single-brace"),
        pytest.param("plain text", False, id="plain"),
    ],
)
def test_is_template(text: str, expected: bool) -> None:
    assert is_template(text) is expected


def test_constants_cost_nothing() -> None:
    value = {"a": [1, {"b": "text"}], "c": None}
    renderer = ENGINE.compile(value)
    assert renderer.constant
    assert renderer(SCOPE) is value
    assert ENGINE.compile("no template").constant
    assert ENGINE.compile(5)(SCOPE) == 5


def test_nested_values_render_only_their_templates() -> None:
    fixed = {"deep": [1, 2]}
    renderer = ENGINE.compile(
        {"operation": "set", "fixed": fixed, "text": "{{ inputs.name }}", "list": ["a", "{{ 1 }}"]}
    )
    assert not renderer.constant
    out = renderer(SCOPE)
    assert out == {"operation": "set", "fixed": fixed, "text": "ada", "list": ["a", 1]}
    assert list(out) == ["operation", "fixed", "text", "list"]
    assert out["fixed"] is fixed
    assert renderer(SCOPE) is not out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{{ inputs.count }}", 3, id="int-reference"),
        pytest.param("{{ inputs.items }}", [3, 1, 2], id="list-reference"),
        pytest.param("{{ inputs.flag }}", True, id="bool-reference"),
        pytest.param("{{ inputs.none }}", None, id="null-reference"),
        pytest.param(
            "{{ steps.read.result.data }}",
            SCOPE["steps"]["read"]["result"]["data"],
            id="object-reference",
        ),
        pytest.param("{{ vars['my var'] }}", 7, id="subscript-reference"),
        pytest.param("{{ vars.people[1].name }}", "Al", id="index-reference"),
        pytest.param("{{ vars.people[-1]['age'] }}", 25, id="negative-index-reference"),
        pytest.param("{{ vars.people.0.name }}", "Bo", id="dotted-index"),
        pytest.param("{{ item }}", "x", id="root-reference"),
        pytest.param("{{ inputs.count * 2 }}", 6, id="int-expression"),
        pytest.param("{{ inputs.count / 2 }}", 1.5, id="float-expression"),
        pytest.param("{{ inputs.items | sort }}", [1, 2, 3], id="list-expression"),
        pytest.param("{{ inputs.items | map('string') }}", ["3", "1", "2"], id="generator-list"),
        pytest.param("{{ range(3) }}", [0, 1, 2], id="range-list"),
        pytest.param("{{ (1, 2) }}", [1, 2], id="tuple-list"),
        pytest.param("{{ {'a': inputs.count} }}", {"a": 3}, id="dict-expression"),
        pytest.param("{{ inputs.count > 2 }}", True, id="bool-expression"),
        pytest.param("{{ none }}", None, id="none-literal"),
        pytest.param("{{ '3' }}", "3", id="text-stays-text"),
        pytest.param("{{ inputs.name ~ '!' }}", "ada!", id="tilde"),
        pytest.param("{{- inputs.count -}}", 3, id="whitespace-control"),
        pytest.param("{{ inputs.count }}{# note #}", 3, id="comment-ignored"),
    ],
)
def test_a_single_expression_keeps_its_type(text: str, expected: Any) -> None:
    value = render(text)
    assert value == expected and type(value) is type(expected)


def test_a_plain_reference_returns_the_scope_value_itself() -> None:
    assert render("{{ inputs.items }}") is SCOPE["inputs"]["items"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Hi {{ inputs.name }}!", "Hi ada!", id="plain-references"),
        pytest.param("{{ inputs.count }} items", "3 items", id="number-as-text"),
        pytest.param("{{ inputs.flag }}/{{ inputs.count }}", "True/3", id="python-text"),
        pytest.param("{{ inputs.items }}", [3, 1, 2], id="native"),
        pytest.param(" {{ inputs.items }}", " [3, 1, 2]", id="text-around-native"),
        pytest.param("{{ inputs.name }}\n", "ada\n", id="trailing-newline-kept"),
        pytest.param("Hi {{ inputs.name | title }}", "Hi Ada", id="jinja-text"),
        pytest.param("a {{- ' b ' -}} c", "a b c", id="whitespace-control"),
        pytest.param("{{ '{{ x }}' }}", "{{ x }}", id="literal-braces"),
    ],
)
def test_text(text: str, expected: Any) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Hello {{ inputs.none }}", "Hello ", id="reference"),
        pytest.param("{{ inputs.none }}!", "!", id="first-piece"),
        pytest.param("[{{ inputs.none | upper if inputs.none else none }}]", "[]", id="expression"),
        pytest.param("a{{ none }}b", "ab", id="constant-folded"),
        pytest.param("{{ inputs.none }}{{ inputs.none }}", "", id="only-nulls"),
        pytest.param("{{ [inputs.none] }} ", "[None] ", id="inside-a-list-as-python-shows-it"),
        pytest.param("{{ 'Hello ' ~ inputs.none ~ '!' }}", "Hello !", id="joined-with-tilde"),
    ],
)
def test_null_inside_text_is_no_text(text: str, expected: str) -> None:
    """As GitHub Actions expressions print null: an optional input not given leaves no
    trace in a message; a value that is exactly one ``{{ }}`` keeps its null."""
    assert render(text) == expected
    assert render("{{ inputs.none }}") is None


def test_rendered_output_is_never_rendered_again() -> None:
    scope = {"inputs": {"text": "{{ inputs.secret }}", "secret": "no!"}}
    assert render("{{ inputs.text }}", scope) == "{{ inputs.secret }}"
    assert render("say {{ inputs.text | upper }}", scope) == "say {{ INPUTS.SECRET }}"


FILTER_CASES = [
    pytest.param("{{ -3 | abs }}", 3, id="abs"),
    pytest.param("{{ 'ab' | capitalize }}", "Ab", id="capitalize"),
    pytest.param("{{ inputs.items | count }}", 3, id="count"),
    pytest.param("{{ inputs.nope | d('x') }}", "x", id="d"),
    pytest.param("{{ inputs.nope | default('x') }}", "x", id="default"),
    pytest.param("{{ '' | default('x', true) }}", "x", id="default-boolean"),
    pytest.param("{{ none | default('x') }}", "x", id="default-of-null"),
    pytest.param("Title: {{ none | d('Untitled') }}", "Title: Untitled", id="d-of-null-in-text"),
    pytest.param("{{ {'b': 1, 'a': 2} | dictsort }}", [["a", 2], ["b", 1]], id="dictsort"),
    pytest.param("{{ '<b>' | e }}", "&lt;b&gt;", id="e"),
    pytest.param("{{ '<b>' | escape }}", "&lt;b&gt;", id="escape"),
    pytest.param("{{ 2048 | filesizeformat }}", "2.0 kB", id="filesizeformat"),
    pytest.param("{{ inputs.items | first }}", 3, id="first"),
    pytest.param("{{ '2.5' | float }}", 2.5, id="float"),
    pytest.param(
        "{{ vars.people | groupby('age') | map('first') | list }}", [25, 30], id="groupby"
    ),
    pytest.param("{{ 'ab\\ncd' | indent(2) }}", "ab\n  cd", id="indent"),
    pytest.param("{{ '42' | int }}", 42, id="int"),
    pytest.param("{{ 'x' | int }}", 0, id="int-lenient"),
    pytest.param("{{ {'a': 1} | items | list }}", [["a", 1]], id="items"),
    pytest.param("{{ [1, 2] | join(', ') }}", "1, 2", id="join"),
    pytest.param("{{ vars.people | join(', ', attribute='name') }}", "Bo, Al", id="join-attribute"),
    pytest.param("{{ inputs.items | last }}", 2, id="last"),
    pytest.param("{{ inputs.items | length }}", 3, id="length"),
    pytest.param("{{ 'ab' | list }}", ["a", "b"], id="list"),
    pytest.param("{{ 'AB' | lower }}", "ab", id="lower"),
    pytest.param("{{ vars.people | map(attribute='name') | list }}", ["Bo", "Al"], id="map"),
    pytest.param("{{ inputs.items | max }}", 3, id="max"),
    pytest.param("{{ inputs.items | min }}", 1, id="min"),
    pytest.param("{{ [7] | random }}", 7, id="random"),
    pytest.param("{{ inputs.items | reject('odd') | list }}", [2], id="reject"),
    pytest.param(
        "{{ vars.people | rejectattr('age', 'gt', 26) | map(attribute='name') | list }}",
        ["Al"],
        id="rejectattr",
    ),
    pytest.param("{{ 'a-b' | replace('-', '+') }}", "a+b", id="replace"),
    pytest.param("{{ 'abc' | reverse }}", "cba", id="reverse"),
    pytest.param("{{ 2.567 | round(2) }}", 2.57, id="round"),
    pytest.param("{{ 2.1 | round(0, 'ceil') }}", 3.0, id="round-ceil"),
    pytest.param("{{ inputs.items | select('odd') | list }}", [3, 1], id="select"),
    pytest.param(
        "{{ vars.people | selectattr('age', 'lt', 26) | map(attribute='name') | list }}",
        ["Al"],
        id="selectattr",
    ),
    pytest.param("{{ inputs.items | sort(reverse=true) }}", [3, 2, 1], id="sort"),
    pytest.param("{{ 3 | string }}", "3", id="string"),
    pytest.param("{{ '<b>x</b>' | striptags }}", "x", id="striptags"),
    pytest.param("{{ inputs.items | sum }}", 6, id="sum"),
    pytest.param("{{ vars.people | sum(attribute='age') }}", 55, id="sum-attribute"),
    pytest.param("{{ 'hello world' | title }}", "Hello World", id="title"),
    pytest.param("{{ ' x ' | trim }}", "x", id="trim"),
    pytest.param("{{ 'hello world' | truncate(9, leeway=0) }}", "hello...", id="truncate"),
    pytest.param("{{ [1, 1, 2] | unique | list }}", [1, 2], id="unique"),
    pytest.param("{{ 'ab' | upper }}", "AB", id="upper"),
    pytest.param("{{ 'a b&c' | urlencode }}", "a%20b%26c", id="urlencode"),
    pytest.param("{{ 'one two' | wordcount }}", 2, id="wordcount"),
    pytest.param("{{ 'aaa bbb' | wordwrap(3) }}", "aaa\nbbb", id="wordwrap"),
    pytest.param(
        "{{ {'a': [1, none], 'é': true} | tojson }}", '{"a": [1, null], "é": true}', id="tojson"
    ),
    pytest.param("{{ [1] | tojson(2) }}", "[\n  1\n]", id="tojson-indent"),
    pytest.param("{{ [1, 2, 3] | batch(2) | list }}", [[1, 2], [3]], id="batch"),
    pytest.param("{{ [1, 2, 3] | slice(2) | list }}", [[1, 2], [3]], id="slice"),
    pytest.param("{{ 'a,b' | split(',') }}", ["a", "b"], id="split"),
    pytest.param("{{ '{\"a\": 1}' | from_json }}", {"a": 1}, id="from_json"),
    pytest.param("{{ 'Invoice 42' | regex_search('\\d+') }}", "42", id="regex_search"),
    pytest.param("{{ 'a  b' | regex_replace('\\s+', ' ') }}", "a b", id="regex_replace"),
    pytest.param("{{ 'a1b22' | regex_findall('\\d+') }}", ["1", "22"], id="regex_findall"),
    pytest.param("{{ 'hi' | b64encode }}", "aGk=", id="b64encode"),
    pytest.param("{{ 'aGk=' | b64decode }}", "hi", id="b64decode"),
]


@pytest.mark.parametrize(("text", "expected"), FILTER_CASES)
def test_filters(text: str, expected: Any) -> None:
    assert render(text) == expected


def test_every_filter_is_tested_and_documented() -> None:
    tested = {case.id for case in FILTER_CASES}
    documented = (DOCS / "templates-and-expressions.md").read_text(encoding="utf-8")
    for name in ENGINE.public_filters():
        assert name in tested, name
        assert f"`{name}" in documented, name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{{ inputs.count is number }}", True, id="number"),
        pytest.param("{{ inputs.count is divisibleby(3) }}", True, id="divisibleby"),
        pytest.param("{{ inputs.name is string }}", True, id="string"),
        pytest.param("{{ inputs.nope is defined }}", False, id="defined"),
        pytest.param("{{ inputs.nope.deeper is undefined }}", True, id="undefined-chain"),
        pytest.param("{{ inputs.none is none }}", True, id="none"),
        pytest.param("{{ 2 is in inputs.items }}", True, id="in"),
        pytest.param("{{ range(3) | list }}", [0, 1, 2], id="range"),
        pytest.param("{{ dict(a=1) }}", {"a": 1}, id="dict"),
    ],
)
def test_tests_and_globals(text: str, expected: Any) -> None:
    assert render(text) == expected


def test_now_and_today() -> None:
    assert dt.datetime.fromisoformat(render("{{ now() }}")).tzinfo is not None
    assert dt.date.fromisoformat(render("{{ today() }}"))


def test_default_works_through_a_missing_chain() -> None:
    assert render("{{ inputs.nope.a['b'][0] | default('x') }}") == "x"
    assert render("{{ nothing.at.all | default(1) + 1 }}") == 2


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        pytest.param(
            "{{ nmae }}",
            "`nmae` is undefined",
            "names you can use here: inputs, item, steps, vars",
            id="unknown-root",
        ),
        pytest.param(
            "{{ input.name }}",
            "`input` is undefined",
            "did you mean `inputs`? names you can use here: inputs, item, steps, vars",
            id="unknown-root-close",
        ),
        pytest.param(
            "{{ inputs.nmae }}",
            "`inputs.nmae` is undefined",
            "did you mean `inputs.name`? inputs has: count, flag, items, name, none",
            id="missing-input",
        ),
        pytest.param(
            "Hello {{ inputs.nmae }}",
            "`inputs.nmae` is undefined",
            "did you mean `inputs.name`? inputs has: count, flag, items, name, none",
            id="missing-input-in-text",
        ),
        pytest.param(
            "{{ steps.read.result.data.contnt }}",
            "`steps.read.result.data` has no key 'contnt'; it has: content, format",
            "did you mean 'content'?",
            id="missing-deep-key",
        ),
        pytest.param(
            "{{ steps.read.result.data.size }}",
            "`steps.read.result.data` has no key 'size'; it has: content, format",
            "if it may be missing, add a fallback: `steps.read.result.data.size | default('')`",
            id="missing-deep-key-no-match",
        ),
        pytest.param(
            "{{ steps.read.result.data.size.unit }}",
            "`steps.read.result.data` has no key 'size'; it has: content, format",
            "if it may be missing, add a fallback: `steps.read.result.data.size | default('')`",
            id="first-missing-link-is-reported",
        ),
        pytest.param(
            "{{ vars.people[5] }}",
            "`vars.people` has no item 5; it has 2 item(s)",
            "items are numbered from 0 to 1",
            id="missing-item",
        ),
        pytest.param(
            "{{ inputs.none.x }}",
            "`inputs.none` is null, so it has no key 'x'",
            "if it may be missing, add a fallback: `inputs.none.x | default('')`",
            id="null-parent",
        ),
        pytest.param(
            "{{ inputs.name.upper }}",
            "the result is a function or method, not a value",
            "call it with parentheses, e.g. `name.upper()`",
            id="method-not-called",
        ),
    ],
)
def test_error_messages_on_both_paths(text: str, message: str, hint: str | None) -> None:
    assert failure(text) == (message, hint)


# The tester's mistakes (tests/lang/mistakes.py): those with the same message and hint in
# both languages, and here those whose hint is written in the template form or that only
# a template makes.
@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        pytest.param(
            "{{ inputs.obj['_y'] }}",
            "`inputs.obj` has no key '_y'; it has: a, b",
            "if it may be missing, add a fallback: `inputs.obj['_y'] | default('')`",
            id="private-key-fallback-in-brackets",
        ),
        pytest.param(
            "x {{ inputs.obj.keys }}",
            "`inputs.obj` has no key 'keys'; it has: a, b",
            "if you meant the method `keys()`, call it: `inputs.obj.keys()`",
            id="method-name-read-as-a-key-in-text",
        ),
        pytest.param(
            "{{ inputs.get }}",
            "`inputs.get` is undefined",
            "inputs has: lst, obj; if you meant the method `get()`, call it: `inputs.get()`",
            id="method-name-read-as-a-root-key",
        ),
        pytest.param(
            "{{ dict(a=1).values }}",
            "A mapping (key: value pairs) has no key 'values'; it has: a",
            "if you meant the method `values()`, add the parentheses",
            id="method-name-read-as-a-key-of-a-computed-object",
        ),
        pytest.param(
            "{{ vars.people[[0]] }}",
            "`vars.people` is a list, so it has no key [0]",
            "a list has no keys: it has 2 item(s), read by position: "
            "`vars.people[0]` to `vars.people[1]`",
            id="list-as-a-key-of-a-list-of-objects",
        ),
        pytest.param(
            "{{ vars.one.x }}",
            "`vars.one` is a list, so it has no key 'x'",
            "a list has no keys: it has 1 item(s), read by position: `vars.one[0]`",
            id="key-of-a-list-of-one",
        ),
        pytest.param(
            "{{ vars.none.x }}",
            "`vars.none` is a list, so it has no key 'x'",
            "a list has no keys, and this one is empty",
            id="key-of-an-empty-list",
        ),
        *(
            pytest.param(f"{{{{ {text} }}}}", message, hint, id=name)
            for name, (text, message, hint) in SAME_IN_BOTH.items()
        ),
    ],
)
def test_hints_name_what_the_user_can_write(text: str, message: str, hint: str) -> None:
    assert failure(text, TESTER) == (message, hint)


def test_a_method_name_is_a_key_unless_called() -> None:
    """`.items` reads a key (missing: a fallback applies); `.items()` calls the method."""
    assert render("{{ inputs.obj.items | default('none') }}", TESTER) == "none"
    assert render("{{ inputs.obj.keys is defined }}", TESTER) is False
    assert render("{{ inputs.obj.items() | list }}", TESTER) == [["a", 1], ["b", 2]]
    assert render("{{ inputs.obj.get('a') }}", TESTER) == 1
    assert render("{{ {'items': 5}.items }}", TESTER) == 5


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        pytest.param(
            "{{ inputs.nmae | upper }}",
            "`inputs.nmae` is undefined",
            "did you mean `inputs.name`? inputs has: count, flag, items, name, none",
            id="undefined-through-a-filter",
        ),
        pytest.param(
            "{{ inputs.count + inputs.zzz }}",
            "`inputs.zzz` is undefined",
            "inputs has: count, flag, items, name, none",
            id="undefined-in-arithmetic",
        ),
        pytest.param(
            "{{ [inputs.zzz] }}",
            "`inputs.zzz` is undefined",
            "inputs has: count, flag, items, name, none",
            id="undefined-inside-a-list",
        ),
        pytest.param(
            "{{ [] | first }}",
            "No first item, sequence was empty.",
            "add `| default(…)` for this case",
            id="jinja-undefined-with-reason",
        ),
        pytest.param(
            "{{ vars.people | map(attribute='height') | list }}",
            "A mapping (key: value pairs) has no key 'height'; it has: age, name",
            "check the key name",
            id="missing-key-of-an-item",
        ),
        pytest.param(
            "{{ 1 / 0 }}",
            "division by zero",
            "check the divisor first, e.g. `a / b if b else 0`",
            id="division-by-zero",
        ),
        pytest.param(
            "{{ inputs.name + 1 }}",
            "cannot use `+` on text and a whole number",
            "convert one side first, e.g. with int(...), float(...) or str(...)",
            id="operand-types",
        ),
        pytest.param(
            "{{ 'a' | regex_search('(') }}",
            'invalid regular expression "(": missing ) at position 1',
            "check its brackets and escapes; in YAML, single-quote a pattern with backslashes",
            id="bad-regex",
        ),
        pytest.param(
            "{{ 'x' | truncate(1) }}",
            "expected length >= 3, got 1",
            None,
            id="filter-argument",
        ),
        pytest.param(
            "{{ 'abc' | indent(1000) }}",
            "the indent must be 0 to 100 spaces, or text of that length",
            None,
            id="indent-cap",
        ),
    ],
)
def test_error_messages(text: str, message: str, hint: str | None) -> None:
    with pytest.raises(StepError) as info:
        render(text)
    assert info.value.kind is ErrorKind.TEMPLATE_ERROR
    assert (info.value.message, info.value.hint) == (message, hint)


STATEMENT_HINT = "templates are expressions only; use a `foreach`/`if`/`set` step"
SYNTAX_HINT = "check the `{{ … }}` parts: brackets, quotes, and filters as `value | name(args)`"


@pytest.mark.parametrize(
    "statement",
    [
        "{% for x in y %}{% endfor %}",
        "{% if x %}a{% elif y %}b{% else %}c{% endif %}",
        "{% set x = 1 %}",
        "{% macro m() %}{% endmacro %}",
        "{% include 'x' %}",
        "{% import 'x' as y %}",
        "{% from 'x' import y %}",
        "{% block b %}{% endblock %}",
        "{% extends 'x' %}",
        "{% call m() %}{% endcall %}",
        "{% filter upper %}x{% endfilter %}",
        "{% with a = 1 %}{% endwith %}",
        "{% raw %}{{ x }}{% endraw %}",
        "{% autoescape true %}{% endautoescape %}",
    ],
)
def test_statements_are_refused(statement: str) -> None:
    name = statement.split()[1]
    assert problems("text " + statement) == [
        ("template-statement", f"`{{% {name} %}}`: statements are not allowed in templates",
         STATEMENT_HINT, 1, 6)
    ]  # fmt: skip
    with pytest.raises(CompileError) as info:
        ENGINE.compile(statement)
    assert (info.value.code, info.value.hint) == ("template-statement", STATEMENT_HINT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "line one\n{{ x | lenght }}",
            [("unknown-filter", "unknown filter `lenght`", "did you mean `length`?", 2, 8)],
            id="unknown-filter-close",
        ),
        pytest.param(
            "{{ x | center(9) }}",
            [
                (
                    "unknown-filter",
                    "unknown filter `center`",
                    "padding filters are not available (they can build huge strings)",
                    1,
                    8,
                )
            ],
            id="removed-filter",
        ),
        pytest.param(
            "{{ x | format(1) }}",
            [
                (
                    "unknown-filter",
                    "unknown filter `format`",
                    "join text with `~`, or format a number with `'%.2f' % value`",
                    1,
                    8,
                )
            ],
            id="format-filter",
        ),
        pytest.param(
            "{{ x | len }}",
            [
                (
                    "unknown-filter",
                    "unknown filter `len`",
                    "in templates, write `value | length`",
                    1,
                    8,
                )
            ],
            id="expression-function-as-filter",
        ),
        pytest.param(
            "{{ len(x) }}",
            [
                (
                    "unknown-function",
                    "unknown function `len`",
                    "in templates, write `value | length`",
                    1,
                    4,
                )
            ],
            id="expression-function-in-template",
        ),
        pytest.param(
            "{{ x is positive }}",
            [
                (
                    "unknown-test",
                    "unknown test `positive`",
                    "tests you can use: !=, <, <=, ==, >, >=, boolean, callable, defined, "
                    "divisibleby, eq, equalto, escaped, even, false, filter, float, ge, "
                    "greaterthan, gt, in, integer, iterable, le, lessthan, lower, lt, mapping, ne, "
                    "none, number, odd, sameas, sequence, string, test, true, undefined, upper",
                    1,
                    9,
                )
            ],
            id="unknown-test",
        ),
        pytest.param(
            "{{ x is numbr }}",
            [("unknown-test", "unknown test `numbr`", "did you mean `number`?", 1, 9)],
            id="unknown-test-close",
        ),
        pytest.param(
            "{{ lipsum() }}",
            [
                (
                    "unknown-function",
                    "unknown function `lipsum`",
                    "not available in km-actions templates",
                    1,
                    4,
                )
            ],
            id="lipsum",
        ),
        pytest.param(
            "{{ namespace(a=1) }}",
            [
                (
                    "unknown-function",
                    "unknown function `namespace`",
                    "not available: templates cannot set variables; use a `set` step",
                    1,
                    4,
                )
            ],
            id="namespace",
        ),
        pytest.param(
            "{{ rnage(3) }}",
            [("unknown-function", "unknown function `rnage`", "did you mean `range`?", 1, 4)],
            id="unknown-function-close",
        ),
        pytest.param(
            "{{ x._secret }}",
            [
                (
                    "forbidden-name",
                    "`._secret` is not allowed: names starting with `_` are private",
                    "to read such a key, write `x['_secret']`",
                    1,
                    6,
                )
            ],
            id="underscore-attribute",
        ),
        pytest.param(
            "{{ inputs.obj._x }}",
            [
                (
                    "forbidden-name",
                    "`._x` is not allowed: names starting with `_` are private",
                    "to read such a key, write `inputs.obj['_x']`",
                    1,
                    15,
                )
            ],
            id="underscore-attribute-names-the-reference",
        ),
        pytest.param(
            "{{ inputs[k]._x }}",
            [
                (
                    "forbidden-name",
                    "`._x` is not allowed: names starting with `_` are private",
                    "to read such a key, write `value['_x']`",
                    1,
                    14,
                )
            ],
            id="underscore-attribute-after-a-computed-key",
        ),
        pytest.param(
            "{{ _x }}",
            [
                (
                    "forbidden-name",
                    "`_x` is not available in templates",
                    "use the names in scope: inputs, vars, steps, …",
                    1,
                    4,
                )
            ],
            id="underscore-name",
        ),
        pytest.param(
            "{{ self }}",
            [
                (
                    "forbidden-name",
                    "`self` is not available in templates",
                    "use the names in scope: inputs, vars, steps, …",
                    1,
                    4,
                )
            ],
            id="self",
        ),
        pytest.param(
            "{{ x.ljust(10) }}",
            [
                (
                    "forbidden-name",
                    "the method `ljust` is not allowed",
                    "padding methods are not available (they can build huge strings)",
                    1,
                    6,
                )
            ],
            id="padding-method",
        ),
        pytest.param(
            "{{ x if y }}",
            [
                (
                    "template-syntax",
                    "an inline `if` needs an `else`",
                    "write `{{ a if condition else b }}`",
                    1,
                    6,
                )
            ],
            id="if-without-else",
        ),
        pytest.param(
            "a\n{{ x + }}",
            [
                (
                    "template-syntax",
                    "template syntax error: unexpected 'end of print statement'",
                    SYNTAX_HINT,
                    2,
                    8,  # at the `}}` the parser stopped at
                )
            ],
            id="syntax",
        ),
        pytest.param(
            "{{ a b }}",
            [
                (
                    "template-syntax",
                    "template syntax error: expected token 'end of print statement', got 'b'",
                    SYNTAX_HINT,
                    1,
                    6,
                )
            ],
            id="syntax-at-the-token",
        ),
        pytest.param(
            "{{ inputs.n === 3 }}",  # JavaScript's, as in expressions
            [("template-syntax", "template syntax error: unexpected '='", "use `==`", 1, 13)],
            id="strict-equality",
        ),
        pytest.param(
            "{{ f(1,,2) }}",  # the parser stopped at a `,`: which of the two, it does not say
            [("template-syntax", "template syntax error: unexpected ','", SYNTAX_HINT, 1, None)],
            id="syntax-at-a-token-twice-on-its-line",
        ),
        pytest.param(
            "{{ 'unclosed }}",
            [
                (
                    "template-syntax",
                    'template syntax error: unexpected char "\'" at 3',
                    SYNTAX_HINT,
                    1,
                    4,
                )
            ],
            id="unclosed-string",
        ),
        # Found by a tester: the caret was at the template's start, not at the brace.
        pytest.param(
            "x {{ vars.a } y",
            [("template-syntax", "template syntax error: unexpected '}'", STRAY, 1, 13)],
            id="stray-brace",
        ),
        pytest.param(
            "a\n{{ {'k': 1} }\n}",
            [("template-syntax", "template syntax error: unexpected '}'", STRAY, 2, 13)],
            id="stray-brace-after-a-mapping-on-a-later-line",
        ),
        pytest.param("{{ x | upper }} {# fine #}", [], id="fine"),
    ],
)
def test_analysis_problems(
    text: str, expected: list[tuple[str, str, str | None, int | None, int | None]]
) -> None:
    assert problems(text) == expected


def test_nested_too_deeply() -> None:
    code, message, *_ = problems("{{ " + "(" * 300 + "1" + ")" * 300 + " }}")[0]
    assert (code, message) == ("template-syntax", "the template is nested too deeply")
    code, message, *_ = problems("{{ x" + " | upper" * 150 + " }}")[0]
    assert (code, message) == ("template-syntax", "the template is nested too deeply")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "{{ steps.read.result.data.items[0] }}",
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
            "{{ vars['my var'] }} and {{ inputs.items[vars.i].name }}",
            [
                Reference("vars", ("my var",), False, "vars['my var']"),
                Reference("inputs", ("items",), False, "inputs.items", changed=True),
                Reference("vars", ("i",), False, "vars.i"),
            ],
            id="stops-at-non-constant",
        ),
        pytest.param(
            "{{ inputs.a.b | default(vars.c) }}",
            [
                Reference("inputs", ("a", "b"), True, "inputs.a.b"),
                Reference("vars", ("c",), False, "vars.c"),
            ],
            id="default-guards-its-value",
        ),
        pytest.param(
            "{{ inputs.a is defined and (inputs.b | upper | default('')) }}",
            [
                Reference("inputs", ("a",), True, "inputs.a"),
                Reference("inputs", ("b",), False, "inputs.b", changed=True),  # | upper
            ],
            id="only-the-direct-operand-is-guarded",
        ),
        pytest.param(
            "{{ inputs.name.upper() ~ range(3) | string }}",
            [Reference("inputs", ("name",), False, "inputs.name", changed=True)],  # .upper()
            id="methods-and-globals",
        ),
    ],
)
def test_references(text: str, expected: list[Reference]) -> None:
    assert list(ENGINE.analyze(text).references) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{{ x }}", True, id="one-expression"),
        pytest.param("{{ x | upper }}{# c #}", True, id="with-comment"),
        pytest.param(" {{ x }}", False, id="leading-space"),
        pytest.param("{{ x }}{{ y }}", False, id="two"),
        pytest.param("text", False, id="no-template"),
    ],
)
def test_is_native(text: str, expected: bool) -> None:
    assert ENGINE.analyze(text).is_native is expected


def test_compile_error_carries_the_problem() -> None:
    with pytest.raises(CompileError) as info:
        ENGINE.compile({"with": ["{{ x | lenght }}"]})
    error = info.value
    assert (error.code, error.message, error.hint) == (
        "unknown-filter",
        "unknown filter `lenght`",
        "did you mean `length`?",
    )


def test_registries_belong_to_an_engine() -> None:
    engine = TemplateEngine()
    engine.filters["shout"] = lambda value: str(value).upper() + "!"
    assert engine.compile("{{ inputs.name | shout }}")(SCOPE) == "ADA!"
    assert "shout" not in TemplateEngine().filters
    assert "shout" not in DEFAULT_FILTERS
    assert problems("{{ x | shout }}")[0][0] == "unknown-filter"


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        pytest.param("{{ 'abcdef' * 2 }}", "max_string_length", id="repeat"),
        pytest.param("{{ 'abcdef' ~ 'ghijk' }}", "max_string_length", id="tilde"),
        pytest.param("{{ 'abcdef' + 'ghijk' }}", "max_string_length", id="plus"),
        pytest.param("{{ '%20s' % 'a' }}", "max_string_length", id="printf"),
        pytest.param("{{ [1, 2, 3] * 2 }}", "max_collection_size", id="list-repeat"),
        pytest.param("{{ range(6) }}", "max_collection_size", id="range"),
        pytest.param("{{ 'aaaa' | replace('a', 'bbb') }}", "max_string_length", id="replace"),
        pytest.param("{{ ['abcdef', 'ghijkl'] | join }}", "max_string_length", id="join"),
        pytest.param(
            "{{ 'a b c' | wordwrap(1, wrapstring='----') }}", "max_string_length", id="wordwrap"
        ),
        pytest.param("{{ 'a\\nb\\nc' | indent(5, true) }}", "max_string_length", id="indent"),
        pytest.param("{{ {'abcdefgh': 1} | tojson }}", "max_string_length", id="tojson"),
        pytest.param("{{ vars.six | list }}", "max_collection_size", id="list"),
        pytest.param("{{ inputs.items | batch(6, 0) | list }}", "max_collection_size", id="batch"),
        pytest.param("{{ inputs.items | slice(6) | list }}", "max_collection_size", id="slice"),
        pytest.param("{{ vars.csv | split(',') }}", "max_collection_size", id="split"),
        pytest.param("{{ 'a b c d e f'.split() }}", "max_collection_size", id="split-method"),
        pytest.param(
            "{{ 'a' | regex_replace('a', 'bbbbbbbbbbbb') }}",
            "max_string_length",
            id="regex_replace",
        ),
        pytest.param("{{ 'ßßßßßß' | upper }}", "max_string_length", id="upper-grows"),
        pytest.param("{{ [[1, 2], [3, 4], [5, 6]] | string }}", "max_string_length", id="string"),
        pytest.param("{{ dict(a=1, b=2, c=3, d=4, e=5, f=6) }}", "max_collection_size", id="dict"),
        pytest.param("{{ 'abcdefghij' }}{{ 'abcdefghij' }}!", "max_template_output", id="output"),
        pytest.param(
            "{{ inputs.name }}{{ steps.read.result.data.content }}{{ steps.read."
            "result.data.content }}",
            "max_template_output",
            id="plain-output",
        ),
        pytest.param(
            "x{{ [[1, 2, 3], [4, 5, 6], [7, 8, 9]] }}",
            "max_template_output",
            id="printed-structure",
        ),
    ],
)
def test_limits(text: str, limit: str) -> None:
    renderer = ENGINE.compile(text)
    with active_limits(SMALL), pytest.raises(LimitExceeded) as info:
        renderer(SCOPE)
    assert info.value.limit == limit


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        pytest.param("{{ 'abcdefghijkl' | upper }}", "max_string_length", id="text"),
        pytest.param("{{ 'abcdef' | list }}", "max_collection_size", id="list"),
        pytest.param(
            "x{{ 'abcdefghijklmnopqrstuvwxyz' | upper }}", "max_template_output", id="output"
        ),
    ],
)
def test_constants_folded_at_compile_time_still_meet_run_time_limits(text: str, limit: str) -> None:
    renderer = ENGINE.compile(text)  # Jinja runs filters on constants while compiling
    renderer(SCOPE)
    with active_limits(SMALL), pytest.raises(LimitExceeded) as info:
        renderer(SCOPE)
    assert info.value.limit == limit


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text("ab{}", max_size=3),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "items", "get", "0"]), children, max_size=3)
    ),
    max_leaves=12,
)
LINK = st.sampled_from([".a", ".b", ".items", ".get", ".0", "[0]", "[-1]", "['a']", "['items']"])
LINKS = {  # each link as (key, is_attribute), as the sandbox's key rules read it
    ".a": ("a", True), ".b": ("b", True), ".items": ("items", True), ".get": ("get", True),
    ".0": (0, False), "[0]": (0, False), "[-1]": (-1, False), "['a']": ("a", False),
    "['items']": ("items", False),
}  # fmt: skip
CHAIN = st.tuples(st.sampled_from(["inputs", "vars", "missing"]), st.lists(LINK, max_size=4))


def _written(chain: tuple[str, list[str]]) -> str:
    return chain[0] + "".join(chain[1])


def _read(chain: tuple[str, list[str]], scope: dict[str, Any]) -> Any:
    """What the sandbox's key rules (lookups.py) make of a chain, or the error for the
    first missing link, worded as every missing name is (messages.py): the oracle
    Jinja's compiled code must agree with."""
    root, links = chain
    if root not in scope:
        raise to_step_error(
            MissingValue(None, scope, root), ErrorKind.TEMPLATE_ERROR, TEMPLATE_GUARD
        )
    value, path = scope[root], []
    for link in links:
        key, is_attribute = LINKS[link]
        found = lookup_attribute(value, str(key)) if is_attribute else lookup_item(value, key)
        if found is MISSING:
            parent = format_reference(root, path)
            failure = MissingValue(parent, value, key, attribute=is_attribute)
            raise to_step_error(failure, ErrorKind.TEMPLATE_ERROR, TEMPLATE_GUARD)
        value, path = found, [*path, key]
    return value


def _expected(chains: list[tuple[str, list[str]]], scope: dict[str, Any]) -> tuple[str, Any]:
    try:
        if len(chains) == 1:
            return "value", to_plain(_read(chains[0], scope))
        shown = [str(finalize_output(_read(chain, scope))) for chain in chains]  # in order
    except StepError as error:
        return "error", (error.code, error.message, error.hint)
    except SandboxFailure:  # a method shown as a value
        return "error", ("template-error", None, None)
    return "value", f"x {shown[0]} y {shown[1]}"


def _outcome(text: str, scope: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", ENGINE.compile(text)(scope)
    except StepError as error:
        return "error", (error.code, error.message, error.hint)


@settings(max_examples=400, deadline=None)
@given(st.lists(CHAIN, min_size=1, max_size=2), JSON, JSON)
def test_references_follow_the_key_rules(chains: list[Any], inputs: Any, variables: Any) -> None:
    """Jinja's compiled code reads keys as lookups.py says (keys before methods, negative
    indexes, `.0` as an index) and names a missing key as every message does."""
    scope = {"inputs": inputs, "vars": variables}
    written = [_written(chain) for chain in chains]
    if len(written) == 1:
        text = "{{ " + written[0] + " }}"
    else:
        text = "x {{ " + written[0] + " }} y {{ " + written[1] + " }}"
    expected = _expected(chains, scope)
    got = _outcome(text, scope)
    if expected == ("error", ("template-error", None, None)):
        assert got[0] == "error" and got[1][0] == "template-error"
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "{{ 'a' | wordwrap(0) }}",
            "the wordwrap width must be a whole number of at least 1",
            id="wordwrap",
        ),
        pytest.param(
            "{{ [1] | batch(0) | list }}",
            "the batch size must be a whole number of at least 1",
            id="batch",
        ),
        pytest.param(
            "{{ 1.5 | round(0, 'up') }}",
            "the round method must be 'common', 'ceil' or 'floor'",
            id="round-method",
        ),
        pytest.param("{{ 5 | list }}", "expected a list, got a whole number", id="list"),
        pytest.param(
            "{{ inputs.items[0]() }}", "a whole number is not a function", id="call-a-value"
        ),
        pytest.param(
            "{{ [inputs.nope] | tojson }}",
            "`inputs.nope` is undefined",
            id="undefined-inside-tojson",
        ),
        pytest.param(
            "{{ inputs.nope | items | list }}", "`inputs.nope` is undefined", id="undefined-items"
        ),
        pytest.param("{{ inputs.nope | abs }}", "`inputs.nope` is undefined", id="undefined-abs"),
        pytest.param(
            "{{ 'a' | b64decode }}", "the text is not valid base64 of UTF-8 text", id="b64-padding"
        ),
        pytest.param(
            "{{ '/w==' | b64decode }}",
            "the text is not valid base64 of UTF-8 text",
            id="b64-not-utf8",
        ),
        pytest.param(
            "{{ (vars.six.zfill if false else '') ~ inputs.zzz }}",
            "`inputs.zzz` is undefined",
            id="parent-found-past-a-forbidden-link",
        ),
    ],
)
def test_more_error_messages(text: str, message: str) -> None:
    with pytest.raises(StepError) as info:
        render(text)
    assert info.value.message == message


def test_named_tuple_fields_of_groupby_are_readable() -> None:
    assert render("{{ (vars.people | groupby('age'))[0].grouper }}") == 25
    assert render("{{ (vars.people | groupby('age'))[0].list[0].name }}") == "Al"


def test_the_sandbox_rules_hold_on_direct_use() -> None:
    environment = ENGINE.environment
    assert environment.is_safe_attribute("x", "upper", None)
    assert not environment.is_safe_attribute("x", "format", None)
    assert not environment.is_safe_attribute({}, "_x", None)
    assert not environment.is_safe_attribute({}, "nope", None)
    context = environment.from_string("x").new_context({})
    with pytest.raises(Exception, match="this value cannot be called"):
        environment.call(context, dict)


def test_a_plain_text_structure_meets_the_output_limit() -> None:
    renderer = ENGINE.compile("people: {{ vars.people }}")
    assert renderer(SCOPE).startswith("people: [{'name': 'Bo'")
    with active_limits(SMALL), pytest.raises(LimitExceeded) as info:
        renderer(SCOPE)
    assert info.value.limit == "max_template_output"


def test_the_analysis_cache_is_bounded() -> None:
    engine = TemplateEngine()
    for index in range(4100):
        engine.analyze(f"{{{{ x{index} }}}}")
    assert engine.analyze("{{ x1 }}").references[0].root == "x1"


def test_non_constant_subscripts_render_through_jinja() -> None:
    scope = {**SCOPE, "k": "name"}
    assert render("{{ vars.people[0][k] }}", scope) == "Bo"
    assert render("x {{ vars.people[0][k] }}", scope) == "x Bo"


def test_a_deep_expression_is_refused_by_analysis() -> None:
    code, message, *_ = problems("{{ " + " + ".join(["1"] * 150) + " }}")[0]
    assert (code, message) == ("template-syntax", "the template is nested too deeply")


def test_a_chain_too_long_for_python_to_compile_is_a_compile_error() -> None:
    for text in ("{{ a" + ".b" * 3000 + " }}", "x {{ a" + ".b" * 3000 + " }}"):
        with pytest.raises(CompileError) as info:
            ENGINE.compile(text)
        assert info.value.code == "template-syntax"
        assert info.value.message.startswith("the template cannot be compiled: ")


def test_validating_then_compiling_analyses_each_template_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Validation, the compiler and the facade share one template engine: a template is
    parsed and analysed once, not once to validate and again to compile."""
    from engine.compile.compiler import Compiler
    from engine.engine import Engine
    from engine.lang import templates
    from engine.load.loader import load_text
    from engine.validate import validate

    analysed: list[str] = []
    real = templates._TemplateAnalyzer

    class Counting(real):  # type: ignore[misc, valid-type]
        def run(self) -> Any:
            analysed.append(self.text)
            return super().run()

    monkeypatch.setattr(templates, "_TemplateAnalyzer", Counting)
    text = "{{ inputs.x ~ '" + str(id(analysed)) + "' }}"  # a text no other test analyses
    document = load_text(
        'api_version: "1.1"\nkind: action\nname: once\ninputs: {x: {type: string}}\n'
        f'steps:\n  - set: {{v: "{text}"}}\noutputs: {{v: "{{{{ vars.v }}}}"}}\n'
    )
    validate(document)
    Compiler().compile(document)
    Engine().compile(document)
    assert analysed.count(text) == 1


# -- values computed together (one generated function) -----------------------------------


class _Site:
    """A value's site, as engine.run.model.Site locates errors."""

    def __init__(self, path: str) -> None:
        self.path = path

    def locate(self, error: StepError, step: str | None) -> StepError:
        error.details["at"] = self.path
        return error


def test_values_computed_together_each_keep_their_kind_and_structure() -> None:
    from engine.lang.templates import together

    parts = [
        (ENGINE.compile("{{ inputs.count }}"), None),
        (ENGINE.compile("Hi {{ inputs.name }}!"), None),
        (ENGINE.compile({"a": ["{{ inputs.flag }}", 1], "b": "x"}), None),
    ]
    assert together(parts)(SCOPE) == (3, "Hi ada!", {"a": [True, 1], "b": "x"})


def test_a_failure_among_values_computed_together_is_the_failing_values() -> None:
    """The function reports the value it was computing: its message, and its site."""
    from engine.lang.templates import together

    values = together(
        [
            (ENGINE.compile("{{ inputs.name }}"), _Site("with.a")),
            (ENGINE.compile("x {{ inputs.nope }}"), _Site("with.b")),
            (ENGINE.compile("{{ inputs.count }}"), _Site("with.c")),
        ]
    )
    with pytest.raises(StepError) as info:
        values(SCOPE)
    assert (info.value.message, info.value.details["at"]) == (
        "`inputs.nope` is undefined",
        "with.b",
    )
    with active_limits(SMALL), pytest.raises(LimitExceeded) as limit:
        together([(ENGINE.compile("{{ vars.six * 2 }}"), _Site("with.d"))])(SCOPE)
    assert (limit.value.limit, limit.value.details["at"]) == ("max_string_length", "with.d")


def test_together_takes_compiled_template_values_of_one_engine() -> None:
    from engine.lang.templates import together

    with pytest.raises(TypeError, match="not a compiled template value"):
        together([(ENGINE.compile("constant"), None)])
    with pytest.raises(ValueError, match="different template engines"):
        together([(ENGINE.compile("{{ x }}"), None), (TemplateEngine().compile("{{ x }}"), None)])
    with pytest.raises(ValueError, match="no values"):
        together([])


def test_a_value_python_cannot_compile_fails_when_it_runs_at_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Analysed fine, yet refused by Python's compiler (as a template of thousands of
    links is): when the values are computed, the error names that value."""
    from engine.lang.templates import together

    engine = TemplateEngine()
    compile_code = engine.environment.compile

    def refuse_deep(source: Any, *args: Any, **kwargs: Any) -> Any:
        if "'deep'" in compile_code(source, raw=True):
            raise RecursionError("maximum recursion depth exceeded during compilation")
        return compile_code(source, *args, **kwargs)

    monkeypatch.setattr(engine.environment, "compile", refuse_deep)
    values = together(
        [
            (engine.compile("{{ inputs.name }}"), _Site("with.a")),
            (engine.compile("{{ inputs.deep }}"), _Site("with.b")),
        ]
    )
    for _ in range(2):  # each call fails alike
        with pytest.raises(StepError) as info:
            values(SCOPE)
        assert info.value.kind is ErrorKind.TEMPLATE_ERROR
        assert info.value.message == (
            "the template cannot be compiled: maximum recursion depth exceeded during compilation"
        )
        assert info.value.details["at"] == "with.b"
    assert engine.compile("{{ inputs.name }}")(SCOPE) == "ada"


NULL_HINT = (
    "a value is null (an optional input not given, a step that was skipped or failed): give a "
    "fallback, `x | default(…)` in a template or `default(x, …)` in an expression"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "{{ inputs.o | length }}", "wrong kind of value: null has no length", id="length"
        ),
        pytest.param(
            "{{ inputs.o | round }}", "wrong kind of value: null cannot be rounded", id="round"
        ),
    ],
)
def test_a_filter_given_null_says_so_in_words_and_how_to_fall_back(text: str, message: str) -> None:
    """Not Python's "object of type null has no len()" and "convert with int(...)"."""
    assert failure(text, {"inputs": {"o": None}}) == (message, NULL_HINT)
