"""Reading a marketplace index: JSON with a source map, the schema, then the meaning.

Every problem is collected as a located diagnostic (``index.json:12:7``, JSON path, a
hint) before anything is used, so a bad index is refused whole, with every reason.
"""

from __future__ import annotations

import functools
import json
import pathlib
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jsonschema
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from engine.diagnostics.errors import Diagnostic, EngineError, Path, PluginError, sort_diagnostics
from engine.load.jsonparse import checked_int, escapes_surrogate
from engine.load.loader import LoaderLimits, load_bytes
from engine.load.ranges import VersionError, dependency_range, parse_version
from engine.load.sourcemap import Document
from engine.plugins.layout import file_name
from engine.resources import load_schema
from engine.validate.names import NameKind, check_name
from engine.validate.schema import ManifestSchemas
from engine.validate.schema_pass import SchemaChecker

FORMAT_VERSION = 1
MAX_INDEX_BYTES = 20 * 1024 * 1024
_LIMITS = LoaderLimits(max_bytes=MAX_INDEX_BYTES, max_depth=32)
_MAX_SHOWN = 20


class MarketplaceError(PluginError):
    """A marketplace index cannot be used, or what it describes cannot be had.

    Codes: ``index-invalid`` (every problem in ``diagnostics``), ``index-unsupported``
    (a newer index format), ``integrity-mismatch`` (a download differs from the
    index's sha256), ``not-in-index``, ``no-marketplace``, ``marketplace-unknown``.
    """

    code = "index-invalid"


@dataclass(frozen=True)
class Release:
    """One published version of a plugin, as an index describes it.

    ``url`` is absolute (resolved against the index's own address); ``requires`` keeps
    the dependency ranges as written, ``dependencies`` as parsed.
    """

    plugin: str
    version: Version
    version_text: str
    api_version: str
    url: str
    sha256: str
    size: int
    dependencies: Mapping[str, SpecifierSet]
    requires: Mapping[str, str]
    published: str | None
    index: str

    @property
    def local_path(self) -> str | None:
        """The file path when the archive is on this machine (a ``file:`` URL)."""
        parts = urllib.parse.urlsplit(self.url)
        return urllib.parse.unquote(parts.path) if parts.scheme == "file" else None

    @property
    def archive_name(self) -> str:
        """A file name for the downloaded archive: ``id-version`` and its suffix."""
        path = urllib.parse.urlsplit(self.url).path.lower()
        suffix = next(
            (s for s in (".tar.gz", ".tgz", ".zip", ".tar") if path.endswith(s)), ".archive"
        )
        # The index is a stranger's file: its names are checked before they name a file.
        return file_name(f"{check_name(self.plugin, NameKind.PLUGIN)}-{self.version_text}{suffix}")

    def __str__(self) -> str:
        return f"{self.plugin} {self.version_text}"


@dataclass(frozen=True)
class Listing:
    """One plugin of an index, with its releases, highest version first."""

    id: str
    name: str
    description: str
    plugin_type: str
    author: str
    tags: tuple[str, ...]
    homepage: str | None
    releases: tuple[Release, ...]

    @property
    def latest(self) -> Release:
        """The highest final release (the highest pre-release if there is none)."""
        finals = [r for r in self.releases if not r.version.is_prerelease]
        return (finals or list(self.releases))[0]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shown by ``km-actions search --json``."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "plugin_type": self.plugin_type,
            "author": self.author,
            "tags": list(self.tags),
            "homepage": self.homepage,
            "latest": self.latest.version_text,
            "versions": [r.version_text for r in self.releases],
            "index": self.latest.index,
        }


def base_url(location: str) -> tuple[str, bool]:
    """The URL relative archive addresses resolve against, and whether it is remote.

    >>> base_url("https://example.org/km/index.json")
    ('https://example.org/km/index.json', True)
    >>> base_url("/srv/market/index.json")
    ('file:///srv/market/index.json', False)
    """
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme in ("http", "https"):
        return location, True
    if scheme == "file":
        return location, False
    return pathlib.Path(location).expanduser().resolve().as_uri(), False


def parse_index(raw: bytes, *, location: str) -> tuple[str | None, dict[str, Listing]]:
    """Check index bytes completely; return the index's name and its plugins by id.

    Raises :class:`MarketplaceError` with every problem found, located. A valid index
    takes the fast way (``json`` and a compiled schema check); only an index with a
    problem is read again with a source map, to say where each problem is.
    """
    base, remote = base_url(location)
    data = _quick_load(raw)
    if isinstance(data, Mapping):
        _check_format(data.get("format_version"), location)
        if _quick_schema()(data):
            reader = _Reader(Document.from_data(data, file=location), base, remote, location)
            listings = reader.listings(data["plugins"])
            if not reader.problems:
                return data.get("name"), listings
    try:
        document = load_bytes(raw, file=location, format="json", limits=_LIMITS)
    except EngineError as error:
        raise _invalid(location, error.diagnostics) from None
    data = document.data
    if isinstance(data, Mapping):
        _check_format(data.get("format_version"), location)
    problems = _schema_problems(document)
    if problems:
        raise _invalid(location, problems)
    reader = _Reader(document, base, remote, location)
    listings = reader.listings(data["plugins"])
    if reader.problems:
        raise _invalid(location, reader.problems)
    return data.get("name"), listings  # pragma: no cover - the fast way accepts it first


