"""Load manifest text (YAML or JSON) into data plus a source map, refusing hazards.

Longer than 400 lines: the YAML builder is one class walking libyaml's events, and every
hazard it refuses reads its state (path, depth, node count, anchors).

The YAML side reads libyaml's event stream (iterative, so deep nesting cannot crash the
interpreter) and builds the data itself, which lets it record every span, refuse
duplicate keys, merge keys, non-string keys, unknown tags, alias bombs and multiple
documents, and resolve plain scalars without YAML 1.1's worst surprises (``012`` is not
octal, ``12:30`` is not 750). JSON goes through :mod:`engine.load.jsonparse`.

>>> doc = load_text("name: hello\\nsteps:\\n  - tool: km_list_macros\\n", file="a.yaml")
>>> doc.data["steps"][0]["tool"], doc.source_map.value_span(("steps", 0, "tool"))
('km_list_macros', Span(line=3, column=11, end_line=3, end_column=25))
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from engine.diagnostics.errors import Diagnostic, ManifestSyntaxError, Path, Span
from engine.diagnostics.words import INT_HINT, type_word
from engine.load.jsonparse import (
    LONE_SURROGATE,
    MAX_INT_DIGITS,
    SURROGATE_HINT,
    int_digits_problem,
    parse_json,
    surrogate_problem,
)
from engine.load.sourcemap import Document, SourceMap
from engine.load.versions import CURRENT, upgraded

_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class LoaderLimits:
    """Bounds on what the loader accepts. A manifest is a small text file."""

    max_bytes: int = 1_000_000
    max_depth: int = 64
    max_aliases: int = 32
    max_nodes: int = 200_000
    max_int_digits: int = MAX_INT_DIGITS


DEFAULT_LIMITS = LoaderLimits()

# Plain-scalar resolution: YAML 1.2 numbers, YAML 1.1 booleans (what YAML users meet in
# other tools, reported when they land where text is wanted), no octal, no sexagesimal.
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})
_FALSE = frozenset({"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})
# As keys these stay words: `on:` (retry.on, hook on) must not become true.
_WORD_KEYS = frozenset(
    {"yes", "Yes", "YES", "on", "On", "ON", "no", "No", "NO", "off", "Off", "OFF"}
)
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9_]*)(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?"
)

_TAG = "tag:yaml.org,2002:"

_SYNTAX_HINTS: tuple[tuple[str, str], ...] = (
    ("\t", "indent with spaces; YAML does not allow tab characters for indentation"),
    (
        "mapping values are not allowed",
        "if the value is text that contains ': ', put the whole value in quotes",
    ),
    (
        "could not find expected ':'",
        "each line of a mapping is 'key: value', with a space after the ':'; add the ':'"
        " (if this line goes on with the text above, put that text in quotes)",
    ),
    (
        "did not find expected key",
        "check the indentation: keys of one mapping must start in the same column",
    ),
    (
        "did not find expected '-' indicator",
        "if the line belongs to the item above, indent it to line up with that item's first"
        " key; if it starts a new item, begin it with '- '",
    ),
    (
        "expected <block end>",
        "check the indentation: this line is indented differently from the lines around it",
    ),
    (
        "found unexpected end of stream",
        "a quote or bracket is opened but never closed",
    ),
    (
        "that cannot start any token",
        "this character cannot begin an unquoted value: put the whole value in quotes",
    ),
    ("found undefined alias", "define the anchor (&name) before using it (*name)"),
    (
        "expected ',' or '}'",
        "a '{' opened a flow mapping here; if you meant a template, quote it: \"{{ ... }}\"",
    ),
    (
        "expected ',' or ']'",
        "a '[' opened a list that is not closed with ']' before this point",
    ),
)
# What libyaml's problems mean, in words (the hint says what to do).
_SYNTAX_WORDS: tuple[tuple[str, str], ...] = (
    ("mapping values are not allowed", "a ': ' in the middle of this value starts another key"),
    (
        "did not find expected '-' indicator",
        "this line is inside a list but does not start with '- '",
    ),
)
# The keys whose value is `key: value` pairs, and a line giving one such pair after them.
_PAIRS_KEYS = frozenset({"set", "with", "return", "inputs", "outputs", "mocks", "expect"})
_PAIR_ON_ITS_LINE = re.compile(
    r"\s*(?:- )?(?P<key>[A-Za-z_]\w*): (?P<inner>[A-Za-z_][\w-]*): (?P<value>[^:#]+)"
)
_INDENT_HINT = (
    "this line is indented differently from the key above it: keys of one mapping must "
    "start in the same column"
)
_ANY_HINT = "check this line and the one above it; quote text that contains : # { } [ ] , & * !"


def load_text(
    text: str,
    *,
    file: str | None = None,
    format: str | None = None,
    limits: LoaderLimits = DEFAULT_LIMITS,
    upgrade: bool = True,
    catalog: Mapping[str, Any] | None = None,
) -> Document:
    """Parse YAML or JSON text into a :class:`Document`.

    A manifest of an older api_version is upgraded to the current one (its data as the
    current language reads it, with a note: :func:`engine.load.versions.upgraded`), unless
    ``upgrade`` is false (``km-actions migrate`` reads the file as written). ``catalog``:
    the tools the file will be checked and run against (a 1.0 permission group becomes
    those of its tools this catalog has; default: the catalog km-actions ships).

    ``format`` is ``"yaml"`` or ``"json"``; by default it comes from the file name
    (``.json``), else YAML (JSON text parses as YAML too, but with JSON's own rules
    when named ``.json``). Raises :class:`ManifestSyntaxError` with located diagnostics.
    """
    if format is None:
        format = "json" if file and file.lower().endswith(".json") else "yaml"
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > limits.max_bytes else 0
    if size > limits.max_bytes:
        raise _error(
            "too-large",
            f"the document is {size:,} bytes; the limit is {limits.max_bytes:,}",
            Span(1, 1, 1, 1),
            file,
            "split the action into smaller actions and call them with `action:` steps",
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    _check_surrogates(text, file)
    if format == "json":
        data, values, keys, to_span = parse_json(
            text, file=file, max_depth=limits.max_depth, max_int_digits=limits.max_int_digits
        )
        document = Document(data, SourceMap(values, keys, {}, to_span), text, file, "json")
    else:
        builder = _YamlBuilder(text, file, limits)
        data = builder.build()
        source_map = SourceMap(
            builder.values, builder.keys, builder.plain, _mark_span, tuple(builder.stray_quotes)
        )
        document = Document(data, source_map, text, file, "yaml")
    return upgraded(document, catalog) if upgrade else document


def load_bytes(
    raw: bytes,
    *,
    file: str | None = None,
    format: str | None = None,
    limits: LoaderLimits = DEFAULT_LIMITS,
    upgrade: bool = True,
    catalog: Mapping[str, Any] | None = None,
) -> Document:
    """Decode UTF-8 (a BOM is allowed) and :func:`load_text` it."""
    if len(raw) > limits.max_bytes:
        raise _error(
            "too-large",
            f"the document is {len(raw):,} bytes; the limit is {limits.max_bytes:,}",
            Span(1, 1, 1, 1),
            file,
            "split the action into smaller actions and call them with `action:` steps",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise _error(
            "encoding",
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            Span(line, column, line, column + 1),
            file,
            "save the file as UTF-8 (most editors have this in 'Save As…')",
        ) from None
    return load_text(
        text, file=file, format=format, limits=limits, upgrade=upgrade, catalog=catalog
    )


def _check_surrogates(text: str, file: str | None) -> None:
    """Text given as a string (not decoded from a file) may hold a lone surrogate, which
    the YAML reader cannot even encode: refused where it is."""
    found = LONE_SURROGATE.search(text)
    if found is None:
        return
    before = text[: found.start()]
    line = before.count("\n") + 1
    column = found.start() - (before.rfind("\n") + 1) + 1
    message = surrogate_problem(found.group())
    assert message is not None  # found above
    raise _error("encoding", message, Span(line, column, line, column + 1), file, SURROGATE_HINT)


def _error(
    code: str,
    message: str,
    span: Span | None,
    file: str | None,
    hint: str | None = None,
    path: Path = (),
) -> ManifestSyntaxError:
    diagnostic = Diagnostic(code, message, path=path, span=span, file=file, hint=hint)
    return ManifestSyntaxError(message, code=code, hint=hint, diagnostics=[diagnostic])


def _mark_span(raw: tuple[Any, Any]) -> Span:
    start, end = raw
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Frame:
    """A mapping or sequence under construction."""

    __slots__ = ("anchor", "container", "is_map", "key", "key_path", "path", "size", "start")

    def __init__(self, container: Any, path: Path, start: Any, anchor: str | None) -> None:
        self.container = container
        self.is_map = type(container) is dict
        self.path = path
        self.start = start
        self.anchor = anchor
        self.key: str | None = None
        self.key_path: Path = path
        self.size = 1


class _YamlBuilder:
    """Builds data and spans from libyaml events, enforcing the loader's rules."""

    def __init__(self, text: str, file: str | None, limits: LoaderLimits) -> None:
        self.text = text
        self.file = file
        self.limits = limits
        self.values: dict[Path, Any] = {}
        self.keys: dict[Path, Any] = {}
        self.plain: dict[Path, str] = {}
        self.stray_quotes: list[Path] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.aliases = 0
        self.root: Any = None
        self.frame: _Frame | None = None  # the container being built, for error paths

    def build(self) -> Any:
        parser = _YamlLoader(self.text)
        try:
            # The parser's events until it has none (``get_event`` then returns None):
            # iterated in C, without yaml.parse's generator around every event.
            return self._consume(iter(parser.get_event, None))
        except yaml.MarkedYAMLError as exc:
            raise self._syntax_error(exc) from None
        except yaml.YAMLError as exc:  # unmarked reader errors (e.g. control characters)
            raise _error(
                "syntax",
                f"not valid YAML: {exc}",
                Span(1, 1, 1, 1),
                self.file,
                "save the file as plain UTF-8 text, without control characters",
            ) from None
        finally:
            parser.dispose()

    def _consume(self, events: Any) -> Any:
        values, plain = self.values, self.plain
        max_depth, max_nodes = self.limits.max_depth, self.limits.max_nodes
        stack: list[_Frame] = []
        frame: _Frame | None = None
        documents = nodes = 0
        for event in events:
            kind = type(event)
            if kind is _Scalar:
                if frame is not None and frame.is_map and frame.key is None:
                    self._key(frame, self._key_value(event), event)
                    continue
                value = self._scalar_value(event)
                path = _child_path(frame)
                values[path] = (event.start_mark, event.end_mark)
                if type(value) is not str and not event.style:
                    plain[path] = event.value
                elif not event.style and value[-1:] == '"' and value.count('"') % 2:
                    self.stray_quotes.append(path)
                if event.anchor:
                    self.anchors[event.anchor] = (value, 1)
                size = 1
            elif kind is _MapStart or kind is _SeqStart:
                if frame is not None and frame.is_map and frame.key is None:
                    raise self._bad_key_collection(event)
                if len(stack) >= max_depth:
                    raise self._too_deep(event)
                self._check_tag(event)
                frame = _Frame(
                    {} if kind is _MapStart else [],
                    _child_path(frame),
                    event.start_mark,
                    event.anchor,
                )
                stack.append(frame)
                self.frame = frame
                continue
            elif kind is _MapEnd or kind is _SeqEnd:
                done = stack.pop()
                value, size = done.container, done.size
                values[done.path] = (done.start, event.end_mark)
                if done.anchor:
                    self.anchors[done.anchor] = (value, size)
                frame = self.frame = stack[-1] if stack else None
            elif kind is _Alias:
                value, size = self._alias(event)
                if frame is not None and frame.is_map and frame.key is None:
                    self._key(frame, value, event)
                    continue
                values[_child_path(frame)] = (event.start_mark, event.end_mark)
            elif kind is _DocStart:
                documents += 1
                if documents > 1:
                    raise self._multiple(event)
                continue
            else:
                continue
            nodes += size
            if nodes > max_nodes:
                raise self._too_many_nodes(event)
            if frame is None:
                self.root = value
            elif frame.is_map:
                frame.container[frame.key] = value
                frame.key = None
                frame.size += size
            else:
                frame.container.append(value)
                frame.size += size
        if documents == 0 or self.root is None:
            raise _error(
                "empty-document",
                "the file is empty",
                Span(1, 1, 1, 1),
                self.file,
                f'start with `api_version: "{CURRENT}"`, `kind: action` and a `name:`',
            )
        return self.root

    # -- keys ----------------------------------------------------------------------

    def _key_value(self, event: Any) -> Any:
        if event.tag is None and not event.style and event.value in _WORD_KEYS:
            return event.value
        return self._scalar_value(event)

    def _path(self) -> Path:
        """Where the event being read goes: the value's path, or the mapping's for a key."""
        frame = self.frame
        if frame is not None and frame.is_map and frame.key is None:
            return frame.path
        return _child_path(frame)

    def _key(self, frame: _Frame, key: Any, event: Any) -> None:
        raw = (event.start_mark, event.end_mark)
        if type(key) is not str:
            text = getattr(event, "value", None)
            shown = text if isinstance(text, str) else str(key)
            raise _error(
                "non-string-key",
                f"the key {shown} is read by YAML as {_type_word(key)}, not as a name",
                _mark_span(raw),
                self.file,
                f'quote the key: "{shown}":',
                frame.path,
            )
        if key == "<<" and type(event) is _Scalar and not event.style:
            raise _error(
                "merge-key",
                "YAML merge keys ('<<') are not supported",
                _mark_span(raw),
                self.file,
                "write the keys out in full; merged keys hide where a value comes from",
                frame.path,
            )
        if key in frame.container:
            first = self.keys.get((*frame.path, key))
            where = f" (first at line {first[0].line + 1})" if first else ""
            raise _error(
                "duplicate-key",
                f"the key '{key}' appears twice in the same mapping{where}",
                _mark_span(raw),
                self.file,
                "remove one of them; a later value would silently replace the first",
                (*frame.path, key),
            )
        frame.key = key
        frame.key_path = path = (*frame.path, key)
        self.keys[path] = raw

    def _bad_key_collection(self, event: Any) -> ManifestSyntaxError:
        span = _mark_span((event.start_mark, event.end_mark))
        line = self.text.splitlines()[span.line - 1] if self.text else ""
        at = span.column - 1
        if line[at : at + 2] == "{{" or line[max(at - 1, 0) : at + 1] == "{{":
            start = line.index("{{", max(at - 1, 0))
            end = line.find("}}", start)
            snippet = line[start : end + 2] if end >= 0 else line[start:].strip()
            return _error(
                "unquoted-template",
                "a template must be quoted in YAML; unquoted, '{{' starts a mapping",
                Span(span.line, start + 1, span.line, start + 3),
                self.file,
                f'put the value in quotes: "{snippet}"',
                self._path(),
            )
        return _error(
            "non-string-key",
            "a mapping or list cannot be used as a key",
            span,
            self.file,
            "keys are names; check for a stray '{', '[' or '?'",
            self._path(),
        )

    # -- scalars -------------------------------------------------------------------

    def _scalar_value(self, event: Any) -> Any:
        tag = event.tag
        text: str = event.value
        if tag is None:
            return text if event.style else self._resolve_plain(text, event)
        if tag == "!":
            return text
        return self._resolve_tagged(tag, text, event)

    def _resolve_plain(self, text: str, event: Any) -> Any:
        if text in _NULL:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        first = text[0]
        if first.isdigit() or first in "-+.":
            if _INT.fullmatch(text):
                return self._int(text, event)
            if _FLOAT.fullmatch(text):
                return float(text.replace("_", ""))
            if _SPECIAL_FLOAT.fullmatch(text):
                raise _error(
                    "invalid-number",
                    f"'{text}' is not a finite number, which manifests cannot hold",
                    _mark_span((event.start_mark, event.end_mark)),
                    self.file,
                    f'quote it to mean text: "{text}"',
                    self._path(),
                )
            if _DATE.fullmatch(text) or _DATETIME.fullmatch(text):
                return _to_datetime(text)
        return text

    def _int(self, text: str, event: Any) -> int:
        """A whole number, refused past the digit limit (in any base) before it is
        converted: Python's own limit would fail with a bare ValueError."""
        plain = text.lstrip("+-").replace("_", "")
        digits = len(plain) - 2 if plain[1:2] in ("x", "o", "b") else len(plain)
        problem = int_digits_problem(digits, self.limits.max_int_digits)
        if problem is None:
            try:
                return int(text.replace("_", ""), 0)
            except ValueError as exc:
                if "digits" not in str(exc):  # a malformed !!int value
                    raise
                problem = int_digits_problem(digits, sys.get_int_max_str_digits())
        raise _error(
            "invalid-number",
            str(problem),
            _mark_span((event.start_mark, event.end_mark)),
            self.file,
            INT_HINT,
            self._path(),
        )

    def _resolve_tagged(self, tag: str, text: str, event: Any) -> Any:
        name = tag[len(_TAG) :] if tag.startswith(_TAG) else None
        if name == "str":
            return text
        try:
            if name == "int":
                return self._int(text, event)
            if name == "float":
                number = float(text.replace("_", ""))
                if math.isfinite(number):
                    return number
            if name == "bool" and (text in _TRUE or text in _FALSE):
                return text in _TRUE
            if name == "null" and text in _NULL:
                return None
        except ValueError:
            pass
        span = _mark_span((event.start_mark, event.end_mark))
        if name in ("int", "float", "bool", "null"):
            raise _error(
                "invalid-tag-value",
                f"'{text}' is not a valid value for the tag !!{name}",
                span,
                self.file,
                "remove the tag, or fix the value",
                self._path(),
            )
        shown = f"!!{name}" if name is not None else tag
        raise _error(
            "unsupported-tag",
            f"the YAML tag {shown} is not supported",
            span,
            self.file,
            "remove the tag; manifests hold only text, numbers, true/false, null, lists"
            " and mappings (quote a value to make it text)",
            self._path(),
        )

    def _check_tag(self, event: Any) -> None:
        if event.tag not in (None, "!", _TAG + "map", _TAG + "seq"):
            self._resolve_tagged(event.tag, "", event)

    # -- aliases and limits ----------------------------------------------------------

    def _alias(self, event: Any) -> tuple[Any, int]:
        span = _mark_span((event.start_mark, event.end_mark))
        self.aliases += 1
        if self.aliases > self.limits.max_aliases:
            raise _error(
                "too-many-aliases",
                f"the document uses more than {self.limits.max_aliases} aliases (*name)",
                span,
                self.file,
                "write the values out, or move repeated steps into their own action",
                self._path(),
            )
        anchored = self.anchors.get(event.anchor)
        if anchored is None:
            raise _error(
                "syntax",
                f"the alias *{event.anchor} refers to an anchor that is not defined (yet)",
                span,
                self.file,
                "define the anchor (&name) before using it (*name)",
                self._path(),
            )
        return anchored

    def _too_deep(self, event: Any) -> ManifestSyntaxError:
        return _error(
            "too-deep",
            f"the document nests more than {self.limits.max_depth} levels deep",
            _mark_span((event.start_mark, event.end_mark)),
            self.file,
            "flatten the structure, or split the action into smaller ones",
            self._path(),
        )

    def _too_many_nodes(self, event: Any) -> ManifestSyntaxError:
        return _error(
            "too-large",
            f"the document expands to more than {self.limits.max_nodes:,} values",
            _mark_span((event.start_mark, event.end_mark)),
            self.file,
            "remove repeated aliases (*name) or split the action",
        )

    def _multiple(self, event: Any) -> ManifestSyntaxError:
        return _error(
            "multiple-documents",
            "the file holds more than one YAML document ('---' separates them)",
            _mark_span((event.start_mark, event.end_mark)),
            self.file,
            "put one action in each file; remove the extra '---' line",
        )

    def _syntax_error(self, exc: yaml.MarkedYAMLError) -> ManifestSyntaxError:
        unclosed = self._unclosed_quote(exc.problem_mark or exc.context_mark)
        if unclosed is not None:
            return unclosed
        problem = exc.problem or "not valid YAML"
        opener = _OPENERS.get(str(exc.context)) if "end of stream" in problem else None
        # An unclosed quote or bracket, or a key without ':', is best shown where it
        # starts, not where libyaml gave up.
        use_context = opener is not None or "could not find expected ':'" in problem
        mark = (exc.context_mark if use_context else None) or exc.problem_mark or exc.context_mark
        span = (
            Span(mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark else None
        )
        code = "syntax"
        hint = next((h for needle, h in _SYNTAX_HINTS if needle in problem), None)
        if mark and self.text[mark.index : mark.index + 1] == "\t":
            message = "a tab character is used for indentation"
            hint = next(h for needle, h in _SYNTAX_HINTS if needle == "\t")
        elif "nesting depth" in problem:
            code = "too-deep"
            message = "the document nests too deeply"
            hint = "flatten the structure, or split the action into smaller ones"
        elif opener is not None:
            message = f"not valid YAML: the {opener} opened here is never closed"
        elif use_context:
            message = "not valid YAML: this line has no ':' after its key"
        else:
            plain = next((words for needle, words in _SYNTAX_WORDS if needle in problem), None)
            message = "not valid YAML: " + (
                plain or problem + (f" ({exc.context})" if exc.context else "")
            )
            key_at = self._key_start(mark) if "mapping values are not allowed" in problem else None
            if key_at is not None:
                message = "not valid YAML: this key is not lined up with the keys above it"
                span = Span(span.line, key_at, span.line, key_at + 1) if span else None
                hint = _INDENT_HINT
            elif "mapping values are not allowed" in problem and mark is not None:
                hint = self._pairs_hint(mark) or hint
        return _error(code, message, span, self.file, hint or _ANY_HINT)

    def _pairs_hint(self, mark: Any) -> str | None:
        """``set: greeting: hi``: a key that takes `key: value` pairs, given one on its own
        line; written in braces, it is what was meant."""
        lines = self.text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        found = _PAIR_ON_ITS_LINE.fullmatch(line)
        if found is None or found.group("key") not in _PAIRS_KEYS:
            return None
        key, inner, value = found.group("key", "inner", "value")
        return (
            f"`{key}` takes `key: value` pairs: write them on the lines below it, indented, "
            f"or on one line in braces: `{key}: {{{inner}: {value.strip()}}}`"
        )

    def _unclosed_quote(self, mark: Any) -> ManifestSyntaxError | None:
        """A quoted value whose closing quote is missing reads on into the lines below it,
        up to the next quote, and YAML fails there: report the quote that was opened, when
        the text it swallowed holds a line that starts like a key (``  name:``)."""
        if mark is None:
            return None
        opened = None
        try:
            for token in yaml.scan(self.text, Loader=_YamlLoader):
                start = token.start_mark
                if start.index >= mark.index:
                    break
                if type(token) is yaml.ScalarToken and token.style in ('"', "'"):
                    opened = token
        except yaml.YAMLError:
            pass  # the tokens before the error are all there is
        if opened is None or opened.start_mark.line == opened.end_mark.line:
            return None
        lines = self.text.splitlines()
        first, last = opened.start_mark.line, opened.end_mark.line
        if not any(_KEY_LINE.match(line) for line in lines[first + 1 : last + 1]):
            return None
        quote = opened.style
        column = opened.start_mark.column
        rest = lines[first][column:].rstrip()
        return _error(
            "syntax",
            f"not valid YAML: the {_QUOTE_WORDS[quote]} quote opened here is not closed on its "
            "line, so the text runs on into the lines below",
            Span(first + 1, column + 1, first + 1, column + 2),
            self.file,
            f"end the text with a closing quote: {rest}{quote}",
        )

    def _key_start(self, mark: Any) -> int | None:
        """The column of the key before ``mark`` when the line holds only that key (so
        the ':' is wrong only because the key is indented wrongly)."""
        if mark is None:
            return None
        lines = self.text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        before = line[: mark.column]
        if re.fullmatch(r"\s*(- )?[A-Za-z_][\w-]*", before) is None:
            return None
        return len(before) - len(before.lstrip()) + 1


# A line that starts like a `key:` (or a `- key:` list item).
_KEY_LINE = re.compile(r"\s*(- )?[A-Za-z_][\w-]*:(\s|$)")
_QUOTE_WORDS = {'"': "double", "'": "single"}

_OPENERS = {
    "while scanning a quoted scalar": "quote",
    "while parsing a flow sequence": "'['",
    "while parsing a flow mapping": "'{'",
    "while scanning a flow sequence": "'['",
    "while scanning a flow mapping": "'{'",
}


def _child_path(frame: _Frame | None) -> Path:
    if frame is None:
        return ()
    if frame.is_map:
        return frame.key_path
    return (*frame.path, len(frame.container))


_Scalar = yaml.ScalarEvent
_Alias = yaml.AliasEvent
_MapStart = yaml.MappingStartEvent
_MapEnd = yaml.MappingEndEvent
_SeqStart = yaml.SequenceStartEvent
_SeqEnd = yaml.SequenceEndEvent
_DocStart = yaml.DocumentStartEvent


def _to_datetime(text: str) -> Any:
    """A YAML timestamp as a date/datetime (reported later: manifests hold no dates)."""
    try:
        if len(text) <= 10:
            year, month, day = (int(p) for p in text.split("-"))
            return dt.date(year, month, day)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


def _type_word(value: Any) -> str:
    """How a key YAML did not read as a name is said: as itself (``true``, ``null``), or
    its type in the words of every message."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dt.date):
        return "a date"
    return type_word(value)
