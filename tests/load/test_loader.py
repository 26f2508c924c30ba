"""The loader: data, source maps, and every refusal with its code and location."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagnostics.errors import ManifestSyntaxError, Span
from engine.load.loader import LoaderLimits, load_bytes, load_text


def _fail(text: str, *, file: str = "m.yaml", **kw: object) -> tuple[str, int, int, str]:
    with pytest.raises(ManifestSyntaxError) as info:
        load_text(text, file=file, **kw)  # type: ignore[arg-type]
    d = info.value.first
    assert d.span is not None
    return d.code, d.span.line, d.span.column, d.hint or ""


def test_yaml_values_and_spans() -> None:
    doc = load_text(
        "name: demo\nsteps:\n  - tool: km_list_macros\n    with: {group_filter: '1+1'}\n",
        file="a.yaml",
    )
    assert doc.data == {
        "name": "demo",
        "steps": [{"tool": "km_list_macros", "with": {"group_filter": "1+1"}}],
    }
    sm = doc.source_map
    assert sm.value_span(("name",)) == Span(1, 7, 1, 11)
    assert sm.key_span(("steps",)) == Span(2, 1, 2, 6)
    assert sm.value_span(("steps", 0, "with", "group_filter")) == Span(4, 26, 4, 31)
    # A path below a located value falls back to it.
    assert sm.value_span(("steps", 0, "with", "group_filter", "deeper")) == Span(4, 26, 4, 31)
    assert doc.format == "yaml"


def test_json_values_and_spans() -> None:
    text = '{\n  "name": "demo",\n  "steps": [\n    {"tool": "km_list_macros"}\n  ]\n}\n'
    doc = load_text(text, file="a.json")
    assert doc.data == {"name": "demo", "steps": [{"tool": "km_list_macros"}]}
    assert doc.source_map.value_span(("name",)) == Span(2, 11, 2, 17)
    assert doc.source_map.key_span(("steps", 0, "tool")) == Span(4, 6, 4, 12)
    assert doc.format == "json"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a: no", False, id="no"),
        pytest.param("a: on", True, id="on"),
        pytest.param("a: 1e3", 1000.0, id="exponent"),
        pytest.param("a: 012", "012", id="leading-zero-is-text"),
        pytest.param("a: 12:30", "12:30", id="no-sexagesimal"),
        pytest.param("a: 0x1F", 31, id="hex"),
        pytest.param("a: 1_000", 1000, id="underscores"),
        pytest.param("a: ~", None, id="null"),
        pytest.param("a: '2026-01-01'", "2026-01-01", id="quoted-date"),
        pytest.param("a: 2026-13-45", "2026-13-45", id="impossible-date-is-text"),
        pytest.param("a: !!str 12", "12", id="str-tag"),
        pytest.param("a: !!int '12'", 12, id="int-tag"),
    ],
)
def test_plain_scalar_resolution(text: str, expected: object) -> None:
    assert load_text(text).data["a"] == expected


def test_dates_are_kept_as_dates_and_remembered() -> None:
    doc = load_text("a: 2026-01-01\nb: 2026-01-01 10:00:00\n")
    assert doc.data["a"] == dt.date(2026, 1, 1)
    assert isinstance(doc.data["b"], dt.datetime)
    assert doc.source_map.plain_text(("a",)) == "2026-01-01"


def test_plain_text_is_recorded_only_for_non_strings() -> None:
    doc = load_text("a: no\nb: text\nc: '5'\nd: 5\n")
    assert dict(doc.source_map.plain) == {("a",): "no", ("d",): "5"}


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        pytest.param("a: 1\nb: 2\na: 3\n", "duplicate-key", 3, 1, id="duplicate"),
        pytest.param("a: &x {b: 1}\nc:\n  <<: *x\n", "merge-key", 3, 3, id="merge"),
        pytest.param("a: 1\n---\nb: 2\n", "multiple-documents", 2, 1, id="two-documents"),
        pytest.param("a:\n\tb: 1\n", "syntax", 2, 1, id="tab"),
        pytest.param("true: 1\n", "non-string-key", 1, 1, id="bool-key"),
        pytest.param("3: x\n", "non-string-key", 1, 1, id="int-key"),
        pytest.param(
            "with:\n  content: {{ vars.text }}\n",
            "unquoted-template",
            2,
            12,
            id="unquoted-template",
        ),
        pytest.param("a: !!python/object:os.system x\n", "unsupported-tag", 1, 4, id="python"),
        pytest.param("a: !!binary aGk=\n", "unsupported-tag", 1, 4, id="binary"),
        pytest.param("a: !!int x\n", "invalid-tag-value", 1, 4, id="bad-int-tag"),
        pytest.param("# only a comment\n", "empty-document", 1, 1, id="empty"),
        pytest.param("message: Hello: world\n", "syntax", 1, 15, id="colon-in-value"),
        pytest.param("a: .nan\n", "invalid-number", 1, 4, id="nan"),
        pytest.param('a: "abc\nb: 1\n', "syntax", 1, 4, id="unclosed-quote"),
        pytest.param("a: *nowhere\n", "syntax", 1, 4, id="undefined-alias"),
    ],
)
def test_yaml_refusals(text: str, code: str, line: int, column: int) -> None:
    got_code, got_line, got_column, hint = _fail(text)
    assert (got_code, got_line, got_column) == (code, line, column)
    assert hint  # every refusal says how to fix it


def test_tab_message_is_plain() -> None:
    with pytest.raises(ManifestSyntaxError) as info:
        load_text("a:\n\tb: 1\n")
    assert info.value.first.message == "a tab character is used for indentation"
    assert "spaces" in (info.value.first.hint or "")


def test_unquoted_template_hint_shows_the_fix() -> None:
    *_, hint = _fail("with:\n  content: {{ vars.text }}\n")
    assert hint == 'put the value in quotes: "{{ vars.text }}"'


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        pytest.param(
            'steps:\n  - set:\n      greeting: "Hello, {{ inputs.x }}!\n'
            '  - set: {other: 1}\noutputs:\n  greeting: "{{ vars.greeting }}"\n',
            "not valid YAML: the double quote opened here is not closed on its line, so the "
            "text runs on into the lines below",
            'end the text with a closing quote: "Hello, {{ inputs.x }}!"',
            id="double",
        ),
        pytest.param(
            "steps:\n  - set:\n      abcd: 'it is\n      b: 'x'\n",
            "not valid YAML: the single quote opened here is not closed on its line, so the "
            "text runs on into the lines below",
            "end the text with a closing quote: 'it is'",
            id="single",
        ),
    ],
)
def test_a_quote_not_closed_on_its_line_is_shown_where_it_opens(
    text: str, message: str, hint: str
) -> None:
    with pytest.raises(ManifestSyntaxError) as info:
        load_text(text)
    first = info.value.first
    column = first.span.column if first.span else None
    assert (first.message, first.hint, column) == (message, hint, 13 if "'" in hint else 17)
    assert first.span is not None and first.span.line == 3


def test_a_quoted_text_over_several_lines_is_not_taken_for_an_unclosed_quote() -> None:
    """Only when the swallowed lines look like keys is the quote said to be unclosed."""
    with pytest.raises(ManifestSyntaxError) as info:
        load_text('a: "one\n  two"\nb: [1\n')
    assert "quote" not in info.value.first.message


def test_unquoted_text_ending_with_a_quote_it_never_opened_is_noted() -> None:
    document = load_text('a: Hello, {{ x }}!"\nb: He said "hi"\nc: "quoted"\nd: 5"\n')
    assert document.source_map.stray_quotes == (("a",), ("d",))


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    code, *_ = _fail("\n".join(lines) + "\n")
    assert code == "too-many-aliases"


def test_expanded_size_is_bounded_even_with_few_aliases() -> None:
    text = "a: &a [" + ",".join(["1"] * 2000) + "]\nb: [" + ",".join(["*a"] * 20) + "]\n"
    code, *_ = _fail(text, limits=LoaderLimits(max_nodes=10_000))
    assert code == "too-large"


def test_small_alias_use_is_allowed() -> None:
    doc = load_text("r: &r {max_attempts: 3}\ns: *r\n")
    assert doc.data["s"] == {"max_attempts": 3}


@pytest.mark.parametrize("depth", [200, 5_000, 200_000])
def test_deep_flow_nesting_never_crashes(depth: int) -> None:
    code, *_ = _fail("[" * depth)
    assert code == "too-deep"


def test_deep_block_nesting_is_refused() -> None:
    text = "".join(" " * i + "- \n" for i in range(100))
    code, line, *_ = _fail(text)
    assert (code, line) == ("too-deep", 65)


def test_size_limit() -> None:
    code, *_ = _fail("a: " + "x" * 2000 + "\n", limits=LoaderLimits(max_bytes=1000))
    assert code == "too-large"


def test_bytes_must_be_utf8() -> None:
    with pytest.raises(ManifestSyntaxError) as info:
        load_bytes(b"name: ok\nbad: \xff\n", file="x.yaml")
    d = info.value.first
    assert (d.code, d.span and (d.span.line, d.span.column)) == ("encoding", (2, 6))


def test_bom_is_accepted() -> None:
    assert load_bytes("\ufeffa: 1\n".encode()).data == {"a": 1}


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        pytest.param('{"a": 1,\n "a": 2}', "duplicate-key", 2, 2, id="duplicate"),
        pytest.param('{"a": NaN}', "invalid-number", 1, 7, id="nan"),
        pytest.param('{"a": Infinity}', "invalid-number", 1, 7, id="infinity"),
        pytest.param('{"a": 1,}', "syntax", 1, 8, id="trailing-comma-object"),
        pytest.param("[1, 2,]", "syntax", 1, 6, id="trailing-comma-list"),
        pytest.param("[" * 100, "too-deep", 1, 65, id="deep"),
        pytest.param("{} x", "syntax", 1, 4, id="extra-text"),
        pytest.param('{"a": tru}', "syntax", 1, 7, id="bad-literal"),
        pytest.param("   ", "empty-document", 1, 1, id="empty"),
        pytest.param('{"a": "x\\q"}', "syntax", 1, 9, id="bad-escape"),
        pytest.param('{"a" 1}', "syntax", 1, 6, id="missing-colon"),
        pytest.param('{"a": 1 "b": 2}', "syntax", 1, 9, id="missing-comma"),
    ],
)
def test_json_refusals(text: str, code: str, line: int, column: int) -> None:
    got = _fail(text, file="m.json")
    assert got[:3] == (code, line, column)


def test_format_can_be_forced() -> None:
    assert load_text('{"a": 1}', format="json").format == "json"
    assert load_text("a: 1", file="x.json", format="yaml").data == {"a": 1}


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@given(_json_values)
@settings(max_examples=150)
def test_json_round_trip(value: object) -> None:
    text = json.dumps(value, indent=1)
    assert load_text(text, file="x.json").data == value


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_random_yaml_text_only_loads_or_refuses(text: str) -> None:
    try:
        load_text(text, file="r.yaml")
    except ManifestSyntaxError as error:
        assert error.diagnostics and error.first.code


@given(st.text(alphabet='{}[]":,0123456789 \n\tatrufnlse\\', max_size=200))
@settings(max_examples=300)
def test_random_json_text_only_loads_or_refuses(text: str) -> None:
    try:
        load_text(text, file="r.json")
    except ManifestSyntaxError as error:
        assert error.diagnostics and error.first.code


LONG = "1" * 5000
INT_MESSAGE = "the whole number has {:,} digits; at most 1,000 are allowed"
INT_HINT = "write a smaller number, or put it in quotes to keep it as text"
SURROGATE_MESSAGE = "the text holds \\ud800, half of a surrogate pair, which is not a character"
SURROGATE_HINT = "write the character itself, or both halves of its pair (\\ud83d\\ude00 for 😀)"


@pytest.mark.parametrize(
    ("text", "file", "message", "where"),
    [
        pytest.param(f"a: 1\nb: {LONG}\n", "m.yaml", INT_MESSAGE.format(5000), (2, 4), id="yaml"),
        pytest.param(
            f"b: -{LONG}\n", "m.yaml", INT_MESSAGE.format(5000), (1, 4), id="yaml-negative"
        ),
        pytest.param(
            f"b: 0x{'f' * 4000}\n", "m.yaml", INT_MESSAGE.format(4000), (1, 4), id="yaml-hex"
        ),
        pytest.param(
            f"b: !!int {LONG}\n", "m.yaml", INT_MESSAGE.format(5000), (1, 4), id="yaml-tagged"
        ),
        pytest.param(
            f'{{"a": [1,\n  {LONG}]}}', "m.json", INT_MESSAGE.format(5000), (2, 3), id="json"
        ),
        pytest.param(
            f'{{"a": -{LONG}}}', "m.json", INT_MESSAGE.format(5000), (1, 7), id="json-negative"
        ),
        pytest.param(f"b: {'1' * 1001}\n", "m.yaml", INT_MESSAGE.format(1001), (1, 4), id="1001"),
    ],
)
def test_whole_numbers_past_the_digit_limit_are_refused(
    text: str, file: str, message: str, where: tuple[int, int]
) -> None:
    with pytest.raises(ManifestSyntaxError) as info:
        load_text(text, file=file)
    found = info.value.first
    assert (found.code, found.message, found.hint) == ("invalid-number", message, INT_HINT)
    assert found.span is not None and (found.span.line, found.span.column) == where
    assert found.file == file


def test_whole_numbers_up_to_the_limit_load() -> None:
    assert load_text(f"b: {'9' * 1000}\n").data == {"b": int("9" * 1000)}
    assert load_text(f'{{"b": {"9" * 1000}}}', file="m.json").data == {"b": int("9" * 1000)}
    assert load_text(f"b: {'1' * 5000}.5\n").data == {"b": float("1" * 5000 + ".5")}


def test_python_s_own_digit_limit_is_reported_the_same_way() -> None:
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert _fail(f"b: {'1' * 700}\n")[0] == "invalid-number"
        with pytest.raises(ManifestSyntaxError) as info:
            load_text(f"b: {'1' * 700}\n")
        assert info.value.message == "the whole number has 700 digits; at most 640 are allowed"
    finally:
        sys.set_int_max_str_digits(before)


@pytest.mark.parametrize(
    ("text", "file", "half", "where"),
    [
        pytest.param('{"a": "x\\ud800"}', "m.json", "ud800", (1, 7), id="json-value"),
        pytest.param('{\n "\\ud800": 1}', "m.json", "ud800", (2, 2), id="json-key"),
        pytest.param('{"a": "\\ude00\\ud83d"}', "m.json", "ude00", (1, 7), id="json-reversed"),
        pytest.param("a: 1\nb: x\ud800\n", "m.yaml", "ud800", (2, 5), id="yaml-text"),
        pytest.param('{"a": "\ud800"}', "m.json", "ud800", (1, 8), id="json-text"),
    ],
)
def test_lone_surrogates_are_refused(
    text: str, file: str, half: str, where: tuple[int, int]
) -> None:
    with pytest.raises(ManifestSyntaxError) as info:
        load_text(text, file=file)
    found = info.value.first
    assert (found.code, found.hint) == ("encoding", SURROGATE_HINT)
    assert found.message == SURROGATE_MESSAGE.replace("ud800", half)
    assert found.span is not None and (found.span.line, found.span.column) == where


def test_a_surrogate_pair_is_one_character() -> None:
    assert load_text('{"a": "\\ud83d\\ude00"}', file="m.json").data == {"a": "😀"}
