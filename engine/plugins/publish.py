"""Publishing: write a marketplace index from plugin archives, never by hand.

:func:`add_archives` reads each archive's plugin manifest (the archive is extracted as an
install would, into a temporary folder) and writes or updates its entry in the index:
``version``, ``api_version``, ``sha256``, ``size``, ``dependencies``, ``published``, and
the plugin's name, description, type and author from its newest version. A version the
index lists already is never changed: the same archive again is left as it is, another
one is refused (``version-published``), since people may have installed it. The new index
is read back with the reader every install uses before it replaces the old file, in one
rename, so a reader sees the old index or the new one. The index's folder is locked from
reading the index to writing it (:func:`engine.paths.exclusive`, as the store locks its
own files), so two ``index add`` at once add both versions.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> (folder / "demo").mkdir()
>>> _ = (folder / "demo" / "plugin.yaml").write_text(
...     'api_version: "1.0"\\nidentifier: demo\\nname: Demo\\nversion: 1.0.0\\nauthor: Ann\\n')
>>> from engine.plugins.packing import create_archive
>>> _ = create_archive(folder / "demo", folder / "demo-1.0.0.zip", fmt="zip")
>>> report = add_archives(folder / "index.json", [folder / "demo-1.0.0.zip"], now="2026-05-01")
>>> [str(item) for item in report.added]
['demo 1.0.0 (demo-1.0.0.zip)']
>>> add_archives(folder / "index.json", [folder / "demo-1.0.0.zip"]).unchanged
['demo 1.0.0']
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.diagnostics.errors import PluginError
from engine.load.ranges import parse_version
from engine.paths import exclusive, write_atomically
from engine.plugins._index import FORMAT_VERSION, parse_index
from engine.plugins._model import PluginManifest
from engine.plugins._stage import ARCHIVE_SUFFIXES, InstallSource, SourceKind, stage
from engine.plugins.action_files import load_action_files
from engine.plugins.archives import sha256_file
from engine.plugins.docs import PluginDoc, plugin_doc
from engine.plugins.download import DownloadPolicy
from engine.plugins.manifest import read_action_file, read_manifest
from engine.plugins.marketplace import MarketplaceIndex, fetch

INDEX_NAME = "index.json"


@dataclass(frozen=True)
class Published:
    """One version added to the index."""

    identifier: str
    version: str
    archive: str

    def __str__(self) -> str:
        return f"{self.identifier} {self.version} ({self.archive})"


@dataclass
class PublishReport:
    """What :func:`add_archives` did: versions added, and those listed already (same
    archive: nothing to do)."""

    index: Path
    added: list[Published] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Archive:
    manifest: PluginManifest
    sha256: str
    size: int
    reference: str


def find_archives(folder: Path) -> list[Path]:
    """The plugin archives in ``folder`` and the folders under it, in name order."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)
    )


def add_archives(
    index: Path,
    archives: Iterable[Path],
    *,
    base_url: str | None = None,
    now: str | None = None,
) -> PublishReport:
    """Add the versions packed in ``archives`` to the index file ``index`` (created when
    missing) and write it, once, only if every archive could be added.

    ``base_url``: where the index's folder is served; each archive's address is then that
    URL joined with its path relative to the index (without it, the relative path, which
    works wherever the folder is served). ``now``: the ``published`` date (default: the
    current time, UTC).
    """
    index.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(index.parent):  # read, change and write as one: another add waits
        return _add(index, archives, base_url, now or _now())


def _add(
    index: Path, archives: Iterable[Path], base_url: str | None, published: str
) -> PublishReport:
    data = _read(index)
    report = PublishReport(index)
    for path in archives:
        archive = _inspect(path, index.parent, base_url)
        entry = _entry(data, archive.manifest)
        release = _release(archive, published)
        known = _listed(entry, release["version"])
        if known is None:
            entry["versions"].append(release)
            entry["versions"].sort(key=lambda r: parse_version(r["version"]), reverse=True)
            _describe(entry, archive.manifest)
            report.added.append(
                Published(archive.manifest.identifier, release["version"], archive.reference)
            )
        elif known["sha256"] == release["sha256"] and known["size"] == release["size"]:
            report.unchanged.append(f"{archive.manifest.identifier} {release['version']}")
        else:
            raise _published(index, archive, known)
    if report.added:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        parse_index(text.encode("utf-8"), location=str(index))  # what every install reads
        write_atomically(index, text, mode=0o644)
    return report


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read(index: Path) -> dict[str, Any]:
    """The index's data (an empty index when there is no file), checked as installs check
    it: an index with any problem is not changed."""
    try:
        raw = index.read_bytes()
    except FileNotFoundError:
        return {"format_version": FORMAT_VERSION, "plugins": []}
    except OSError as exc:
        raise PluginError(
            f"cannot read the index {index}: {exc.strerror or exc}",
            code="index-unreadable",
            hint="check the path and its permissions",
        ) from None
    parse_index(raw, location=str(index))
    data: dict[str, Any] = json.loads(raw.decode("utf-8-sig"))
    return data


def _inspect(path: Path, home: Path, base_url: str | None) -> _Archive:
    """The manifest of the plugin packed in ``path``, read as install reads it."""
    with opened_archive(path) as manifest:
        pass  # what the index needs is read: the extracted files can go
    relative = Path(os.path.relpath(path.resolve(), home.resolve())).as_posix()
    reference = relative if base_url is None else _join(base_url, relative)
    return _Archive(manifest, sha256_file(path), path.stat().st_size, reference)


