"""The server's host over the plugin store: installed actions as tools, runs, operations.

Longer than 400 lines: the host is the server's whole view of the store, and its one
worker thread owns every change; each method is short.

Everything that touches the store's database (installs, settings, reloading) runs on
one worker thread, so a long install never blocks the server's other requests and the
database is never used from two threads at once. Runs stay on the event loop, and so do
the hooks of the store events a change fires (:meth:`StoreHost.change`): gathered on the
store's thread, run once the change is done and the tools reloaded, as the command line
runs them (the plugins' grants and profiles, the caller's profile, secrets never shown).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from engine.diagnostics.errors import EngineError, ErrorKind, PluginError, StepError
from engine.engine import Engine
from engine.lang.limits import Limits, Profile
from engine.load.loader import load_text
from engine.plugins.docs import plugin_markdown
from engine.plugins.events import StoreEvent
from engine.plugins.history import RunHistory
from engine.plugins.hooked import bus_for
from engine.plugins.hooks import Event, HookBus
from engine.plugins.layout import inside
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.records import InstalledPlugin
from engine.plugins.serving import ServedPlugins
from engine.plugins.status import PluginState, state_of
from engine.plugins.store import Store
from engine.server import ecosystem, hints, ownership
from engine.server.host import ActionEntry, ClientProgress
from engine.server.naming import action_tool_name
from engine.server.operations import OPERATION_HANDLERS
from engine.server.ownership import Change
from engine.server.shown import LOCAL_KINDS, HostPaths
from engine.tools.bridge import ToolBridge
from engine.tools.catalog import Need, ToolCatalog, ToolClass
from engine.tools.config import Settings
from engine.tools.grants import class_of
from engine.validate import manifest_needs
from engine.validate.inputs import declared_inputs_schema

if TYPE_CHECKING:
    from engine.server.updating import AutoUpdates

logger = logging.getLogger("km_actions.server")
T = TypeVar("T")

# Profiles from loosest to strictest: a caller may pick the server's or a stricter one.
STRICTNESS = (Profile.NONE, Profile.STANDARD, Profile.STRICT, Profile.SANDBOX)


class EventLog:
    """The store events one change fires, gathered on the store's thread (it is the
    store's ``events`` callback), their hooks run afterwards under ``limits``."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.events: list[StoreEvent] = []
        self.done = False  # the store work has finished (nothing more will come)

    def __call__(self, event: StoreEvent) -> None:
        self.events.append(event)


@dataclass
class Loaded:
    """One consistent view of the installed actions (replaced whole on every change)."""

    served: ServedPlugins
    bus: HookBus
    tools: list[ActionEntry]
    sources: tuple[str, ...]  # the local paths plugins were installed from


