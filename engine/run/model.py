"""The compiled model: frozen pipelines and steps, and what a run gives back.

A :class:`Pipeline` is what the action factory (:mod:`engine.compile.compiler`) makes of a
validated manifest: every template compiled, every expression parsed, every step
bound to the function that runs it, every node keeping the place in the file it came
from so run-time errors point at ``file:line:col``.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from engine.diagnostics.errors import ErrorKind, Path, Span, StepError, format_path
from engine.validate.inputs import InputSpec

if TYPE_CHECKING:
    from engine.lang.secrets import Secrets
    from engine.run._state import Frame


class StepStatus(enum.Enum):
    """How a step ended; ``steps.<id>.status`` holds the value."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class RunStatus(enum.Enum):
    """How a run ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Site:
    """Where a compiled node came from."""

    file: str | None
    path: Path
    span: Span | None
    # The spans of the items of a list or mapping value, by path (see :meth:`within`).
    inner: Mapping[Path, Span | None] | None = field(default=None, compare=False, repr=False)

    def locate(self, error: StepError, step: str | None) -> StepError:
        return error.at(step=step, path=self.path, span=self.span, file=self.file)

    def within(self, key: Any) -> Site:
        """Where the item ``key`` (a key or an index) of this value was written: this
        site when that is not known."""
        path = (*self.path, key)
        if self.inner is None or path not in self.inner:
            return self
        return Site(self.file, path, self.inner[path], self.inner)


class Located:
    """A renderer whose errors point at the value it renders (``file:line:col``). The
    runtime computes a step's values (or an action's outputs) together, giving each
    ``renderer`` and its ``site`` to one function that locates its errors itself (see
    :func:`engine.lang.templates.together`)."""

    __slots__ = ("renderer", "site")
    constant = False

    def __init__(self, renderer: Callable[[Mapping[str, Any]], Any], site: Site) -> None:
        self.renderer = renderer
        self.site = site

    def __call__(self, scope: Mapping[str, Any]) -> Any:
        try:
            return self.renderer(scope)
        except StepError as error:
            raise self.site.locate(error, None) from None


DEFAULT_RETRY_ON = frozenset({ErrorKind.TOOL_FAILED, ErrorKind.TIMEOUT, ErrorKind.TOOL_UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often a failed step is tried again."""

    max_attempts: int
    interval: float = 1.0
    backoff_rate: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.0
    on: frozenset[ErrorKind] = DEFAULT_RETRY_ON

    def delay(self, attempt: int, random: float) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1): ``interval``
        times ``backoff_rate`` per earlier retry, at most ``max_delay``, moved by up to
        ``jitter`` of itself (``random`` in [0, 1) picks where), and never past ``max_delay``.

        >>> policy = RetryPolicy(max_attempts=5, interval=1, backoff_rate=3, max_delay=5,
        ...                      jitter=0.5)
        >>> [policy.delay(n, 0.5) for n in (1, 2, 3)], policy.delay(2, 0.75), policy.delay(3, 0)
        ([1.0, 3.0, 5.0], 3.75, 2.5)
        """
        base = min(self.interval * self.backoff_rate ** (attempt - 1), self.max_delay)
        if self.jitter:
            base *= 1 - self.jitter + 2 * self.jitter * random
        return max(min(base, self.max_delay), 0.0)


@dataclass(frozen=True, slots=True)
class Step:
    """One compiled step: its body and the common fields around it.

    Lists of steps run as generated code (:mod:`engine.run._codegen`), the only way
    steps run: a tool step (``plan``) is written out inline, any other kind calls its
    ``body``; ``if``, ``timeout``, ``retry``, ``catch``, ``continue_on_error`` and the
    records (timeline, trace) are written around it.
    """

    kind: str  # the step node's kind (engine.steps.kinds.STEP_NODES)
    id: str | None
    name: str | None
    site: Site
    body: Callable[[Frame, dict[str, Any]], Awaitable[Any]] | None = None
    tool: str | None = None
    plan: Any = None  # a tool step: its ToolPlan (engine.run._codegen)
    condition: Any = None  # an Expression with .test(scope)
    timeout: Any = None  # a StepNumber (engine.run._numbers)
    retry: RetryPolicy | None = None
    # A retry with a templated number: its policy, given the scope, when the step runs.
    retry_numbers: Callable[[dict[str, Any]], RetryPolicy] | None = None
    catch: tuple[Step, ...] | None = None
    continue_on_error: bool = False

    @property
    def label(self) -> str:
        """How the step is named in messages: its id, name, or kind and position."""
        if self.id:
            return self.id
        if self.name:
            return self.name
        return f"{self.kind} step at {self.site.span or self.site.path}"


@dataclass(frozen=True)
class Pipeline:
    """A compiled action: compiled once, run many times.

    Run it with :func:`engine.run.run` (or ``Engine.run``).
    """

    name: str
    description: str
    version: str | None
    file: str | None
    inputs: Mapping[str, InputSpec]
    steps: tuple[Step, ...]
    outputs: Callable[[Mapping[str, Any]], Any] | None
    output_names: tuple[str, ...]
    permissions: tuple[str, ...] | None
    tools: frozenset[str]
    calls: tuple[str, ...]
    timeout: float | None
    content_hash: str
    plugin: str | None = None
    manifest: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # Where `inputs:` is written, each input's declaration by its path (``("inputs",
    # name)``) in ``inner``: a value a caller gives that does not fit is reported there.
    inputs_site: Site | None = field(default=None, repr=False, compare=False)
    # Where `tests:` is written, each test by its path (``("tests", index)``) in ``inner``.
    tests_site: Site | None = field(default=None, repr=False, compare=False)
    # Runs the steps (engine.run._codegen.make_block): every compiled pipeline has one.
    block: Callable[..., Awaitable[None]] | None = field(default=None, repr=False, compare=False)

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}/{self.name}" if self.plugin else self.name

    def input_site(self, name: str) -> Site:
        """Where the input ``name`` is (``$.inputs.<name>``): at its declaration, else
        (an input the action does not have) at `inputs:`, when the file is known."""
        path = ("inputs", name)
        site = self.inputs_site
        if site is None:
            return Site(self.file, path, None)
        return Site(self.file, path, site.within(name).span)

    def test_site(self, index: int) -> Site:
        """Where the test ``index`` of `tests:` is written (``$.tests[index]``)."""
        path = ("tests", index)
        site = self.tests_site
        if site is None:
            return Site(self.file, path, None)
        return Site(self.file, path, site.within(index).span)


@dataclass(frozen=True)
class PluginSettings:
    """A plugin's settings as its actions see them (``config``), which of them are
    secret (never shown), and their defaults: all that a test ever sees.

    >>> settings = PluginSettings({"token": "s3cr3t", "n": 3}, frozenset({"token"}), {"n": 1})
    >>> settings.for_tests({"token": "test-token"}).values
    {'n': 1, 'token': 'test-token'}
    """

    values: Mapping[str, Any] = field(default_factory=dict)
    secret: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def for_tests(self, given: Mapping[str, Any] | None = None) -> PluginSettings:
        """What a test sees: the defaults, with the test's own ``config:`` over them
        (never the values the user set)."""
        return PluginSettings({**self.defaults, **(given or {})}, self.secret, self.defaults)


class StepTime(NamedTuple):
    """One step as a run went through it, for the history: where the step is, how it
    ended, when it started (seconds after the run did) and how long it took, nested
    steps included. Never a value: no arguments, results or outputs."""

    action: str  # the action the step belongs to (a called action's, inside `action:`)
    kind: str
    step: str | None  # its id
    name: str | None
    path: str
    line: int | None
    tool: str | None
    status: str
    attempts: int
    start: float
    duration: float
    error: tuple[str, str] | None = None  # kind, message (secrets masked)


class Timeline:
    """Each step of a run as it ended, recorded cheaply during the run (the pipeline,
    the step, when it started and ended on the run's clock, its status, attempts and
    error) and turned into :class:`StepTime` only when read, off the run's path (the
    history does it on its own thread). Error messages are masked as the run's own."""

    __slots__ = ("_entries", "_origin", "_secrets")

    def __init__(self, entries: list[tuple[Any, ...]], origin: float, secrets: Secrets) -> None:
        self._entries = entries
        self._origin = origin
        self._secrets = secrets

    def __len__(self) -> int:
        return len(self._entries)

    def steps(self) -> list[StepTime]:
        """Every step, in the order they started."""
        secrets, origin = self._secrets, self._origin
        out = []
        for pipeline, step, started, ended, status, attempts, error in self._entries:
            site = step.site
            problem = None
            if error is not None:
                message = secrets.mask_text(error.message) if secrets else error.message
                problem = (error.kind.value, message)
            out.append(
                StepTime(
                    pipeline.qualified_name,
                    step.kind,
                    step.id,
                    step.name,
                    format_path(site.path),
                    site.span.line if site.span else None,
                    step.tool,
                    status,
                    attempts,
                    started - origin,
                    ended - started,
                    problem,
                )
            )
        out.sort(key=lambda s: s.start)
        return out


@dataclass(slots=True)
class RunResult:
    """What a run gives back: outputs (a projection), or the error; the trace if asked."""

    status: RunStatus
    outputs: dict[str, Any]
    error: StepError | None = None
    trace: list[dict[str, Any]] | None = None
    duration: float = 0.0
    steps_run: int = 0
    tool_calls: int = 0
    bridge: str = ""
    simulated: bool = False
    dry_run: bool = False
    recorded_calls: list[dict[str, Any]] | None = None
    timeline: Timeline | None = None  # when asked for (``timeline=True``)

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shared by the CLI (``--json``) and the MCP server."""
        out: dict[str, Any] = {
            "status": self.status.value,
            "outputs": self.outputs,
            "duration_ms": round(self.duration * 1000, 3),
            "steps_run": self.steps_run,
            "tool_calls": self.tool_calls,
            "backend": self.bridge,
            "simulated": self.simulated,
        }
        if self.dry_run:
            out["dry_run"] = True
            out["recorded_calls"] = self.recorded_calls or []
        if self.error is not None:
            out["error"] = self.error.to_dict()
        if self.trace is not None:
            out["trace"] = self.trace
        return out
