"""Planning an install: staging, dependency resolution, and validating what will be installed.

The plugin asked for is staged first; the resolver then picks a version of every plugin
involved, dependencies it chose that are not installed are fetched and staged too, and
every staged action is validated with the actions it may call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from engine.diagnostics.errors import Diagnostic, PluginError
from engine.load.ranges import dependency_range, format_version, parse_version
from engine.plugins._stage import InstallSource, stage
from engine.plugins.archives import ArchiveLimits
from engine.plugins.layout import version_folder
from engine.plugins.lock import LockEntry, compute_lock, lock_digest
from engine.plugins.manifest import (
    API_VERSIONS,
    ActionFiles,
    PluginManifest,
    load_action_files,
    load_actions,
    read_action_file,
    read_manifest,
)
from engine.plugins.progress import Progress
from engine.plugins.records import ActionRecord, InstalledPlugin, read_all_actions
from engine.plugins.resolver import Candidate, CandidateProvider, resolve
from engine.plugins.store import Staging, Store
from engine.tools.catalog import ToolCatalog
from engine.validate import ActionSignature
from engine.validate.context import readable_inputs

Fetch = Callable[[Candidate, Path], InstallSource]
"""Gets a candidate the resolver chose that is not installed: given it and a scratch
folder, returns a source to install it from (a marketplace downloads and checks it)."""

_MAX_ROUNDS = 20
READ_ONLY = 0o444


@dataclass(eq=False)
class Staged:
    """One plugin staged for install: its files, manifest and lock."""

    source: InstallSource
    staging: Staging
    content: Path
    manifest: PluginManifest
    previous: InstalledPlugin | None = None
    lock: tuple[LockEntry, ...] = ()
    digest: str = ""
    files: ActionFiles | None = field(default=None, repr=False)
    certification: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def identifier(self) -> str:
        return self.manifest.identifier

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def folder(self) -> str:
        """Where it goes, relative to the store root."""
        return version_folder(self.identifier, self.version, self.digest)

    def close(self) -> None:
        self.staging.close()


def stage_source(
    store: Store,
    source: InstallSource,
    *,
    catalog: ToolCatalog,
    limits: ArchiveLimits,
) -> Staged:
    """Copy or extract ``source`` into a new staging folder and read its manifest."""
    staging = store.stage()
    try:
        root = stage(source, staging.package, limits=limits)
        if root.is_dir():
            manifest = read_manifest(root, label=source.label, catalog=catalog)
        else:
            manifest = read_action_file(root, label=source.label, catalog=catalog)
        if source.expected is not None:
            _check_expected(source, manifest)
        content = root if root.is_dir() else root.parent
        staged = Staged(source, staging, content, manifest)
        staged.lock = compute_lock(content, sync=True)
        staged.digest = lock_digest(staged.lock)
        _make_read_only(content, staged.lock)
        return staged
    except BaseException:
        staging.close()
        raise


def _make_read_only(content: Path, lock: tuple[LockEntry, ...]) -> None:
    """Installed files are never written again: make that visible to editors too."""
    for entry in lock:
        os.chmod(content / entry.path, READ_ONLY)


def _check_expected(source: InstallSource, manifest: PluginManifest) -> None:
    assert source.expected is not None  # checked by the caller
    identifier, version = source.expected
    if (manifest.identifier, manifest.version) != (identifier, version):
        raise PluginError(
            f"{source.ref} holds '{manifest.identifier}' {manifest.version}, but the index "
            f"says it is '{identifier}' {version}; nothing was installed",
            code="source-mismatch",
            hint="the index is wrong about this archive: tell the marketplace's maintainer",
        )


class CandidatePool:
    """Versions the resolver may choose: staged ones, installed ones, and a provider's."""

    def __init__(
        self,
        staged: Mapping[str, Staged],
        installed: Mapping[str, InstalledPlugin],
        extra: CandidateProvider | None,
    ) -> None:
        self.staged = staged
        self.installed = installed
        self.extra = extra

    def candidates(self, id: str) -> list[Candidate]:
        out: list[Candidate] = []
        staged = self.staged.get(id)
        if staged is not None:
            m = staged.manifest
            out.append(Candidate(id, m.semver, m.ranges, m.api_version, staged))
        installed = self.installed.get(id)
        if installed is not None:
            ranges = {
                dep: dependency_range(text, installed.api_version)
                for dep, text in installed.dependencies.items()
            }
            version = parse_version(installed.version)
            out.append(Candidate(id, version, ranges, installed.api_version, installed))
        if self.extra is not None:
            out.extend(self.extra.candidates(id))
        return out


def plan(
    store: Store,
    target: Staged,
    installed: Mapping[str, InstalledPlugin],
    *,
    provider: CandidateProvider | None,
    fetch: Fetch | None,
    catalog: ToolCatalog,
    limits: ArchiveLimits,
) -> list[Staged]:
    """Every plugin to install (dependencies first, ``target`` last among its dependents).

    Dependencies the resolver picks that are not installed are fetched and staged;
    resolution runs again with their real manifests until nothing is missing.
    """
    staged: dict[str, Staged] = {target.identifier: target}
    try:
        for _ in range(_MAX_ROUNDS):
            requirements = {target.identifier: SpecifierSet(f"=={target.version}")}
            requirements.update({i: SpecifierSet() for i in _roots(installed, target)})
            resolution = resolve(
                requirements,
                CandidatePool(staged, installed, provider),
                installed={i: parse_version(p.version) for i, p in installed.items()},
                api_versions=tuple(API_VERSIONS),
            )
            chosen = resolution.selected
            missing = [
                c for c in chosen.values() if not isinstance(c.source, Staged | InstalledPlugin)
            ]
            dropped = [i for i in staged if i not in chosen or chosen[i].source is not staged[i]]
            for id in dropped:
                staged.pop(id).close()
            if not missing:
                return [staged[i] for i in resolution.order if i in staged]
            for candidate in missing:
                staged[candidate.id] = _fetch(store, candidate, target, fetch, catalog, limits)
    except BaseException:
        for item in staged.values():
            if item is not target:
                item.close()
        raise
    raise PluginError(
        "the dependencies could not be settled: the marketplace keeps offering versions "
        "whose manifests say otherwise",
        code="dependency-conflict",
        hint="install the dependencies one by one, or tell the marketplace's maintainer",
    )


