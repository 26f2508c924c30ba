"""Spans inside a value: the place in the file of one part of a template or expression.

A diagnostic about ``inputs.txt`` in ``"Hi {{ inputs.txt }}"`` should point at
``inputs.txt``, not at the opening quote. The loader records where each value starts;
this finds the part within it, for plain and quoted one-line values and for literal
block scalars (``|``), and falls back to the whole value when the text in the file
differs from the loaded value (escapes, folded lines).

>>> from engine.load.loader import load_text
>>> doc = load_text('x: "Hi {{ inputs.txt }}"\\n')
>>> text = doc.data["x"]
>>> span_within(doc, ("x",), text, *position(text, find_reference(text, "inputs.txt", False)), 10)
Span(line=1, column=11, end_line=1, end_column=21)
"""

from __future__ import annotations

import re

from engine.diagnostics.errors import Path, Span
from engine.load.sourcemap import Document

_TEMPLATE_PARTS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def find_reference(text: str, needle: str, expression: bool) -> int | None:
    """Where ``needle`` (a name like ``inputs.txt``) is used in ``text``, as an offset.

    In a template only the ``{{ }}``/``{% %}`` parts are searched, so plain words are
    never mistaken for names.
    """
    pattern = re.compile(r"(?<![\w.'\"])" + re.escape(needle) + r"(?![\w])")
    regions = [(0, len(text))] if expression else [m.span() for m in _TEMPLATE_PARTS.finditer(text)]
    for start, end in regions:
        found = pattern.search(text, start, end)
        if found is not None:
            return found.start()
    return None


def position(text: str, offset: int | None) -> tuple[int | None, int | None]:
    """The 1-based line and column of ``offset`` within ``text``."""
    if offset is None:
        return None, None
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def span_within(
    document: Document,
    path: Path,
    text: str,
    line: int | None,
    column: int | None,
    width: int = 1,
) -> Span | None:
    """The span of ``width`` characters at ``line``:``column`` of the value at ``path``."""
    span = document.span(path)
    if span is None or line is None or column is None:
        return span
    if "\n" not in text.rstrip("\n"):
        return _in_one_line(document, span, text, column, width) if line == 1 else span
    return _in_block(document, span, text, line, column, width)


def _in_one_line(document: Document, span: Span, text: str, column: int, width: int) -> Span:
    source = document.line_text(span.line) or ""
    start = span.column - 1
    quote = 1 if source[start : start + 1] in ("'", '"') else 0
    if source[start + quote : start + quote + len(text)] != text:
        return span
    col = span.column + quote + column - 1
    return Span(span.line, col, span.line, col + width)


def _in_block(
    document: Document, span: Span, text: str, line: int, column: int, width: int
) -> Span:
    # A literal block scalar starts on the line after its `|` indicator, one value line
    # per file line; anything else (folded, multi-line quoted) keeps the whole span.
    wanted = text.split("\n")[line - 1]
    source = document.line_text(span.line + line)
    if not wanted or source is None or not source.endswith(wanted):
        return span
    col = len(source) - len(wanted) + column
    return Span(span.line + line, col, span.line + line, col + width)
