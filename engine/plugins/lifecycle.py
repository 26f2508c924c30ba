"""Uninstall, enable, disable, configure and verify installed plugins.

Every change takes the store's write lock (``BEGIN IMMEDIATE``) and commits before any
file is removed, so a crash leaves the old state or the new one; events
(``uninstalled``, ``configured``, ``enabled``, ``disabled``) are sent after the commit.

>>> import tempfile
>>> from pathlib import Path
>>> from engine.plugins.installer import install
>>> from engine.plugins.store import Store
>>> with Store.open(Path(tempfile.mkdtemp())) as store:
...     _ = install(store, "actions/clipboard-tools")
...     result = configure(store, "clipboard-tools", {"share_token": "tok-12345678"})
...     off = disable(store, "clipboard-tools")
...     print(result.settings["share_token"], result.missing, off.changed)
...     [r.ok for r in verify(store)], uninstall(store, "clipboard-tools").removed
•••••• () True
([True], ('clipboard-tools',))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import PluginError
from engine.plugins import records
from engine.plugins._checks import forget
from engine.plugins._recovery import Journal, Operation
from engine.plugins._secrets import SecretChange, remove_secrets
from engine.plugins.events import EventCallback, StoreEvent, notify
from engine.plugins.faults import crash_point
from engine.plugins.layout import remove_empty, remove_tree
from engine.plugins.lock import IntegrityProblem, check_files
from engine.plugins.records import InstalledPlugin
from engine.plugins.settings import changed_settings, effective, masked, missing, split
from engine.plugins.store import Store


@dataclass(frozen=True)
class UninstallResult:
    """The plugins removed (dependents first, the one asked for last)."""

    removed: tuple[str, ...]
    event_warnings: tuple[str, ...] = ()


def dependents_order(store: Store, identifier: str) -> list[str]:
    """Every installed plugin depending on ``identifier``, directly or not, each listed
    before the plugins it depends on (the order to remove them in)."""
    order: list[str] = []
    seen = {identifier}

    def visit(target: str) -> None:
        for dependent in store.dependents(target):
            if dependent not in seen:
                seen.add(dependent)
                visit(dependent)
                order.append(dependent)

    visit(identifier)
    return order


def uninstall(
    store: Store,
    identifier: str,
    *,
    remove_dependents: bool = False,
    events: EventCallback | None = None,
    may_remove: Callable[[InstalledPlugin], None] | None = None,
) -> UninstallResult:
    """Remove a plugin; refused while installed plugins depend on it, unless
    ``remove_dependents`` (then they are removed first). ``may_remove`` is asked about
    each plugin to remove, under the store's lock, and may refuse (raise)."""
    store.require(identifier)
    with store.stage() as staging:  # holds the journal until the files are gone
        with store.transaction():  # decided under the write lock: no dependent appears
            doomed = _doomed(store, identifier, remove_dependents)
            records_of = {p.identifier: p for p in store.plugins() if p.identifier in doomed}
            if may_remove is not None:
                for name in doomed:
                    may_remove(records_of[name])
            folders = {name: store.folder(plugin) for name, plugin in records_of.items()}
            staging.journal(
                Journal(
                    Operation.UNINSTALL, tuple(p.folder for p in records_of.values()), tuple(doomed)
                )
            )
            for name in doomed:
                records.delete_plugin(store.conn, name)
            crash_point("uninstall-before-commit")
        crash_point("uninstall-after-commit")
        for name in doomed:
            remove_tree(folders[name])
            store.cache_file(records_of[name]).unlink(missing_ok=True)
            forget(store.layout, records_of[name].digest)
            remove_secrets(store.secrets_dir, name)
            remove_empty(store.layout.plugin_folder(name))
    warnings = notify(
        events,
        *(
            StoreEvent("uninstalled", n, records_of[n].version, origin=records_of[n].origin)
            for n in doomed
        ),
    )
    return UninstallResult(tuple(doomed), tuple(warnings))


def _doomed(store: Store, identifier: str, remove_dependents: bool) -> list[str]:
    """The plugins an uninstall removes, dependents first; refused when there are
    dependents and they may not go."""
    dependents = dependents_order(store, identifier)
    if dependents and not remove_dependents:
        raise PluginError(
            f"cannot uninstall '{identifier}': {_listing(dependents)} depend"
            f"{'s' if len(dependents) == 1 else ''} on it",
            code="plugin-has-dependents",
            hint="uninstall those first, or remove them too (--with-dependents)",
        )
    return [*dependents, identifier]


