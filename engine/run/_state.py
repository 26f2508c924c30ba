"""Run state: what one run carries (limits, counters, trace, clock) and each frame."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any, Protocol

from engine.diagnostics.errors import LimitExceeded, StepError
from engine.lang.limits import Limits
from engine.lang.secrets import Secrets

if TYPE_CHECKING:
    from engine.run._guards import Guards
    from engine.run.model import Pipeline, PluginSettings
    from engine.tools.bridge.guard import GuardedBridge
    from engine.tools.grants import Grant


class Clock(Protocol):
    """Time as the runtime sees it; tests pass a :class:`FakeClock`."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def random(self) -> float: ...


class SystemClock:
    """The real clock."""

    # The function itself, not a method calling it: the history's timeline reads the
    # clock twice per step.
    monotonic = staticmethod(time.monotonic)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def random(self) -> float:
        return random.random()


class DryRunClock(SystemClock):
    """A dry run's clock: a wait (a `wait` step, a retry's pause) passes at once and
    moves this clock on by its length, so a dry run shows what the run would do without
    taking as long, and timings in its trace still read as the real run's would.

    >>> clock = DryRunClock()
    >>> before = clock.monotonic(); asyncio.run(clock.sleep(30)); clock.monotonic() - before >= 30
    True
    """

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    async def sleep(self, seconds: float) -> None:
        self.skipped += max(seconds, 0.0)
        await asyncio.sleep(0)


class FakeClock:
    """A clock that never waits: ``sleep`` advances virtual time and is recorded.

    >>> clock = FakeClock()
    >>> asyncio.run(clock.sleep(1.5)); clock.monotonic(), clock.sleeps
    (1.5, [1.5])
    """

    def __init__(self, *, start: float = 0.0, randoms: list[float] | None = None) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._randoms = list(randoms or [])

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def random(self) -> float:
        return self._randoms.pop(0) if self._randoms else 0.5


class EventSink(Protocol):
    """Where `emit` steps send events (the plugin hooks, in a store)."""

    async def emit(self, name: str, data: Any, *, source: Pipeline, state: RunState) -> None: ...


class ActionResolver(Protocol):
    """Finds the pipeline an `action:` step calls, the grant it runs with, and its
    plugin's settings (the run notes the secret ones, so it never shows them)."""

    def resolve(self, target: str, caller: Pipeline) -> tuple[Pipeline, Grant, PluginSettings]: ...


SLICE = 0.02
"""Seconds of wall time between two checks, at a step start, of how long the event
loop's thread has been busy (see :func:`pause`)."""
GIVE_WAY = 0.1
"""The part of the time the thread was busy that a run then leaves to other work."""

_monotonic = time.monotonic


class RunState:
    """Everything shared by one run, nested action calls included."""

    __slots__ = (
        "backend",
        "busy_mark",
        "clock",
        "config",
        "dry_run",
        "events",
        "limits",
        "make_bridge",
        "pause_at",
        "resolver",
        "secrets",
        "step_site",
        "step_started",
        "steps_left",
        "timed_out",
        "timeline",
        "tool_calls",
        "trace",
    )

    def __init__(
        self,
        limits: Limits,
        clock: Clock,
        trace: bool,
        make_bridge: Guards,
        resolver: ActionResolver | None,
        events: EventSink | None,
        config: dict[str, Any],
        dry_run: bool,
        backend: str,
        secrets: Secrets,
        timeline: bool = False,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.steps_left = limits.max_steps
        self.tool_calls = 0
        self.timed_out: str | None = None  # "run" or "step" once the watchdog stopped it
        self.step_started = _monotonic()  # when the latest step began (step_timeout)
        self.step_site: Any = None  # where that step is, for the timeout message
        self.trace: list[dict[str, Any]] | None = [] if trace else None
        # Each step as it ends, for the history: (pipeline, step, started, ended, status,
        # attempts, error); no values (see engine.run.model.StepTime).
        self.timeline: list[tuple[Any, ...]] | None = [] if timeline else None
        self.make_bridge = make_bridge
        self.resolver = resolver
        self.events = events
        self.config = config
        self.secrets = secrets  # every secret value the run has seen, by where it came from
        self.dry_run = dry_run
        self.backend = backend
        self.pause_at = self.step_started + SLICE
        self.busy_mark: float | None = None  # the thread's CPU time at the last check


async def pause(state: RunState) -> None:
    """Let other work run (other runs, MCP requests, the watchdog that enforces
    timeouts) when this run computes for long: a step start calls this every
    :data:`SLICE` seconds. If the event loop's thread was busy (its CPU time grew, as it
    does not while tools are awaited) for more than half of that, the run leaves the loop
    to others for :data:`GIVE_WAY` of that time: enough for a request that needs several
    turns of the loop (the first time, not knowing, it leaves it for that part of a
    slice). Evaluation's time budget then starts again (see
    :mod:`engine.lang.sandbox.budget`)."""
    busy = time.thread_time()
    held = SLICE if state.busy_mark is None else busy - state.busy_mark
    if held > SLICE / 2:
        await asyncio.sleep(min(held, 1.0) * GIVE_WAY)
        busy = time.thread_time()
    state.busy_mark = busy
    state.pause_at = _monotonic() + SLICE


class Frame:
    """One action invocation inside a run: its own vars and step results, and the limits
    it is held to (the run's, or stricter for an action of a plugin installed under a
    stricter profile). Counters (steps, tool calls) are the run's: ``floor`` is how many
    of the run's steps must stay unused for this frame's ``max_steps`` to hold."""

    __slots__ = (
        "bridge",
        "depth",
        "floor",
        "limits",
        "pipeline",
        "state",
        "steps",
        "traced_args",
        "vars",
    )

    def __init__(
        self,
        state: RunState,
        pipeline: Pipeline,
        bridge: GuardedBridge,
        depth: int,
        limits: Limits | None = None,
    ) -> None:
        self.state = state
        self.pipeline = pipeline
        self.bridge = bridge
        self.depth = depth
        self.limits = limits = limits or state.limits
        self.floor = state.limits.max_steps - limits.max_steps
        self.steps: dict[str, dict[str, Any]] = {}
        self.vars: dict[str, Any] = {}
        self.traced_args: dict[Any, Any] = {}  # rendered tool arguments, when tracing

    def step_limit(self) -> LimitExceeded:
        limit = self.limits.max_steps
        return LimitExceeded(
            "max_steps", limit, f"the run executed more than {limit} steps (limit max_steps)"
        )


class ReturnSignal(Exception):
    """Raised by a `return` step; caught where its action ends."""

    def __init__(self, outputs: dict[str, Any]) -> None:
        super().__init__("return")
        self.outputs = outputs


def error_scope(error: StepError) -> dict[str, Any]:
    """What `error` holds inside a catch: kind, message, step, and the tool's code."""
    details = error.details
    return {
        "kind": error.kind.value,
        "message": error.message,
        "step": error.step,
        "code": details.get("code"),
        "suggestion": details.get("recovery_suggestion"),
    }
