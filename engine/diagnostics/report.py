"""One formatter for diagnostics, for every surface: plain text with a caret, and JSON.

>>> from engine.diagnostics.errors import Diagnostic, Span
>>> d = Diagnostic("unknown-key", "unknown key `wiht` in a `tool` step", path=("steps", 0, "wiht"),
...                span=Span(2, 5, 2, 9), file="a.yaml", hint="did you mean 'with'?")
>>> print(format_text([d], sources={"a.yaml": "steps:\\n  - wiht: {}\\n"}))
a.yaml:2:5: error[unknown-key]: unknown key `wiht` in a `tool` step
   2 |   - wiht: {}
     |     ^^^^
     = hint: did you mean 'with'?
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine.diagnostics.errors import Diagnostic, Severity
from engine.diagnostics.words import counted

SourceLookup = Mapping[str, str] | Callable[[str], str | None] | None

_COLORS = {
    Severity.ERROR: "\x1b[1;31m",
    Severity.WARNING: "\x1b[1;33m",
    Severity.NOTE: "\x1b[1;36m",
}
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"


def _source_line(sources: SourceLookup, file: str | None, line: int) -> str | None:
    if sources is None or file is None:
        return None
    text = sources.get(file) if isinstance(sources, Mapping) else sources(file)
    if text is None:
        return None
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def format_diagnostic(
    diagnostic: Diagnostic, *, sources: SourceLookup = None, color: bool = False
) -> str:
    """``file:line:col: severity[code]: message``, the source line, a caret, the hint."""
    head = str(diagnostic)
    if color:
        sev = diagnostic.severity
        head = (
            head.replace(
                f"{sev.value}[{diagnostic.code}]",
                f"{_COLORS[sev]}{sev.value}[{diagnostic.code}]{_RESET}{_BOLD}",
                1,
            )
            + _RESET
        )
    lines = [head]
    span = diagnostic.span
    if span is not None:
        text = _source_line(sources, diagnostic.file, span.line)
        if text is not None:
            gutter = f"{span.line:>4} | "
            shown = text.expandtabs(1)
            start = max(span.column - 1, 0)
            if span.end_line == span.line and span.end_column > span.column:
                width = span.end_column - span.column
            else:
                width = max(len(shown.rstrip()) - start, 1)
            width = max(1, min(width, max(len(shown) - start, 1)))
            caret = " " * start + "^" * width
            pad = " " * (len(gutter) - 2) + "| "
            if color:
                caret = _COLORS[diagnostic.severity] + caret + _RESET
            lines.append(gutter + shown)
            lines.append(pad + caret)
    if diagnostic.hint:
        hint = f"     = hint: {diagnostic.hint}"
        lines.append(f"{_DIM}{hint}{_RESET}" if color else hint)
    return "\n".join(lines)


def format_text(
    diagnostics: Iterable[Diagnostic], *, sources: SourceLookup = None, color: bool = False
) -> str:
    """Every diagnostic in plain text, separated by blank lines."""
    return "\n\n".join(format_diagnostic(d, sources=sources, color=color) for d in diagnostics)


def to_json_list(diagnostics: Iterable[Diagnostic]) -> list[dict[str, Any]]:
    """The JSON form (a list of objects), shared by ``--json`` and the MCP server."""
    return [d.to_dict() for d in diagnostics]


def format_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps(to_json_list(diagnostics), indent=2, ensure_ascii=False)


def summary(diagnostics: Iterable[Diagnostic], *, files: int | None = None) -> str:
    """``2 errors, 1 warning in 3 files`` (or ``no problems``; notes are not problems,
    but are counted when there are some)."""
    items = list(diagnostics)
    parts = []
    for severity in Severity:
        count = sum(1 for d in items if d.severity is severity)
        if count:
            parts.append(counted(count, severity.value))
    text = ", ".join(parts) or "no problems"
    if files is not None:
        text += f" in {counted(files, 'file')}"
    return text
