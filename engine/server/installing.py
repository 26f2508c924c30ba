"""The `install` and `update` operations, with their `dependency_resolution` modes.

- ``auto`` (the default): dependencies the plugin needs and the store lacks are
  installed from the configured marketplaces (when there are any).
- ``installed``: only plugins already installed may satisfy them; the install is refused
  (``dependency-missing``) when one is lacking.
- ``upgrade``: as ``auto``, then each of the plugin's dependencies is updated to the
  highest version every installed plugin's range allows.

`update` updates one plugin, or those with ``auto_update`` on (``auto_update: false``:
every plugin a marketplace lists); it installs the dependencies a new version needs, so
it takes ``auto`` and ``upgrade`` only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.diagnostics.errors import SettingsError
from engine.plugins import lifecycle, remote, updates
from engine.plugins.download import DownloadPolicy
from engine.plugins.events import EventCallback
from engine.plugins.installer import InstallResult, InstallSource, install
from engine.plugins.marketplace import MarketplaceIndex, Release, fetch
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.origins import MCP_INSTALL
from engine.plugins.store import Store
from engine.server import ecosystem, ownership, sources
from engine.server.arguments import ParameterError, check_api_version
from engine.server.host import ClientProgress, thread_progress
from engine.server.ownership import Change

if TYPE_CHECKING:  # the host runs these operations: it imports this module
    from engine.server.store_host import EventLog, StoreHost


def configure(
    host: StoreHost,
    identifier: str,
    values: Mapping[str, Any],
    *,
    events: EventCallback | None = None,
) -> lifecycle.ConfigureResult:
    """Change a plugin's settings for an MCP caller: only a plugin MCP callers installed
    (see :mod:`engine.server.ownership`). Runs on the store's thread. A refusal is at
    the setting, in `plugin_config`."""
    host.may_change(identifier, Change.CONFIGURE)
    with given_settings():
        return lifecycle.configure(host.store, identifier, dict(values), events=events)


@contextlib.contextmanager
def given_settings() -> Iterator[None]:
    """Settings refused while this runs are located where the caller gave them:
    ``$.plugin_config.token``."""
    try:
        yield
    except SettingsError as refused:
        raise refused.under("plugin_config") from None


def install_result(result: InstallResult) -> dict[str, Any]:
    """The `data` of a successful install."""
    plugin = result.plugin
    return {
        "identifier": result.identifier,
        "version": plugin.version,
        "unchanged": result.unchanged,
        "installed": [f"{p.identifier}@{p.version}" for p in result.installed],
        "upgraded": dict(result.upgraded),
        "dropped_settings": {
            plugin: [{"name": d.name, "reason": d.reason} for d in dropped]
            for plugin, dropped in result.dropped_settings.items()
        },
        "needs_configuration": {k: list(v) for k, v in result.needs_configuration.items()},
    }


def configured_index(store: Store) -> MarketplaceIndex | None:
    """The configured marketplaces as one index, or None when there are none."""
    marketplaces = Marketplaces(store.root)
    return marketplaces.load(gate=marketplaces.gate()).index if marketplaces.entries() else None


def required_index(store: Store) -> MarketplaceIndex:
    """The configured marketplaces as one index (``no-marketplace`` without any)."""
    marketplaces = Marketplaces(store.root)
    return marketplaces.load(gate=marketplaces.gate()).index


def download_policy(host: StoreHost) -> DownloadPolicy:
    """How downloads for an MCP caller go: what the marketplaces the user added list, on
    any public host (a loopback or private address only at those marketplaces' own
    places); see :class:`~engine.plugins.download.Gate`."""
    return DownloadPolicy(gate=Marketplaces(host.store.root).gate())


def _is_request(source: str) -> bool:
    """A marketplace request (``id`` or ``id@range``), not a path or a URL: told from the
    text alone (whether a file of that name exists is not a caller's to learn)."""
    return (
        not remote.is_url(source)
        and not sources.names_a_path(source)
        and updates.is_request_text(source)
    )


def _local_source(host: StoreHost, source: str) -> Path:
    """The real path of a local source an MCP caller names, when it lies in a folder the
    user allowed (``security.install_paths``, or a marketplace index's folder) and outside
    km-actions' own store; refused before the path is looked at otherwise (see
    :mod:`engine.server.sources`)."""
    allowed = [*host.settings.install_paths, *Marketplaces(host.store.root).local_folders()]
    return sources.allowed_path(source, allowed, host.store.root)


def _install_from(
    host: StoreHost, source: str, args: Mapping[str, Any], options: updates.Options, scratch: Path
) -> InstallResult:
    """Install ``source`` (a URL, a path, or a marketplace ``id[@range]``)."""
    mode = args.get("dependency_resolution", "auto")
    auto_update = args.get("auto_update")
    settings = args.get("plugin_config") or None
    if _is_request(source):
        index = required_index(host.store)
        if mode != "installed":
            return updates.install_request(
                host.store,
                index,
                source,
                auto_update=auto_update,
                options=options,
                settings=settings,
            )
        request = updates.parse_request(source)
        index.listing(request.id)  # not-in-index, with a did-you-mean
        chosen = updates.choose(host.store, index, request.id, request.spec)
        if not isinstance(chosen, Release):
            return InstallResult(request.id, (chosen,), {}, unchanged=True)
        archive = fetch(chosen, scratch / "download", policy=options.download)
        target: InstallSource | Path | str = updates.marketplace_source(archive, chosen)
        provider = None
    else:
        if remote.is_url(source):
            # A URL the caller names: only on the hosts the user allowed.
            target = remote.download_source(
                source,
                host.store.root,
                scratch,
                stranger=True,
                allowed_hosts=host.settings.allowed_hosts,
            )
        else:
            # one_name: a hard link in an allowed folder may be a file outside it
            target = InstallSource.of(_local_source(host, source), one_name=True)
        provider = configured_index(host.store) if mode != "installed" else None
    fetch_dependency = (
        functools.partial(updates.fetch_candidate, policy=options.download)
        if provider is not None
        else None
    )
    return install(
        host.store,
        target,
        confirm=options.confirm,
        profile=options.profile,
        provider=provider,
        fetch=fetch_dependency,
        auto_update=auto_update,
        catalog=options.catalog,
        progress=options.progress,
        origin=options.origin,
        may_replace=options.may_replace,
        events=options.events,
        settings=settings,
    )


def _upgrade_dependencies(
    host: StoreHost, identifier: str, options: updates.Options
) -> dict[str, Any]:
    """`upgrade`: update each dependency of ``identifier`` as far as every range allows
    (those the user installed are not an MCP caller's to update: skipped)."""
    store = host.store
    index = required_index(store)
    report = updates.UpdateReport()
    for dependency in sorted(store.require(identifier).dependencies):
        installed = store.get(dependency)
        if installed is not None and not ownership.allowed(
            installed, allow=host.settings.allow_mcp_overwrite
        ):
            report.skipped.append(
                (dependency, "the user installed it: MCP callers may not update it")
            )
        elif dependency in index.plugins:
            report = _merge(report, updates.update(store, index, dependency, options=options))
        else:
            report.skipped.append((dependency, "no marketplace index lists it"))
    return report.to_dict()


def _merge(into: updates.UpdateReport, more: updates.UpdateReport) -> updates.UpdateReport:
    into.updated.extend(more.updated)
    into.current.extend(more.current)
    into.skipped.extend(more.skipped)
    into.failed.extend(more.failed)
    return into


async def op_install(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    """Install a plugin (then apply `plugin_config`, and upgrade dependencies if asked);
    the hooks of what it fired run once it is all done."""
    check_api_version(args)
    source = str(args["plugin_source"])
    profile = args.get("security_profile")
    options = updates.Options(
        confirm=host.ceiling_confirm(),
        profile=host.profile(profile),
        catalog=host.catalog(),
        progress=thread_progress(progress, "checking the plugin's actions"),
        download=download_policy(host),
        origin=MCP_INSTALL,
        may_replace=host.may(Change.REPLACE),
    )

    def work(log: EventLog) -> tuple[InstallResult, dict[str, Any]]:
        chosen = dataclasses.replace(options, events=log)
        with tempfile.TemporaryDirectory() as scratch, given_settings():
            result = _install_from(host, source, args, chosen, Path(scratch))
        data = install_result(result)
        if args.get("dependency_resolution") == "upgrade":
            data["dependencies_updated"] = _upgrade_dependencies(host, result.identifier, chosen)
        if result.unchanged:
            _configure(host, result.identifier, args, data, log)
        return result, data

    # Whatever was installed before a failure is announced too.
    (result, data), hooks = await host.change(work, profile=profile)
    warnings = [d.to_dict() for d in result.warnings] + hooks
    return ecosystem.success("install", data, warnings=warnings)


def _configure(
    host: StoreHost,
    identifier: str,
    args: Mapping[str, Any],
    data: dict[str, Any],
    events: EventCallback,
) -> None:
    """Apply `plugin_config` to a plugin the install found installed already (a new
    version gets it in the install itself)."""
    if not args.get("plugin_config"):
        return
    configured = configure(host, identifier, args["plugin_config"], events=events)
    needs = data["needs_configuration"]
    needs.pop(identifier, None)
    if configured.missing:
        needs[identifier] = list(configured.missing)


async def op_update(
    host: StoreHost, args: Mapping[str, Any], progress: ClientProgress | None
) -> dict[str, Any]:
    """Update one plugin, or many (see the module docs)."""
    if args.get("dependency_resolution") == "installed":
        raise ParameterError(
            "`dependency_resolution` cannot be `installed` for `update`: a newer version "
            "gets the dependencies it needs",
            hint="use auto (the default), or upgrade to update the dependencies too",
            path=("dependency_resolution",),
        )
    profile = args.get("security_profile")
    given = updates.Options(
        confirm=host.ceiling_confirm(),
        profile=host.profile(profile),
        catalog=host.catalog(),
        download=download_policy(host),
        origin=MCP_INSTALL,
        may_replace=host.may(Change.UPDATE),
    )
    identifier = args.get("plugin_identifier")

    def work(log: EventLog) -> dict[str, Any]:
        options = dataclasses.replace(given, events=log)
        if identifier and "auto_update" in args:
            host.may_change(str(identifier), Change.AUTO_UPDATE)
            updates.set_auto_update(host.store, str(identifier), bool(args["auto_update"]))
        index = required_index(host.store)
        everything = identifier is None and args.get("auto_update") is False
        report = updates.update(
            host.store, index, identifier, everything=everything, options=options
        )
        if args.get("dependency_resolution") == "upgrade":
            for result in list(report.updated):
                for dependency in sorted(result.plugin.dependencies):
                    if dependency in index.plugins:
                        _merge(
                            report, updates.update(host.store, index, dependency, options=options)
                        )
        return report.to_dict()

    data, warnings = await host.change(work, profile=profile)
    return ecosystem.success("update", data, warnings=warnings)
