"""Running installed actions: every enabled plugin's actions, loaded, checked, compiled.

Longer than 400 lines: loading, checking, compiling and running the served plugins share
one cache of their manifests and one lifecycle.

:meth:`ServedPlugins.load` reads what the store recorded and moves every plugin through
its lifecycle (:mod:`engine.plugins.status`): it checks every file of every enabled
plugin against its lock, takes the parsed manifests from the cache (no YAML is parsed at
start-up; a missing or stale cache is rebuilt), validates them again when the tools in
use are ones they have not been checked against (:mod:`engine.plugins._checks`), then
activates each plugin whose dependencies are served too, and compiles every action. A
plugin that fails a check is in ``error`` with the reason and a fix (the file that
changed, the diagnostics, the missing dependency), and the others still load.
``plugin/action`` names of active plugins then run with the plugin's recorded grant, its
settings as ``config`` (secret ones never shown: see :mod:`engine.lang.secrets`), and other
plugins' actions callable; each run is recorded in the history and metrics.

>>> import asyncio, tempfile
>>> from pathlib import Path
>>> from engine.tools.bridge.mock import MockBridge
>>> from engine.tools.catalog import ToolCatalog
>>> from engine.plugins.installer import install
>>> from engine.plugins.store import Store
>>> with Store.open(Path(tempfile.mkdtemp())) as store:
...     _ = install(store, "actions/clipboard-tools")
...     plugins = ServedPlugins.load(store)
...     bridge = MockBridge({
...         "km_engine_control": [{"success": True, "data": {"processed": " a  b "}}],
...         "km_variable_manager": [{"success": True}]}, ToolCatalog.builtin())
...     result = asyncio.run(plugins.run("clipboard-tools/clean-clipboard", bridge=bridge))
...     result.outputs["text"], plugins.stats()["actions"][0]["runs"]
('a b', 1)
"""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from engine.diagnostics.errors import Diagnostic, EngineError, ErrorKind, StepError
from engine.engine import Engine
from engine.lang.limits import Limits, Profile, tightened
from engine.load.loader import load_bytes, load_text
from engine.load.sourcemap import Document
from engine.plugins import records
from engine.plugins._cache import digest as cache_digest
from engine.plugins._cache import dump_documents, load_documents
from engine.plugins._checks import check_tools, settling_order, unserved_dependency
from engine.plugins._db import now
from engine.plugins.history import RunHistory
from engine.plugins.lock import LockEntry, check_files, integrity_error
from engine.plugins.permissions import grant_from
from engine.plugins.plan import signature_of
from engine.plugins.records import InstalledPlugin
from engine.plugins.settings import effective, missing, plugin_settings
from engine.plugins.status import PluginState, PluginStatus, Step
from engine.plugins.store import Store
from engine.run import Clock, EventSink, run
from engine.run.library import ActionLibrary
from engine.run.model import Pipeline, PluginSettings, RunResult, RunStatus
from engine.run.testing import TestOutcome, run_tests
from engine.tools.bridge import ToolBridge
from engine.tools.catalog import ToolCatalog
from engine.tools.grants import Grant
from engine.validate import ActionSignature, mock_problems

ProfileLimits = Callable[[Profile], Limits]


def _builtin_limits(profile: Profile) -> Limits:
    return profile.limits


@dataclass
class _Plugin:
    record: InstalledPlugin
    grant: Grant
    settings: PluginSettings
    missing: tuple[str, ...]
    actions: dict[str, Document] = field(default_factory=dict)


