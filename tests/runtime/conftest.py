"""Fixtures for the runtime tests: recording in-process tools, compiling and running on them.

``tools`` is a :class:`Tools`: an :class:`InProcessBridge` with a dozen small ``km_*``
tools that record every call, plus ``compile``/``run`` helpers that validate and compile
a manifest against exactly those tools. ``clock`` is a :class:`FakeClock` (waits and
retry delays are recorded, never slept). ``failure(result)`` is the error of a run that
must have failed, and ``where(error)`` its (kind, step id, file:line:col, JSON path).

>>> tools = Tools()
>>> result = tools.run('steps:\\n  - id: e\\n    tool: km_echo\\n    with: {text: hi}\\n'
...                    'outputs: {said: "{{ steps.e.result.data.text }}"}\\n')
>>> result.outputs, tools.calls
({'said': 'hi'}, [('km_echo', {'text': 'hi'})])
"""

from __future__ import annotations

import asyncio
import inspect
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from engine.bridge.inprocess import InProcessBridge
from engine.catalog import Operations, ToolCatalog
from engine.engine import Engine
from engine.errors import StepError
from engine.library import ActionLibrary
from engine.model import Pipeline, RunResult, RunStatus
from engine.runtime import FakeClock, run

READ_ONLY: dict[str, Any] = {"readOnlyHint": True}
WRITE: dict[str, Any] = {"readOnlyHint": False, "destructiveHint": False}
DESTRUCTIVE: dict[str, Any] = {"readOnlyHint": False, "destructiveHint": True}

FAILURE: dict[str, Any] = {
    "code": "KM_CONNECTION_FAILED",
    "message": "Keyboard Maestro Engine is not running",
    "recovery_suggestion": "Start the Keyboard Maestro Engine and try again",
}