class StoreHost:
    """Installed actions as MCP tools, and the `km_plugin_ecosystem` operations."""

    def __init__(self, store: Store, bridge: ToolBridge, settings: Settings) -> None:
        self.store = store
        self.bridge = bridge
        self.settings = settings
        self.engine = Engine(catalog=bridge.catalog())
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="km-actions-store")
        # One history for every reload, written behind: an answer never waits for it.
        self.runs = RunHistory(store, write_behind=True)
        self._generation = 0
        self._listeners: list[Callable[[], Awaitable[None]]] = []
        self._data_version: int | None = None
        self._unpublished: list[EventLog] = []
        self.auto_updates: AutoUpdates | None = None  # what `serve` updated by itself
        # The paths answers must not show, with what they were gathered from.
        self._paths: tuple[Loaded, Settings, int | None, HostPaths] | None = None
        self.loaded = self._load()

    # -- loading ---------------------------------------------------------------------

    def _load(self) -> Loaded:
        served = ServedPlugins.load(
            self.store,
            engine=self.engine,
            compile=False,
            runs=self.runs,
            profiles=self.settings.limits_for,
        )
        bus = bus_for(served, bridge=self.bridge, limits=self.limits(None))
        tools: list[ActionEntry] = []
        if self.settings.action_tools:
            tools = self._entries(served)
        self._data_version = self._current_data_version()
        sources = tuple(p.source_ref for p in self.store.plugins() if p.source_kind in LOCAL_KINDS)
        return Loaded(served, bus, tools, sources)

    def host_paths(self) -> HostPaths:
        """The paths of this machine the store and settings know: the store, where each
        plugin was installed from, the folders MCP callers may install from (those of
        the marketplaces as they are now: adding one does not reload the store), the
        configuration file, the upstream server's command and folder. Kept until one of
        them changes."""
        marketplaces = Marketplaces(self.store.root)
        try:
            changed = marketplaces.path.stat().st_mtime_ns
        except OSError:
            changed = None
        cached = self._paths
        if (
            cached is None
            or cached[0] is not self.loaded
            or cached[1] is not self.settings
            or cached[2] != changed
        ):
            try:
                market = marketplaces.local_folders()
            except EngineError:  # an unreadable list of marketplaces: said where it is used
                market = []
            folders = [*self.settings.install_paths, *market, *_settings_paths(self.settings)]
            paths = HostPaths.of(self.store.root, self.loaded.sources, folders)
            self._paths = cached = (self.loaded, self.settings, changed, paths)
        return cached[3]

    def _entries(self, served: ServedPlugins) -> list[ActionEntry]:
        catalog = self.catalog()
        disabled = self.settings.disabled_action_tools
        out: list[ActionEntry] = []
        for plugin in self.store.plugins():
            if not plugin.enabled or plugin.identifier not in served.plugins:
                continue
            for action in self.store.actions(plugin):
                qualified = f"{plugin.identifier}/{action.name}"
                if qualified in disabled or plugin.identifier in disabled:
                    continue
                classes = {class_of(n, catalog) for n in _needs_of(served, qualified, catalog)}
                out.append(
                    ActionEntry(
                        plugin=plugin.identifier,
                        name=action.name,
                        tool_name=action_tool_name(plugin.identifier, action.name),
                        title=f"{plugin.name}: {action.name}",
                        description=action.description or f"The action {qualified}.",
                        input_schema=declared_inputs_schema(action.inputs),
                        read_only=bool(classes) and classes <= {ToolClass.READ_ONLY},
                        destructive=ToolClass.DESTRUCTIVE in classes,
                    )
                )
        return out

    def _current_data_version(self) -> int | None:
        try:
            row = self.store.conn.execute("PRAGMA data_version").fetchone()
        except Exception:  # a closed or busy database: treat as unknown
            return None
        return int(row[0]) if row else None

    async def reload(self, *, notify: bool = True) -> None:
        """Read the store again (after a change) and tell clients if the tools changed."""
        before = [(t.tool_name, t.description, t.input_schema) for t in self.loaded.tools]
        self.loaded = await self.in_worker(self._load)
        self._generation += 1
        after = [(t.tool_name, t.description, t.input_schema) for t in self.loaded.tools]
        if notify and before != after:
            for listener in list(self._listeners):
                await listener()

    async def watch_store(self, interval: float = 2.0) -> None:
        """Notice changes other processes make (the CLI installing while the server
        runs) and reload; runs until cancelled."""
        while True:
            await asyncio.sleep(interval)
            version = await self.in_worker(self._current_data_version)
            if version is not None and version != self._data_version:
                try:
                    await self.reload()
                except EngineError as error:
                    logger.warning("reloading the installed plugins failed: %s", error)

    async def settle(self) -> None:
        """Reload once the store work in flight has finished (the store's thread runs one
        job at a time, so the reload queued now runs after it), then run the hooks of the
        events it fired."""
        try:
            await self.reload()
        except EngineError as error:
            logger.warning("reloading the installed plugins failed: %s", error)
        for log in [log for log in self._unpublished if log.done]:
            for warning in await self.publish(log):
                logger.warning("%s", warning)

    async def change(
        self,
        work: Callable[[EventLog], T],
        *,
        profile: str | None = None,
        worked: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[T, list[str]]:
        """Run store work that may fire store events (``work(log)``, on the store's
        thread, ``log`` its ``events`` callback); when it fired any (it changed the
        store), reload the tools (announcing any change) and run the hooks of its events,
        under ``profile`` (the server's by default). Returns what the work returned and
        the hooks that failed, as warnings. A failure of the work is raised after the
        same (what it did before it failed is served and heard). A caller that stops
        waiting (a timeout, a cancellation) leaves both to :meth:`settle`. ``worked`` is
        awaited between the work and the reload (to report progress)."""
        log = EventLog(self.limits(profile))
        self._unpublished.append(log)

        def job() -> T:
            try:
                return work(log)
            finally:
                log.done = True

        try:
            result = await self.in_worker(job)
        except asyncio.CancelledError:
            raise  # the work goes on: settle() reloads and runs its hooks once it is done
        except BaseException:
            await self._changed(log)
            raise
        if worked is not None:
            await worked()
        return result, await self._changed(log)

    async def _changed(self, log: EventLog) -> list[str]:
        if log.events:
            await self.reload()
        return await self.publish(log)

    async def publish(self, log: EventLog) -> list[str]:
        """Run the hooks listening for the events of ``log`` (once), on the bus of the
        plugins as they are now; the failed ones as warnings."""
        if log not in self._unpublished:
            return []
        self._unpublished.remove(log)
        warnings: list[str] = []
        bus = self.loaded.bus
        for event in log.events:
            happened = Event(event.name, plugin=event.plugin, data=event.data, origin=event.origin)
            outcomes = await bus.publish(happened, limits=log.limits)
            warnings.extend(o.message for o in outcomes if not o.ok)
        return warnings

    async def in_worker(self, function: Callable[..., T], *args: Any) -> T:
        """Run store work on the store's own thread.

        Work once queued always runs to its end: a caller that times out or is
        cancelled stops waiting, but the job is not taken off the queue (a pending
        executor job would otherwise be dropped, and a change the answer promised
        would never happen)."""
        job = asyncio.get_running_loop().run_in_executor(self._worker, function, *args)
        job.add_done_callback(_retrieve)
        return await asyncio.shield(job)

    def close(self) -> None:
        self._worker.shutdown(wait=True)
        self.loaded.served.close()

    # -- what the server asks of its host ----------------------------------------------

    def generation(self) -> int:
        """A number that changes whenever the set of action tools may have changed."""
        return self._generation

    def action_tools(self) -> list[ActionEntry]:
        """The actions offered as tools (empty when per-action tools are switched off)."""
        return self.loaded.tools

    def on_tools_changed(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Register what to call after the tool set changed."""
        self._listeners.append(callback)

    def catalog(self) -> ToolCatalog:
        """The km_* tools actions can call (the upstream's, or the shipped catalog)."""
        return self.engine.catalog

    def plugin_ids(self) -> list[str]:
        return [p.identifier for p in self.store.plugins()]

    def plugin_docs(self, plugin: str) -> str:
        """The plugin's generated documentation, under a line with its status (and,
        when it cannot be served, why and the fix)."""
        text = plugin_markdown(self.store, plugin)
        state = self.plugin_state(plugin).to_dict()
        line = f"> Status: **{state['status']}**"
        problem = state["problem"]
        if problem is not None:
            hint = hints.for_mcp(problem["hint"])
            line += f" ({problem['code']}): {problem['message']}" + (
                f". Fix: {hint}" if hint else ""
            )
        return f"{line}\n\n{text}"

    def action_uses(self, qualified: str) -> dict[str, Any]:
        """What an installed action calls (each tool, and operation, with its class) and
        the permissions it declares itself (None: it declares none). Store work."""
        identifier, _, name = qualified.partition("/")
        plugin = self.store.require(identifier)
        record = next(a for a in self.store.actions(plugin) if a.name == name)
        path = inside(self.store.folder(plugin), record.path)
        catalog = self.catalog()
        data = load_text(path.read_text("utf-8"), file=record.path, catalog=catalog).data
        declared = data.get("permissions") if isinstance(data, Mapping) else None
        return {
            "tools": [
                {
                    "tool": need.tool,
                    "operation": need.operation,
                    "class": class_of(need, catalog).value,
                }
                for need in manifest_needs(data, catalog)
            ],
            "declared": list(declared) if isinstance(declared, list) else None,
        }

    def plugin_state(self, plugin: str) -> PluginState:
        """The status the last load gave ``plugin`` (``unloaded`` if it came since)."""
        record = self.store.require(plugin)
        return state_of(self.loaded.served.states, plugin, record.enabled)

    def limits(self, profile: str | None) -> Limits:
        """The limits of ``profile`` (the server's default when None), from the config."""
        chosen = self.profile(profile)
        return self.settings.limits_for(chosen)

    def profile(self, requested: str | None) -> Profile:
        """The profile to use: the caller's, if it is not looser than the server's."""
        default = self.settings.default_profile
        if requested is None:
            return default
        chosen = Profile(requested)
        if STRICTNESS.index(chosen) < STRICTNESS.index(default):
            raise StepError(
                ErrorKind.PERMISSION_DENIED,
                f"the security profile `{chosen.value}` is looser than this server allows "
                f"(`{default.value}`)",
                hint="choose the server's profile or a stricter one; the server's own is "
                "set with `km-actions config set security.default_profile …`",
                path=("security_profile",),
            )
        return chosen

    def may(self, change: Change) -> Callable[[InstalledPlugin], None]:
        """The origin check of :mod:`engine.server.ownership` for ``change``, as a callback
        (what MCP callers may do to the plugins the user installed)."""
        return ownership.guard(change, allow=self.settings.allow_mcp_overwrite)

    def may_change(self, identifier: str, change: Change) -> InstalledPlugin:
        """The installed plugin ``identifier``, if an MCP caller may make ``change`` to it."""
        plugin = self.store.require(identifier)
        self.may(change)(plugin)
        return plugin

    def ceiling(self) -> tuple[str, ...]:
        """What MCP callers may grant on this server (``security.ceiling``)."""
        return self.settings.ceiling

    def ceiling_confirm(self) -> Callable[[Any], bool]:
        """An install ``confirm`` that refuses permissions beyond the server's ceiling
        (what MCP callers may grant; raising it takes the CLI or the config file),
        operation by operation."""
        catalog = self.catalog()
        allowed = catalog.coverage(self.settings.ceiling)
        ceiling = ", ".join(self.settings.ceiling)

        def confirm(request: Any) -> bool:
            beyond = [(n, c) for n, c in request.needs if not allowed.covers(n)]
            if beyond:
                raise PluginError(
                    f"{request.plugin} asks for "
                    + ", ".join(f"{need} ({c.value})" for need, c in beyond)
                    + f", beyond what MCP callers may grant on this server ({ceiling}): "
                    "only the user can grant " + ("them" if len(beyond) > 1 else "it"),
                    code="permission-not-allowed",
                    hint="ask only for the operations the actions use (tool:operation, e.g. "
                    "km_variable_manager:get); the user can install it with `km-actions "
                    "install`, or raise the ceiling with `km-actions config set "
                    "security.ceiling …`",
                )
            return True

        return confirm

    async def execute(
        self,
        qualified: str,
        inputs: Mapping[str, Any],
        *,
        timeout: float | None,
        profile: str | None,
        progress: ClientProgress | None,
    ) -> dict[str, Any]:
        """Run an installed action (with its plugin's grant, settings and hooks); its
        envelope as an MCP caller sees it (see :meth:`shown`)."""
        envelope = await self._execute(
            qualified, inputs, timeout=timeout, profile=profile, progress=progress
        )
        return self.shown(envelope)

    async def _execute(
        self,
        qualified: str,
        inputs: Mapping[str, Any],
        *,
        timeout: float | None,
        profile: str | None,
        progress: ClientProgress | None,
    ) -> dict[str, Any]:
        await self.follow_catalog()
        try:
            limits = self.limits(profile)
            loaded = self.loaded
            pipeline = loaded.served.pipeline(qualified)

            def runner(events: Any) -> Awaitable[Any]:
                # The caller's timeout stops the run itself: its failure is recorded and
                # sets off `action_failed` like any other.
                return loaded.served.run(
                    qualified,
                    inputs,
                    bridge=self.bridge,
                    limits=limits,
                    events=events,
                    progress=progress,
                    timeout=timeout,
                )

            outcome = await loaded.bus.run_with(pipeline, runner, limits=limits)
        except EngineError as error:
            return ecosystem.failure("execute", error)
        result = outcome.result
        extra = {"backend": result.bridge, "simulated": result.simulated}
        warnings = list(getattr(outcome, "warnings", []) or [])
        stopped = result.error
        if stopped is not None and stopped.details.get("limit") == "timeout":
            return ecosystem.failure("execute", stopped, warnings=warnings)  # counts unknown
        data = {
            "action": qualified,
            "outputs": result.outputs,
            "status": result.status.value,
            "duration_ms": round(result.duration * 1000, 3),
            "steps_run": result.steps_run,
            "tool_calls": result.tool_calls,
        }
        if result.error is not None:
            envelope = ecosystem.failure("execute", result.error, warnings=warnings, **extra)
            envelope["data"] = data
            return envelope
        return ecosystem.success("execute", data, warnings=warnings, **extra)

    async def operation(
        self, operation: str, args: Mapping[str, Any], progress: ClientProgress | None
    ) -> dict[str, Any]:
        """Run one checked `km_plugin_ecosystem` operation; its envelope."""
        await self.follow_catalog()
        try:
            envelope = await OPERATION_HANDLERS[operation](self, args, progress)
        except EngineError as error:
            envelope = ecosystem.failure(operation, error)
        return envelope if operation == "execute" else self.shown(envelope)

    def shown(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """``envelope`` as an MCP caller sees it: no path of this machine anywhere in it
        (see :mod:`engine.server.shown`) but in what an action gives back (its
        ``outputs`` and ``trace``: its tools' answers, the caller's to have)."""
        paths = self.host_paths()
        data = envelope.get("data")
        if not isinstance(data, dict):
            return dict(paths.answer(envelope))
        # What the action gave back is not even read: it may be large.
        kept = {k: data[k] for k in ("outputs", "trace") if k in data}
        rest = paths.answer({k: v for k, v in data.items() if k not in kept})
        shown_data = {k: kept[k] if k in kept else rest[k] for k in data}
        return {k: shown_data if k == "data" else paths.answer(v) for k, v in envelope.items()}

    async def follow_catalog(self) -> None:
        """If the bridge's tools changed (an upstream that reconnected lists its tools
        again: a restarted, perhaps upgraded, Keyboard Maestro server), check and compile
        against the new ones from now on, and offer the action tools again."""
        catalog = self.bridge.catalog()
        if catalog is self.engine.catalog:
            return
        self.engine = Engine(catalog=catalog)
        try:
            await self.reload()
        except EngineError as error:
            logger.warning("reloading the installed plugins failed: %s", error)


def _settings_paths(settings: Settings) -> list[Path]:
    """The configuration file, and the paths in the upstream server's command (its
    program, a script) and its folder."""
    upstream = settings.upstream
    words = [str(settings.path)] if settings.path is not None else []
    if upstream is not None:
        words += [*(upstream.command or ()), *([upstream.cwd] if upstream.cwd else [])]
    return [Path(word) for word in words if os.path.isabs(word)]


def _retrieve(job: asyncio.Future[Any]) -> None:
    """Mark the outcome of a job nobody waits for any more as seen (its failure is
    logged rather than reported as never retrieved)."""
    if not job.cancelled() and job.exception() is not None:
        logger.debug("store work whose caller stopped waiting failed: %s", job.exception())


def _needs_of(served: ServedPlugins, qualified: str, catalog: ToolCatalog) -> list[Need]:
    """What an installed action's tool steps need, from its manifest (no compile)."""
    document = served.library.document(qualified)
    return manifest_needs(document.data if document is not None else {}, catalog)