class ServedPlugins:
    """The enabled plugins' actions, by ``plugin/action`` (an ``ActionResolver`` too)."""

    def __init__(
        self,
        store: Store,
        *,
        engine: Engine | None = None,
        runs: RunHistory | None = None,
        profiles: ProfileLimits | None = None,
    ) -> None:
        self.store = store
        self.profiles: ProfileLimits = profiles or _builtin_limits
        self.engine = engine or Engine()
        self.catalog: ToolCatalog = self.engine.catalog
        self.plugins: dict[str, _Plugin] = {}  # the active ones
        self.states: dict[str, PluginState] = {}  # every installed plugin's
        self.runs = runs if runs is not None else RunHistory(store)
        self._signatures: dict[str, ActionSignature] | None = None
        # The active plugins' actions: what runs, and what `action:` steps call.
        self.library = ActionLibrary(self.engine, installed=self._unavailable)

    @property
    def refused(self) -> dict[str, EngineError]:
        """Why each plugin in ``error`` cannot be served."""
        return {i: s.error for i, s in self.states.items() if s.error is not None}

    @classmethod
    def load(
        cls,
        store: Store,
        *,
        engine: Engine | None = None,
        compile: bool = True,
        runs: RunHistory | None = None,
        profiles: ProfileLimits | None = None,
    ) -> ServedPlugins:
        """Load every enabled plugin (see the module docs); ``compile=False`` leaves
        compiling each action to its first use; ``runs``: where runs are recorded (by
        default, a history of its own); ``profiles``: the limits of each profile (the
        configuration file's overrides applied), the built-in ones by default."""
        served = cls(store, engine=engine, runs=runs, profiles=profiles)
        with _gc_paused():
            conn = store.conn
            locks = records.read_all_files(conn)
            paths = records.read_action_paths(conn)
            grants = _all_grants(conn)
            installed = {p.identifier: p for p in store.plugins()}
            loaded: dict[str, _Plugin] = {}
            for plugin in installed.values():
                state = PluginState(plugin.identifier)
                if not plugin.enabled:
                    served.states[plugin.identifier] = state.advance(Step.DISABLE)
                    continue
                state = state.advance(Step.LOAD)
                try:
                    loaded[plugin.identifier] = served._load_plugin(
                        plugin, locks, paths.get(plugin.identifier, []), grants
                    )
                    state = state.advance(Step.CHECKED)
                except EngineError as error:
                    state = state.advance(Step.FAIL, error)
                served.states[plugin.identifier] = state
            served._activate(installed, loaded)
            if compile:
                for name in served.names():
                    served.pipeline(name)
        return served

    def _activate(
        self, installed: Mapping[str, InstalledPlugin], loaded: Mapping[str, _Plugin]
    ) -> None:
        """Serve each loaded plugin whose dependencies are served (those first); the
        others are in error, saying which dependency is missing and why."""
        for identifier in settling_order(installed):
            state = self.states[identifier]
            if state.status is not PluginStatus.LOADED:
                continue
            problem = unserved_dependency(installed[identifier], installed, self.states)
            if problem is not None:
                self.states[identifier] = state.advance(Step.FAIL, problem)
                continue
            self.states[identifier] = state.advance(Step.ACTIVATE)
            plugin = self.plugins[identifier] = loaded[identifier]
            for document in plugin.actions.values():
                self.library.add(
                    document,
                    plugin=identifier,
                    grant=plugin.grant,
                    config=plugin.settings,
                    checked=True,  # against its lock and the tools in use, when loaded
                )

    def _load_plugin(
        self,
        plugin: InstalledPlugin,
        locks: Mapping[tuple[str, str], list[LockEntry]],
        own: list[tuple[str, str]],
        grants: Mapping[str, list[str]],
    ) -> _Plugin:
        store = self.store
        lock = locks.get((plugin.identifier, plugin.version), [])
        problems = check_files(store.folder(plugin), lock, extras=False)
        if problems:
            raise integrity_error(plugin.identifier, plugin.version, problems, plugin.source_ref)
        documents = self._documents(plugin, [path for _, path in own])
        check_tools(self.store.layout, plugin, documents, self.catalog, self._installed_signatures)
        schema = plugin.configuration_schema
        secrets = store.secrets(plugin.identifier)
        config = effective(schema, store.settings(plugin.identifier), secrets)
        entries = grants.get(plugin.identifier, [])
        return _Plugin(
            record=plugin,
            # A plugin runs under the profile it was installed under, tightened by the
            # limits it declares for itself (and under the caller's).
            grant=grant_from(
                (records.GrantEntry(e, False) for e in entries),
                self.catalog,
                tightened(self.profiles(Profile(plugin.profile)), plugin.resource_limits),
            ),
            settings=plugin_settings(schema, config),
            missing=tuple(missing(schema, config)),
            actions={name: documents[path] for name, path in own},
        )

    def _documents(self, plugin: InstalledPlugin, paths: list[str]) -> dict[str, Document]:
        cache = self.store.cache_file(plugin)
        try:
            blob = cache.read_bytes()
        except OSError:
            blob = b""
        if blob and cache_digest(blob) == plugin.cache:
            found = load_documents(blob, self.catalog)
            if found is not None and all(path in found for path in paths):
                return found
        return self._rebuild(plugin, paths)

    def _rebuild(self, plugin: InstalledPlugin, paths: list[str]) -> dict[str, Document]:
        """Parse the YAML again (the cache is missing, damaged or from another
        km-actions), then write a new cache (the documents are validated next)."""
        documents = {
            path: load_bytes(
                self.store.file(plugin, path).read_bytes(),
                file=f"{plugin.identifier}/{path}",
                catalog=self.catalog,
            )
            for path in paths
        }
        self._write_cache(plugin, dump_documents(documents, self.catalog), documents)
        return documents

    def _installed_signatures(self) -> dict[str, ActionSignature]:
        """Every installed action's signature, by ``plugin/action`` (read once)."""
        if self._signatures is None:
            self._signatures = {}
            for ident, items in records.read_all_actions(self.store.conn).items():
                for record in items:
                    sig = signature_of(ident, record)
                    self._signatures[sig.qualified] = sig
        return self._signatures

    def _write_cache(
        self, plugin: InstalledPlugin, blob: bytes, documents: Mapping[str, Document]
    ) -> None:
        target = self.store.cache_file(plugin)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            partial.write_bytes(blob)
            os.replace(partial, target)
        except OSError:  # the cache only saves time: without it, the YAML is read again
            partial.unlink(missing_ok=True)
            return
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE versions SET cache = ? WHERE identifier = ? AND version = ?",
                (cache_digest(blob), plugin.identifier, plugin.version),
            )
            # Written by an older km-actions (which is why the cache was rebuilt), its
            # record may list the inputs sorted by name.
            declared = {
                path: doc.data.get("inputs")
                for path, doc in documents.items()
                if isinstance(doc.data, Mapping) and isinstance(doc.data.get("inputs"), Mapping)
            }
            records.order_inputs(conn, plugin.identifier, plugin.version, declared)

    # -- names and pipelines -------------------------------------------------------------

    def names(self) -> list[str]:
        """Every runnable action, as ``plugin/action``."""
        return self.library.names()

    def _unavailable(self, name: str) -> EngineError | None:
        """Why the installed action ``name`` cannot run, if its plugin is installed but
        not served (refused, or disabled)."""
        plugin = name.partition("/")[0]
        refused = self.refused.get(plugin)
        if refused is not None:
            return refused
        installed = self.store.get(plugin)
        if installed is not None and not installed.enabled:
            return StepError(
                ErrorKind.NOT_FOUND,
                f"the plugin '{plugin}' is disabled",
                hint=f"enable it with `km-actions enable {plugin}`",
                details={"action": name},
            )
        return None

    def pipeline(self, name: str) -> Pipeline:
        """The compiled action ``plugin/action`` (compiled on first use)."""
        return self.library.pipeline(name)

    def resolve(self, target: str, caller: Pipeline) -> tuple[Pipeline, Grant, PluginSettings]:
        """What an `action:` step runs: its pipeline, its plugin's grant and settings."""
        return self.library.resolve(target, caller)

    def _served(self, name: str) -> tuple[_Plugin, str]:
        """The served plugin of the action ``name`` (that :meth:`pipeline` found)."""
        plugin, _, action = name.partition("/")
        return self.plugins[plugin], action

    # -- running -------------------------------------------------------------------------

    async def run(
        self,
        name: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        bridge: ToolBridge,
        limits: Limits | None = None,
        trace: bool = False,
        dry_run: bool = False,
        clock: Clock | None = None,
        events: EventSink | None = None,
        progress: Any = None,
        timeout: float | None = None,
    ) -> RunResult:
        """Run an installed action and record it in the history and metrics (``progress``:
        as for :func:`engine.run.run`). ``timeout``: the caller's bound, in seconds; a
        run still going then is stopped and comes back failed with ``timeout`` (its
        ``details``: ``{"limit": "timeout", "value": seconds}``), recorded like any."""
        pipeline = self.pipeline(name)
        loaded, action = self._served(name)
        started, clock_started = now(), time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                result = await run(
                    pipeline,
                    inputs,
                    bridge=bridge,
                    limits=limits,
                    grant=loaded.grant,
                    config=loaded.settings,
                    trace=trace,
                    dry_run=dry_run,
                    clock=clock,
                    events=events,
                    resolver=self,
                    progress=progress,
                    timeline=True,  # the history keeps each step's timing
                )
        except TimeoutError:
            result = RunResult(
                RunStatus.FAILED,
                {},
                StepError(
                    ErrorKind.TIMEOUT,
                    f"{name} took longer than {timeout:g} s and was stopped",
                    hint="raise `timeout`, or make the action do less",
                    details={"limit": "timeout", "value": timeout},
                ),
                duration=time.perf_counter() - clock_started,
                bridge=bridge.label,
                simulated=bridge.simulated,
            )
        if result.error is not None and loaded.missing:
            _hint_missing(result.error, loaded)
        self.record(loaded.record.identifier, action, started, result)
        return result

    async def run_tests(self, name: str) -> list[TestOutcome]:
        """Run the ``tests:`` written in an installed action (see
        :func:`engine.run.testing.run_tests`: the settings' defaults and the test's own
        ``config:``, never the user's settings); nothing is recorded."""
        pipeline = self.pipeline(name)
        loaded, _ = self._served(name)
        return await run_tests(
            pipeline, catalog=self.catalog, resolver=self, settings=loaded.settings
        )

    def mock_warnings(self, name: str) -> tuple[list[Diagnostic], Document]:
        """The ``mock-answer-shape`` warnings of an installed action's tests (what
        ``km-actions test`` says before running them), and the document they are in."""
        self.pipeline(name)  # an unknown name fails as running its tests does
        loaded, action = self._served(name)
        served = loaded.actions[action]
        # The manifest cache keeps no spans inside `tests:` (running never points
        # there): the warnings point into the file, so its text (cached) is read again.
        document = (
            load_text(served.text, file=served.file, format=served.format, catalog=self.catalog)
            if served.format in ("yaml", "json")
            else served
        )
        return mock_problems(document, self.catalog), document

    def settings_of(self, plugin: str) -> PluginSettings:
        """The settings of an installed, enabled plugin (none for any other)."""
        loaded = self.plugins.get(plugin)
        return loaded.settings if loaded is not None else PluginSettings()

    def record(self, plugin: str, action: str, started: str, result: RunResult) -> None:
        """Add a run to the store's history and metrics (see :class:`RunHistory`)."""
        self.runs.record(plugin, action, started, result)

    def stats(self, **window: Any) -> dict[str, Any]:
        """Statistics per action over a window (see :meth:`RunHistory.stats`)."""
        return self.runs.stats(**window)

    def history(self, limit: int = 100, **which: Any) -> list[dict[str, Any]]:
        """The most recent runs, newest first (see :meth:`RunHistory.history`)."""
        return self.runs.history(limit, **which)

    def close(self) -> None:
        self.runs.close()