def _schema(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def manifest(body: str, *, name: str = "t") -> str:
    """A full action manifest: the standard header, then ``body`` (dedented)."""
    return f'api_version: "1.1"\nkind: action\nname: {name}\n' + textwrap.dedent(body)


class Tools:
    """Recording in-process tools, and helpers to compile and run actions against them.

    Tools (class in brackets):

    - ``km_echo(text: string)`` [read-only] → ``data: {text}``
    - ``km_add(a: integer, b: integer)`` [write] → ``data: {sum}``
    - ``km_flag(on: boolean)`` [write] → ``data: {on}``
    - ``km_note(text: string | null)`` [write] → ``data: {text}``
    - ``km_free(**anything)`` [write, no argument schema] → ``data: {the arguments}``
    - ``km_fail()`` [read-only] → ``success: false`` with :data:`FAILURE`
    - ``km_raise()`` [read-only] → raises ``RuntimeError("boom")``
    - ``km_flaky()`` [read-only] → fails like ``km_fail`` while ``flaky_failures`` > 0
    - ``km_delete(name: string)`` [destructive] → ``data: {deleted}``
    - ``km_slow(seconds: number)`` [read-only, async] → sleeps for real
    - ``km_gate(name: string, wait_for: string)`` [read-only, async] → sets the event
      ``name``, then waits for the event ``wait_for`` (see :meth:`event`)
    """

    def __init__(self) -> None:
        self.bridge = InProcessBridge()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.cancelled: list[str] = []
        self.flaky_failures = 0
        self._events: dict[str, asyncio.Event] = {}
        self._engine: tuple[ToolCatalog, Engine] | None = None
        self._register_defaults()

    # -- tools -------------------------------------------------------------------------

    def register(
        self,
        name: str,
        function: Callable[..., Any],
        schema: Mapping[str, Any] | None = None,
        annotations: Mapping[str, Any] = WRITE,
        operations: Operations | None = None,
    ) -> None:
        """Add a tool whose calls are recorded in :attr:`calls` (sync or async)."""
        if inspect.iscoroutinefunction(function):

            async def recorded_async(**arguments: Any) -> Any:
                self.calls.append((name, dict(arguments)))
                return await function(**arguments)

            self.bridge.register(
                name, recorded_async, schema, annotations=annotations, operations=operations
            )
        else:

            def recorded(**arguments: Any) -> Any:
                self.calls.append((name, dict(arguments)))
                return function(**arguments)

            self.bridge.register(
                name, recorded, schema, annotations=annotations, operations=operations
            )

    def event(self, name: str) -> asyncio.Event:
        """The event ``km_gate`` sets for ``name`` (created on first use)."""
        return self._events.setdefault(name, asyncio.Event())

    def _register_defaults(self) -> None:
        string, integer = {"type": "string"}, {"type": "integer"}

        def flaky() -> dict[str, Any]:
            if self.flaky_failures > 0:
                self.flaky_failures -= 1
                return {"success": False, "error": dict(FAILURE)}
            return {"success": True, "data": {"ok": True}}

        def boom() -> dict[str, Any]:
            raise RuntimeError("boom")

        async def slow(seconds: float) -> dict[str, Any]:
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                self.cancelled.append("km_slow")
                raise
            return {"success": True, "data": {"slept": seconds}}

        async def gate(name: str, wait_for: str) -> dict[str, Any]:
            self.event(name).set()
            try:
                await self.event(wait_for).wait()
            except asyncio.CancelledError:
                self.cancelled.append(name)
                raise
            return {"success": True, "data": {"name": name}}

        self.register(
            "km_echo",
            lambda text: {"success": True, "data": {"text": text}},
            _schema(text=string),
            READ_ONLY,
        )
        self.register(
            "km_add",
            lambda a, b: {"success": True, "data": {"sum": a + b}},
            _schema(a=integer, b=integer),
        )
        self.register(
            "km_flag",
            lambda on: {"success": True, "data": {"on": on}},
            _schema(on={"type": "boolean"}),
        )
        self.register(
            "km_note",
            lambda text=None: {"success": True, "data": {"text": text}},
            _schema(text={"anyOf": [string, {"type": "null"}]}),
        )
        self.register("km_free", lambda **kw: {"success": True, "data": kw}, {"type": "object"})
        self.register(
            "km_fail", lambda: {"success": False, "error": dict(FAILURE)}, _schema(), READ_ONLY
        )
        self.register("km_raise", boom, _schema(), READ_ONLY)
        self.register("km_flaky", flaky, _schema(), READ_ONLY)
        self.register(
            "km_delete",
            lambda name: {"success": True, "data": {"deleted": name}},
            _schema(name=string),
            DESTRUCTIVE,
        )
        self.register("km_slow", slow, _schema(seconds={"type": "number"}), READ_ONLY)
        self.register("km_gate", gate, _schema(name=string, wait_for=string), READ_ONLY)

    # -- compiling and running -----------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """An engine whose catalog is exactly these tools (rebuilt after a register)."""
        catalog = self.bridge.catalog()
        if self._engine is None or self._engine[0] is not catalog:
            self._engine = (catalog, Engine(catalog=catalog))
        return self._engine[1]

    def compile(
        self,
        body: str,
        *,
        name: str = "t",
        library: ActionLibrary | None = None,
        check: bool = True,
    ) -> Pipeline:
        """Validate (unless ``check`` is False) and compile ``manifest(body)`` as
        ``<name>.yaml``; with a library, calls to its actions validate."""
        document = self.engine.load(manifest(body, name=name), file=f"{name}.yaml")
        context = library.context() if library is not None else None
        return self.engine.compile(document, context=context, check=check)

    def library(self, **actions: str) -> ActionLibrary:
        """An :class:`ActionLibrary` holding ``name=body`` actions (files ``<name>.yaml``)."""
        library = ActionLibrary(self.engine)
        for name, body in actions.items():
            library.add(self.engine.load(manifest(body, name=name), file=f"{name}.yaml"))
        return library

    async def run_async(
        self, action: str | Pipeline, inputs: Mapping[str, Any] | None = None, **options: Any
    ) -> RunResult:
        """Run an action (a body to compile, or a pipeline) on these tools."""
        pipeline = self.compile(action) if isinstance(action, str) else action
        return await run(pipeline, inputs, bridge=self.bridge, **options)

    def run(
        self, action: str | Pipeline, inputs: Mapping[str, Any] | None = None, **options: Any
    ) -> RunResult:
        """:meth:`run_async` in a fresh event loop."""
        return asyncio.run(self.run_async(action, inputs, **options))


def failure(result: RunResult) -> StepError:
    """The error of a run that must have failed."""
    assert result.status is RunStatus.FAILED, result.outputs
    assert result.error is not None
    return result.error


def where(error: StepError) -> tuple[str, str | None, str, str]:
    """(kind, step id, file:line:col, JSON path) of an error."""
    return (error.kind.value, error.step, error.first.location, error.first.json_path)


@pytest.fixture
def tools() -> Tools:
    """Fresh recording tools (see :class:`Tools`)."""
    return Tools()


@pytest.fixture
def clock() -> FakeClock:
    """A clock that never sleeps: ``clock.sleeps`` lists every wait, ``clock.now`` moves."""
    return FakeClock()