def _quick_load(raw: bytes) -> Any:
    """The JSON, or None when it needs the careful parser (too large or deep,
    duplicate keys, NaN, long numbers, lone surrogates, not UTF-8, not JSON): that one
    explains what is wrong."""
    if len(raw) > MAX_INDEX_BYTES:
        return None
    try:
        text = raw.decode("utf-8-sig")
        if escapes_surrogate(text):  # may decode to half a pair: the careful one checks
            return None
        return json.loads(
            text, object_pairs_hook=_unique_keys, parse_constant=_refuse, parse_int=checked_int
        )
    except (ValueError, RecursionError):
        return None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out


def _refuse(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


@functools.cache
def _quick_schema() -> Callable[[Any], bool]:
    """Whether an index is valid (its ``$ref``s inlined, built once)."""
    schema = load_schema("index")
    return jsonschema.Draft202012Validator(_inline(schema, schema["$defs"])).is_valid


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with its ``$ref``s to ``#/$defs/…`` replaced by their targets."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.rsplit("/", 1)[1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _check_format(value: Any, location: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value > FORMAT_VERSION:
        raise MarketplaceError(
            f"the index {location} has format_version {value}; this km-actions reads "
            f"format_version {FORMAT_VERSION} and older",
            code="index-unsupported",
            hint="update km-actions to use this marketplace",
        )


def _schema_problems(document: Document) -> list[Diagnostic]:
    validator = jsonschema.Draft202012Validator(load_schema("index"))
    checker = SchemaChecker(document, ManifestSchemas.load())
    found: list[Diagnostic] = []
    for error in validator.iter_errors(document.data):
        found.extend(checker.diagnose(error, (), None))
    return sort_diagnostics(found)


def _invalid(location: str, problems: list[Diagnostic]) -> MarketplaceError:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return MarketplaceError(
        f"the index {location} is not valid: {first.location}: {first.message}{more}; "
        "nothing was installed",
        code="index-invalid",
        hint=first.hint
        or "tell the marketplace's maintainer (the index format is in docs/plugins.md)",
        diagnostics=problems[:_MAX_SHOWN],
    )


class _Reader:
    """Turns schema-valid index data into listings, collecting what is still wrong."""

    def __init__(self, document: Document, base: str, remote: bool, location: str) -> None:
        self.document = document
        self.base = base
        self.remote = remote
        self.location = location
        self.problems: list[Diagnostic] = []
        self._ranges: dict[tuple[str, str], SpecifierSet] = {}  # indexes repeat the same few ranges

    def listings(self, plugins: list[Mapping[str, Any]]) -> dict[str, Listing]:
        out: dict[str, Listing] = {}
        for index, entry in enumerate(plugins):
            path: Path = ("plugins", index)
            if entry["id"] in out:
                self._problem(
                    "duplicate-item",
                    f"the plugin `{entry['id']}` is listed twice",
                    (*path, "id"),
                    "list each plugin once, with all its versions",
                )
                continue
            releases = list(self._releases(entry, path))
            releases.sort(key=lambda r: r.version, reverse=True)
            out[entry["id"]] = Listing(
                id=entry["id"],
                name=entry["name"],
                description=entry["description"],
                plugin_type=entry["plugin_type"],
                author=entry["author"],
                tags=tuple(entry.get("tags", ())),
                homepage=entry.get("homepage"),
                releases=tuple(releases),
            )
        return out

    def _releases(self, entry: Mapping[str, Any], path: Path) -> Iterator[Release]:
        seen: set[Version] = set()
        for index, item in enumerate(entry["versions"]):
            where: Path = (*path, "versions", index)
            try:
                version = parse_version(item["version"])
            except VersionError as error:
                self._problem(error.code, error.message, (*where, "version"), error.hint)
                continue
            if version in seen:
                self._problem(
                    "duplicate-item",
                    f"version {item['version']} of `{entry['id']}` is listed twice",
                    (*where, "version"),
                    "list each version once",
                )
                continue
            seen.add(version)
            url = self._url(item["archive"], (*where, "archive"))
            dependencies = self._dependencies(
                item.get("dependencies", {}), item["api_version"], where
            )
            if url is None or dependencies is None:
                continue
            yield Release(
                plugin=entry["id"],
                version=version,
                version_text=item["version"],
                api_version=item["api_version"],
                url=url,
                sha256=item["sha256"],
                size=item["size"],
                dependencies=MappingProxyType(dependencies),
                requires=MappingProxyType(dict(item.get("dependencies", {}))),
                published=item.get("published"),
                index=self.location,
            )

    def _url(self, reference: str, path: Path) -> str | None:
        url = urllib.parse.urljoin(self.base, reference)
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        allowed = ("http", "https") if self.remote else ("http", "https", "file")
        if scheme in allowed:
            return url
        where = "an index on the network" if self.remote else "an index"
        self._problem(
            "invalid-format",
            f"`archive` {reference!r} is not an address {where} may point to",
            path,
            "write an https:// URL, or a path relative to the index"
            + ("" if self.remote else " (or an absolute file path)"),
        )
        return None

    def _dependencies(
        self, raw: Mapping[str, str], api_version: str, where: Path
    ) -> dict[str, SpecifierSet] | None:
        out: dict[str, SpecifierSet] = {}
        ok = True
        for dep, text in raw.items():
            try:
                spec = self._ranges.get((text, api_version))
                if spec is None:
                    spec = self._ranges[text, api_version] = dependency_range(text, api_version)
                out[dep] = spec
            except VersionError as error:
                self._problem(error.code, error.message, (*where, "dependencies", dep), error.hint)
                ok = False
        return out if ok else None

    def _problem(self, code: str, message: str, path: Path, hint: str | None) -> None:
        self.problems.append(self.document.diagnostic(code, message, path, hint=hint))
