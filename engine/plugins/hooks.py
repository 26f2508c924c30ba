"""Plugin hooks: events (from `emit` steps, the store, action runs) run plugins' actions.

A plugin's ``hooks:`` (in plugin.yaml) name an event (``on``), an action, inputs for
it (``with:`` templates) and a condition (``if:``), with ``event`` in scope:
``event.name``, ``event.plugin``, ``event.action`` and ``event.data``. A
:class:`HookBus` holds the hooks of the enabled plugins. It is the run's
:class:`~engine.run.EventSink` (`emit` steps), the store publishes ``installed``,
``uninstalled``, ``upgraded``, ``configured``, ``enabled`` and ``disabled`` through
:meth:`HookBus.publish`, and
:meth:`HookBus.run_action` runs an installed action and then sends
``action_succeeded`` or ``action_failed``.

A hook's action runs as a run of its own: with the hooking plugin's grant and
settings, the security profile of what triggered it, and on the same tools. Hooks
whose actions emit events that trigger hooks cascade at most ``max_hook_depth`` deep.
A plugin installed over MCP (a stranger's) hears only the events of plugins installed
over MCP, never the user's (an `action_succeeded` carries the run's outputs). A hook
that fails never fails what triggered it: it becomes a :class:`HookOutcome`, given to
the bus's ``recorder`` (the store's history), added to the trace of a traced run, and
returned as a warning by :meth:`HookBus.run_action`.

>>> import asyncio
>>> from engine.tools.grants import Grant
>>> from engine.tools.bridge.inprocess import InProcessBridge
>>> from engine.engine import Engine
>>> from engine.run.library import ActionLibrary
>>> engine, bridge = Engine(), InProcessBridge()
>>> library = ActionLibrary(engine, catalog=bridge.catalog())
>>> _ = library.add(engine.load('api_version: "1.1"\\nkind: action\\nname: note\\n'
...     'inputs: {text: {type: string}}\\nsteps:\\n  - set: {said: "{{ inputs.text }}"}\\n'
...     'outputs: {said: "{{ vars.said }}"}\\n'), plugin="notes")
>>> plugin = engine.load('api_version: "1.1"\\nidentifier: notes\\nname: Notes\\n'
...     'version: 1.0.0\\nhooks:\\n  - on: installed\\n    action: note\\n'
...     '    with: {text: "hello {{ event.plugin }}"}\\n')
>>> bus = HookBus([HookedPlugin("notes", compile_hooks("notes", plugin),
...                             Grant.of_tools(()))],
...               bridge=bridge, resolver=library)
>>> [(o.action, o.status.value, o.outputs) for o in
...  asyncio.run(bus.publish(Event("installed", plugin="notes")))]
[('notes/note', 'succeeded', {'said': 'hello notes'})]
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from engine.diagnostics.errors import ErrorKind, LimitExceeded, StepError
from engine.lang.limits import Limits, Profile, active_limits, current_limits
from engine.lang.secrets import Secrets
from engine.plugins._hook_model import (
    BuiltinEvent,
    Event,
    Hook,
    HookedPlugin,
    HookedRun,
    HookOutcome,
    HookStatus,
    compile_hooks,
)
from engine.plugins.origins import is_from_mcp
from engine.run import ActionResolver, Clock, EventSink, RunState, run
from engine.run.model import Pipeline, PluginSettings, RunResult, RunStatus
from engine.tools.bridge import ToolBridge
from engine.tools.grants import Grant

__all__ = [
    "BuiltinEvent",
    "Event",
    "HookBus",
    "HookOutcome",
    "HookStatus",
    "HookedPlugin",
    "HookedRun",
    "compile_hooks",
]

_NO_GRANT = Grant.of_tools(())


Recorder = Callable[[HookOutcome], None]
Runner = Callable[[EventSink], Awaitable[RunResult]]
"""Runs an action with the given event sink (e.g. ``ServedPlugins.run``)."""

# The outcomes of hooks triggered, directly or through a cascade, by one
# HookBus.run_action or publish call (context variables follow awaits and tasks).
_COLLECTED: ContextVar[list[HookOutcome] | None] = ContextVar("km_hook_outcomes", default=None)


class HookBus:
    """The hooks of the installed, enabled plugins, and the runs they trigger.

    ``bridge`` is where hook actions call tools for events from the store and from
    :meth:`run_action`; hooks triggered by an `emit` step use the tools of the run
    that emitted. ``limits`` is the profile for store events (runs bring their own).
    ``strangers``: the plugins installed over MCP (see the module docstring).
    """

    def __init__(
        self,
        plugins: Iterable[HookedPlugin],
        *,
        bridge: ToolBridge,
        resolver: ActionResolver,
        limits: Limits | None = None,
        recorder: Recorder | None = None,
        clock: Clock | None = None,
        strangers: Iterable[str] = (),
    ) -> None:
        self.plugins = {p.id: p for p in plugins}
        self.strangers = frozenset(strangers)
        self.bridge = bridge
        self.resolver = resolver
        self.limits = limits or Profile.STANDARD.limits
        self.recorder = recorder
        self.clock = clock
        self._by_event: dict[str, list[tuple[HookedPlugin, Hook]]] = {}
        for plugin in self.plugins.values():
            if plugin.enabled:
                for hook in plugin.hooks:
                    self._by_event.setdefault(hook.on, []).append((plugin, hook))
        self._anchors: dict[str, Pipeline] = {}

    def listeners(self, event: str) -> list[Hook]:
        """The hooks that run on ``event`` (those of enabled plugins), in plugin order."""
        return [hook for _, hook in self._by_event.get(event, ())]

    async def emit(self, name: str, data: Any, *, source: Pipeline, state: RunState) -> None:
        """An `emit` step of a run (not itself triggered by a hook): run the hooks."""
        if name in self._by_event:  # most events have no listener: cost nothing then
            await _Level(self, 1, ()).emit(name, data, source=source, state=state)

    async def publish(
        self, event: Event, *, limits: Limits | None = None, dry_run: bool = False
    ) -> list[HookOutcome]:
        """Send an event from outside any run (the store's installed, configured, …);
        returns the outcome of every hook it triggered, cascades included."""
        collected: list[HookOutcome] = []
        token = _COLLECTED.set(collected)
        try:
            await self.dispatch(
                event,
                depth=1,
                chain=(),
                limits=limits or self.limits,
                bridge=self.bridge,
                trace=None,
                dry_run=dry_run,
            )
        finally:
            _COLLECTED.reset(token)
        return collected

    async def run_action(
        self, pipeline: Pipeline, inputs: Mapping[str, Any] | None = None, **options: Any
    ) -> HookedRun:
        """Run an action (``options`` as for :func:`engine.run.run`) on the bus's
        bridge, then send ``action_succeeded`` or ``action_failed``; hooks never change
        its result. (Installed actions: :func:`engine.plugins.hooked.run_installed`.)"""
        options.setdefault("limits", self.limits)
        options.setdefault("resolver", self.resolver)

        def runner(events: EventSink) -> Awaitable[RunResult]:
            return run(pipeline, inputs, bridge=self.bridge, events=events, **options)

        return await self.run_with(pipeline, runner, limits=options["limits"])

    async def run_with(
        self, pipeline: Pipeline, runner: Runner, *, limits: Limits | None = None
    ) -> HookedRun:
        """``runner(events)`` runs ``pipeline`` with this bus as its event sink; then
        ``action_succeeded`` or ``action_failed`` is sent. Returns the result and the
        outcome of every hook the run set off, cascades included."""
        collected: list[HookOutcome] = []
        token = _COLLECTED.set(collected)
        try:
            result = await runner(self)
            await self.dispatch(
                _finished(pipeline, result),
                depth=1,
                chain=(),
                limits=limits or self.limits,
                bridge=self.bridge,
                trace=result.trace,
                dry_run=result.dry_run,
            )
        finally:
            _COLLECTED.reset(token)
        return HookedRun(result, collected)

    async def dispatch(
        self,
        event: Event,
        *,
        depth: int,
        chain: tuple[str, ...],
        limits: Limits,
        bridge: ToolBridge,
        trace: list[dict[str, Any]] | None,
        dry_run: bool,
        secrets: Secrets | None = None,
    ) -> None:
        """Run every hook listening for ``event``, one after the other, in plugin order
        (``secrets``: those of the run that sent it, which its data may hold)."""
        strangers = self.strangers
        origin = event.origin  # a removed plugin's, else looked up
        from_stranger = event.plugin in strangers if origin is None else is_from_mcp(origin)
        for plugin, hook in self._by_event.get(event.name, ()):
            if plugin.id in strangers and not from_stranger:
                continue  # a stranger's hook does not hear what the user's plugins do
            outcome = await self._run_hook(
                plugin,
                hook,
                event,
                depth,
                chain,
                limits,
                bridge,
                trace is not None,
                dry_run,
                secrets,
            )
            if outcome is None:
                continue
            if trace is not None:
                trace.append(outcome.trace_entry())
            collected = _COLLECTED.get()
            if collected is not None:
                collected.append(outcome)
            if self.recorder is not None:
                # History is best effort (as for runs): a locked or full database must
                # not fail what set the hook off.
                with contextlib.suppress(Exception):
                    self.recorder(outcome)

    async def _run_hook(
        self,
        plugin: HookedPlugin,
        hook: Hook,
        event: Event,
        depth: int,
        chain: tuple[str, ...],
        limits: Limits,
        bridge: ToolBridge,
        tracing: bool,
        dry_run: bool,
        secrets: Secrets | None,
    ) -> HookOutcome | None:
        started = time.perf_counter()
        wall = time.time()

        def outcome(error: StepError | None, result: RunResult | None = None) -> HookOutcome:
            duration = time.perf_counter() - started
            if result is None:
                result = RunResult(RunStatus.FAILED, {}, error=error, duration=duration)
            return HookOutcome(
                plugin=plugin.id,
                hook=hook.number,
                event=event.name,
                action=hook.target,
                depth=depth,
                status=HookStatus.FAILED if error else HookStatus.SUCCEEDED,
                outputs=result.outputs if result.ok else None,
                error=error,
                duration=duration,
                file=hook.site.file,
                line=hook.site.span.line if hook.site.span else None,
                started=wall,
                result=result,
            )

        scope = event.scope()
        try:
            with active_limits(limits):
                if hook.condition is not None and not hook.condition.test(scope):
                    return None
                if depth > limits.max_hook_depth:
                    return outcome(_too_deep(hook, limits, chain))
                given = hook.inputs(scope)
            pipeline, settings = self._action(plugin, hook)
        except StepError as error:
            return outcome(hook.site.locate(error, None))
        except Exception as exc:  # a hook must never break what triggered it
            return outcome(StepError(ErrorKind.FAILED, f"{type(exc).__name__}: {exc}"))
        result = await run(
            pipeline,
            given,
            bridge=bridge,
            limits=limits,
            grant=plugin.grant,
            config=settings,
            secrets=secrets,
            trace=tracing,
            timeline=self.recorder is not None,  # the history keeps each step's timing
            clock=self.clock,
            resolver=self.resolver,
            events=_Level(self, depth + 1, (*chain, hook.label)),
            dry_run=dry_run,
        )
        return outcome(result.error, result)

    def _action(self, plugin: HookedPlugin, hook: Hook) -> tuple[Pipeline, PluginSettings]:
        """A hook's action, and the settings it runs with: its plugin's (the run notes
        the secret ones)."""
        anchor = self._anchors.get(plugin.id)
        if anchor is None:
            anchor = self._anchors[plugin.id] = _anchor(plugin.id)
        pipeline, _grant, settings = self.resolver.resolve(hook.target, anchor)
        if pipeline.plugin == plugin.id:
            settings = plugin.settings
        return pipeline, settings


class _Level:
    """The bus as seen by a hook's run: its `emit` steps trigger hooks one level deeper."""

    __slots__ = ("bus", "chain", "depth")

    def __init__(self, bus: HookBus, depth: int, chain: tuple[str, ...]) -> None:
        self.bus = bus
        self.depth = depth
        self.chain = chain

    async def emit(self, name: str, data: Any, *, source: Pipeline, state: RunState) -> None:
        if not self.bus.listeners(name):
            return
        event = Event(name, plugin=source.plugin, action=source.name, data=data)
        await self.bus.dispatch(
            event,
            depth=self.depth,
            chain=self.chain,
            # The emitting frame's limits: stricter than the run's inside an action of a
            # plugin installed under a stricter profile.
            limits=current_limits(),
            bridge=_bridge_of(source, state),
            trace=state.trace,
            dry_run=state.dry_run,
            secrets=state.secrets,
        )


def _bridge_of(source: Pipeline, state: RunState) -> ToolBridge:
    # The emitting run's own backend (a dry run's hooks must stay dry): RunState keeps
    # only its guard factory, whose guards wrap that backend.
    return state.make_bridge(source, _NO_GRANT).inner


def _finished(pipeline: Pipeline, result: RunResult) -> Event:
    base = {"action": pipeline.qualified_name, "plugin": pipeline.plugin}
    if result.error is None:
        return Event(
            BuiltinEvent.ACTION_SUCCEEDED.value,
            pipeline.plugin,
            pipeline.name,
            {**base, "outputs": result.outputs},
        )
    error = {
        "kind": result.error.kind.value,
        "message": result.error.message,
        "step": result.error.step,
    }
    return Event(
        BuiltinEvent.ACTION_FAILED.value, pipeline.plugin, pipeline.name, {**base, "error": error}
    )


def _too_deep(hook: Hook, limits: Limits, chain: tuple[str, ...]) -> LimitExceeded:
    limit = limits.max_hook_depth
    return LimitExceeded(
        "max_hook_depth",
        limit,
        f"{hook.label} was not run: hooks set off hooks more than {limit} deep "
        "(limit max_hook_depth)" + (", through " + " → ".join(chain) if chain else ""),
        hint="make the hook's action emit no event that sets off the same chain, add an "
        "`if:` that stops it, or use a profile with a larger max_hook_depth",
    )


def _anchor(plugin: str) -> Pipeline:
    """A stand-in caller, so a hook's relative action name resolves inside its plugin."""
    return Pipeline(
        name="hooks",
        description="",
        version=None,
        file=None,
        inputs={},
        steps=(),
        outputs=None,
        output_names=(),
        permissions=None,
        tools=frozenset(),
        calls=(),
        timeout=None,
        content_hash="",
        plugin=plugin,
    )
