"""The common step fields around every step body: if, timeout, retry, catch, records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import ErrorKind, StepError, format_path
from engine.model import RetryPolicy, Site, StepKind, StepRunner, StepStatus
from engine.runtime._exec import run_steps
from engine.runtime._numbers import StepNumber
from engine.runtime._state import Frame, error_scope, pause

Body = Callable[[Frame, dict[str, Any]], Awaitable[Any]]

_SUCCEEDED = StepStatus.SUCCEEDED.value
_FAILED = StepStatus.FAILED.value
_SKIPPED = StepStatus.SKIPPED.value


@dataclass(frozen=True, slots=True)
class Common:
    """A step's common fields, compiled."""

    kind: StepKind
    id: str | None
    name: str | None
    site: Site
    condition: Any = None  # an Expression with .test(scope)
    timeout: StepNumber | None = None
    retry: RetryPolicy | None = None
    # A retry with a templated number: its policy, given the scope, when the step runs.
    retry_numbers: Callable[[dict[str, Any]], RetryPolicy] | None = None
    catch: tuple[Any, ...] | None = None  # tuple[Step, ...]
    continue_on_error: bool = False
    tool: str | None = None


_monotonic = time.monotonic


def wrap(common: Common, body: Body) -> StepRunner:
    """The runner for a step: its body with exactly the wrappers its fields ask for."""
    attempt = _with_timeout(common, body) if common.timeout is not None else body
    plain = (
        common.condition is None
        and common.catch is None
        and common.retry is None
        and common.retry_numbers is None
        and not common.continue_on_error
    )
    return _plain_runner(common, attempt) if plain else _full_runner(common, attempt)


def _record(
    frame: Frame,
    common: Common,
    status: str,
    started: float,
    *,
    result: Any = None,
    error: StepError | None = None,
    attempts: int = 1,
) -> None:
    """Add the step to the run's timeline (when kept; not a retry's intermediate try)
    and its trace (when asked for)."""
    state = frame.state
    timeline = state.timeline
    if timeline is not None and status != "retrying":
        ended = state.clock.monotonic()
        timeline.append((frame.pipeline, common, started, ended, status, attempts, error))
    if state.trace is not None:
        _trace_entry(frame, common, status, started, result, error, attempts)


def _trace_entry(
    frame: Frame,
    common: Common,
    status: str,
    started: float,
    result: Any,
    error: StepError | None,
    attempts: int,
) -> None:
    trace = frame.state.trace
    assert trace is not None  # only called while tracing
    entry: dict[str, Any] = {
        "action": frame.pipeline.qualified_name,
        "step": common.id,
        "name": common.name,
        "kind": common.kind.value,
        "path": format_path(common.site.path),
        "line": common.site.span.line if common.site.span else None,
        "status": status,
        "attempts": attempts,
        "duration_ms": round((frame.state.clock.monotonic() - started) * 1000, 3),
    }
    if common.tool is not None:
        entry["tool"] = common.tool
    arguments = frame.traced_args.pop(common.site.path, None)
    if arguments is not None:
        entry["arguments"] = arguments
    if status == _SUCCEEDED and common.kind in (StepKind.TOOL, StepKind.ACTION):
        entry["result"] = result
    if error is not None:
        entry["error"] = {"kind": error.kind.value, "message": error.message}
    trace.append(entry)


def _plain_runner(common: Common, attempt: Body) -> StepRunner:
    step_id = common.id
    site = common.site

    async def run(frame: Frame, scope: dict[str, Any]) -> None:
        state = frame.state
        state.steps_left -= 1
        state.step_started = now = _monotonic()
        state.step_site = site
        if state.steps_left < frame.floor:
            raise site.locate(frame.step_limit(), step_id)
        if now > state.pause_at:
            await pause(state)
        recording = state.trace is not None or state.timeline is not None
        started = state.clock.monotonic() if recording else 0.0
        try:
            result = await attempt(frame, scope)
        except StepError as error:
            site.locate(error, step_id)
            if recording:
                _record(frame, common, _FAILED, started, error=error)
            raise
        if step_id is not None:
            frame.steps[step_id] = {"result": result, "status": _SUCCEEDED, "error": None}
        if recording:
            _record(frame, common, _SUCCEEDED, started, result=result)

    return run


def _full_runner(common: Common, attempt: Body) -> StepRunner:
    step_id = common.id
    site = common.site
    condition = common.condition
    catch = common.catch
    keep_going = common.continue_on_error
    retry = common.retry
    retry_numbers = common.retry_numbers

    async def run(frame: Frame, scope: dict[str, Any]) -> None:
        state = frame.state
        state.steps_left -= 1
        state.step_started = now = _monotonic()
        state.step_site = site
        if state.steps_left < frame.floor:
            raise site.locate(frame.step_limit(), step_id)
        if now > state.pause_at:
            await pause(state)
        recording = state.trace is not None or state.timeline is not None
        started = state.clock.monotonic() if recording else 0.0
        if condition is not None:
            try:
                go = condition.test(scope)
            except StepError as error:
                raise site.locate(error, step_id) from None
            if not go:
                if step_id is not None:
                    frame.steps[step_id] = {"result": None, "status": _SKIPPED, "error": None}
                if recording:
                    _record(frame, common, _SKIPPED, started)
                return
        tries = 0
        policy = retry
        while True:
            tries += 1
            try:
                if retry_numbers is not None and tries == 1:
                    policy = retry_numbers(scope)  # a bad number fails the step, unretried
                result = await attempt(frame, scope)
                break
            except StepError as error:
                site.locate(error, step_id)
                if policy is not None and tries < policy.max_attempts and error.kind in policy.on:
                    if state.trace is not None:
                        _record(frame, common, "retrying", started, error=error, attempts=tries)
                    await state.clock.sleep(policy.delay(tries, state.clock.random()))
                    continue
                if tries > 1:
                    error.details["attempts"] = tries
                if recording:
                    _record(frame, common, _FAILED, started, error=error, attempts=tries)
                if catch is None and not keep_going:
                    raise
                await _recover(frame, scope, error, step_id, catch, keep_going)
                return
        if step_id is not None:
            frame.steps[step_id] = {"result": result, "status": _SUCCEEDED, "error": None}
        if recording:
            _record(frame, common, _SUCCEEDED, started, result=result, attempts=tries)

    return run


async def _recover(
    frame: Frame,
    scope: dict[str, Any],
    error: StepError,
    step_id: str | None,
    catch: tuple[Any, ...] | None,
    keep_going: bool,
) -> None:
    """After a failure: record it, and run the catch steps with `error` in scope."""
    described = error_scope(error)
    if step_id is not None:
        frame.steps[step_id] = {"result": None, "status": _FAILED, "error": described}
    if catch is None:
        return
    inner = {**scope, "error": described}
    try:
        await run_steps(frame, catch, inner)  # rarely run: interpreted
    except StepError:
        if not keep_going:
            raise


def _with_timeout(common: Common, body: Body) -> Body:
    requested = common.timeout
    assert requested is not None  # wrapped only when the step has a timeout

    async def attempt(frame: Frame, scope: dict[str, Any]) -> Any:
        limit = frame.limits.step_timeout
        asked = requested.value(scope)
        seconds = min(asked, limit) if limit is not None else asked
        try:
            async with asyncio.timeout(seconds):
                return await body(frame, scope)
        except TimeoutError:
            raise StepError(
                ErrorKind.TIMEOUT,
                f"the step took longer than its timeout of {seconds:g} s",
                hint="raise `timeout:` on the step, or find out why the tool is slow",
                details={"timeout": seconds},
            ) from None

    return attempt
