"""The diagnostics formatter (engine.report) and the table of codes it reports (engine.codes)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from engine.codes import CODES, describe, tier
from engine.errors import Diagnostic, Severity, Span
from engine.report import format_diagnostic, format_json, format_text, summary, to_json_list

SOURCE = "api_version: '1.1'\nsteps:\n  - wiht: {}\n\tx: 1\n"
RED, YELLOW, RESET, DIM, BOLD = "\x1b[1;31m", "\x1b[1;33m", "\x1b[0m", "\x1b[2m", "\x1b[1m"


WIHT = Span(3, 5, 3, 9)


def _diag(
    span: Span | None = WIHT,
    *,
    severity: Severity = Severity.ERROR,
    file: str | None = "a.yaml",
    hint: str | None = "did you mean 'with'?",
) -> Diagnostic:
    return Diagnostic(
        "unknown-key", "unknown key `wiht`", severity, ("steps", 0, "wiht"), span, file, hint
    )


def test_plain_text_with_the_source_line_a_caret_and_the_hint() -> None:
    assert format_diagnostic(_diag(), sources={"a.yaml": SOURCE}) == (
        "a.yaml:3:5: error[unknown-key]: unknown key `wiht`\n"
        "   3 |   - wiht: {}\n"
        "     |     ^^^^\n"
        "     = hint: did you mean 'with'?"
    )


@pytest.mark.parametrize(
    ("span", "source_lines"),
    [
        pytest.param(Span(3, 5, 5, 1), ["   3 |   - wiht: {}", "     |     ^^^^^^^^"],
                     id="many-lines-to-the-end-of-the-line"),
        pytest.param(Span(3, 5, 3, 5), ["   3 |   - wiht: {}", "     |     ^^^^^^^^"],
                     id="empty-span-to-the-end-of-the-line"),
        pytest.param(Span(3, 5, 3, 90), ["   3 |   - wiht: {}", "     |     ^^^^^^^^"],
                     id="clipped-to-the-line"),
        pytest.param(Span(3, 40, 3, 45), ["   3 |   - wiht: {}", "     |" + " " * 40 + "^"],
                     id="past-the-end"),
        pytest.param(Span(4, 2, 4, 3), ["   4 |  x: 1", "     |  ^"], id="tab-expanded"),
        pytest.param(Span(1, 0, 1, 0), ["   1 | api_version: '1.1'", "     | " + "^" * 18],
                     id="column-zero"),
        pytest.param(Span(9, 1, 9, 2), [], id="line-past-the-end"),
        pytest.param(Span(0, 1, 0, 2), [], id="line-zero"),
    ],
)  # fmt: skip
def test_carets(span: Span, source_lines: list[str]) -> None:
    text = format_diagnostic(_diag(span, hint=None), sources={"a.yaml": SOURCE})
    head = f"a.yaml:{span.line}:{span.column}: error[unknown-key]: unknown key `wiht`"
    assert text.split("\n") == [head, *source_lines]


@pytest.mark.parametrize(
    ("diagnostic", "sources"),
    [
        pytest.param(_diag(), None, id="no-sources"),
        pytest.param(_diag(), {"b.yaml": SOURCE}, id="another-file"),
        pytest.param(_diag(file=None), {"a.yaml": SOURCE}, id="no-file"),
        pytest.param(_diag(span=None), {"a.yaml": SOURCE}, id="no-span"),
        pytest.param(_diag(), lambda name: None, id="lookup-finds-nothing"),
    ],
)
def test_no_source_line_without_a_source(
    diagnostic: Diagnostic, sources: dict[str, str] | Callable[[str], str | None] | None
) -> None:
    lines = format_diagnostic(diagnostic, sources=sources).split("\n")
    assert lines[1:] == ["     = hint: did you mean 'with'?"]
    assert lines[0].endswith("error[unknown-key]: unknown key `wiht`")


def test_a_lookup_function_gives_the_source() -> None:
    asked: list[str] = []

    def lookup(name: str) -> str | None:
        asked.append(name)
        return SOURCE

    text = format_diagnostic(_diag(hint=None), sources=lookup)
    assert (text.split("\n")[1], asked) == ("   3 |   - wiht: {}", ["a.yaml"])


def test_an_unlocated_diagnostic() -> None:
    diagnostic = Diagnostic("store-unavailable", "cannot open the store", hint="check the folder")
    assert format_diagnostic(diagnostic) == (
        "<input>: error[store-unavailable]: cannot open the store\n     = hint: check the folder"
    )


@pytest.mark.parametrize(
    ("severity", "color"),
    [pytest.param(Severity.ERROR, RED, id="error"), pytest.param(Severity.WARNING, YELLOW,
                                                                   id="warning")],
)  # fmt: skip
def test_colors(severity: Severity, color: str) -> None:
    text = format_diagnostic(_diag(severity=severity), sources={"a.yaml": SOURCE}, color=True)
    word = severity.value
    assert text.split("\n") == [
        f"a.yaml:3:5: {color}{word}[unknown-key]{RESET}{BOLD}: unknown key `wiht`{RESET}",
        "   3 |   - wiht: {}",
        f"     | {color}    ^^^^{RESET}",
        f"{DIM}     = hint: did you mean 'with'?{RESET}",
    ]


def test_format_text_separates_diagnostics_with_a_blank_line() -> None:
    first, second = _diag(hint=None), _diag(Span(1, 1, 1, 12), severity=Severity.WARNING,
                                            hint=None)  # fmt: skip
    assert format_text([first, second], sources={"a.yaml": SOURCE}) == (
        "a.yaml:3:5: error[unknown-key]: unknown key `wiht`\n"
        "   3 |   - wiht: {}\n"
        "     |     ^^^^\n"
        "\n"
        "a.yaml:1:1: warning[unknown-key]: unknown key `wiht`\n"
        "   1 | api_version: '1.1'\n"
        "     | ^^^^^^^^^^^"
    )
    assert format_text([]) == ""


def test_json() -> None:
    diagnostic = Diagnostic("invalid-value", "« é » is not allowed", path=("x",),
                            span=Span(2, 3, 2, 8), file="ü.yaml")  # fmt: skip
    expected = {
        "severity": "error",
        "code": "invalid-value",
        "message": "« é » is not allowed",
        "path": "$.x",
        "file": "ü.yaml",
        "line": 2,
        "column": 3,
        "end_line": 2,
        "end_column": 8,
        "hint": None,
    }
    assert to_json_list([diagnostic]) == [expected]
    text = format_json([diagnostic])
    assert json.loads(text) == [expected]
    assert "« é »" in text and text.startswith('[\n  {\n    "severity": "error",')
    assert format_json([]) == "[]"


@pytest.mark.parametrize(
    ("errors", "warnings", "files", "expected"),
    [
        pytest.param(0, 0, None, "no problems", id="nothing"),
        pytest.param(0, 0, 1, "no problems in 1 file", id="one-file"),
        pytest.param(1, 0, 2, "1 error in 2 files", id="one-error"),
        pytest.param(2, 0, None, "2 errors", id="errors"),
        pytest.param(0, 1, None, "1 warning", id="one-warning"),
        pytest.param(3, 2, 0, "3 errors, 2 warnings in 0 files", id="both"),
    ],
)
def test_summary(errors: int, warnings: int, files: int | None, expected: str) -> None:
    items = [_diag()] * errors + [_diag(severity=Severity.WARNING)] * warnings
    assert summary(iter(items), files=files) == expected


# -- codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "rank"),
    [
        pytest.param("syntax", 0, id="loader"),
        pytest.param("unknown-key", 1, id="schema"),
        pytest.param("unknown-tool", 2, id="semantic"),
        pytest.param("tool-failed", 3, id="runtime"),
        pytest.param("invalid-plugin", 2, id="plugin"),
        pytest.param("index-invalid", 2, id="marketplace"),
        pytest.param("no-such-code", 2, id="unknown"),
    ],
)
def test_tiers_rank_what_to_fix_first(code: str, rank: int) -> None:
    assert tier(code) == rank


def test_describe_a_code() -> None:
    assert describe("duplicate-key") == "The same key appears twice in one mapping."
    assert describe("no-such-code") == ""


def test_codes_are_a_read_only_table_of_sentences() -> None:
    with pytest.raises(TypeError):
        CODES["new-code"] = "x"  # type: ignore[index]
    assert all(text.endswith(".") and text[0].isupper() for text in CODES.values())
    assert all(code == code.strip() and " " not in code for code in CODES)
