"""What the generated step code calls around a step: its trace entry, the errors of a
tool call (past the call limit, or answering ``success: false``) and the recovery into
a `catch`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from engine.diagnostics.errors import ErrorKind, LimitExceeded, StepError, format_path
from engine.run._state import Frame, error_scope
from engine.run.model import Step, StepStatus
from engine.steps.kinds import ActionStep, ToolStep

Body = Callable[[Frame, dict[str, Any]], Awaitable[Any]]

_SUCCEEDED = StepStatus.SUCCEEDED.value
_CALLS = frozenset({ToolStep.kind, ActionStep.kind})  # the steps whose result a trace shows
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
        "kind": step.kind,
        "path": format_path(step.site.path),
        "file": step.site.file,  # a called action's own file, for its steps
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
    if status == _SUCCEEDED and step.kind in _CALLS:
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


def tool_call_limit(limit: int) -> LimitExceeded:
    """The error for the tool call that goes past the profile's ``max_tool_calls``.

    >>> tool_call_limit(200).message
    'the run made more than 200 tool calls (limit max_tool_calls)'
    """
    return LimitExceeded(
        "max_tool_calls",
        limit,
        f"the run made more than {limit:,} tool calls (limit max_tool_calls)",
        hint="call tools fewer times (e.g. fewer loop rounds), or use a less strict profile",
    )


def tool_failed(tool: str, result: Mapping[str, Any]) -> StepError:
    """The error for a tool that answered ``{"success": false, "error": …}``."""
    error = result.get("error")
    code = suggestion = None
    if isinstance(error, Mapping):
        message = str(error.get("message") or "no message")
        code = error.get("code")
        suggestion = error.get("recovery_suggestion") or error.get("suggestion")
    else:
        message = str(error) if error else "it answered success: false"
    text = f"{tool} failed: {message}" + (f" ({code})" if code else "")
    return StepError(
        ErrorKind.TOOL_FAILED,
        text,
        hint=str(suggestion) if suggestion else None,
        details={
            "tool": tool,
            "code": code,
            "recovery_suggestion": suggestion,
            "result": dict(result),
        },
    )
