"""Installing and updating plugins from marketplace indexes.

``install id[@range]`` picks the highest version of ``id`` in the index that fits the
range, the api_versions this km-actions reads, and every installed plugin's
dependency ranges; ``update`` does the same for installed plugins (one, those with
``auto_update`` on, or all). Either way, the chosen archive is downloaded and checked
against the index's sha256 before the installer sees it, and the installer resolves,
downloads (through :func:`fetch_candidate`) and installs its dependencies first,
keeping settings the new version still accepts and reporting those it does not.

>>> parse_request("clipboard-tools@>=1.2,<2")
Request(id='clipboard-tools', range='>=1.2,<2')
>>> looks_like_request("./plugins/demo"), looks_like_request("demo@==1.*")
(False, True)
>>> looks_like_request("demo.zip")
False
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from engine.diagnostics.errors import EngineError, PluginError
from engine.lang.limits import Profile
from engine.load.ranges import dependency_range, format_range, parse_range, parse_version
from engine.plugins.download import DownloadPolicy
from engine.plugins.events import EventCallback
from engine.plugins.installer import Confirm, InstallResult, InstallSource, MayReplace, install
from engine.plugins.manifest import API_VERSIONS
from engine.plugins.marketplace import MarketplaceIndex, Release, fetch
from engine.plugins.permissions import PermissionRequest
from engine.plugins.plan import CandidatePool
from engine.plugins.progress import Progress
from engine.plugins.records import InstalledPlugin
from engine.plugins.resolver import Candidate, DependencyError, resolve
from engine.plugins.store import Store
from engine.tools.catalog import ToolCatalog

_FILE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".yaml", ".yml", ".json")
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?")
_REQUEST = re.compile(r"(?P<id>[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*)(?:@(?P<range>.+))?")


@dataclass(frozen=True)
class Request:
    """What ``install`` was asked for: a plugin id and a version range (``*`` for any)."""

    id: str
    range: str = "*"

    @property
    def spec(self) -> SpecifierSet:
        """The range asked for; a bare version (``id@1.2.0``) asks for exactly it.

        >>> str(Request("lib", "1.2.0").spec), str(Request("lib", "~=1.2").spec)
        ('==1.2.0', '~=1.2')
        """
        if _VERSION.fullmatch(self.range.strip()):
            return SpecifierSet(f"=={parse_version(self.range)}")
        return parse_range(self.range)


def looks_like_request(text: str) -> bool:
    """True for ``id`` or ``id@range`` (a marketplace request), not a path (an existing
    one, or a name ending like an archive or an action file)."""
    return is_request_text(text) and not Path(text).exists()


def is_request_text(text: str) -> bool:
    """True for text that reads as ``id`` or ``id@range``, not as a file name (one ending
    like an archive or an action file); no file is looked at.

    >>> is_request_text("notes@>=1.2"), is_request_text("notes.zip"), is_request_text("a/b")
    (True, False, False)
    """
    return not text.lower().endswith(_FILE_SUFFIXES) and _REQUEST.fullmatch(text) is not None


def parse_request(text: str) -> Request:
    """``id`` or ``id@range`` → :class:`Request` (the range is checked here)."""
    match = _REQUEST.fullmatch(text.strip())
    if match is None:
        raise PluginError(
            f"{text!r} is not a plugin id, or an id with a version range",
            code="invalid-value",
            hint="write the id as the index lists it, e.g. clipboard-tools or "
            "'clipboard-tools@>=1.2,<2'",
        )
    request = Request(match["id"], match["range"] or "*")
    request.spec  # noqa: B018 - parsing reports a bad range now, with its own hint
    return request


@dataclass
class UpdateReport:
    """What ``update`` did, plugin by plugin."""

    updated: list[InstallResult] = field(default_factory=list)
    current: list[tuple[str, str]] = field(default_factory=list)  # (id, version)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (id, why)
    failed: list[tuple[str, EngineError]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "updated": [_updated(r) for r in self.updated],
            "current": [{"identifier": i, "version": v} for i, v in self.current],
            "skipped": [{"identifier": i, "reason": why} for i, why in self.skipped],
            "failed": [{"identifier": i, "error": e.to_dict()} for i, e in self.failed],
        }


def _updated(result: InstallResult) -> dict[str, Any]:
    return {
        "identifier": result.identifier,
        "from": result.upgraded.get(result.identifier),
        "to": result.plugin.version,
        "installed": [{"identifier": p.identifier, "version": p.version} for p in result.installed],
        "dropped_settings": {k: [str(d) for d in v] for k, v in result.dropped_settings.items()},
    }


@dataclass(frozen=True)
class Options:
    """How to install: permissions (``grant``/``confirm``), profile, events, progress,
    and who asks (``origin`` and ``may_replace``, as for :func:`install`)."""

    grant: Iterable[str] | None = None
    confirm: Confirm | None = None
    profile: Profile = Profile.STANDARD
    events: EventCallback | None = None
    progress: Progress | None = None
    download: DownloadPolicy = field(default_factory=DownloadPolicy)
    catalog: ToolCatalog | None = None
    origin: str | None = None
    may_replace: MayReplace | None = None


OptionsFor = Callable[[InstalledPlugin], Options]
"""How to update one installed plugin (its own profile, origin, …)."""


def grant_nothing_new(store: Store) -> Confirm:
    """The ``confirm`` of updates nobody watches (``km-actions serve``'s automatic ones):
    a new version is installed only if the grant of the version it replaces covers what
    it asks for, and a plugin it brings along only if it asks for nothing; otherwise
    ``permission-not-granted``, and the user updates it where they can be asked."""

    def confirm(request: PermissionRequest) -> bool:
        asked = request.added if store.get(request.plugin) is not None else request.entries
        if asked:
            raise PluginError(
                f"'{request.plugin}' {request.version} asks for {', '.join(asked)}, which "
                "was not granted: an automatic update grants nothing new",
                code="permission-not-granted",
                hint="update it from the command line (`km-actions update`), which shows "
                "what it asks for and lets you grant it",
            )
        return True

    return confirm


def install_request(
    store: Store,
    index: MarketplaceIndex,
    request: Request | str,
    *,
    auto_update: bool | None = None,
    options: Options | None = None,
    settings: Mapping[str, Any] | None = None,
) -> InstallResult:
    """Install the highest version of ``request`` the index has that fits (see the
    module docs), dependencies first, with ``settings`` (as :func:`install` sets them).
    Raises :class:`MarketplaceError` (``not-in-index``),
    :class:`~engine.plugins.resolver.DependencyError`, download and install errors;
    nothing changes when anything fails."""
    if isinstance(request, str):
        request = parse_request(request)
    index.listing(request.id)  # not-in-index, with a did-you-mean
    chosen = choose(store, index, request.id, request.spec)
    if isinstance(chosen, InstalledPlugin):
        return InstallResult(request.id, (chosen,), {}, unchanged=True)
    return install_release(
        store, index, chosen, auto_update=auto_update, options=options, settings=settings
    )


def choose(
    store: Store, index: MarketplaceIndex, id: str, spec: SpecifierSet
) -> Release | InstalledPlugin:
    """What ``id`` should be: the highest version in ``spec`` (from the index, or the
    installed one) that fits every installed plugin's range on it and lets every
    dependency be satisfied. Raises :class:`~engine.plugins.resolver.DependencyError`
    showing the conflict when none does."""
    installed = {p.identifier: p for p in store.plugins()}
    others = {i: parse_version(p.version) for i, p in installed.items() if i != id}
    requirements = {i: SpecifierSet() for i in others}
    dependents = _dependents(installed, id)
    allowed = functools.reduce(operator.and_, (r for _, r in dependents), SpecifierSet())
    requirements[id] = spec & allowed
    pool = CandidatePool({}, installed, index)
    try:
        resolution = resolve(requirements, pool, installed=others, api_versions=tuple(API_VERSIONS))
    except DependencyError:
        if dependents and _any_fits(pool, id, spec) and not _any_fits(pool, id, spec & allowed):
            raise _refused_by_dependents(id, spec, dependents) from None
        raise
    source = resolution.selected[id].source
    if not isinstance(source, Release | InstalledPlugin):
        raise PluginError(f"no version of '{id}' could be chosen", code="dependency-unavailable")
    return source


def install_release(
    store: Store,
    index: MarketplaceIndex,
    release: Release,
    *,
    auto_update: bool | None = None,
    options: Options | None = None,
    settings: Mapping[str, Any] | None = None,
) -> InstallResult:
    """Download ``release`` (checked against the index) and install it (with
    ``settings``), fetching the dependencies the installer needs from the same index."""
    options = options or Options()
    with store.stage() as staging:
        archive = fetch(release, staging.scratch("download"), policy=options.download)
        return install(
            store,
            marketplace_source(archive, release),
            grant=options.grant,
            confirm=options.confirm,
            profile=options.profile,
            provider=index,
            fetch=functools.partial(fetch_candidate, policy=options.download),
            events=options.events,
            auto_update=auto_update,
            progress=options.progress,
            catalog=options.catalog,
            origin=options.origin,
            may_replace=options.may_replace,
            settings=settings,
        )


def fetch_candidate(
    candidate: Candidate, folder: Path, *, policy: DownloadPolicy | None = None
) -> InstallSource:
    """The installer's ``fetch``: download a dependency the resolver chose from an index."""
    release = candidate.source
    if not isinstance(release, Release):
        raise PluginError(
            f"'{candidate.id}' {candidate.version} is not in a marketplace index",
            code="dependency-unavailable",
            hint=f"install '{candidate.id}' first",
        )
    return marketplace_source(fetch(release, folder, policy=policy), release)


def marketplace_source(archive: Path, release: Release) -> InstallSource:
    """What the installer records for an archive from an index (kept in the store)."""
    detail = {
        "index": release.index,
        "url": release.url,
        "sha256": release.sha256,
        "size": release.size,
        "version": release.version_text,
        "api_version": release.api_version,
        "dependencies": dict(release.requires),
        "published": release.published,
    }
    return InstallSource.marketplace(
        archive, release.plugin, release.version_text, ref=release.url, detail=detail
    )


def update(
    store: Store,
    index: MarketplaceIndex,
    identifier: str | None = None,
    *,
    everything: bool = False,
    options: Options | OptionsFor | None = None,
) -> UpdateReport:
    """Update ``identifier``, else every plugin with ``auto_update`` on (every plugin the
    index lists with ``everything``), each to the highest version every dependent's
    range allows. A failure stops only the plugin it concerns. ``options``: how to
    install, the same for every plugin, or chosen for each (given its record)."""
    report = UpdateReport()
    if identifier is not None:
        store.require(identifier)
        targets = [identifier]
    else:
        targets = []
        for plugin in store.plugins():
            if not (everything or plugin.auto_update):
                report.skipped.append((plugin.identifier, "auto_update is off"))
            elif plugin.identifier not in index.plugins:
                report.skipped.append((plugin.identifier, "no marketplace index lists it"))
            else:
                targets.append(plugin.identifier)
    for id in targets:
        try:
            _update_one(store, index, id, options, report)
        except EngineError as error:
            if identifier is not None:
                raise
            if error.code == "overwrite-refused":  # not this caller's to update: no failure
                report.skipped.append((id, error.message))
            else:
                report.failed.append((id, error))
    return report


def _update_one(
    store: Store,
    index: MarketplaceIndex,
    id: str,
    options: Options | OptionsFor | None,
    report: UpdateReport,
) -> None:
    current = store.require(id)
    index.listing(id)
    chosen = choose(store, index, id, SpecifierSet())
    if isinstance(chosen, InstalledPlugin) or chosen.version <= parse_version(current.version):
        report.current.append((id, current.version))
        return
    own = options(current) if callable(options) else options
    report.updated.append(install_release(store, index, chosen, options=own))


def set_auto_update(store: Store, identifier: str, enabled: bool) -> bool:
    """Turn ``auto_update`` on or off for an installed plugin; True if it changed."""
    plugin = store.require(identifier)
    if plugin.auto_update == enabled:
        return False
    with store.transaction() as conn:
        conn.execute(
            "UPDATE plugins SET auto_update = ? WHERE identifier = ?", (int(enabled), identifier)
        )
    return True


def _dependents(
    installed: Mapping[str, InstalledPlugin], id: str
) -> list[tuple[InstalledPlugin, SpecifierSet]]:
    """The installed plugins that depend on ``id``, with their ranges on it."""
    return [
        (plugin, dependency_range(plugin.dependencies[id], plugin.api_version))
        for other, plugin in sorted(installed.items())
        if other != id and id in plugin.dependencies
    ]


def _any_fits(pool: CandidatePool, id: str, spec: SpecifierSet) -> bool:
    return any(
        c.api_version in API_VERSIONS and spec.contains(c.version, prereleases=True)
        for c in pool.candidates(id)
    )


def _refused_by_dependents(
    id: str, spec: SpecifierSet, dependents: list[tuple[InstalledPlugin, SpecifierSet]]
) -> DependencyError:
    needs = "; ".join(
        f"the installed '{p.identifier}' {p.version} needs '{id}' {format_range(r)}"
        for p, r in dependents
    )
    return DependencyError(
        f"'{id}' {format_range(spec) or 'any version'} cannot be installed: {needs}",
        code="dependency-conflict",
        hint=f"update or uninstall those plugins first, or ask for a version of '{id}' they accept",
    )