def _roots(installed: Mapping[str, InstalledPlugin], target: Staged) -> list[str]:
    """The installed plugins to keep as requirements: those no other one depends on (the
    rest come in as their dependencies, so a conflict shows who needs them), and any
    not reachable from those (plugins that only depend on each other)."""
    others = {i: p for i, p in installed.items() if i != target.identifier}
    needed = {dep for p in others.values() for dep in p.dependencies}
    roots = [i for i in others if i not in needed]
    reached: set[str] = set()
    pending = list(roots)
    while pending:
        current = pending.pop()
        if current in reached or current not in others:
            continue
        reached.add(current)
        pending.extend(others[current].dependencies)
    return sorted(roots + [i for i in others if i not in reached])


def _fetch(
    store: Store,
    candidate: Candidate,
    target: Staged,
    fetch: Fetch | None,
    catalog: ToolCatalog,
    limits: ArchiveLimits,
) -> Staged:
    version = format_version(candidate.version)
    if fetch is None:
        raise PluginError(
            f"'{target.identifier}' needs '{candidate.id}' {version}, which is not installed "
            "and cannot be downloaded here",
            code="dependency-unavailable",
            hint=f"install '{candidate.id}' first, or install from a marketplace",
        )
    scratch = target.staging.scratch("downloads")
    scratch.mkdir(exist_ok=True)
    source = fetch(candidate, scratch)
    staged = stage_source(store, source, catalog=catalog, limits=limits)
    if (staged.identifier, staged.manifest.semver) != (candidate.id, candidate.version):
        staged.close()
        raise PluginError(
            f"the source offered for '{candidate.id}' {version} holds "
            f"'{staged.identifier}' {staged.version}",
            code="source-mismatch",
            hint="the index is wrong about this archive: tell the marketplace's maintainer",
        )
    return staged


def signature_of(identifier: str, record: ActionRecord) -> ActionSignature:
    """An installed action's signature, from what the store recorded."""
    return ActionSignature(
        name=record.name,
        plugin=identifier,
        inputs=readable_inputs(record.inputs),
        outputs=record.outputs,
        calls=record.calls,
    )


def installed_signatures(
    store: Store, *, excluding: frozenset[str] | set[str] = frozenset()
) -> dict[str, ActionSignature]:
    """Every installed action's signature by ``plugin/name`` (what other plugins may call)."""
    out: dict[str, ActionSignature] = {}
    for identifier, actions in read_all_actions(store.conn).items():
        if identifier not in excluding:
            for record in actions:
                sig = signature_of(identifier, record)
                out[sig.qualified] = sig
    return out


def validate_staged(
    store: Store,
    ordered: list[Staged],
    catalog: ToolCatalog,
    progress: Progress | None = None,
) -> list[Diagnostic]:
    """Validate every staged plugin's actions, with installed and staged plugins'
    actions callable; returns the warnings. Also refuses to break installed dependents."""
    replaced = {s.identifier for s in ordered}
    installed_actions = read_all_actions(store.conn)
    others = installed_signatures(store, excluding=replaced)
    for item in ordered:
        item.files = load_action_files(item.manifest)
        others.update(item.files.qualified())
    warnings: list[Diagnostic] = []
    total = sum(len(item.files.loaded) for item in ordered if item.files is not None)
    done = 0
    for item in ordered:
        files = item.files
        item.manifest = load_actions(
            item.manifest,
            catalog=catalog,
            others=others,
            files=files,
            progress=_counting(progress, done, total),
        )
        done += len(files.loaded) if files is not None else 0
        warnings.extend(item.manifest.warnings)
    _check_dependents(ordered, installed_actions, replaced)
    return warnings


def _counting(progress: Progress | None, start: int, total: int) -> Callable[[int], None] | None:
    """Reports one plugin's validated actions as part of the whole install's."""
    if progress is None:
        return None
    report = progress
    return lambda done: report(start + done, total)


def _check_dependents(
    ordered: list[Staged], installed_actions: Mapping[str, list[ActionRecord]], replaced: set[str]
) -> None:
    names = {s.identifier: {a.name for a in s.manifest.actions} for s in ordered}
    for identifier, actions in installed_actions.items():
        if identifier in replaced:
            continue
        for action in actions:
            for call in action.calls:
                plugin, _, name = call.partition("/")
                if plugin in names and name and name not in names[plugin]:
                    new = next(s for s in ordered if s.identifier == plugin)
                    raise PluginError(
                        f"'{plugin}' {new.version} has no action `{name}`, which the installed "
                        f"'{identifier}' calls (`{call}` in its action `{action.name}`)",
                        code="dependent-broken",
                        hint=f"keep the version of '{plugin}' that has it, or update "
                        f"'{identifier}' first",
                    )