def plugin_states(store: Store, catalog: ToolCatalog | None = None) -> dict[str, PluginState]:
    """Every installed plugin's status, as served when checking against ``catalog`` (the
    shipped one by default) finds it; nothing is compiled."""
    served = ServedPlugins.load(store, engine=Engine(catalog=catalog), compile=False)
    served.close()
    return served.states


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Loading and compiling make hundreds of thousands of small objects that all stay
    # alive; the cyclic collector would scan them again and again for nothing (it more
    # than doubles start-up). It is switched back on afterwards, with what is alive then
    # frozen (gc.freeze): otherwise the first allocation after would scan them all once
    # more (~0.15 s for 1,000 actions). Objects frozen by an earlier load (a server
    # reloading) are unfrozen first, so what that load left as garbage is collected.
    enabled = gc.isenabled()
    gc.disable()
    gc.unfreeze()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


def _all_grants(conn: sqlite3.Connection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for identifier, entry in conn.execute("SELECT identifier, entry FROM permissions"):
        out.setdefault(identifier, []).append(entry)
    return out


def _hint_missing(error: StepError, loaded: _Plugin) -> None:
    """Point at the settings not set yet when the failure is reading one of them."""
    if error.kind not in (ErrorKind.TEMPLATE_ERROR, ErrorKind.EXPRESSION_ERROR) or not any(
        name in error.message for name in loaded.missing
    ):
        return
    names = ", ".join(loaded.missing)
    ident = loaded.record.identifier
    error.hint = (
        f"'{ident}' has settings that are not set yet ({names}): set them with "
        f"`km-actions configure {ident} {loaded.missing[0]}=…`"
    )
