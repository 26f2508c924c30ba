"""What the generated step code calls around a step: its trace entry and the
recovery into a `catch`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from engine.errors import StepError, format_path
from engine.model import Step, StepKind, StepStatus
from engine.runtime._state import Frame, error_scope

Body = Callable[[Frame, dict[str, Any]], Awaitable[Any]]

_SUCCEEDED = StepStatus.SUCCEEDED.value
_FAILED = StepStatus.FAILED.value


def trace_entry(
    frame: Frame,
    step: Step,
    status: str,
    started: float,
    result: Any,
    error: StepError | None,
    attempts: int,
) -> None:
    """Add the step's entry to the run's trace (the generated code calls this only
    while a trace is recorded)."""
    trace = frame.state.trace
    assert trace is not None  # only called while tracing
    entry: dict[str, Any] = {
        "action": frame.pipeline.qualified_name,
        "step": step.id,
        "name": step.name,
        "kind": step.kind.value,
        "path": format_path(step.site.path),
        "line": step.site.span.line if step.site.span else None,
        "status": status,
        "attempts": attempts,
        "duration_ms": round((frame.state.clock.monotonic() - started) * 1000, 3),
    }
    if step.tool is not None:
        entry["tool"] = step.tool
    arguments = frame.traced_args.pop(step.site.path, None)
    if arguments is not None:
        entry["arguments"] = arguments
    if status == _SUCCEEDED and step.kind in (StepKind.TOOL, StepKind.ACTION):
        entry["result"] = result
    if error is not None:
        entry["error"] = {"kind": error.kind.value, "message": error.message}
    trace.append(entry)


async def recover(
    frame: Frame,
    scope: dict[str, Any],
    error: StepError,
    step_id: str | None,
    catch: Body | None,
    keep_going: bool,
) -> None:
    """After a failure: record it, and run the catch steps (``catch``: their block) with
    `error` in scope."""
    described = error_scope(error)
    if step_id is not None:
        frame.steps[step_id] = {"result": None, "status": _FAILED, "error": described}
    if catch is None:
        return
    try:
        await catch(frame, {**scope, "error": described})
    except StepError:
        if not keep_going:
            raise
