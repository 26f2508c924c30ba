"""In-process tools: register Python callables (sync or async) with their input schemas."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.suggestions import did_you_mean
from engine.tools.catalog import Operations, ToolCatalog, ToolSpec


class InProcessBridge:
    """Tools that are Python functions in this process (tests, benchmarks, embedding).

    >>> import asyncio
    >>> bridge = InProcessBridge()
    >>> bridge.register("km_add", lambda a, b: {"success": True, "data": a + b},
    ...                 {"type": "object", "properties": {"a": {"type": "integer"}}})
    >>> async def call(): return await bridge.call_tool("km_add", {"a": 1, "b": 2})
    >>> asyncio.run(call())
    {'success': True, 'data': 3}
    """

    def __init__(self, *, label: str = "in-process tools", simulated: bool = False) -> None:
        self._label = label
        self._simulated = simulated
        self._tools: dict[str, tuple[Callable[..., Any], bool]] = {}
        self._specs: dict[str, ToolSpec] = {}
        self._catalog: ToolCatalog | None = None

    @property
    def label(self) -> str:
        return self._label

    @property
    def simulated(self) -> bool:
        return self._simulated

    def register(
        self,
        name: str,
        function: Callable[..., Any],
        input_schema: Mapping[str, Any] | None = None,
        *,
        description: str = "",
        annotations: Mapping[str, Any] | None = None,
        operations: Operations | None = None,
    ) -> None:
        """Offer ``function`` as the tool ``name``; it is called with keyword arguments.
        ``operations``: for a tool that does several things, the argument that names what
        and the class of each value (read-only, write, destructive)."""
        is_async = inspect.iscoroutinefunction(function)
        self._tools[name] = (function, is_async)
        self._specs[name] = ToolSpec(
            name=name,
            description=description or (function.__doc__ or "").strip(),
            input_schema=dict(input_schema or {"type": "object"}),
            annotations=dict(annotations or {"readOnlyHint": False, "destructiveHint": False}),
            source="in-process",
            operations=operations,
        )
        self._catalog = None

    def catalog(self) -> ToolCatalog:
        if self._catalog is None:
            self._catalog = ToolCatalog(self._specs.values(), origin=self._label)
        return self._catalog

    def direct(self, name: str) -> Callable[..., Awaitable[Any]] | None:
        """The tool's own async function, for callers that pass keyword arguments and
        turn what it raises into step errors themselves (the runtime's generated code
        does); None for synchronous or unknown tools."""
        entry = self._tools.get(name)
        return entry[0] if entry is not None and entry[1] else None

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        entry = self._tools.get(name)
        if entry is None:
            raise StepError(
                ErrorKind.TOOL_UNAVAILABLE,
                f"no tool named {name} is registered",
                hint=did_you_mean(name, self._tools, listing=False)
                or "register the tool on this bridge before running actions that call it",
                details={"tool": name},
            )
        function, is_async = entry
        try:
            if is_async:
                return await function(**arguments)
            return function(**arguments)
        except StepError:
            raise
        except TypeError as exc:
            raise StepError(
                ErrorKind.INVALID_ARGUMENTS,
                f"{name} rejected its arguments: {exc}",
                details={"tool": name},
            ) from exc
        except Exception as exc:
            raise StepError(
                ErrorKind.TOOL_FAILED,
                f"{name} raised {type(exc).__name__}: {exc}",
                details={"tool": name},
            ) from exc
