"""``km-actions migrate``: an older manifest rewritten on disk as the current language
reads it, by editing its text where the source map places each change (comments,
quotes, order and layout kept; never a re-dump of the data).

The rewritten text is loaded again and must give exactly the data the upgrade on load
gives (:func:`engine.load.versions.upgraded`); otherwise nothing is written.

>>> text = 'api_version: "1.0"   # old\\nkind: action\\nname: a\\npermissions:\\n  - read-only\\n'
>>> print(migrated_text(text, known={"km_list_macros": 1, "km_token_stats": 1}))
api_version: "1.1"   # old
kind: action
name: a
permissions:
  - km_list_macros
  - km_token_stats
<BLANKLINE>
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.diagnostics.errors import EngineError
from engine.load.loader import load_text
from engine.load.sourcemap import Document
from engine.load.versions import CURRENT, Change, Expansion, changes, upgraded, version_problem

__all__ = ["Edit", "migrate_file", "migrated_text", "text_edits"]


# What may stay an unquoted YAML scalar after a respelling (e.g. `tool-failed`).
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True, slots=True, order=True)
class Edit:
    """Replace ``text[start:end]`` with ``new``."""

    start: int
    end: int
    new: str


def migrated_text(
    text: str, *, file: str | None = None, known: Mapping[str, Any] | None = None
) -> str | None:
    """``text`` upgraded to the current api_version (None: nothing to upgrade).

    Raises :class:`EngineError` (``migrate-failed``) when the edited text would not
    mean what the upgrade on load reads; :class:`ManifestSyntaxError` for a file that
    does not load.
    """
    document = load_text(text, file=file, upgrade=False)
    found = changes(document.data, known)
    if not found:
        _check_current(document)
        return None
    new_text = _apply(document.text, text_edits(document, found))
    again = load_text(new_text, file=file, format=document.format, upgrade=False)
    if again.data != upgraded(document, known).data or changes(again.data, known):
        raise EngineError(
            f"{file or 'the file'}: its layout is one km-actions cannot rewrite in place",
            code="migrate-failed",
            file=file,
            hint="make the changes the load note lists by hand (`km-actions validate FILE` "
            "shows it)",
        )
    return new_text


def _check_current(document: Document) -> None:
    """Refuse a file that is not a manifest of the current api_version (nothing to do
    is only right for those)."""
    data = document.data
    version = data.get("api_version") if isinstance(data, Mapping) else None
    if version == CURRENT:
        return
    where = document.file or "the file"
    if version is None:
        raise EngineError(
            f"{where}: not a manifest (it has no api_version)",
            code="not-a-mapping" if not isinstance(data, Mapping) else "missing-key",
            file=document.file,
            hint="migrate action files and plugin.yaml files",
        )
    message, hint = version_problem(version) or ("", None)
    raise EngineError(f"{where}: {message}", code="unsupported-api-version", hint=hint)


def text_edits(document: Document, found: Sequence[Change]) -> list[Edit]:
    """The text edits that make ``found`` in ``document``."""
    lines = _line_starts(document.text)
    edits: list[Edit] = []
    for change in found:
        span = document.source_map.values.get(change.path)
        if span is None:
            raise EngineError(
                f"{document.file or 'the file'}: no position for {change.path}",
                code="migrate-failed",
            )
        located = document.source_map.to_span(span)
        start = lines[located.line - 1] + located.column - 1
        end = lines[located.end_line - 1] + located.end_column - 1
        if isinstance(change, Expansion):
            edits.append(_expansion(document, start, end, change.tools))
        else:
            source = document.text[start:end]
            for old, new in change.fragments:
                source = re.sub(rf"(?<![A-Za-z0-9_.]){re.escape(old)}(?![A-Za-z0-9_])", new, source)
            if source == change.value and not _PLAIN.fullmatch(source):
                source = json.dumps(source)  # an unquoted YAML scalar that now needs quotes
            edits.append(Edit(start, end, source))
    return edits


def _expansion(document: Document, start: int, end: int, tools: Sequence[str]) -> Edit:
    """A group entry of a list replaced by ``tools``, in the list's own style."""
    text = document.text
    original = text[start:end]
    quote = '"' if document.format == "json" else original[0] if original[0] in "'\"" else ""
    names = [f"{quote}{tool}{quote}" for tool in tools]
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start]
    if prefix.strip() == "-":  # a block list: one `- tool` line each, indented alike
        if names:
            newline = "\r\n" if "\r\n" in text else "\n"
            return Edit(start, end, names[0] + "".join(newline + prefix + n for n in names[1:]))
        line_end = text.find("\n", end)
        return Edit(line_start, len(text) if line_end < 0 else line_end + 1, "")
    if names:  # a flow list ([a, b] or JSON)
        return Edit(start, end, ", ".join(names))
    after = re.match(r"\s*,\s*", text[end:])
    if after:
        return Edit(start, end + after.end(), "")
    comma = re.search(r",\s*$", text[:start])
    return Edit(comma.start() if comma else start, end, "")


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    return starts


def _apply(text: str, edits: Sequence[Edit]) -> str:
    out = text
    for edit in sorted(edits, reverse=True):
        out = out[: edit.start] + edit.new + out[edit.end :]
    return out


def migrate_file(
    path: Path, *, check: bool = False, known: Mapping[str, Any] | None = None
) -> bool:
    """Upgrade the manifest at ``path`` on disk (atomically: a temporary file renamed
    over it, its permissions kept); True if it needed it. With ``check``, only say so.
    ``known``: the tools a 1.0 group becomes those of (default: the shipped catalog)."""
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    new_text = migrated_text(text, file=str(path), known=known)
    if new_text is None or check:
        return new_text is not None
    data = (b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