@contextlib.contextmanager
def opened_archive(path: Path) -> Iterator[PluginManifest]:
    """The plugin packed in the archive ``path``, extracted as install extracts it into
    a temporary folder (removed afterwards), its manifest read and checked (phase one:
    its action files are there to read, not yet validated)."""
    source = InstallSource.of(path)
    if source.kind is not SourceKind.ARCHIVE:
        raise PluginError(
            f"{path} is not a plugin archive",
            code="invalid-value",
            hint="give a .zip or .tar.gz made by `km-actions pack`",
        )
    with tempfile.TemporaryDirectory(prefix="km-publish-") as scratch:
        root = stage(source, Path(scratch) / "package")
        label = path.name
        yield (
            read_manifest(root, label=label)
            if root.is_dir()
            else read_action_file(root, label=label)
        )


def listed_plugin_docs(index: MarketplaceIndex, *, policy: DownloadPolicy) -> list[PluginDoc]:
    """The documentation of the newest version of every plugin ``index`` lists, read
    from its archive (downloaded and checked against the index's sha256, as an install
    does), for the catalog page."""
    docs: list[PluginDoc] = []
    with tempfile.TemporaryDirectory(prefix="km-catalog-") as scratch:
        for listing in index.plugins.values():
            release = listing.latest
            archive = fetch(release, Path(scratch) / listing.id, progress=_quiet, policy=policy)
            with opened_archive(archive) as manifest:
                manifests = [doc.data for _, doc in load_action_files(manifest).loaded]
                metadata = {**manifest.metadata(), "author": listing.author}
                docs.append(plugin_doc(metadata, manifests))
    return docs


def _quiet(done: int, total: int | None) -> None:
    """No progress bar: the catalog says what it wrote when it is done."""


def _join(base_url: str, relative: str) -> str:
    base = base_url if base_url.endswith("/") else base_url + "/"
    return urllib.parse.urljoin(base, urllib.parse.quote(relative))


def _entry(data: dict[str, Any], manifest: PluginManifest) -> dict[str, Any]:
    """The index's entry for the plugin (added, described from ``manifest``, if new)."""
    plugins: list[dict[str, Any]] = data["plugins"]
    for entry in plugins:
        if entry["id"] == manifest.identifier:
            return entry
    entry = {"id": manifest.identifier, "versions": []}
    _describe(entry, manifest, always=True)
    plugins.append(entry)
    plugins.sort(key=lambda e: str(e["id"]))
    return entry


def _describe(entry: dict[str, Any], manifest: PluginManifest, *, always: bool = False) -> None:
    """Describe the plugin as its newest version does (the index shows one description);
    tags and what the manifest does not say are kept."""
    newest = (
        max(parse_version(r["version"]) for r in entry["versions"]) if entry["versions"] else None
    )
    if not always and newest is not None and parse_version(manifest.version) < newest:
        return
    author = manifest.author or entry.get("author")
    if not author:
        raise PluginError(
            f"{manifest.label}: the plugin '{manifest.identifier}' names no author, and a "
            "marketplace index lists one for every plugin",
            code="missing-key",
            hint="add `author: Your Name` to its plugin.yaml, then pack it again",
        )
    homepage = manifest.data.get("homepage") if isinstance(manifest.data, Mapping) else None
    described = {
        "id": entry["id"],
        "name": manifest.name,
        "description": manifest.description,
        "plugin_type": manifest.plugin_type.value,
        "author": author,
        "homepage": homepage if isinstance(homepage, str) else entry.get("homepage"),
        "tags": entry.get("tags"),
        "versions": entry["versions"],
    }
    entry.clear()  # rebuilt in the order the docs show an entry in
    entry.update({key: value for key, value in described.items() if value is not None})


def _release(archive: _Archive, published: str) -> dict[str, Any]:
    manifest = archive.manifest
    release: dict[str, Any] = {
        "version": manifest.version,
        "api_version": manifest.api_version,
        "archive": archive.reference,
        "sha256": archive.sha256,
        "size": archive.size,
    }
    if manifest.dependencies:
        release["dependencies"] = dict(manifest.dependencies)
    release["published"] = published
    return release


def _listed(entry: Mapping[str, Any], version: str) -> dict[str, Any] | None:
    wanted = parse_version(version)
    for release in entry["versions"]:
        if parse_version(release["version"]) == wanted:
            found: dict[str, Any] = release
            return found
    return None


def _published(index: Path, archive: _Archive, known: Mapping[str, Any]) -> PluginError:
    manifest = archive.manifest
    return PluginError(
        f"{index} lists {manifest.identifier} {manifest.version} already, with another "
        f"archive (sha256 {known['sha256'][:12]}…, {known['size']} bytes; this one is "
        f"{archive.sha256[:12]}…, {archive.size} bytes); a published version is never "
        "changed, and the index was left as it was",
        code="version-published",
        hint=f"people may have installed {manifest.version}: raise `version` in plugin.yaml "
        "(e.g. to the next patch), pack it again and add that archive",
    )


__all__ = [
    "INDEX_NAME",
    "PublishReport",
    "Published",
    "add_archives",
    "find_archives",
    "listed_plugin_docs",
    "opened_archive",
]
