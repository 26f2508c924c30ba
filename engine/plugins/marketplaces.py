"""The marketplaces a store uses: index locations kept in ``marketplaces.json``.

The file sits in the store folder (``KM_ACTIONS_HOME``) next to ``state.db``; it holds
a list of ``{"location": …, "allow_http": …}`` and is changed under a lock, written
aside and renamed, so two processes adding marketplaces at once lose nothing and a
crash leaves the old list or the new one. An index is checked when it is added: a
location that does not give a valid index is refused and nothing is written.

>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> market = Marketplaces(folder)
>>> market.entries()
[]
>>> market.load()
Traceback (most recent call last):
...
engine.plugins._index.MarketplaceError: no marketplace is configured
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import paths
from engine.diagnostics.errors import EngineError
from engine.diagnostics.suggestions import did_you_mean
from engine.plugins._index import MarketplaceError
from engine.plugins.download import DownloadPolicy, Gate, place_of
from engine.plugins.marketplace import MarketplaceIndex

FILE_NAME = "marketplaces.json"
_LOCK_NAME = ".marketplaces.lock"
_ADD_HINT = "add one with `km-actions marketplace add URL`, or pass --index URL"


@dataclass(frozen=True)
class MarketplaceEntry:
    """One configured index: where it is, and whether plain http is allowed for it."""

    location: str
    allow_http: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "allow_http": self.allow_http}


@dataclass
class Loaded:
    """The configured indexes combined, and the problems of those that failed to load."""

    index: MarketplaceIndex
    problems: list[EngineError] = field(default_factory=list)


def normalize(location: str) -> str:
    """URLs as written; file paths made absolute (so they work from any folder).

    >>> normalize("https://example.org/index.json")
    'https://example.org/index.json'
    >>> normalize("/srv/../srv/index.json")
    '/srv/index.json'
    """
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme in ("http", "https", "file"):
        return location
    return str(Path(location).expanduser().resolve())


class Marketplaces:
    """The configured marketplace indexes of the store at ``root``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else paths.home()
        self.path = self.root / FILE_NAME

    def entries(self) -> list[MarketplaceEntry]:
        """The configured indexes, in the order they were added."""
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise MarketplaceError(
                f"cannot read the list of marketplaces in {self.path}: {exc}",
                code="index-unreadable",
                hint=f"fix or delete {self.path}, then add the marketplaces again",
            ) from None
        items = raw.get("marketplaces") if isinstance(raw, dict) else None
        return [
            MarketplaceEntry(str(item["location"]), bool(item.get("allow_http", False)))
            for item in items or []
            if isinstance(item, dict) and isinstance(item.get("location"), str)
        ]

    def add(
        self, location: str, *, allow_http: bool = False, timeout: float = 30.0
    ) -> MarketplaceIndex:
        """Check the index at ``location`` and add it (adding it again changes nothing
        but ``allow_http``); returns the index as loaded."""
        location = normalize(location)
        index = MarketplaceIndex.load(
            location, policy=DownloadPolicy(timeout=timeout, allow_http=allow_http)
        )
        with self._locked():
            entries = [e for e in self.entries() if e.location != location]
            entries.append(MarketplaceEntry(location, allow_http))
            self._write(entries)
        return index

    def remove(self, location: str) -> None:
        """Stop using an index (``marketplace-unknown`` if it was not configured)."""
        with self._locked():
            entries = self.entries()
            known = [e.location for e in entries]
            wanted = location if location in known else normalize(location)
            if wanted not in known:
                raise MarketplaceError(
                    f"{location} is not a configured marketplace",
                    code="marketplace-unknown",
                    hint=did_you_mean(location, known, listing=True)
                    or "no marketplace is configured",
                )
            self._write([e for e in entries if e.location != wanted])

    def load(
        self,
        extra: Sequence[str] = (),
        *,
        only_extra: bool = False,
        timeout: float = 30.0,
        allow_http: bool = False,
        gate: Gate | None = None,
    ) -> Loaded:
        """Load the configured indexes (plus ``extra`` locations, or only them) combined
        (``gate``: for an MCP caller, see :meth:`gate`).

        An index that cannot be loaded is skipped and its error kept in ``problems``;
        when none loads, the first error is raised. With no index at all:
        ``no-marketplace``.
        """
        wanted = [] if only_extra else self.entries()
        wanted += [MarketplaceEntry(normalize(x), allow_http) for x in extra]
        if not wanted:
            raise MarketplaceError(
                "no marketplace is configured", code="no-marketplace", hint=_ADD_HINT
            )
        indexes: list[MarketplaceIndex] = []
        problems: list[EngineError] = []
        for entry in wanted:
            policy = DownloadPolicy(
                timeout=timeout, allow_http=entry.allow_http or allow_http, gate=gate
            )
            try:
                indexes.append(MarketplaceIndex.load(entry.location, policy=policy))
            except EngineError as error:
                problems.append(error)
        if not indexes:
            raise problems[0]
        return Loaded(MarketplaceIndex.combine(indexes), problems)

    def gate(self, hosts: Iterable[str] | None = None, *, stranger: bool = True) -> Gate:
        """Where downloads for an MCP caller (or, ``stranger`` False, the user) may go:
        with ``hosts`` (the user's ``security.allowed_hosts``), URLs on those hosts or
        these marketplaces' hosts; without, any host. Only these marketplaces' own places
        (scheme, host, port) are reached at a loopback or private address."""
        trusted = frozenset(
            place for entry in self.entries() if (place := place_of(entry.location)) is not None
        )
        if hosts is None:
            return Gate(trusted=trusted, stranger=stranger)
        named = frozenset(hosts) | {place[1] for place in trusted}
        return Gate(hosts=named, trusted=trusted, stranger=stranger)

    def local_folders(self) -> list[Path]:
        """The folders of the indexes added from this machine (a path or a ``file://``
        URL): where their archives usually sit, so MCP callers may install from them."""
        folders: list[Path] = []
        for entry in self.entries():
            parts = urllib.parse.urlsplit(entry.location)
            if parts.scheme.lower() == "file":
                path = Path(urllib.request.url2pathname(parts.path))
            elif parts.scheme.lower() in ("http", "https"):
                continue
            else:
                path = Path(entry.location)
            if path.is_absolute():
                folders.append(path.parent)
        return folders

    def _locked(self) -> AbstractContextManager[None]:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return paths.exclusive(self.root / _LOCK_NAME)

    def _write(self, entries: list[MarketplaceEntry]) -> None:
        text = json.dumps({"marketplaces": [e.to_dict() for e in entries]}, indent=2) + "\n"
        paths.write_atomically(self.path, text)
