"""The manifest cache: an installed version's loaded documents, so start-up parses no YAML.

At install, every action document of a version is stored in one file under
``cache/``, named by the version's content digest, in a compact form: the data, the
text, and the span of every value as four integers. Loading it is several times
faster than parsing the YAML again. The file's sha256 is recorded in the database and
checked before it is read, and it is unpickled with every class refused (the data is
plain JSON types, tuples and dicts), so a damaged or planted file can neither run code
nor change what runs: it is simply rebuilt from the (lock-checked) YAML.

>>> from engine.load.loader import load_text
>>> doc = load_text("name: demo\\nsteps: []\\n", file="demo/a.yaml")
>>> blob = dump_documents({"a.yaml": doc})
>>> again = load_documents(blob)["a.yaml"]
>>> again.data == doc.data, again.span(("steps",)) == doc.span(("steps",))
(True, True)
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Mapping
from typing import Any

from engine import __version__
from engine.diagnostics.errors import Span
from engine.load.sourcemap import Document, SourceMap
from engine.load.versions import upgrade_key

# 2: documents as the current api_version reads them (a 1.0 file upgraded as it loads);
# a cache of format 1 may hold a 1.0 file's data as written, so it is read again.
# 3: with the tools a 1.0 file's upgrade depended on (versions.upgrade_key), so that a
# cache written for one catalog is not read for another.
# 4: with the spans of the keys run-time errors point at (see _RUN_KEYS).
FORMAT = 4
# Parts of a manifest that running it never points into (a test's mocks can be long).
_NOT_RUN = frozenset({"tests", "description", "author"})
# Keys a run's errors are located at, when no one value is at fault: `inputs:` and each
# input's name (a value a caller gives that does not fit), a step's `with:` and
# `outputs:` (values too large together).
_RUN_KEYS = frozenset({"with", "outputs"})
_HEADER = ("km-actions manifest cache", FORMAT, __version__)


def _tuple_span(raw: tuple[int, int, int, int]) -> Span:
    return Span(*raw)


def _compact(document: Document) -> tuple[Any, ...]:
    source_map = document.source_map
    to_span = source_map.to_span
    values = {}
    for path, raw in source_map.values.items():
        if path and path[0] in _NOT_RUN:
            continue
        span = to_span(raw)
        values[path] = (span.line, span.column, span.end_line, span.end_column)
    keys = {}
    for path, raw in source_map.keys.items():
        if _is_run_key(path):
            span = to_span(raw)
            keys[path] = (span.line, span.column, span.end_line, span.end_column)
    return (document.data, values, keys, document.text, document.file, document.format)


def _is_run_key(path: tuple[Any, ...]) -> bool:
    """True for the key of ``path`` when a run's errors may be located at it."""
    if not path or path[0] in _NOT_RUN:
        return False
    return path[-1] in _RUN_KEYS or (path[0] == "inputs" and len(path) <= 2)


def _restore(item: tuple[Any, ...]) -> Document:
    data, values, keys, text, file, fmt = item
    return Document(data, SourceMap(values, keys, {}, _tuple_span), text, file, fmt)


def dump_documents(
    documents: Mapping[str, Document], catalog: Mapping[str, Any] | None = None
) -> bytes:
    """The cache file's bytes for a version's documents (by relative path), loaded for
    ``catalog`` (default: the shipped one)."""
    body = {path: _compact(doc) for path, doc in documents.items()}
    header = (*_HEADER, _upgraded_with(documents, catalog))
    return pickle.dumps((header, body), protocol=pickle.HIGHEST_PROTOCOL)


def _upgraded_with(
    documents: Mapping[str, Document], catalog: Mapping[str, Any] | None
) -> tuple[str, ...] | None:
    """What the documents' meaning depends on beyond their text: for a version with a
    file of an older api_version, the tools its upgrade expanded groups against."""
    older = any(n.code == "api-version-upgraded" for d in documents.values() for n in d.notes)
    return upgrade_key(catalog) if older else None


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"the manifest cache may not hold {module}.{name}")


def load_documents(
    blob: bytes, catalog: Mapping[str, Any] | None = None
) -> dict[str, Document] | None:
    """The documents of a cache file; None when it is from another format, damaged, or
    holds a file of an older api_version upgraded for other tools than ``catalog``'s.

    The original text of plain scalars, the spans inside ``tests`` and the keys' spans
    but those a run's errors point at are not kept: they only serve validation
    messages, and installed documents were validated at install.
    """
    try:
        header, body = _PlainUnpickler(io.BytesIO(blob)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return None
    if not isinstance(header, tuple) or header[:-1] != _HEADER or not isinstance(body, dict):
        return None
    if header[-1] is not None and header[-1] != upgrade_key(catalog):
        return None  # upgraded for other tools: read again, for these
    try:
        return {path: _restore(item) for path, item in body.items()}
    except (TypeError, ValueError):
        return None


def digest(blob: bytes) -> str:
    """The sha256 the database records for a cache file."""
    return hashlib.sha256(blob).hexdigest()
