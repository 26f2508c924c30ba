"""The Simulator: the Keyboard Maestro MCP server's ``km_*`` tools, answered from a model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic_core import to_json

from engine.diagnostics.errors import ErrorKind, StepError, format_path
from engine.diagnostics.suggestions import did_you_mean
from engine.simulator._generic import answer_generically
from engine.simulator._jsondata import NotJSONData, copy_json
from engine.simulator._persist import SimulatorStateError, StateFile, persistent_text
from engine.simulator._state import SimulatorState
from engine.simulator.tools import TOOLS, Handler, ToolContext
from engine.simulator.tools.arguments import SchemaViolation, checker_for
from engine.simulator.tools.context import ServerCrash
from engine.tools.bridge.results import ToolResult, answer_from_result
from engine.tools.catalog import ToolCatalog
from engine.tools.older_tools import older_tool_hint


def _local_now() -> datetime:
    return datetime.now().astimezone()


class Simulator:
    """A stand-in for the Keyboard Maestro MCP server's ``km_*`` tools; no Mac needed.

    Each call is answered as the real server answers it (``tests/data/km_server/`` holds
    its recorded answers; the simulator is checked against them): arguments checked
    against the tool's published schema first, then the server's own checks, then what
    Keyboard Maestro does, from a model of it (``engine.simulator.km``) whose state is the
    simulator's state. ``seed`` is such a state to start from (a Keyboard Maestro model
    document; the shipped example by default). The server's clock is ``clock``, and the
    ids it mints come from counters, so runs are reproducible.

    >>> import asyncio
    >>> sim = Simulator()
    >>> answer = asyncio.run(sim.call_tool("km_variable_manager",
    ...     {"operation": "set", "name": "Greeting", "value": "hi"}))
    >>> answer["success"], answer["data"]["value_length"]
    (True, 2)
    >>> sim.call("km_variable_manager", {"operation": "get", "name": "Greeting"})["data"]["value"]
    'hi'
    >>> sim.call("km_variable_manager", {"operation": "get", "name": "Nope"})["data"]["exists"]
    False
    >>> sim.snapshot()["keyboard_maestro"]["variables"]["Greeting"]
    'hi'
    >>> sim.reset()
    >>> sim.snapshot()["keyboard_maestro"]["variables"]["Greeting"]
    'Hello'
    """

    def __init__(
        self,
        catalog: ToolCatalog | None = None,
        *,
        state_path: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        seed: Mapping[str, Any] | None = None,
    ) -> None:
        self._catalog = catalog if catalog is not None else ToolCatalog.builtin()
        self._clock = clock or _local_now
        self._seed = copy_json(dict(seed)) if seed is not None else None
        self._handlers: dict[str, Handler] = _handlers_for(self._catalog)
        self._file = StateFile(Path(state_path)) if state_path is not None else None
        loaded = self._file.load() if self._file is not None else None
        self._state = loaded if loaded is not None else self._fresh()

    def _fresh(self) -> SimulatorState:
        return SimulatorState.seeded(copy_json(self._seed) if self._seed is not None else None)

    @property
    def label(self) -> str:
        """``"simulator"``: what users are told they are talking to."""
        return "simulator"

    @property
    def simulated(self) -> bool:
        """Always True: no answer comes from Keyboard Maestro."""
        return True

    @property
    def state_path(self) -> Path | None:
        return self._file.path if self._file is not None else None

    def catalog(self) -> ToolCatalog:
        """The tools this simulator serves (the shipped catalog unless one was given)."""
        return self._catalog

    @property
    def state(self) -> dict[str, Any]:
        """A deep copy of the whole state as JSON data (changing it changes nothing)."""
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON data: ``keyboard_maestro`` (the model) and ``server``
        (what the server process remembers)."""
        return self._state.to_json()

    def reset(self) -> None:
        """Start again from the seed (and save it, when persistence is on)."""
        self._state = self._fresh()
        if self._file is not None:
            self._file.save(self._state)

    def save(self, path: Path | None = None) -> Path:
        """Write the state now, to ``path`` or the ``state_path`` given at construction."""
        target = StateFile(Path(path)) if path is not None else self._file
        if target is None:
            raise SimulatorStateError(
                "this simulator has no state file to save to",
                hint="pass a path to save(), or create the Simulator with state_path=",
            )
        target.save(self._state)
        return target.path

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call one tool (the :class:`engine.tools.bridge.ToolBridge` entry point)."""
        return self.call(name, arguments)

    def call(self, name: str, arguments: Mapping[str, Any]) -> Any:
        """Call one tool synchronously; its answer as the runtime sees it (the tool's JSON
        object, or a failure envelope for an MCP error result). A tool the simulator does
        not offer is a ``tool-unavailable`` error, with the real server's words:

        >>> Simulator().call("km_clipboard_manager", {"operation": "get"})
        Traceback (most recent call last):
        ...
        engine.diagnostics.errors.StepError: Unknown tool: 'km_clipboard_manager'
        """
        if name not in self._catalog:
            raise self._unknown(name)
        return answer_from_result(self.result(name, arguments))

    def result(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Call one tool; the MCP result the real server would send (``isError``, the text,
        the structured content; for a tool it does not offer, ``Unknown tool: 'name'``)."""
        spec = self._catalog.get(name)
        if spec is None:
            return ToolResult(_unknown_text(name), is_error=True)
        try:
            args = checker_for(spec).check(_arguments(name, arguments))
        except SchemaViolation as violation:
            return ToolResult(violation.text, is_error=True)
        now = self._start()
        self._state.km.clock = now.isoformat()  # the Mac's clock is the simulator's
        handler = self._handlers.get(name, answer_generically)
        before = persistent_text(self._state) if self._file is not None else None
        ctx = ToolContext(name, args, self._state, now)
        crashed: str | None = None  # the text of an MCP error result, for an uncaught exception
        try:
            answer = handler(ctx)
        except ServerCrash as crash:
            answer, crashed = {}, f"Error calling tool {name!r}: {crash}"
        except Exception as bug:  # a defect in the simulator must not look like a tool answer
            raise StepError(
                ErrorKind.TOOL_FAILED,
                f"the simulator failed while answering {name}: {type(bug).__name__}: {bug}",
                hint="this is a bug in the km-actions simulator; please report it with the call",
                details={"tool": name},
            ) from bug
        changed = before is not None and persistent_text(self._state) != before
        self._state.server.clock = ctx.now.timestamp()  # time passing is no change to save
        if changed:
            self._persist(name)
        if crashed is not None:
            return ToolResult(crashed, is_error=True)
        text = to_json(answer).decode("utf-8")
        return ToolResult.of_answer(copy_json(answer), text)

    def _start(self) -> datetime:
        """When a call starts: the clock, but never before the previous call ended (the
        server's time only runs forward, also on a clock that stands still in tests)."""
        now = self._clock()
        ended = datetime.fromtimestamp(self._state.server.clock, now.tzinfo or UTC)
        return max(now, ended) if now.tzinfo is not None else now

    def _unknown(self, name: str) -> StepError:
        """The error of a call to a tool the simulator does not offer: the real server's
        answer, and what to use instead (for one only the 2025 server had) or the closest
        name."""
        hint = (
            older_tool_hint(name)
            or did_you_mean(str(name), self._catalog, listing=False)
            or "see the tool catalog for the names (`km-actions tools`)"
        )
        return StepError(
            ErrorKind.TOOL_UNAVAILABLE,
            _unknown_text(name),
            hint=hint,
            details={"tool": name, "backend": "simulator"},
        )

    def _persist(self, name: str) -> None:
        try:
            self._file.save(self._state)  # type: ignore[union-attr]
        except SimulatorStateError as problem:
            raise StepError(
                ErrorKind.TOOL_UNAVAILABLE,
                f"{name} ran, but {problem.message}",
                hint=problem.hint,
                details={"tool": name, "backend": "simulator"},
            ) from problem


