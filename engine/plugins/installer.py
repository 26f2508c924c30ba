"""Installing and upgrading plugins: stage, check everything, then commit atomically.

Longer than 400 lines: one install is one transaction: staging, the checks, the commit
and its journal share the staged state; each is its own function.

Seams (for the marketplace and hooks):

- **Source**: :func:`install` takes an :class:`InstallSource`. For a marketplace,
  ``InstallSource.marketplace(archive, identifier, version, ref=url, detail=entry)``
  names an archive already downloaded and checked against the index's sha256, with the
  index entry kept in the store (``source_detail``); the archive must hold that exact
  identifier and version.
- **Resolution**: ``provider`` is any :class:`~engine.plugins.resolver.CandidateProvider`
  (a marketplace index). When the resolver picks a candidate that is not installed,
  ``fetch(candidate, scratch_folder)`` must return an :class:`InstallSource` for it.
- **Events**: ``events`` is called after the commit, once per plugin, with a
  :class:`StoreEvent` (``installed`` or ``upgraded``); its failures become warnings.

What install does, in order: stage the source in ``staging/`` (on the store's
filesystem; folders copied without links or special files, archives extracted member by
member), read and check ``plugin.yaml`` (api_version first), resolve dependencies
(installed plugins plus the provider; a conflict shows the chain of who needs what),
validate every action in the plugin's context (any invalid action refuses the plugin),
certify it (:mod:`engine.plugins.certify`: what it finds is kept, it refuses nothing),
compute the lock (sha256 of every file), check the permissions against the security
profile and the caller's grant, carry settings over from the version it replaces
(reporting those the new schema no longer accepts) and set those given (checked first,
before the permissions are asked for), and commit: ``BEGIN IMMEDIATE``,
rename the staged folder into ``plugins/``, write the rows, ``COMMIT``; the old
version's folder is removed only after that. A crash at any point leaves the old state
or the new one (see :mod:`engine.plugins.faults` for how the tests prove it).

>>> import tempfile
>>> from pathlib import Path
>>> from engine.plugins.store import Store
>>> with Store.open(Path(tempfile.mkdtemp())) as store:
...     result = install(store, "actions/title-case-variable.yaml")
...     result.plugin.identifier, result.plugin.version
('title-case-variable', '1.0.0')
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.diagnostics.errors import Diagnostic, PluginError, SettingsError
from engine.lang.limits import Profile
from engine.plugins import records
from engine.plugins._cache import digest as cache_digest
from engine.plugins._cache import dump_documents
from engine.plugins._checks import check_key, forget, remember
from engine.plugins._recovery import Journal, Operation
from engine.plugins._secrets import SecretChange
from engine.plugins._stage import InstallSource, SourceKind
from engine.plugins.archives import ArchiveLimits
from engine.plugins.certify import certify_manifest
from engine.plugins.events import EventCallback, StoreEvent, notify
from engine.plugins.faults import crash_point
from engine.plugins.layout import remove_tree, sync_folder
from engine.plugins.permissions import (
    PermissionRequest,
    check_grant,
    check_limits,
    check_profile,
)
from engine.plugins.plan import (
    Fetch,
    Staged,
    installed_signatures,
    plan,
    stage_source,
    validate_staged,
)
from engine.plugins.progress import Progress
from engine.plugins.records import ActionRecord, GrantEntry, InstalledPlugin
from engine.plugins.resolver import CandidateProvider
from engine.plugins.settings import (
    DroppedSetting,
    carry_over,
    changed_settings,
    effective,
    missing,
    split,
)
from engine.plugins.store import FOLDER_MODE, Store
from engine.tools.catalog import ToolCatalog

__all__ = [
    "InstallResult",
    "InstallSource",
    "MayReplace",
    "SourceKind",
    "StoreEvent",
    "install",
]

Confirm = Callable[[PermissionRequest], bool]
MayReplace = Callable[[InstalledPlugin], None]
"""Told each installed plugin an install would replace (upgrade, downgrade, other files);
raises to refuse it (nothing is installed then)."""
_ATTEMPTS = 5


@dataclass(frozen=True)
class InstallResult:
    """What an install did. ``plugin`` is the one asked for; ``installed`` every plugin
    written (dependencies first); ``upgraded`` maps those that replaced a version to it."""

    identifier: str
    installed: tuple[InstalledPlugin, ...]
    upgraded: Mapping[str, str]
    unchanged: bool = False
    dropped_settings: Mapping[str, tuple[DroppedSetting, ...]] = dataclasses.field(
        default_factory=dict
    )
    needs_configuration: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    warnings: tuple[Diagnostic, ...] = ()
    event_warnings: tuple[str, ...] = ()

    @property
    def plugin(self) -> InstalledPlugin:
        return next(p for p in self.installed if p.identifier == self.identifier)


class _StoreChanged(Exception):
    """Another process changed the installed plugins while this install was planned."""


@dataclass(eq=False)
class _Prepared:
    staged: Staged
    plain: dict[str, Any]
    secrets: dict[str, Any] | None  # None: keep the secrets file as it is
    dropped: tuple[DroppedSetting, ...]
    missing: tuple[str, ...]
    request: PermissionRequest
    grant: tuple[GrantEntry, ...]
    cache: Path
    cache_sha: str
    settings_seen: tuple[str, str | None] = ("{}", None)  # what the migration started from


def install(
    store: Store,
    source: InstallSource | str | Path,
    *,
    grant: Iterable[str] | None = None,
    confirm: Confirm | None = None,
    profile: Profile = Profile.STANDARD,
    provider: CandidateProvider | None = None,
    fetch: Fetch | None = None,
    events: EventCallback | None = None,
    auto_update: bool | None = None,
    progress: Progress | None = None,
    catalog: ToolCatalog | None = None,
    limits: ArchiveLimits | None = None,
    origin: str | None = None,
    may_replace: MayReplace | None = None,
    settings: Mapping[str, Any] | None = None,
) -> InstallResult:
    """Install (or upgrade to) the plugin at ``source``; see the module docs for the steps.

    Permissions: with ``grant``, every permission asked for must be covered by it;
    ``confirm`` is shown each plugin's :class:`PermissionRequest` and may refuse it; with
    neither, the caller has the user's consent for what the plugin asks. The ``profile``
    caps what may be granted either way. Raises :class:`PluginError` (or a subclass) and
    changes nothing when anything is wrong.

    ``origin`` (see :mod:`engine.plugins.origins`), when given, is recorded for every
    plugin the install writes, dependencies included, instead of the source's own.
    ``may_replace`` is asked about every installed plugin the install would replace.
    ``settings`` are set on the plugin asked for (on those the version it replaces had),
    in the same commit: settings its schema refuses refuse the install
    (:class:`~engine.diagnostics.errors.SettingsError`). An install that finds the same
    version installed (``unchanged``) does not look at them.
    """
    if not isinstance(source, InstallSource):
        source = InstallSource.of(source)
    catalog = catalog or ToolCatalog.builtin()
    limits = limits or ArchiveLimits()
    given = list(grant) if grant is not None else None
    for attempt in range(_ATTEMPTS):
        try:
            return _install_once(
                store, source, given, confirm, profile, provider, fetch, events,
                auto_update, progress, catalog, limits, origin, may_replace, settings,
            )  # fmt: skip
        except _StoreChanged:
            if attempt == _ATTEMPTS - 1:
                break
    raise PluginError(
        "other processes kept changing the installed plugins; nothing was installed",
        code="store-busy",
        hint="try again when other installs have finished",
    )


def _install_once(
    store: Store,
    source: InstallSource,
    grant: list[str] | None,
    confirm: Confirm | None,
    profile: Profile,
    provider: CandidateProvider | None,
    fetch: Fetch | None,
    events: EventCallback | None,
    auto_update: bool | None,
    progress: Progress | None,
    catalog: ToolCatalog,
    limits: ArchiveLimits,
    origin: str | None,
    may_replace: MayReplace | None,
    settings: Mapping[str, Any] | None,
) -> InstallResult:
    target = stage_source(store, source, catalog=catalog, limits=limits)
    ordered = [target]
    try:
        crash_point("after-stage")
        installed = {p.identifier: p for p in store.plugins()}
        snapshot = {i: (p.version, p.digest) for i, p in installed.items()}
        previous = installed.get(target.identifier)
        if previous is not None and (previous.version, previous.digest) == (
            target.version,
            target.digest,
        ):
            return InstallResult(target.identifier, (previous,), {}, unchanged=True)
        ordered = plan(
            store, target, installed, provider=provider, fetch=fetch, catalog=catalog,
            limits=limits,
        )  # fmt: skip
        for item in ordered:
            item.previous = installed.get(item.identifier)
            if item.previous is not None and may_replace is not None:
                may_replace(item.previous)
        warnings = validate_staged(store, ordered, catalog, progress)
        _certify(store, ordered, catalog)
        given = {target.identifier: settings} if settings else {}
        prepared = [
            _prepare(store, item, catalog, profile, grant, confirm, given.get(item.identifier))
            for item in ordered
        ]
        _commit(store, prepared, snapshot, source, profile, auto_update, origin)
        key = check_key(catalog)  # validated against these tools: no need to check again
        for p in prepared:
            remember(store.layout, p.staged.digest, key)
    finally:
        for item in ordered:
            item.close()
    return _result(store, target.identifier, prepared, warnings, events)


def _certify(store: Store, ordered: list[Staged], catalog: ToolCatalog) -> None:
    """Certify every staged plugin (engine.plugins.certify): what it found is kept with
    the version, for `describe`. A plugin that is not certified still installs."""
    others = installed_signatures(store, excluding={item.identifier for item in ordered})
    for item in ordered:
        others.update({a.signature.qualified: a.signature for a in item.manifest.actions})
    for item in ordered:
        report = certify_manifest(item.manifest, catalog=catalog, others=others)
        item.certification = report.summary()


def _result(
    store: Store,
    identifier: str,
    prepared: list[_Prepared],
    warnings: list[Diagnostic],
    events: EventCallback | None,
) -> InstallResult:
    """Tell the listeners, and say what the committed install did."""
    changes = [
        StoreEvent(
            "upgraded" if p.staged.previous else "installed",
            p.staged.identifier,
            p.staged.version,
            p.staged.previous.version if p.staged.previous else None,
        )
        for p in prepared
    ]
    event_warnings = notify(events, *changes)
    return InstallResult(
        identifier=identifier,
        installed=tuple(store.require(p.staged.identifier) for p in prepared),
        upgraded={e.plugin: e.previous_version for e in changes if e.previous_version},
        dropped_settings={p.staged.identifier: p.dropped for p in prepared if p.dropped},
        needs_configuration={p.staged.identifier: p.missing for p in prepared if p.missing},
        warnings=tuple(warnings),
        event_warnings=tuple(event_warnings),
    )


def _prepare(
    store: Store,
    item: Staged,
    catalog: ToolCatalog,
    profile: Profile,
    grant: list[str] | None,
    confirm: Confirm | None,
    settings: Mapping[str, Any] | None,
) -> _Prepared:
    manifest = item.manifest
    # Settings first: a caller who gave wrong ones is not asked to grant permissions.
    plain, secrets, dropped, needed, seen = _new_settings(store, item, settings)
    granted = [g.entry for g in store.grant(item.identifier)] if item.previous else None
    request = PermissionRequest.of(
        item.identifier, item.version, manifest.permissions, catalog, granted=granted
    )
    check_profile(request, profile, catalog)
    if manifest.document is not None:
        check_limits(item.identifier, item.version, manifest.document, profile)
    if grant is not None:
        check_grant(request, grant, catalog)
    if confirm is not None and not confirm(request):
        raise PluginError(
            f"the permissions of '{item.identifier}' {item.version} were not granted; "
            "nothing was installed",
            code="install-declined",
            hint="install it again and grant what it asks for, or leave it out",
        )
    documents = {
        a.path: dataclasses.replace(a.document, file=f"{item.identifier}/{a.path}")
        for a in manifest.actions
    }
    blob = dump_documents(documents, catalog)
    cache = item.staging.scratch("manifests.pickle")
    cache.write_bytes(blob)
    return _Prepared(
        item,
        plain,
        secrets,
        dropped,
        needed,
        request,
        request.grant_entries(catalog),
        cache,
        cache_digest(blob),
        seen,
    )


def _new_settings(
    store: Store, item: Staged, given: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None, tuple[DroppedSetting, ...], tuple[str, ...], Any]:
    """The settings the new version gets: those of the version it replaces that its
    schema still accepts, with ``given`` set on them, checked against the schema
    (:class:`SettingsError`, before anything is written). Returns (plain values, secret
    values or None to keep the secrets file, those dropped, required ones still unset,
    the stored state they started from)."""
    schema = item.manifest.configuration_schema
    seen = _settings_state(store.conn, item.identifier)
    plain: dict[str, Any] = {}
    old_secrets: dict[str, Any] = {}
    kept_secrets: dict[str, Any] = {}
    dropped: tuple[DroppedSetting, ...] = ()
    if item.previous is not None:
        old_plain, old_secrets = store.settings(item.identifier), store.secrets(item.identifier)
        plain, kept_secrets, lost = carry_over(schema, old_plain, old_secrets)
        dropped = tuple(lost)
    if given:
        current = {**plain, **kept_secrets}
        try:
            plain, kept_secrets = split(
                schema, changed_settings(item.identifier, schema, current, given)
            )
        except SettingsError as refused:
            raise _not_installed(item, refused) from None
    secrets = kept_secrets if kept_secrets != old_secrets else None
    needed = tuple(missing(schema, effective(schema, plain, kept_secrets)))
    return plain, secrets, dropped, needed, seen


def _not_installed(item: Staged, refused: SettingsError) -> SettingsError:
    """``refused`` as an install says it: nothing was installed, and how to go on."""
    hint = (
        f"give values its configuration_schema accepts, or install '{item.identifier}' "
        f"without them and set them afterwards (`km-actions configure {item.identifier}`)"
    )
    if refused.code != "invalid-config":  # unknown-setting: its did-you-mean says more
        hint = refused.hint or hint
    return SettingsError(
        f"{refused.message}; nothing was installed",
        code=refused.code,
        hint=hint,
        diagnostics=[dataclasses.replace(d, hint=hint) for d in refused.diagnostics],
    )


def _settings_state(conn: sqlite3.Connection, identifier: str) -> tuple[str, str | None]:
    """The stored settings as compared before committing: a configure that committed
    meanwhile makes the install start over instead of being overwritten."""
    plain, digest = records.read_settings(conn, identifier)
    return json.dumps(plain, sort_keys=True), digest


def _version_row(item: Staged, cache_sha: str) -> records.VersionRow:
    manifest = item.manifest
    actions = tuple(
        ActionRecord(
            name=a.name,
            path=a.path,
            description=a.description,
            inputs=dict(a.document.data.get("inputs") or {}),
            outputs=a.signature.outputs,
            calls=a.signature.calls,
        )
        for a in manifest.actions
    )
    return records.VersionRow(
        identifier=item.identifier,
        version=item.version,
        folder=item.folder,
        digest=item.digest,
        api_version=manifest.api_version,
        plugin_type=manifest.plugin_type.value,
        name=manifest.name,
        description=manifest.description,
        metadata=manifest.metadata(),
        files=item.lock,
        actions=actions,
        cache=cache_sha,
    )


def _commit(
    store: Store,
    prepared: list[_Prepared],
    snapshot: Mapping[str, tuple[str, str]],
    source: InstallSource,
    profile: Profile,
    auto_update: bool | None,
    origin: str | None,
) -> None:
    renamed: list[Path] = []
    caches: list[Path] = []
    changes: list[SecretChange] = []
    try:
        with store.transaction() as conn:
            current = {p.identifier: (p.version, p.digest) for p in records.read_plugins(conn)}
            changed = any(_settings_state(conn, p.staged.identifier) != p.settings_seen
                          for p in prepared)  # fmt: skip
            if current != snapshot or changed:
                raise _StoreChanged
            for p in prepared:
                p.staged.staging.journal(_journal(store, p.staged))
            crash_point("before-rename")
            for p in prepared:
                target = store.layout.path(p.staged.folder)
                target.parent.mkdir(mode=FOLDER_MODE, exist_ok=True)
                remove_tree(target)  # a leftover no row refers to (checked above)
                os.rename(p.staged.content, target)
                renamed.append(target)
                sync_folder(target.parent)
            crash_point("after-rename")
            for p in prepared:
                _write_rows(store, conn, p, source, profile, auto_update, origin, caches, changes)
            crash_point("before-commit")
    except BaseException:
        for path in renamed:
            remove_tree(path)
        for cache in caches:
            cache.unlink(missing_ok=True)
        for change in reversed(changes):
            change.undo()
        raise
    crash_point("after-commit")
    for p in prepared:
        previous = p.staged.previous
        if previous is not None and previous.folder != p.staged.folder:
            remove_tree(store.folder(previous))
            if previous.digest != p.staged.digest:
                store.cache_file(previous).unlink(missing_ok=True)
                forget(store.layout, previous.digest)
    for change in changes:
        change.finish()
    crash_point("after-cleanup")


def _journal(store: Store, item: Staged) -> Journal:
    """The folders an interrupted install may leave: its new one (before the commit) and
    the one it replaces (after)."""
    folders = [item.folder]
    previous = item.previous
    if previous is not None and previous.folder != item.folder:
        folders.append(store.folder(previous).relative_to(store.root).as_posix())
    return Journal(Operation.INSTALL, tuple(folders))


def _write_rows(
    store: Store,
    conn: sqlite3.Connection,
    p: _Prepared,
    source: InstallSource,
    profile: Profile,
    auto_update: bool | None,
    origin: str | None,
    caches: list[Path],
    changes: list[SecretChange],
) -> None:
    item = p.staged
    previous = item.previous
    if previous is not None:
        records.delete_version(conn, previous.identifier, previous.version)
    cache = store.layout.cache_file(item.digest)
    os.replace(p.cache, cache)
    caches.append(cache)
    records.write_version(conn, _version_row(item, p.cache_sha))
    if item.certification is not None:
        records.write_certification(conn, item.identifier, item.version, item.certification)
    is_target = item.source is source
    records.write_plugin(
        conn,
        records.PluginRow(
            identifier=item.identifier,
            version=item.version,
            source_kind=item.source.kind.value,
            source_ref=_ref(item.source),
            source_detail=item.source.detail,
            origin=origin
            or (item.source.origin if is_target or item.source.expected else "dependency"),
            auto_update=bool(
                auto_update
                if auto_update is not None and is_target
                else previous.auto_update
                if previous
                else False
            ),
            profile=profile.value,
            enabled=previous.enabled if previous else True,
        ),
    )
    records.write_grant(conn, item.identifier, p.grant)
    digest = records.read_settings(conn, item.identifier)[1]
    if p.secrets is not None:
        change = SecretChange.write(store.secrets_dir, item.identifier, p.secrets)
        changes.append(change)
        digest = change.digest
    records.write_settings(conn, item.identifier, p.plain, digest)


def _ref(source: InstallSource) -> str:
    if source.kind in (SourceKind.MARKETPLACE, SourceKind.URL):
        return source.ref
    try:
        return str(Path(source.ref).resolve())
    except OSError:
        return source.ref
