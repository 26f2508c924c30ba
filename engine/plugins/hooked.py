"""Hooks wired to the store: a bus over the installed plugins, store events, history.

:func:`bus_for` builds a :class:`~engine.plugins.hooks.HookBus` from a loaded
:class:`~engine.plugins.serving.ServedPlugins` (its enabled plugins' hooks, grants,
settings), recording every hook run in the store's history.
:func:`run_installed` runs an installed action with its hooks (``emit`` steps,
``action_succeeded``/``action_failed``). A :class:`StoreHooks` is the ``events``
callback of the installer and the lifecycle operations: after each committed change it
runs the hooks listening for ``installed``, ``upgraded``, ``uninstalled``,
``configured``, ``enabled`` or ``disabled``, and keeps their outcomes for the caller to
report (the MCP server runs them itself: :meth:`engine.server.store_host.StoreHost.change`).

>>> import tempfile
>>> from pathlib import Path
>>> from engine.plugins.installer import install
>>> from engine.plugins.store import Store
>>> from engine.simulator import Simulator
>>> with Store.open(Path(tempfile.mkdtemp())) as store:
...     listener = StoreHooks(store, bridge=Simulator())
...     _ = install(store, "actions/clipboard-tools", events=listener)
...     listener.outcomes, listener.warnings
([], [])
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine.compile.compiler import Compiler
from engine.engine import Engine
from engine.lang.limits import Limits
from engine.load.sourcemap import Document
from engine.plugins._db import stamp
from engine.plugins.events import StoreEvent
from engine.plugins.hooks import (
    Event,
    HookBus,
    HookedPlugin,
    HookedRun,
    HookOutcome,
    compile_hooks,
)
from engine.plugins.origins import is_from_mcp
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from engine.run import Clock, EventSink
from engine.tools.bridge import ToolBridge


def bus_for(
    runtime: ServedPlugins,
    *,
    bridge: ToolBridge,
    limits: Limits | None = None,
    clock: Clock | None = None,
    record: bool = True,
) -> HookBus:
    """The hooks of the runtime's (enabled, intact) plugins, on ``bridge``; with
    ``record``, each hook run goes into the store's history like any run."""
    engine = runtime.engine
    compiler = Compiler(
        catalog=runtime.catalog, templates=engine.templates, expressions=engine.expressions
    )
    plugins = []
    for identifier, loaded in runtime.plugins.items():
        hooks = loaded.record.metadata.get("hooks")
        if not hooks:
            continue
        document = Document.from_data({"hooks": hooks}, file=f"{identifier}/plugin.yaml")
        plugins.append(
            HookedPlugin(
                identifier,
                compile_hooks(identifier, document, compiler=compiler, strict=False),
                loaded.grant,
                settings=loaded.settings,
            )
        )
    recorder = _Recorder(runtime) if record else None
    strangers = [p.identifier for p in runtime.store.plugins() if is_from_mcp(p.origin)]
    return HookBus(
        plugins,
        bridge=bridge,
        resolver=runtime,
        limits=limits,
        recorder=recorder,
        clock=clock,
        strangers=strangers,
    )


async def run_installed(
    runtime: ServedPlugins,
    name: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    bridge: ToolBridge,
    limits: Limits | None = None,
    trace: bool = False,
    dry_run: bool = False,
    clock: Clock | None = None,
) -> HookedRun:
    """Run the installed action ``plugin/action`` (recorded in the history) with the
    hooks of the installed plugins; failed hooks are warnings, never the run's error."""
    pipeline = runtime.pipeline(name)
    bus = bus_for(runtime, bridge=bridge, limits=limits, clock=clock)

    def runner(events: EventSink) -> Any:
        return runtime.run(
            name,
            inputs,
            bridge=bridge,
            limits=limits,
            trace=trace,
            dry_run=dry_run,
            clock=clock,
            events=events,
        )

    return await bus.run_with(pipeline, runner, limits=limits)


class StoreHooks:
    """The store's ``events`` callback: runs the hooks of store events after each commit.

    Only when an enabled plugin has a hook on the event are the plugins loaded. Hooks
    run on ``bridge`` with ``limits``; their outcomes collect in :attr:`outcomes` (failed
    ones also as :attr:`warnings`). Runs its own event loop, so call it from synchronous
    code; async callers (the MCP server) use :meth:`HookBus.publish` themselves.
    """

    def __init__(self, store: Store, *, bridge: ToolBridge, limits: Limits | None = None) -> None:
        self.store = store
        self.bridge = bridge
        self.limits = limits
        self.outcomes: list[HookOutcome] = []

    @property
    def warnings(self) -> list[str]:
        return [o.message for o in self.outcomes if not o.ok]

    def __call__(self, event: StoreEvent) -> None:
        if not listens(self.store, event.name):
            return
        # Checked against the tools the hooks will call, as a run on that bridge would be.
        engine = Engine(catalog=self.bridge.catalog())
        runtime = ServedPlugins.load(self.store, engine=engine, compile=False)
        try:
            bus = bus_for(runtime, bridge=self.bridge, limits=self.limits)
            happened = Event(event.name, plugin=event.plugin, data=event.data, origin=event.origin)
            self.outcomes.extend(asyncio.run(bus.publish(happened)))
        finally:
            runtime.close()


def listens(store: Store, event: str) -> bool:
    """True if an enabled plugin of ``store`` has a hook on the store event ``event``."""
    for plugin in store.plugins():
        hooks = plugin.metadata.get("hooks") or ()
        if plugin.enabled and any(h.get("on") == event for h in hooks):
            return True
    return False


class _Recorder:
    """Puts hook runs into the store's history, as runs of the hook's action."""

    def __init__(self, served: ServedPlugins) -> None:
        self.served = served

    def __call__(self, outcome: HookOutcome) -> None:
        if outcome.result is None:
            return
        plugin, _, action = outcome.action.partition("/")
        started = stamp(datetime.fromtimestamp(outcome.started, UTC))
        self.served.record(plugin, action, started, outcome.result)
