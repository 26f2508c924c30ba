"""The Jinja-free analysis of filtered references (``quick_info``) finds exactly what
the full analysis finds, for every text it accepts; anything else it leaves to Jinja.

Validation meets ``{{ steps.read.result.data.content | title }}`` in most actions; the
full analysis parses each with Jinja (a few hundred µs). The fast path must never change
a diagnostic, a reference or whether a value keeps its type.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine._template_analysis import TemplateAnalyzer, quick_info
from engine.templates import TemplateEngine

ENGINE = TemplateEngine()

ROOTS = ["inputs", "vars", "steps", "config", "item", "loop", "x", "true", "none", "self",
         "range", "now", "_hidden", "event"]  # fmt: skip
LINKS = [".a", ".text_1", ".0", "[0]", "[-1]", "['k']", '["k"]', "[ 'k' ]", "._p", "[x]"]
FILTERS = ["upper", "title", "truncate", "default", "d", "join", "round", "length",
           "replace", "uper", "foo", "string", "tojson"]  # fmt: skip
ARGS = ["", "()", "(60)", "(1.5)", "('x')", '("y")', "(true)", "(-3)", "(1, 'a')", "(x)",
        "(end='…')", "( 2 ,3 )"]  # fmt: skip
TEXT = ["", "Set ", " tail", "\n", "{", "}}", " {{ a }} ", "{{ b | upper }}", "%", "#"]
SPACES = ["", " ", "  "]


@st.composite
def templates(draw: st.DrawFn) -> str:
    out = draw(st.sampled_from(TEXT))
    for _ in range(draw(st.integers(1, 3))):
        ref = draw(st.sampled_from(ROOTS)) + "".join(draw(st.lists(st.sampled_from(LINKS))))
        for _ in range(draw(st.integers(0, 3))):
            space = draw(st.sampled_from(SPACES))
            filter_ = draw(st.sampled_from(FILTERS)) + draw(st.sampled_from(ARGS))
            ref += f"{space}|{draw(st.sampled_from(SPACES))}{filter_}"
        inner = draw(st.sampled_from(SPACES))
        out += "{{" + inner + ref + draw(st.sampled_from(SPACES)) + "}}"
        out += draw(st.sampled_from(TEXT))
    return out


@settings(max_examples=1500, deadline=None)
@given(templates())
@example("{{ steps.read.result.data.content | title }}")
@example("Set {{ vars.text | truncate(60) }}")
@example("{{ x | upper }}\n")
def test_quick_info_agrees_with_the_full_analysis(text: str) -> None:
    quick = quick_info(text, ENGINE.globals, ENGINE.filters)
    if quick is not None:
        assert quick == TemplateAnalyzer(ENGINE, text).run().info


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{{ inputs.x | default(1) }}", id="default-guards-its-reference"),
        pytest.param("{{ inputs.x | uper }}", id="unknown-filter"),
        pytest.param("{{ inputs._x | upper }}", id="private-name"),
        pytest.param("{{ inputs.x | truncate(inputs.n) }}", id="reference-argument"),
        pytest.param("{{ inputs.x | truncate(end='…') }}", id="keyword-argument"),
        pytest.param("{{ range | length }}", id="a-function-not-a-value"),
        pytest.param("{% if x %}{{ x | upper }}{% endif %}", id="statement"),
        pytest.param("{{ x | upper }}{{ y ~ z }}", id="another-expression"),
        pytest.param("{{{ x | upper }}", id="an-extra-brace"),
        pytest.param("{{ x" + " | upper" * 150 + " }}", id="nested-too-deeply"),
    ],
)
def test_what_it_leaves_to_the_full_analysis(text: str) -> None:
    assert quick_info(text, ENGINE.globals, ENGINE.filters) is None


@pytest.mark.parametrize(
    ("text", "native", "references"),
    [
        pytest.param("{{ vars.a | upper }}", True, ["vars.a"], id="native"),
        pytest.param("Set {{ vars.a | truncate(60) }}", False, ["vars.a"], id="in-text"),
        pytest.param(
            "{{ vars.a | upper }} {{ steps.s.result['k'][0] | title }}",
            False,
            ["vars.a", "steps.s.result.k[0]"],
            id="two",
        ),
    ],
)
def test_analyze_uses_it_and_finds_the_same_references(
    text: str, native: bool, references: list[str]
) -> None:
    info = TemplateEngine().analyze(text)
    assert (info.is_native, [r.text for r in info.references]) == (native, references)
    assert info == TemplateAnalyzer(ENGINE, text).run().info
