"""Marketplace indexes: find plugins, offer their versions to the resolver, fetch them.

An index is a JSON file (on disk or at an http(s) URL, format in
``schemas/index.schema.json`` and ``docs/plugins.md``) listing plugins and, for each
version, its archive URL, sha256, size, api_version and dependencies. A
:class:`MarketplaceIndex` is checked whole when loaded, searched with
:meth:`~MarketplaceIndex.search`, and is a
:class:`~engine.plugins.resolver.CandidateProvider`. :func:`fetch` downloads one
release and checks its sha256 before anyone unpacks it.

>>> import json, tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> release = {"version": "1.0.0", "api_version": "1.1", "archive": "demo-1.0.0.zip",
...            "sha256": "0" * 64, "size": 10}
>>> _ = (folder / "index.json").write_text(json.dumps({"format_version": 1, "plugins": [
...     {"id": "demo", "name": "Demo", "description": "Says hello.", "plugin_type": "utility",
...      "author": "Ann", "versions": [release]}]}))
>>> index = MarketplaceIndex.load(str(folder / "index.json"))
>>> [listing.id for listing in index.search("hello")]
['demo']
>>> [str(c) for c in index.candidates("demo")]
["'demo' 1.0.0"]
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import IO

from engine.errors import PluginError
from engine.plugins._index import (
    MAX_INDEX_BYTES,
    Listing,
    MarketplaceError,
    Release,
    base_url,
    parse_index,
)
from engine.plugins.download import (
    DownloadError,
    DownloadPolicy,
    copy_file,
    read_url,
    too_large,
)
from engine.plugins.download import download_to as _download_to
from engine.plugins.layout import inside
from engine.plugins.progress import Progress, ProgressBar, format_size
from engine.plugins.resolver import Candidate
from engine.suggest import did_you_mean

__all__ = [
    "PLUGIN_TYPES",
    "MarketplaceError",
    "MarketplaceIndex",
    "Release",
    "fetch",
]

PLUGIN_TYPES = ("action", "integration", "transformation", "trigger", "interface", "utility")


@dataclass(frozen=True)
class MarketplaceIndex:
    """The plugins of one index (or of several, combined), checked and ready to use."""

    location: str
    name: str | None
    plugins: Mapping[str, Listing]

    @classmethod
    def load(
        cls, location: str, *, timeout: float = 30.0, policy: DownloadPolicy | None = None
    ) -> MarketplaceIndex:
        """Read and check the index at ``location`` (a file path, ``file:`` or http(s) URL).

        Raises :class:`MarketplaceError` (``index-invalid`` with every problem located,
        ``index-unsupported``) or :class:`DownloadError`.
        """
        policy = policy or DownloadPolicy(timeout=timeout)
        raw = _read_index(location, policy)
        name, plugins = parse_index(raw, location=location)
        return cls(location, name, MappingProxyType(plugins))

    @classmethod
    def combine(cls, indexes: Iterable[MarketplaceIndex]) -> MarketplaceIndex:
        """One index offering what all of them offer; for a plugin in several, the
        description comes from the first, and a version in several from the first too."""
        items = list(indexes)
        merged: dict[str, Listing] = {}
        for index in items:
            for id, listing in index.plugins.items():
                known = merged.get(id)
                if known is None:
                    merged[id] = listing
                    continue
                have = {r.version for r in known.releases}
                extra = [r for r in listing.releases if r.version not in have]
                releases = sorted((*known.releases, *extra), key=lambda r: r.version, reverse=True)
                merged[id] = replace(known, releases=tuple(releases))
        location = ", ".join(i.location for i in items)
        name = next((i.name for i in items if i.name), None)
        return cls(location, name, MappingProxyType(dict(sorted(merged.items()))))

    def search(self, text: str = "", *, plugin_type: str | None = None) -> list[Listing]:
        """Plugins matching every word of ``text``, best first: a word found in the id
        or name ranks above one found in the tags, above one only in the description.

        >>> MarketplaceIndex("x", None, {}).search("clipboard")
        []
        """
        if plugin_type is not None and plugin_type not in PLUGIN_TYPES:
            raise PluginError(
                f"there is no plugin type {plugin_type!r}",
                code="invalid-value",
                hint=did_you_mean(plugin_type, PLUGIN_TYPES),
            )
        words = text.casefold().split()
        ranked: list[tuple[tuple[int, int], str, Listing]] = []
        for id, listing in self.plugins.items():
            if plugin_type is not None and listing.plugin_type != plugin_type:
                continue
            rank = _rank(listing, words)
            if rank is not None:
                ranked.append((rank, id, listing))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [listing for _, _, listing in ranked]

    def candidates(self, id: str) -> list[Candidate]:
        """Every release of ``id`` as a resolver candidate (its ``source`` is the
        :class:`Release`); none if the index does not list it."""
        listing = self.plugins.get(id)
        if listing is None:
            return []
        return [
            Candidate(id, r.version, r.dependencies, r.api_version, r) for r in listing.releases
        ]

    def listing(self, id: str) -> Listing:
        """The plugin ``id``, or :class:`MarketplaceError` ``not-in-index`` with a
        did-you-mean."""
        found = self.plugins.get(id)
        if found is None:
            guess = did_you_mean(id, self.plugins, listing=False)
            raise MarketplaceError(
                f"no marketplace index lists a plugin `{id}` (searched {self.location})",
                code="not-in-index",
                hint=guess
                or f"find plugins with `km-actions search {id}`, or add the "
                "marketplace that has it with `km-actions marketplace add URL`",
            )
        return found


def fetch(
    release: Release,
    dest_dir: Path,
    *,
    progress: Progress | None = None,
    policy: DownloadPolicy | None = None,
) -> Path:
    """Download ``release``'s archive into ``dest_dir`` and check it against the index.

    The archive is streamed into a temporary file (at most the size the index gives;
    a progress bar on stderr if it takes more than a second on a terminal), its sha256
    compared with the index, and only then renamed to ``<id>-<version>.<suffix>``,
    whose path is returned, ready for the installer. On a mismatch, or any failure,
    the partial file is deleted and :class:`MarketplaceError` (``integrity-mismatch``)
    or :class:`DownloadError` raised: nothing was unpacked.

    >>> import hashlib, json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "demo.zip").write_bytes(b"archive")
    >>> entry = {"version": "1.0.0", "api_version": "1.1", "archive": "demo.zip", "size": 7,
    ...          "sha256": hashlib.sha256(b"archive").hexdigest()}
    >>> _ = (folder / "index.json").write_text(json.dumps({"format_version": 1, "plugins": [
    ...     {"id": "demo", "name": "Demo", "description": "", "plugin_type": "utility",
    ...      "author": "Ann", "versions": [entry]}]}))
    >>> release = MarketplaceIndex.load(str(folder / "index.json")).plugins["demo"].latest
    >>> fetch(release, folder / "downloads").name
    'demo-1.0.0.zip'
    """
    policy = policy or DownloadPolicy()
    if release.size > policy.max_bytes:
        raise too_large(f"the archive of {release}", policy.max_bytes, release.size)
    dest_dir.mkdir(parents=True, exist_ok=True)
    bar = progress or ProgressBar(f"downloading {release}")
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, deleted on failure
        dir=dest_dir, prefix=".download-", suffix=".part", delete=False
    )
    partial = Path(handle.name)
    try:
        with handle:
            size, digest = _transfer(release, handle, policy, bar)
        if digest != release.sha256:
            raise _mismatch(release, size, digest)
        final = inside(dest_dir, release.archive_name)
        os.replace(partial, final)
        return final
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    finally:
        if isinstance(bar, ProgressBar):
            bar.finish()


def _transfer(
    release: Release, out: IO[bytes], policy: DownloadPolicy, progress: Progress
) -> tuple[int, str]:
    what = f"the archive of {release}"
    local = release.local_path
    if local is None:
        return _download_to(
            release.url, out, policy, limit=release.size, what=what, progress=progress
        )
    try:
        source = open(local, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise DownloadError(
            f"cannot read {what} at {local}: {exc.strerror}",
            hint="the index points at a file that is not there: check the index",
        ) from None
    with source:
        return copy_file(
            source, out, limit=release.size, what=what, total=release.size, progress=progress
        )


def _mismatch(release: Release, size: int, digest: str) -> MarketplaceError:
    sized = (
        f" (and it is {format_size(size)}, not the {format_size(release.size)} the index gives)"
        if size != release.size
        else ""
    )
    return MarketplaceError(
        f"the archive of {release} does not match the index: its sha256 is {digest}, the "
        f"index expects {release.sha256}{sized}; it was deleted and nothing was installed",
        code="integrity-mismatch",
        hint="the file was changed after the index was written, or damaged on the way: try "
        "again, and if it persists tell the marketplace's maintainer",
    )


def _read_index(location: str, policy: DownloadPolicy) -> bytes:
    url, remote = base_url(location)
    what = f"the index {location}"
    index_policy = replace(policy, max_bytes=min(policy.max_bytes, MAX_INDEX_BYTES))
    if remote:
        return read_url(url, index_policy, what=what)
    path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    try:
        with open(path, "rb") as source:
            chunks: list[bytes] = []
            size = 0
            while chunk := source.read(64 * 1024):
                size += len(chunk)
                if size > index_policy.max_bytes:
                    raise too_large(what, index_policy.max_bytes)
                chunks.append(chunk)
            return b"".join(chunks)
    except OSError as exc:
        raise MarketplaceError(
            f"cannot read the index {location}: {exc.strerror or exc}",
            code="index-unreadable",
            hint="check the path, or give the index's http(s) URL",
        ) from None


def _rank(listing: Listing, words: list[str]) -> tuple[int, int] | None:
    if not words:
        return (0, 0)
    id, name = listing.id.casefold(), listing.name.casefold()
    tags = [t.casefold() for t in listing.tags]
    description = listing.description.casefold()
    tiers: list[int] = []
    for word in words:
        if word in (id, name):
            tiers.append(0)
        elif word in id or word in name:
            tiers.append(1)
        elif any(word in tag for tag in tags):
            tiers.append(2)
        elif word in description:
            tiers.append(3)
        else:
            return None
    return (max(tiers), sum(tiers))
