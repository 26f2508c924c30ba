"""Finding manifests on disk: files, folders, plugin folders."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.diagnostics.errors import EngineError
from engine.load.files import Found, look, unreadable
from engine.load.loader import load_bytes
from engine.load.sourcemap import Document
from engine.validate.schema import is_manifest_name

_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".hypothesis"})


@dataclass
class LoadedFile:
    """One manifest file: its document, or the error that stopped it loading."""

    path: Path
    display: str
    document: Document | None = None
    error: EngineError | None = None
    text: str = ""


@dataclass
class FileSet:
    """Manifests found from the command line, in order, with plugin folders noted."""

    files: list[LoadedFile] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def iter_manifest_paths(folder: Path) -> Iterator[Path]:
    """Every manifest file under ``folder`` (hidden and tool folders, and JSON Schemas
    saved for editors, skipped), sorted."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if any(part in _SKIP_DIRS or part.startswith(".") for part in relative[:-1]):
            continue
        if is_manifest_name(path.name) and path.is_file():
            yield path


def load_file(
    path: Path, display: str | None = None, *, catalog: Mapping[str, Any] | None = None
) -> LoadedFile:
    """Read and load one manifest file, keeping the error instead of raising it
    (``catalog``: the tools it is checked against, which a 1.0 file is upgraded to)."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return LoadedFile(path, shown, error=unreadable(shown, exc))
    try:
        document = load_bytes(raw, file=shown, catalog=catalog)
    except EngineError as exc:
        return LoadedFile(path, shown, error=exc, text=raw.decode("utf-8", "replace"))
    return LoadedFile(path, shown, document=document, text=document.text)


def collect(arguments: list[str], *, catalog: Mapping[str, Any] | None = None) -> FileSet:
    """Load every manifest named by ``arguments`` (files or folders), upgrading a 1.0
    file against ``catalog`` (the tools it is checked against)."""
    found = FileSet()
    seen: set[Path] = set()
    for argument in arguments:
        path = Path(argument)
        try:
            kind = look(path, argument)
        except EngineError as exc:  # it cannot be looked at: reported as the file's error
            found.files.append(LoadedFile(path, argument, error=exc))
            continue
        if kind is Found.FOLDER:
            paths = list(iter_manifest_paths(path))
        elif kind is Found.FILE:
            paths = [path]
        else:
            found.missing.append(argument)
            continue
        for item in paths:
            resolved = item.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            found.files.append(load_file(item, catalog=catalog))
    return found
