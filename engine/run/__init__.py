"""Running compiled pipelines: limits, permissions, the trace, and the result.

>>> import asyncio
>>> from engine.tools.bridge.inprocess import InProcessBridge
>>> from engine.compile.compiler import Compiler
>>> from engine.load.loader import load_text
>>> bridge = InProcessBridge()
>>> bridge.register("km_echo", lambda text: {"success": True, "data": {"text": text}},
...                 {"type": "object", "properties": {"text": {"type": "string"}}})
>>> doc = load_text('api_version: "1.1"\\nkind: action\\nname: echo\\n'
...                 'inputs: {name: {type: string}}\\nsteps:\\n  - id: e\\n    tool: km_echo\\n'
...                 '    with: {text: "hi {{ inputs.name }}"}\\n'
...                 'outputs: {said: "{{ steps.e.result.data.text }}"}\\n')
>>> pipeline = Compiler(catalog=bridge.catalog()).compile(doc)
>>> asyncio.run(run(pipeline, {"name": "Ann"}, bridge=bridge)).outputs
{'said': 'hi Ann'}
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from engine.diagnostics.errors import ErrorKind, StepError
from engine.lang.limits import Limits, Profile, reset_limits, set_limits, stricter
from engine.lang.secrets import Secrets, reset_secrets, set_secrets
from engine.run._exec import invoke
from engine.run._guards import Guards, default_grant
from engine.run._state import (
    ActionResolver,
    Clock,
    DryRunClock,
    EventSink,
    FakeClock,
    RunState,
    SystemClock,
)
from engine.run._watchdog import Watchdog
from engine.run.model import Pipeline, PluginSettings, RunResult, RunStatus, Timeline
from engine.tools.bridge import ToolBridge
from engine.tools.grants import Grant

__all__ = [
    "ActionResolver",
    "Clock",
    "EventSink",
    "FakeClock",
    "RunState",
    "default_grant",
    "run",
]

_SYSTEM_CLOCK = SystemClock()
_STANDARD = Profile.STANDARD.limits
# Read once here rather than through their modules on every run.
_SUCCEEDED, _FAILED = RunStatus.SUCCEEDED, RunStatus.FAILED
_perf_counter = time.perf_counter
_running_loop = asyncio.get_running_loop
_current_task = asyncio.current_task


async def run(
    pipeline: Pipeline,
    inputs: Mapping[str, Any] | None = None,
    *,
    bridge: ToolBridge,
    limits: Limits | None = None,
    grant: Grant | None = None,
    config: Mapping[str, Any] | PluginSettings | None = None,
    secrets: Secrets | None = None,
    trace: bool = False,
    clock: Clock | None = None,
    events: EventSink | None = None,
    resolver: ActionResolver | None = None,
    dry_run: bool = False,
    progress: Any = None,
    timeline: bool = False,
) -> RunResult:
    """Run a pipeline once and return its outputs (or its error) and, if asked, a trace.

    ``timeline`` also gives back each step's timing and status, without values
    (:class:`~engine.run.model.Timeline`, for the history); unlike a trace, it keeps no
    values and costs two clock readings per step. Both are recorded by the same generated
    code every run takes.

    A dry run (``dry_run``) does not wait: its waits pass at once (:class:`DryRunClock`)
    unless ``clock`` says otherwise.

    ``config`` is the plugin's settings (a :class:`PluginSettings` says which are
    secret). Secret settings and secret inputs, and those of every action it calls, are
    noted in ``secrets`` (a fresh :class:`~engine.lang.secrets.Secrets` when not given, to
    quote values in messages afterwards): no message names their values, and what the
    run gives back is masked.

    Failures never raise: they come back in ``RunResult.error``. Cancelling the task
    that awaits this cancels the run (``asyncio.CancelledError`` propagates). The run
    timeout (the action's ``timeout``, capped by the profile) stops it with ``timeout``.

    A ``grant`` with limits (those of the profile its plugin was installed under) holds
    the run to the stricter of them and ``limits``; an `action:` step does the same for
    the action it calls, with that action's grant.
    """
    limits = limits or _STANDARD
    if grant is not None and grant.limits is not None:
        limits = stricter(limits, grant.limits)
    ready = _prepare(pipeline, bridge, limits)
    if secrets is None:
        secrets = Secrets()
    if isinstance(config, PluginSettings):
        values: Mapping[str, Any] = config.values
        secrets.note_settings(values, config.secret, pipeline.plugin)
    else:
        values = config or {}
    state = RunState(
        limits,
        clock or (DryRunClock() if dry_run else _SYSTEM_CLOCK),
        trace,
        ready.guards,
        resolver,
        events,
        dict(values),
        dry_run,
        ready.label,
        secrets,
        timeline,
    )
    origin = state.clock.monotonic() if timeline else 0.0
    started = _perf_counter()
    error: StepError | None = None
    outputs: dict[str, Any] = {}
    token = set_limits(limits)
    quoting = set_secrets(secrets)
    timeout, step_timeout = ready.timeout, limits.step_timeout
    dog = _watch(timeout, ready.backstop, state) if timeout or step_timeout else None
    try:
        if grant is None:
            outputs = await invoke(
                pipeline, inputs, state, ready.grant, 0, state.config, ready.guard, progress
            )
        else:
            outputs = await invoke(
                pipeline, inputs, state, grant, 0, state.config, progress=progress
            )
    except StepError as failure:
        error = failure
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if state.timed_out is None or task is None:
            raise
        task.uncancel()
        error = _timeout_error(state, timeout, step_timeout)
    finally:
        reset_secrets(quoting)
        reset_limits(token)
        if dog is not None:
            dog.unwatch(state)
    result = RunResult(
        _SUCCEEDED if error is None else _FAILED,
        outputs,
        error,
        state.trace,
        _perf_counter() - started,
        limits.max_steps - state.steps_left,
        state.tool_calls,
        ready.label,
        ready.simulated,
        dry_run,
    )
    if dry_run:
        result.recorded_calls = list(getattr(bridge, "recorded", ()))
    if secrets:
        _mask(result, secrets)
    if state.timeline is not None:
        result.timeline = Timeline(state.timeline, origin, secrets)
    return result


def _mask(result: RunResult, secrets: Secrets) -> None:
    """The last line of defence: messages never quote a secret (they name it), but a
    tool's answer or a template's output may hold one."""
    result.outputs = secrets.mask(result.outputs)
    if result.error is not None:
        result.error = secrets.mask_error(result.error)
    if result.trace is not None:
        result.trace = secrets.mask(result.trace)
    if result.recorded_calls is not None:
        result.recorded_calls = secrets.mask(result.recorded_calls)


def _watch(timeout: float | None, backstop: float | None, state: RunState) -> Watchdog | None:
    """The watchdog now watching this run's task (``unwatch(state)`` when it ends)."""
    loop = _running_loop()  # read once: each read costs a system call (getpid)
    task = _current_task(loop)
    if task is None:
        return None
    dog = Watchdog.for_running_loop(loop)
    dog.watch(task, timeout, state, backstop)
    return dog


class _Ready:
    """What a run needs that depends only on (pipeline, bridge, limits): computed once."""

    __slots__ = (
        "backstop",
        "catalog",
        "grant",
        "guard",
        "guards",
        "key",
        "label",
        "simulated",
        "timeout",
    )

    def __init__(self, pipeline: Pipeline, bridge: ToolBridge, limits: Limits) -> None:
        self.catalog = catalog = bridge.catalog()
        self.key = (pipeline, bridge, limits)
        self.guards = Guards.of(bridge, limits, catalog)
        self.grant = default_grant(pipeline, catalog)
        self.guard = self.guards(pipeline, self.grant)
        self.timeout = _timeout(pipeline, limits)
        step_timeout = limits.step_timeout
        # The step backstop fires a little after step_timeout, so a step's own `timeout:`
        # (capped at step_timeout, catchable and retryable) always gets to fire first.
        self.backstop = step_timeout * 1.05 + 0.05 if step_timeout is not None else None
        self.label = bridge.label
        self.simulated = bridge.simulated


_READY: dict[tuple[int, int, int], _Ready] = {}


def _prepare(pipeline: Pipeline, bridge: ToolBridge, limits: Limits) -> _Ready:
    key = (id(pipeline), id(bridge), id(limits))
    ready = _READY.get(key)
    if ready is not None:
        p, b, lim = ready.key
        # A bridge may offer new tools later (its catalog changes): then prepare again.
        if p is pipeline and b is bridge and lim is limits and ready.catalog is bridge.catalog():
            return ready
    if len(_READY) > 256:
        _READY.clear()
    ready = _READY[key] = _Ready(pipeline, bridge, limits)
    return ready


def _timeout_error(state: RunState, timeout: float | None, step_timeout: float | None) -> StepError:
    if state.timed_out == "step":
        site = state.step_site
        error = StepError(
            ErrorKind.TIMEOUT,
            f"a step ran longer than the profile's step timeout of {step_timeout:g} s, so the "
            "action was stopped",
            hint="give the step its own `timeout:` (with retry or catch), or use a profile "
            "with a longer step_timeout",
            details={"limit": "step_timeout", "value": step_timeout},
        )
        if site is not None:
            site.locate(error, None)
        return error
    return StepError(
        ErrorKind.TIMEOUT,
        f"the action took longer than {timeout:g} s and was stopped",
        hint="raise the action's `timeout:`, or use a profile with a longer run timeout",
        details={"limit": "run_timeout", "value": timeout},
    )


def _timeout(pipeline: Pipeline, limits: Limits) -> float | None:
    own = pipeline.timeout
    cap = limits.run_timeout
    if own is None:
        return cap
    return own if cap is None else min(own, cap)