def _unknown_text(name: str) -> str:
    """What the real server (FastMCP) answers to a tool it does not have, as an MCP error."""
    return f"Unknown tool: {name!r}"


def _handlers_for(catalog: ToolCatalog) -> dict[str, Handler]:
    """Handlers for tools whose schema is the one they were written for (the current
    server's); any other tool of ``catalog`` gets the generic answer."""
    shipped = ToolCatalog.builtin()
    if catalog is shipped:
        return dict(TOOLS)
    return {
        name: handler
        for name, handler in TOOLS.items()
        if name in catalog and catalog[name].input_schema == shipped[name].input_schema
    }


def _arguments(name: str, arguments: Any) -> dict[str, Any]:
    """The arguments as JSON data (what MCP can carry); a programming error otherwise."""
    if not isinstance(arguments, Mapping):
        raise StepError(
            ErrorKind.INVALID_ARGUMENTS,
            f"the arguments of {name} must be an object, not {type(arguments).__name__}",
            hint='pass the arguments as a JSON object, e.g. {"operation": "get"}',
            details={"tool": name},
        )
    try:
        copied: dict[str, Any] = copy_json(dict(arguments))
    except NotJSONData as problem:
        raise StepError(
            ErrorKind.INVALID_ARGUMENTS,
            f"the arguments of {name} are not JSON data: {problem.reason} "
            f"at {format_path(problem.path)}",
            hint="pass only strings, numbers, booleans, null, lists and objects",
            details={"tool": name},
        ) from problem
    return copied
