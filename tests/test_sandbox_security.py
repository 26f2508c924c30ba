"""The sandbox holds: escapes fail, exhaustion fails fast, scope data never changes.

Every payload must end in one of our errors (a CompileError at analysis, or a StepError at
run time) and never in a raw Python or Jinja exception, a leaked object or a hang.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import CompileError, EngineError, ErrorKind, LimitExceeded, StepError
from engine.expressions import ExpressionEngine
from engine.limits import Limits, Profile, active_limits
from engine.templates import TemplateEngine

TEMPLATES = TemplateEngine()
EXPRESSIONS = ExpressionEngine()


def _scope() -> dict[str, Any]:
    return {
        "inputs": {"name": "Ada", "items": [1, 2], "nested": {"a": {"b": [{"c": 1}]}}},
        "vars": {"a": 1, "tags": ["x"], "text": "abc"},
        "steps": {"read": {"result": {"data": {"content": "hi"}}, "status": "succeeded"}},
        "config": {"token": "secret"},
        "x": {"y": 1},
    }


def template_error(text: str) -> EngineError:
    """The error a template ends in (analysis or run time); fails if it renders."""
    try:
        rendered = TEMPLATES.compile(text)(_scope())
    except EngineError as error:
        return error
    raise AssertionError(f"{text!r} rendered {str(rendered)[:200]!r}")


def expression_error(text: str) -> EngineError:
    """The error an expression ends in (analysis or run time); fails if it evaluates."""
    try:
        value = EXPRESSIONS.compile(text).evaluate(_scope())
    except EngineError as error:
        return error
    raise AssertionError(f"{text!r} evaluated to {str(value)[:200]!r}")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("{{ ''.__class__ }}", "forbidden-name", id="class"),
        pytest.param(
            "{{ ''.__class__.__mro__[1].__subclasses__() }}", "forbidden-name", id="subclasses"
        ),
        pytest.param("{{ x.__init__.__globals__ }}", "forbidden-name", id="globals"),
        pytest.param("{{ __builtins__ }}", "forbidden-name", id="builtins"),
        pytest.param("{{ cycler.__init__.__globals__.os }}", "forbidden-name", id="cycler"),
        pytest.param("{{ cycler }}", "template_error", id="cycler-removed"),
        pytest.param("{{ lipsum() }}", "unknown-function", id="lipsum"),
        pytest.param("{{ joiner() }}", "unknown-function", id="joiner"),
        pytest.param("{{ namespace(a=1) }}", "unknown-function", id="namespace"),
        pytest.param("{{ self }}", "forbidden-name", id="self"),
        pytest.param("{{ self._TemplateReference__context }}", "forbidden-name", id="self-context"),
        pytest.param("{{ x | attr('__class__') }}", "unknown-filter", id="attr-filter"),
        pytest.param("{{ x | map('attr', '__class__') | list }}", "template_error", id="map-attr"),
        pytest.param(
            "{{ x | map(attribute='__class__') | list }}", "template_error", id="map-attribute"
        ),
        pytest.param("{{ '{0.__class__}'.format(x) }}", "forbidden-name", id="format"),
        pytest.param("{{ '{a}'.format_map(x) }}", "forbidden-name", id="format-map"),
        pytest.param("{{ x | format(1) }}", "unknown-filter", id="format-filter"),
        pytest.param("{{ __import__('os') }}", "unknown-function", id="import"),
        pytest.param("{{ open('/etc/passwd') }}", "unknown-function", id="open"),
        pytest.param("{{ getattr(x, 'y') }}", "unknown-function", id="getattr"),
        pytest.param("{{ type(x) }}", "unknown-function", id="type"),
        pytest.param("{{ range.__self__ }}", "forbidden-name", id="builtin-self"),
        pytest.param("{{ dict.fromkeys(range(10)) }}", "forbidden-name", id="dict-type"),
        pytest.param("{{ now.__globals__ }}", "forbidden-name", id="function-globals"),
        pytest.param("{{ x['__class__'] }}", "template_error", id="subscript-dunder"),
        pytest.param("{{ ''['__class__'] }}", "template_error", id="string-subscript"),
        pytest.param("{{ (x.items()|list)[0].__class__ }}", "forbidden-name", id="view"),
        pytest.param("{{ x.keys().mapping }}", "template_error", id="view-mapping"),
        pytest.param("{{ config.token.encode() }}", "forbidden-name", id="encode"),
        pytest.param("{{ inputs.update({'a': 1}) }}", "forbidden-name", id="update"),
        pytest.param("{{ vars.pop('a') }}", "forbidden-name", id="pop"),
        pytest.param("{{ vars.tags.append(1) }}", "forbidden-name", id="append"),
        pytest.param("{{ vars.setdefault('b', 1) }}", "forbidden-name", id="setdefault"),
        pytest.param("{{ vars.clear() }}", "forbidden-name", id="clear"),
        pytest.param("{% set x = 1 %}", "template-statement", id="set"),
        pytest.param(
            "{% for c in ''.__class__.__mro__ %}{% endfor %}", "template-statement", id="for"
        ),
        pytest.param("{% include '/etc/passwd' %}", "template-statement", id="include"),
        pytest.param("{% import 'os' as os %}", "template-statement", id="import-statement"),
    ],
)
def test_template_escapes_fail(text: str, code: str) -> None:
    error = template_error(text)
    assert error.code == code
    assert "<" not in error.message  # no repr of an internal object leaks into the message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("''.__class__", "forbidden-name", id="class"),
        pytest.param("x.__class__.__mro__[1].__subclasses__()", "forbidden-name", id="subclasses"),
        pytest.param("x.__init__.__globals__", "forbidden-name", id="globals"),
        pytest.param("__builtins__", "forbidden-name", id="builtins"),
        pytest.param("__import__('os')", "unknown-function", id="import"),
        pytest.param("open('/etc/passwd')", "unknown-function", id="open"),
        pytest.param("getattr(x, 'y')", "unknown-function", id="getattr"),
        pytest.param("type(x)", "unknown-function", id="type"),
        pytest.param("eval('1')", "unknown-function", id="eval"),
        pytest.param("exec('1')", "unknown-function", id="exec"),
        pytest.param("compile('1', '', 'eval')", "unknown-function", id="compile"),
        pytest.param("globals()", "unknown-function", id="globals-call"),
        pytest.param("len.__self__", "forbidden-name", id="builtin-self"),
        pytest.param("str.__class__", "forbidden-name", id="function-class"),
        pytest.param("len", "expression_error", id="function-as-value"),
        pytest.param("(lambda: 1)()", "unknown-function", id="lambda"),
        pytest.param(
            "[c for c in ().__class__.__bases__[0].__subclasses__()]",
            "expression-syntax",
            id="comprehension",
        ),
        pytest.param("'{0.__class__}'.format(x)", "forbidden-name", id="format"),
        pytest.param("'{a}'.format_map(x)", "forbidden-name", id="format-map"),
        pytest.param("f'{x.__class__}'", "expression-syntax", id="f-string"),
        pytest.param("x['__class__']", "expression_error", id="subscript-dunder"),
        pytest.param("x.keys().mapping", "expression_error", id="view-mapping"),
        pytest.param("inputs.update({'a': 1})", "forbidden-name", id="update"),
        pytest.param("vars.pop('a')", "forbidden-name", id="pop"),
        pytest.param("vars.tags.append(1)", "forbidden-name", id="append"),
        pytest.param("vars.tags.sort()", "forbidden-name", id="sort"),
        pytest.param("vars.setdefault('b', 1)", "forbidden-name", id="setdefault"),
        pytest.param("x | attr('__class__')", "expression-jinja", id="attr-filter"),
        pytest.param("(y := inputs)", "expression-syntax", id="walrus"),
        pytest.param("now.__globals__", "forbidden-name", id="function-globals"),
    ],
)
def test_expression_escapes_fail(text: str, code: str) -> None:
    error = expression_error(text)
    assert error.code == code
    assert "<" not in error.message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("{{ 'A' * 10**9 }}", "limit_exceeded", id="string-times"),
        pytest.param("{{ 10**9 * 'A' }}", "limit_exceeded", id="times-string"),
        pytest.param("{{ 'x' | center(10**9) }}", "unknown-filter", id="center"),
        pytest.param("{{ 9**(9**9) }}", "template_error", id="power-tower"),
        pytest.param("{{ 4000000**4000000 }}", "template_error", id="big-power"),
        pytest.param("{{ (2**14000) * (2**14000) }}", "template_error", id="big-product"),
        pytest.param("{{ 10.0 ** 400 }}", "template_error", id="float-overflow"),
        pytest.param("{{ 'A'.ljust(10**9) }}", "forbidden-name", id="ljust"),
        pytest.param("{{ 'A'.zfill(10**9) }}", "forbidden-name", id="zfill"),
        pytest.param("{{ 'A\\t'.expandtabs(10**9) }}", "forbidden-name", id="expandtabs"),
        pytest.param("{{ [1] * 10**9 }}", "limit_exceeded", id="list-times"),
        pytest.param("{{ '%999999999s' % 'a' }}", "limit_exceeded", id="printf-width"),
        pytest.param("{{ '%.999999999f' % 1 }}", "limit_exceeded", id="printf-precision"),
        pytest.param("{{ '%*s' % (10**9, 'a') }}", "template_error", id="printf-star"),
        pytest.param(
            "{{ 'a'" + " | replace('a', 'aa')" * 30 + " }}", "limit_exceeded", id="nested-replace"
        ),
        pytest.param("{{ range(10**9) | list }}", "limit_exceeded", id="range"),
        pytest.param("{{ range(10**100) }}", "limit_exceeded", id="huge-range"),
        pytest.param(
            "{{ ([[1] * 10000] * 10000) | string }}",
            "limit_exceeded",
            id="shared-structure-printed",
        ),
        pytest.param(
            "x{{ [[[1] * 1000] * 1000] * 1000 }}", "limit_exceeded", id="shared-structure-output"
        ),
        pytest.param(
            "{{ ([[1] * 10000] * 10000) | tojson }}", "limit_exceeded", id="shared-structure-json"
        ),
        pytest.param("{{ ([('a' * 100000)] * 10000) | join }}", "limit_exceeded", id="join"),
        pytest.param(
            "{{ ('a' * 100000) ~ ('a' * 100000) ~ ('a' * 900000) }}", "limit_exceeded", id="tilde"
        ),
        pytest.param(
            "{{ 'a b c' | wordwrap(1, wrapstring='x' * 900000) }}", "limit_exceeded", id="wordwrap"
        ),
        pytest.param("{{ ('a\\n' * 10000) | indent(100) }}", "limit_exceeded", id="indent"),
        pytest.param("{{ inputs.items | batch(10**9, 0) | list }}", "limit_exceeded", id="batch"),
        pytest.param(
            "{{ inputs.items | slice(10**9) | map('length') | sum }}", "limit_exceeded", id="slice"
        ),
        pytest.param("{{ 1.5 | round(10**9, 'ceil') }}", "template_error", id="round"),
        pytest.param(
            "{{ ('a' * 1000) | regex_replace('', 'b' * 1000) }}",
            "limit_exceeded",
            id="regex-replace",
        ),
        pytest.param(
            "{{ ('a' * 100000) | regex_search('(a|aa)+$b') }}",
            "template_error",
            id="catastrophic-regex",
        ),
        pytest.param("{{ ('ß' * 600000) | upper }}", "limit_exceeded", id="case-growth"),
    ],
)
def test_template_exhaustion_fails_fast(text: str, code: str) -> None:
    assert template_error(text).code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("'A' * 10**9", "limit_exceeded", id="string-times"),
        pytest.param("9**(9**9)", "expression_error", id="power-tower"),
        pytest.param("9**9**9", "expression_error", id="right-associative-tower"),
        pytest.param("4000000**4000000", "expression_error", id="big-power"),
        pytest.param("2**(2**100)", "expression_error", id="bigger-power"),
        pytest.param("10**4000 * 10**4000", "expression_error", id="big-product"),
        pytest.param("'A'.ljust(10**9)", "forbidden-name", id="ljust"),
        pytest.param("'A'.center(10**9)", "forbidden-name", id="center"),
        pytest.param("[1] * 10**9", "limit_exceeded", id="list-times"),
        pytest.param("'%999999999s' % 'a'", "limit_exceeded", id="printf-width"),
        pytest.param("'a' << 10**9", "expression-syntax", id="shift"),
        pytest.param(
            "replace(" * 30 + "'a'" + ", 'a', 'aa')" * 30, "limit_exceeded", id="nested-replace"
        ),
        pytest.param("range(10**9)", "limit_exceeded", id="range"),
        pytest.param("range(10**100)", "limit_exceeded", id="huge-range"),
        pytest.param("join(range(10000), 'x' * 1000)", "limit_exceeded", id="join"),
        pytest.param("str([[1] * 10000] * 10000)", "limit_exceeded", id="shared-structure"),
        pytest.param("to_json([[1] * 10000] * 10000)", "limit_exceeded", id="json"),
        pytest.param(
            "matches('a' * 100000, '(a|aa)+$b')", "expression_error", id="catastrophic-regex"
        ),
        pytest.param("int('9' * 5000)", "expression_error", id="huge-int-text"),
        pytest.param(
            "matches('a', '(?:(?:(?:a{100}){100}){100}){100}')",
            "expression_error",
            id="regex-compile-bomb",
        ),
        pytest.param("round(5, -10**9)", "expression_error", id="round"),
        pytest.param("sorted([[1] * 10000] * 10000)", "limit_exceeded", id="sorted"),
    ],
)
def test_expression_exhaustion_fails_fast(text: str, code: str) -> None:
    assert expression_error(text).code == code


def test_a_pattern_that_would_be_copied_a_million_times_is_refused_before_compiling() -> None:
    error = template_error("{{ 'a' | regex_search('(?:(?:(?:a{100}){100}){100}){100}') }}")
    assert (error.message, error.hint) == (
        "the regular expression repeats too much (about 1,010,101 copies; at most 50,000)",
        "use + or a range such as {1,100} instead of large fixed counts",
    )


def test_exhaustion_limits_follow_the_profile() -> None:
    with active_limits(Profile.SANDBOX.limits):
        error = template_error("{{ 'a' * 200000 }}")
    assert isinstance(error, LimitExceeded)
    assert error.limit == "max_string_length" and error.value == 100_000
    assert TEMPLATES.compile("{{ 'a' * 200000 }}")({}) == "a" * 200000


MUTATIONS = [
    "{{ inputs.update({'a': 1}) }}",
    "{{ vars.pop('a') }}",
    "{{ vars.tags.append(2) }}",
    "{{ inputs.items.sort() }}",
    "{{ inputs.items.reverse() }}",
    "{{ inputs.nested.a.clear() }}",
    "{{ inputs.items | sort }}",
    "{{ inputs.items | reverse | list }}",
    "{{ inputs.nested | dictsort }}",
    "{{ inputs.items + [3] }}",
    "{{ dict(inputs) }}",
    "{{ inputs.items * 2 }}",
]
EXPRESSION_MUTATIONS = [
    "inputs.update({'a': 1})",
    "vars.pop('a')",
    "vars.tags.append(2)",
    "inputs.items.sort()",
    "sorted(inputs.items, reverse=true)",
    "inputs.items + [3]",
    "inputs.items * 2",
    "keys(inputs)",
    "items(inputs.nested)",
    "inputs.items[::-1]",
]


def test_scope_data_is_never_changed() -> None:
    scope = _scope()
    before = copy.deepcopy(scope)
    for text in MUTATIONS:
        with contextlib.suppress(EngineError):
            TEMPLATES.compile(text)(scope)
    for text in EXPRESSION_MUTATIONS:
        with contextlib.suppress(EngineError):
            EXPRESSIONS.compile(text).evaluate(scope)
    assert scope == before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)
PIECES = st.sampled_from(
    [
        "{{", "}}", "{%", "%}", "{#", "#}", "inputs", "vars", ".", "a", "items", "[", "]", "(",
        ")", "|", "upper", "length", "default", "join", "sort", "~", "+", "*", "**", "%", "/",
        "-", "0", "1", "10", "'a'", ",", " ", "is", "defined", "not", "and", "or", "in", "if",
        "else", "range", "replace", "split", "_x", "__class__", "==", "<", "true", "null", "len",
        "matches", "tojson", "list", "map", "first", ":", "lambda", "for", "=", ":=", "\n", "\\",
        "'", "keys()", "get", "pop", "update", "sorted", "reverse", "dict", "x",
    ]
)  # fmt: skip
TEXT = st.text(max_size=40) | st.lists(PIECES, min_size=1, max_size=14).map("".join)


@settings(max_examples=500, deadline=None)
@given(TEXT, JSON, JSON)
def test_random_text_only_raises_engine_errors(text: str, inputs: Any, variables: Any) -> None:
    scope = {"inputs": inputs, "vars": variables}
    before = copy.deepcopy(scope)
    small = Limits().with_overrides(
        max_string_length=2000, max_collection_size=200, max_template_output=4000
    )
    with active_limits(small):
        for run in (_render, _evaluate):
            with contextlib.suppress(EngineError):
                run(text, scope)
    assert scope == before


def _render(text: str, scope: dict[str, Any]) -> None:
    TEMPLATES.analyze(text)
    TEMPLATES.compile(text)(scope)


def _evaluate(text: str, scope: dict[str, Any]) -> None:
    EXPRESSIONS.analyze(text)
    EXPRESSIONS.compile(text).evaluate(scope)


def test_step_errors_carry_no_step_and_no_location() -> None:
    for error in (template_error("{{ 1 / 0 }}"), expression_error("1 / 0")):
        assert isinstance(error, StepError)
        assert error.step is None and error.first.span is None and not error.first.path
        assert error.kind in (ErrorKind.TEMPLATE_ERROR, ErrorKind.EXPRESSION_ERROR)


def test_compile_errors_are_compile_errors() -> None:
    assert isinstance(template_error("{% set x = 1 %}"), CompileError)
    assert isinstance(expression_error("__import__('os')"), CompileError)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{{ range | string }}", id="string-filter"),
        pytest.param('{{ range ~ "" }}', id="tilde"),
        pytest.param("{{ [range] | join }}", id="join"),
        pytest.param("{{ (range,) | list | string }}", id="inside-a-list"),
        pytest.param("{{ dict | lower }}", id="text-filter"),
        pytest.param("{{ range | e }}", id="escape"),
        pytest.param('{{ "%s" % range }}', id="percent"),
        pytest.param("x {{ {'a': range} | string }}", id="inside-a-mapping"),
    ],
)
def test_functions_are_never_shown_as_text(text: str) -> None:
    # Found by the runtime fuzz test: str() of a global gave "<function … at 0x…>".
    with pytest.raises(StepError, match="a function or filter cannot be shown as text"):
        TemplateEngine().compile(text)({})
