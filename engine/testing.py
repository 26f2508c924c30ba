"""Running a manifest's own ``tests:``: mocked tools, expected outputs, calls or error.

This is what ``km-actions test`` runs, and what certifies a plugin. Waits and retry
delays use a fake clock, so tests never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.bridge.mock import MockBridge, contains
from engine.catalog import ToolCatalog
from engine.errors import StepError
from engine.limits import Limits, Profile
from engine.model import Pipeline, RunResult
from engine.runtime import ActionResolver, FakeClock, run


@dataclass
class TestOutcome:
    """One test of one action: passed, or the reasons it failed."""

    __test__ = False  # not a pytest test class, though its name starts with "Test"

    action: str
    name: str
    file: str | None
    failures: list[str] = field(default_factory=list)
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "name": self.name,
            "file": self.file,
            "passed": self.passed,
            "failures": self.failures,
            "duration_ms": round(self.duration * 1000, 3),
        }


async def run_tests(
    pipeline: Pipeline,
    *,
    catalog: ToolCatalog,
    resolver: ActionResolver | None = None,
    limits: Limits | None = None,
) -> list[TestOutcome]:
    """Run every test of ``pipeline`` (in order) and report each outcome."""
    tests = pipeline.manifest.get("tests") or []
    return [
        await run_test(pipeline, case, catalog=catalog, resolver=resolver, limits=limits)
        for case in tests
        if isinstance(case, Mapping)
    ]


async def run_test(
    pipeline: Pipeline,
    case: Mapping[str, Any],
    *,
    catalog: ToolCatalog,
    resolver: ActionResolver | None = None,
    limits: Limits | None = None,
) -> TestOutcome:
    """Run one test case against mocked tools."""
    outcome = TestOutcome(pipeline.qualified_name, str(case.get("name", "")), pipeline.file)
    bridge = MockBridge(case.get("mocks") or {}, catalog)
    started = time.perf_counter()
    result = await run(
        pipeline,
        case.get("inputs") or {},
        bridge=bridge,
        limits=limits or Profile.STANDARD.limits,
        config=case.get("config") or {},
        clock=FakeClock(),
        resolver=resolver,
    )
    outcome.duration = time.perf_counter() - started
    outcome.failures = check_expectations(case.get("expect") or {}, result, bridge.calls)
    return outcome


def check_expectations(
    expect: Mapping[str, Any], result: RunResult, calls: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Every way ``result`` and ``calls`` differ from what the test expects."""
    failures: list[str] = []
    wanted_error = expect.get("error")
    if wanted_error is not None:
        failures.extend(_check_error(wanted_error, result.error))
    elif result.error is not None:
        failures.append(f"the action failed: {_describe(result.error)}")
        return failures
    outputs = expect.get("outputs")
    if isinstance(outputs, Mapping):
        for name, wanted in outputs.items():
            got = result.outputs.get(name, _ABSENT)
            if got is _ABSENT:
                failures.append(f"output `{name}` is missing")
            elif not _equal(got, wanted):
                failures.append(f"output `{name}` is {got!r}, expected {wanted!r}")
    expected_calls = expect.get("calls")
    if isinstance(expected_calls, list):
        failures.extend(_check_calls(expected_calls, calls))
    return failures


_ABSENT = object()


def _equal(got: Any, wanted: Any) -> bool:
    return contains(got, wanted) and contains(wanted, got)


def _check_error(wanted: Mapping[str, Any], error: StepError | None) -> list[str]:
    if error is None:
        return ["the action succeeded, but the test expects it to fail"]
    out = []
    kind = wanted.get("kind")
    if kind is not None and error.kind.value != kind:
        out.append(
            f"the action failed with kind {error.kind.value}, expected {kind}: {_describe(error)}"
        )
    text = wanted.get("message")
    if text is not None and str(text) not in error.message:
        out.append(f"the error message {error.message!r} does not contain {text!r}")
    return out


def _check_calls(expected: Sequence[Any], calls: Sequence[Mapping[str, Any]]) -> list[str]:
    out = []
    for index, want in enumerate(expected):
        if not isinstance(want, Mapping):
            continue
        if index >= len(calls):
            out.append(
                f"call {index + 1} to {want.get('tool')} was never made "
                f"(only {len(calls)} call{'s' if len(calls) != 1 else ''})"
            )
            break
        got = calls[index]
        if got["tool"] != want.get("tool"):
            out.append(f"call {index + 1} went to {got['tool']}, expected {want.get('tool')}")
        elif not contains(got["with"], want.get("with") or {}):
            out.append(
                f"call {index + 1} to {got['tool']} had arguments {got['with']!r}, "
                f"which do not contain {want.get('with')!r}"
            )
    if len(calls) > len(expected):
        extra = ", ".join(c["tool"] for c in calls[len(expected) :])
        out.append(f"{len(calls) - len(expected)} more call(s) than expected: {extra}")
    return out


def _describe(error: StepError) -> str:
    first = error.first
    where = f" at {first.location}" if first.span else ""
    return f"[{error.kind.value}] {error.message}{where}"
