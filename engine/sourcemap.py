"""Where every value of a loaded manifest sits in its file (JSON path → span).

The validator only sees decoded data, so the loader records, while parsing, the span of
every value and every mapping key, the original text of unquoted YAML scalars that
did not become strings (so a message can say "YAML read `no` as false: quote it"), and
unquoted text that ends with a quote it never opened.

>>> from engine.errors import Span
>>> sm = SourceMap({("steps",): Span(3, 1, 9, 1), ("steps", 0): Span(4, 5, 6, 1)}, {}, {})
>>> sm.value_span(("steps", 0, "with", "x"))     # falls back to the nearest parent
Span(line=4, column=5, end_line=6, end_column=1)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import Diagnostic, Path, Severity, Span


def _as_span(raw: Any) -> Span:
    return raw  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Spans of values and keys, by JSON path (a tuple of keys and indexes).

    Loaders store positions in whatever raw form is cheapest for them (libyaml marks,
    character offsets); ``to_span`` turns one into a :class:`Span` when asked, so
    loading a valid manifest never pays for spans nobody reads.
    """

    values: Mapping[Path, Any]
    keys: Mapping[Path, Any]
    plain: Mapping[Path, str]
    to_span: Callable[[Any], Span] = _as_span
    # Unquoted text that ends with a `"` it never opened (`Hello, {{ x }}!"`).
    stray_quotes: tuple[Path, ...] = ()

    def value_span(self, path: Path) -> Span | None:
        """The span of the value at ``path``, or of its nearest located parent."""
        values = self.values
        while True:
            raw = values.get(path)
            if raw is not None:
                return self.to_span(raw)
            if not path:
                return None
            path = path[:-1]

    def key_span(self, path: Path) -> Span | None:
        """The span of the key naming ``path`` (the value's span if it has no key)."""
        raw = self.keys.get(path)
        return self.to_span(raw) if raw is not None else self.value_span(path)

    def plain_text(self, path: Path) -> str | None:
        """Original text of an unquoted scalar that did not load as a string."""
        return self.plain.get(path)


EMPTY_SOURCE_MAP = SourceMap({}, {}, {})


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded manifest: its data, where each value came from, and the text itself."""

    data: Any
    source_map: SourceMap
    text: str
    file: str | None = None
    format: str = "yaml"
    # What loading did to the text as written (an older api_version upgraded): notes
    # that validation reports with its diagnostics.
    notes: tuple[Diagnostic, ...] = ()

    @classmethod
    def from_data(cls, data: Any, *, file: str | None = None) -> Document:
        """A document for data that never had text (e.g. a manifest sent as an object)."""
        return cls(data, EMPTY_SOURCE_MAP, "", file, "object")

    def span(self, path: Path, *, at_key: bool = False) -> Span | None:
        sm = self.source_map
        return sm.key_span(path) if at_key else sm.value_span(path)

    def diagnostic(
        self,
        code: str,
        message: str,
        path: Path,
        *,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
        at_key: bool = False,
    ) -> Diagnostic:
        """A diagnostic located at ``path`` in this document."""
        return Diagnostic(
            code,
            message,
            severity=severity,
            path=path,
            span=self.span(path, at_key=at_key),
            file=self.file,
            hint=hint,
        )

    def line_text(self, line: int) -> str | None:
        """The text of a 1-based line, without its newline."""
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else None