def _listing(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


@dataclass(frozen=True)
class ToggleResult:
    """Whether enabling or disabling a plugin changed anything (an event is sent then)."""

    identifier: str
    enabled: bool
    changed: bool
    event_warnings: tuple[str, ...] = ()


def set_enabled(
    store: Store,
    identifier: str,
    enabled: bool,
    *,
    events: EventCallback | None = None,
    may_change: Callable[[InstalledPlugin], None] | None = None,
) -> ToggleResult:
    """Enable or disable a plugin; ``enabled`` or ``disabled`` is sent when that changed
    anything. ``may_change`` is asked about the plugin, under the store's lock, and may
    refuse (raise)."""
    store.require(identifier)
    with store.transaction() as conn:
        plugin = store.require(identifier)  # decided under the write lock
        if may_change is not None:
            may_change(plugin)
        changed = records.set_enabled(conn, identifier, enabled)
    name = "enabled" if enabled else "disabled"
    warnings = notify(events, StoreEvent(name, identifier, plugin.version)) if changed else []
    return ToggleResult(identifier, enabled, changed, tuple(warnings))


def enable(store: Store, identifier: str, *, events: EventCallback | None = None) -> ToggleResult:
    """Make a plugin's actions available again (``changed`` if it was disabled)."""
    return set_enabled(store, identifier, True, events=events)


def disable(store: Store, identifier: str, *, events: EventCallback | None = None) -> ToggleResult:
    """Keep a plugin installed but its actions unavailable (``changed`` if it was enabled)."""
    return set_enabled(store, identifier, False, events=events)


@dataclass(frozen=True)
class ConfigureResult:
    """A plugin's settings after a change (secrets masked), and required ones still unset."""

    identifier: str
    settings: Mapping[str, Any]
    missing: tuple[str, ...]
    changed: bool
    event_warnings: tuple[str, ...] = ()


def current_settings(store: Store, identifier: str) -> dict[str, Any]:
    """What a plugin's actions see as ``config`` (defaults applied, secrets included)."""
    plugin = store.require(identifier)
    schema = plugin.configuration_schema
    return effective(schema, store.settings(identifier), store.secrets(identifier))


def configure(
    store: Store,
    identifier: str,
    values: Mapping[str, Any] | None = None,
    *,
    unset: Iterable[str] = (),
    events: EventCallback | None = None,
) -> ConfigureResult:
    """Set (``values``) or clear (``unset``) settings, checked against the plugin's
    ``configuration_schema`` with its defaults; secrets go to the secrets file only.

    Raises :class:`~engine.diagnostics.errors.ConfigError` (secrets masked in every message).
    """
    plugin = store.require(identifier)
    schema = plugin.configuration_schema
    values = dict(values or {})
    cleared = list(unset)
    with store.transaction() as conn:
        plain, digest = records.read_settings(conn, identifier)
        old_secrets = store.secrets(identifier)
        merged = changed_settings(identifier, schema, {**plain, **old_secrets}, values, cleared)
        new_plain, new_secrets = split(schema, merged)
        changed = new_plain != plain or new_secrets != old_secrets
        change = None
        if new_secrets != old_secrets:
            change = SecretChange.write(store.secrets_dir, identifier, new_secrets)
            digest = change.digest
        try:
            records.write_settings(conn, identifier, new_plain, digest)
            crash_point("configure-before-commit")
        except BaseException:
            if change is not None:
                change.undo()
            raise
    crash_point("configure-after-commit")
    if change is not None:
        change.finish()
    view = effective(schema, new_plain, new_secrets)
    warnings = (
        notify(events, StoreEvent("configured", identifier, plugin.version)) if changed else []
    )
    return ConfigureResult(
        identifier, masked(schema, view), tuple(missing(schema, view)), changed, tuple(warnings)
    )


@dataclass(frozen=True)
class VerifyReport:
    """Whether one installed plugin's files still match its lock."""

    identifier: str
    version: str
    problems: tuple[IntegrityProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store, identifier: str | None = None) -> list[VerifyReport]:
    """Check every file of every installed plugin (or of one) against its lock."""
    plugins = [store.require(identifier)] if identifier else store.plugins()
    reports = []
    for plugin in plugins:
        found = check_files(store.folder(plugin), store.lock(plugin), extras=True)
        reports.append(VerifyReport(plugin.identifier, plugin.version, tuple(found)))
    return reports
