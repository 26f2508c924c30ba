"""Running a manifest's own ``tests:``: mocked tools, expected outputs, calls or error.

This is what ``km-actions test`` runs, and what certifies a plugin. Waits and retry
delays use a fake clock, so tests never sleep.

A test never sees the settings the user set, for the action it tests or for any action
that one calls: each action runs with its plugin's defaults, and the tested plugin's
actions with the test's own ``config:`` over them. A report quotes values through
:func:`engine.lang.secrets.show`, so it names a secret (a secret setting, default or input)
instead of showing it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.diagnostics.errors import StepError
from engine.diagnostics.words import counted
from engine.lang.limits import Limits, Profile
from engine.lang.secrets import Secrets, show
from engine.run import ActionResolver, FakeClock, run
from engine.run.model import Pipeline, PluginSettings, RunResult
from engine.tools.bridge.mock import MockBridge, contains
from engine.tools.catalog import ToolCatalog
from engine.tools.grants import Grant


@dataclass
class TestOutcome:
    """One test of one action: passed, or the reasons it failed."""

    __test__ = False  # not a pytest test class, though its name starts with "Test"

    action: str
    name: str
    file: str | None
    failures: list[str] = field(default_factory=list)
    duration: float = 0.0
    line: int | None = None  # where the test is written in ``file``
    column: int | None = None
    hint: str | None = None  # how to fix the error the action failed with, if it did

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def location(self) -> str | None:
        """``file:line:col`` of the test, as much of it as is known."""
        if self.file is None:
            return None
        return self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"

    def report(self) -> list[str]:
        """The lines that say what differed, then the hint (``km-actions test`` and pytest
        print them under the test's header)."""
        lines = [f"  {failure}" for failure in self.failures]
        if self.hint:
            lines.append(f"  = hint: {self.hint}".replace("\n", "\n          "))
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "passed": self.passed,
            "failures": self.failures,
            "hint": self.hint,
            "duration_ms": round(self.duration * 1000, 3),
        }


async def run_tests(
    pipeline: Pipeline,
    *,
    catalog: ToolCatalog,
    resolver: ActionResolver | None = None,
    limits: Limits | None = None,
    settings: PluginSettings | None = None,
) -> list[TestOutcome]:
    """Run every test of ``pipeline`` (in order) and report each outcome (``settings``:
    those of its plugin, of which a test sees only the defaults)."""
    tests = pipeline.manifest.get("tests") or []
    return [
        await run_test(
            pipeline,
            case,
            catalog=catalog,
            resolver=resolver,
            limits=limits,
            settings=settings,
            index=index,
        )
        for index, case in enumerate(tests)
        if isinstance(case, Mapping)
    ]


async def run_test(
    pipeline: Pipeline,
    case: Mapping[str, Any],
    *,
    catalog: ToolCatalog,
    resolver: ActionResolver | None = None,
    limits: Limits | None = None,
    settings: PluginSettings | None = None,
    index: int | None = None,
) -> TestOutcome:
    """Run one test case against mocked tools, with the defaults of ``settings`` (its
    plugin's) and the test's ``config:`` over them; ``index``: its place in `tests:`
    (the outcome then says where it is written)."""
    outcome = TestOutcome(pipeline.qualified_name, str(case.get("name", "")), pipeline.file)
    span = pipeline.test_site(index).span if index is not None else None
    if span is not None:
        outcome.line, outcome.column = span.line, span.column
    bridge = MockBridge(case.get("mocks") or {}, catalog)
    own = (settings or PluginSettings()).for_tests(case.get("config"))
    secrets = Secrets()
    started = time.perf_counter()
    result = await run(
        pipeline,
        case.get("inputs") or {},
        bridge=bridge,
        limits=limits or Profile.STANDARD.limits,
        config=own,
        secrets=secrets,
        clock=FakeClock(),
        resolver=_TestSettings(resolver, pipeline.plugin, own) if resolver else None,
    )
    outcome.duration = time.perf_counter() - started
    expect = case.get("expect") or {}
    outcome.failures = check_expectations(expect, result, bridge.calls, secrets=secrets)
    if result.error is not None and expect.get("error") is None:
        outcome.hint = result.error.hint
    return outcome


class _TestSettings:
    """Resolves the `action:` steps of a test as ``resolver`` does, but with settings
    for tests: the tested plugin's actions get the test's, every other plugin's its
    defaults. What the user set is never passed on."""

    def __init__(
        self, resolver: ActionResolver, plugin: str | None, settings: PluginSettings
    ) -> None:
        self.resolver = resolver
        self.plugin = plugin
        self.settings = settings

    def resolve(self, target: str, caller: Pipeline) -> tuple[Pipeline, Grant, PluginSettings]:
        pipeline, grant, settings = self.resolver.resolve(target, caller)
        if pipeline.plugin == self.plugin:
            return pipeline, grant, self.settings
        return pipeline, grant, settings.for_tests()


def check_expectations(
    expect: Mapping[str, Any],
    result: RunResult,
    calls: Sequence[Mapping[str, Any]],
    *,
    secrets: Secrets | None = None,
) -> list[str]:
    """Every way ``result`` and ``calls`` differ from what the test expects (values
    quoted with ``secrets`` named, never shown)."""
    failures: list[str] = []
    wanted_error = expect.get("error")
    if wanted_error is not None:
        failures.extend(_check_error(wanted_error, result.error, secrets))
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
                failures.append(
                    f"output `{name}` is {_show(got, secrets)}, expected {_show(wanted, secrets)}"
                )
    expected_calls = expect.get("calls")
    if isinstance(expected_calls, list):
        failures.extend(_check_calls(expected_calls, calls, secrets))
    return failures


def _show(value: Any, secrets: Secrets | None) -> str:
    return show(value, 500, secrets=secrets or Secrets())


_ABSENT = object()


def _equal(got: Any, wanted: Any) -> bool:
    return contains(got, wanted) and contains(wanted, got)


def _check_error(
    wanted: Mapping[str, Any], error: StepError | None, secrets: Secrets | None
) -> list[str]:
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
        out.append(
            f"the error message {_show(error.message, secrets)} does not contain "
            f"{_show(str(text), secrets)}"
        )
    return out


def _check_calls(
    expected: Sequence[Any], calls: Sequence[Mapping[str, Any]], secrets: Secrets | None
) -> list[str]:
    out = []
    for index, want in enumerate(expected):
        if not isinstance(want, Mapping):
            continue
        if index >= len(calls):
            out.append(
                f"call {index + 1} to {want.get('tool')} was never made "
                f"(only {counted(len(calls), 'call')})"
            )
            break
        got = calls[index]
        if got["tool"] != want.get("tool"):
            out.append(f"call {index + 1} went to {got['tool']}, expected {want.get('tool')}")
        elif not contains(got["with"], want.get("with") or {}):
            out.append(
                f"call {index + 1} to {got['tool']} had arguments "
                f"{_show(got['with'], secrets)}, which do not contain "
                f"{_show(want.get('with') or {}, secrets)}"
            )
    if len(calls) > len(expected):
        extra = ", ".join(c["tool"] for c in calls[len(expected) :])
        out.append(f"{len(calls) - len(expected)} more call(s) than expected: {extra}")
    return out


def _describe(error: StepError) -> str:
    first = error.first
    where = f" at {first.location}" if first.span else ""
    return f"[{error.kind.value}] {error.message}{where}"
