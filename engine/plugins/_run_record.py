"""What the history keeps of one run: its row, a bounded trace without values, and the
time spent in each step.

A run's trace here is its :class:`~engine.run.model.Timeline` (each step: where it is, its
status, attempts, start and duration, the error's kind and message), never the
arguments, results or outputs a ``--trace`` shows: what a run gave back after the
secrets mechanism (:mod:`engine.lang.secrets`), minus every value. It keeps at most
:data:`TRACE_KEPT` steps (the first and the last half of them, and how many were left
out between). The time per step is exact however long the run: one row per distinct
step (:data:`STEPS_KEPT` at most, the slowest), with its calls, failures, total and
longest time.

>>> from engine.run.model import RunResult, RunStatus
>>> record = run_record("demo", "hello", "2026-05-04T09:30:00.000Z",
...                     RunResult(RunStatus.SUCCEEDED, {}, duration=0.0021))
>>> record.duration_ms, record.failed, record.detail["trace"], record.steps
(2.1, 0, [], ())
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from engine.run.model import RunResult, RunStatus, StepTime

#: The most steps of one run's trace the history keeps (the first and last halves).
TRACE_KEPT = 100
#: The most distinct steps whose time one run keeps (the slowest, by total time).
STEPS_KEPT = 200


class StepRow(NamedTuple):
    """The time one run spent in one step (every time it ran, in loops too)."""

    action: str
    path: str
    label: str
    kind: str
    tool: str | None
    calls: int
    failures: int
    total_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as the history stores it."""

    plugin: str
    action: str
    started: str
    duration_ms: float
    status: str
    error_kind: str | None
    error_message: str | None
    steps_run: int
    tool_calls: int
    detail: dict[str, Any]
    steps: tuple[StepRow, ...]

    @property
    def failed(self) -> int:
        """1 for a run that did not succeed (kept longer), else 0."""
        return int(self.status != RunStatus.SUCCEEDED.value)


def run_record(plugin: str, action: str, started: str, result: RunResult) -> RunRecord:
    """What the history keeps of ``result``, a run of ``plugin/action`` started at
    ``started`` (its error and timeline are already masked by the run)."""
    error = result.error
    steps = result.timeline.steps() if result.timeline is not None else []
    detail: dict[str, Any] = {
        "backend": result.bridge,
        "simulated": result.simulated,
        "dry_run": result.dry_run,
    }
    if error is not None:
        detail["error"] = _error_detail(error)
    detail.update(_bounded_trace(steps))
    return RunRecord(
        plugin=plugin,
        action=action,
        started=started,
        duration_ms=_ms(result.duration),
        status=result.status.value,
        error_kind=error.kind.value if error is not None else None,
        error_message=error.message if error is not None else None,
        steps_run=result.steps_run,
        tool_calls=result.tool_calls,
        detail=detail,
        steps=step_rows(steps),
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _error_detail(error: Any) -> dict[str, Any]:
    first = error.first
    out = {
        "kind": error.kind.value,
        "message": error.message,
        "hint": error.hint,
        "step": error.step,
        "location": first.location if (first.file or first.span) else None,
        "code": error.details.get("code"),
    }
    return {key: value for key, value in out.items() if value is not None}


def _trace_entry(step: StepTime) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "action": step.action,
        "step": step.step,
        "name": step.name,
        "kind": step.kind,
        "path": step.path,
        "line": step.line,
        "tool": step.tool,
        "status": step.status,
        "attempts": step.attempts,
        "start_ms": _ms(step.start),
        "duration_ms": _ms(step.duration),
    }
    if step.error is not None:
        entry["error"] = {"kind": step.error[0], "message": step.error[1]}
    return {key: value for key, value in entry.items() if value is not None}


def _bounded_trace(steps: list[StepTime]) -> dict[str, Any]:
    """The trace kept: every step, or the first and last TRACE_KEPT / 2 and how many
    steps between them were left out."""
    if len(steps) <= TRACE_KEPT:
        return {"trace": [_trace_entry(s) for s in steps]}
    half = TRACE_KEPT // 2
    kept = [*steps[:half], *steps[-half:]]
    return {"trace": [_trace_entry(s) for s in kept], "omitted": len(steps) - len(kept)}


def step_label(step: str | None, name: str | None, kind: str, path: str) -> str:
    """How a step is named in stats: its id, its name, or its kind and place.

    >>> step_label(None, None, "tool", "$.steps[2]")
    'tool step at $.steps[2]'
    """
    return step or name or f"{kind} step at {path}"


def step_rows(steps: Iterable[StepTime]) -> tuple[StepRow, ...]:
    """The time per distinct step (by action and place), the slowest STEPS_KEPT."""
    rows: dict[tuple[str, str], list[Any]] = {}
    for s in steps:
        if s.status == "skipped":
            continue
        ms = s.duration * 1000
        row = rows.get((s.action, s.path))
        if row is None:
            label = step_label(s.step, s.name, s.kind, s.path)
            rows[(s.action, s.path)] = [label, s.kind, s.tool, 1, int(s.status == "failed"), ms, ms]
            continue
        row[3] += 1
        row[4] += s.status == "failed"
        row[5] += ms
        row[6] = max(row[6], ms)
    ordered = sorted(rows.items(), key=lambda item: -item[1][5])[:STEPS_KEPT]
    return tuple(
        StepRow(action, path, label, kind, tool, calls, failures, round(total, 3), round(top, 3))
        for (action, path), (label, kind, tool, calls, failures, total, top) in ordered
    )
