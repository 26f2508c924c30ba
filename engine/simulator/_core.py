"""The Simulator: a stateful, deterministic stand-in for the ``km_*`` tools."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.catalog import ToolCatalog, ToolSpec
from engine.errors import ErrorKind, StepError, format_path
from engine.simulator._context import Call, Handler, ToolFailure
from engine.simulator._generic import handle_generic
from engine.simulator._handlers import HANDLERS
from engine.simulator._jsondata import NotJSONData, copy_json
from engine.simulator._persist import SimulatorStateError, StateFile
from engine.simulator._state import seed_state
from engine.simulator._validation import ToolValidator

SERVER_NAME = "km-actions simulator (not Keyboard Maestro)"


def _local_now() -> datetime:
    return datetime.now().astimezone()


class Simulator:
    """A stand-in for the Keyboard Maestro MCP server's ``km_*`` tools; no Keyboard Maestro needed.

    It keeps real state (clipboard, variables, dictionaries, macros and groups,
    notifications, token statistics), validates every call against the tool's
    inputSchema, and answers in the server's envelope with ``"simulated": True``.
    Ids come from counters and times from ``clock``, so runs are reproducible.

    >>> import asyncio
    >>> sim = Simulator()
    >>> answer = asyncio.run(sim.call_tool("km_variable_manager",
    ...     {"operation": "set", "name": "Greeting", "value": "hi"}))
    >>> answer["success"], answer["simulated"]
    (True, True)
    >>> sim.call("km_variable_manager", {"operation": "get", "name": "Greeting"})["data"]["value"]
    'hi'
    >>> sim.call("km_variable_manager", {"operation": "get", "name": "Nope"})["error"]["code"]
    'NOT_FOUND'
    >>> sim.snapshot()["variables"]["global"]
    {'Greeting': 'hi'}
    >>> sim.reset()
    >>> sim.snapshot()["variables"]
    {}
    """

    def __init__(
        self,
        catalog: ToolCatalog | None = None,
        *,
        state_path: Path | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._catalog = catalog if catalog is not None else ToolCatalog.builtin()
        self._clock = clock or _local_now
        self._handlers: dict[str, Handler] = _handlers_for(self._catalog)
        self._validators: dict[str, ToolValidator] = {}
        self._file = StateFile(Path(state_path)) if state_path is not None else None
        loaded = self._file.load() if self._file is not None else None
        self._state = loaded if loaded is not None else seed_state(self._clock())

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
        """The whole state as JSON data, including memory-only (password, local) values."""
        return self._state.to_json()

    def reset(self) -> None:
        """Start again from the example state (and save it, when persistence is on)."""
        self._state = seed_state(self._clock())
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

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call one tool (the :class:`engine.bridge.ToolBridge` entry point)."""
        return self.call(name, arguments)

    def call(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Call one tool synchronously and return its answer envelope."""
        spec = self._spec(name)
        now = self._clock()
        call: Call | None = None
        try:
            args = self._validator(spec).check(_arguments(arguments))
            call = Call(name, args, self._state, now)
            data = self._handlers.get(name, handle_generic)(call)
            answer = _success(name, args, data, now)
        except ToolFailure as failure:
            answer = _failure(name, arguments, failure, now)
        except Exception as bug:  # a defect in the simulator must not look like a tool answer
            raise StepError(
                ErrorKind.TOOL_FAILED,
                f"the simulator failed while answering {name}: {type(bug).__name__}: {bug}",
                hint="this is a bug in the km-actions simulator; please report it with the call",
                details={"tool": name},
            ) from bug
        if call is not None and call.changed and self._file is not None:
            self._persist(name)
        copied: dict[str, Any] = copy_json(answer)
        return copied

    def _spec(self, name: str) -> ToolSpec:
        spec = self._catalog.get(name)
        if spec is None:
            close = difflib.get_close_matches(str(name), list(self._catalog), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "see the tool catalog for the names"
            raise StepError(
                ErrorKind.TOOL_UNAVAILABLE,
                f"the simulator has no tool '{name}'",
                hint=hint,
                details={"tool": name, "backend": "simulator"},
            )
        return spec

    def _validator(self, spec: ToolSpec) -> ToolValidator:
        validator = self._validators.get(spec.name)
        if validator is None:
            validator = self._validators[spec.name] = _compiled(spec)
        return validator

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


# Compiled validators, shared by every simulator serving the same (immutable) ToolSpec.
_COMPILED: dict[int, ToolValidator] = {}
_MAX_COMPILED = 2_000


def _compiled(spec: ToolSpec) -> ToolValidator:
    validator = _COMPILED.get(id(spec))
    if validator is None or validator.spec is not spec:
        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.clear()
        validator = _COMPILED[id(spec)] = ToolValidator(spec)
    return validator


def _handlers_for(catalog: ToolCatalog) -> dict[str, Handler]:
    """Modelled handlers for tools whose schema is the one they were written for."""
    shipped = ToolCatalog.builtin()
    if catalog is shipped:
        return dict(HANDLERS)
    return {
        name: handler
        for name, handler in HANDLERS.items()
        if name in catalog
        and name in shipped
        and catalog[name].input_schema == shipped[name].input_schema
    }


def _arguments(arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, Mapping):
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"arguments must be an object, not {type(arguments).__name__}",
            'Pass the arguments as a JSON object, e.g. {"operation": "get"}.',
        )
    try:
        copied: dict[str, Any] = copy_json(dict(arguments))
    except NotJSONData as problem:
        raise ToolFailure(
            "VALIDATION_ERROR",
            f"arguments are not JSON data: {problem}",
            "Pass only strings, numbers, booleans, null, lists and objects.",
            {"path": format_path(problem.path)},
        ) from problem
    return copied


def _metadata(name: str, args: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    meta: dict[str, Any] = {"tool": name, "timestamp": now.isoformat(), "server": SERVER_NAME}
    operation = args.get("operation")
    if isinstance(operation, str):
        meta["operation"] = operation
    return meta


def _success(name: str, args: Mapping[str, Any], data: Any, now: datetime) -> dict[str, Any]:
    return {
        "success": True,
        "data": data,
        "metadata": _metadata(name, args, now),
        "simulated": True,
    }


def _failure(name: str, args: Any, failure: ToolFailure, now: datetime) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": failure.code,
        "message": failure.message,
        "recovery_suggestion": failure.suggestion,
    }
    if failure.details:
        error["details"] = failure.details
    meta = _metadata(name, args if isinstance(args, Mapping) else {}, now)
    return {"success": False, "error": error, "metadata": meta, "simulated": True}
