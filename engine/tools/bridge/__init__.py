"""The bridge: the only door from a running action to tools.

A backend is anything that satisfies :class:`ToolBridge`: the simulator, in-process
callables, test mocks, or an upstream MCP server. The runtime never calls tools any
other way, so permission checks and argument checks happen in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol, runtime_checkable

from engine.tools.catalog import ToolCatalog


@runtime_checkable
class ToolBridge(Protocol):
    """A source of ``km_*`` tools.

    ``call_tool`` returns the tool's answer exactly as the tool gave it (for ``km_*``
    tools the envelope ``{"success": ..., "data": ...}``). A tool that cannot be reached
    raises :class:`engine.diagnostics.errors.StepError` with kind ``tool-unavailable``.
    """

    @property
    def label(self) -> str:
        """What users are told they are talking to, e.g. ``"simulator"``."""
        ...

    @property
    def simulated(self) -> bool:
        """True when answers do not come from Keyboard Maestro itself."""
        ...

    def catalog(self) -> ToolCatalog:
        """The tools this backend offers, with their input schemas."""
        ...

    def call_tool(self, name: str, arguments: dict[str, Any]) -> Awaitable[Any]:
        """Call one tool; the awaitable gives its answer.

        An ``async def`` satisfies this. A plain ``def`` that returns the inner
        backend's awaitable saves a coroutine frame on the hot path (the guard and the
        in-process backend do that). Exceptions other than ``StepError`` are turned into
        step errors by the runtime.
        """
        ...
