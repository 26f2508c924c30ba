"""What the MCP server needs from the rest of km-actions: the `Host` seam.

The server is a thin adapter: it lists tools, turns calls into host operations and
answers with the host's envelopes. :class:`engine.server.store_host.StoreHost` is the
host over the plugin store; tests may use others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from engine.catalog import ToolCatalog
from engine.plugins.status import PluginState

Progress = Callable[[float, float | None, str | None], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ActionEntry:
    """One enabled action as an MCP tool."""

    plugin: str
    name: str
    tool_name: str
    title: str
    description: str
    input_schema: Mapping[str, Any]
    read_only: bool
    destructive: bool

    @property
    def qualified(self) -> str:
        return f"{self.plugin}/{self.name}"


class Host(Protocol):
    """The operations behind the server's tools, resources and prompt."""

    def generation(self) -> int:
        """A number that changes whenever the set of action tools may have changed."""
        ...

    def action_tools(self) -> list[ActionEntry]:
        """The actions offered as tools (empty when per-action tools are switched off)."""
        ...

    def on_tools_changed(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Register what to call after the tool set changed."""
        ...

    def catalog(self) -> ToolCatalog:
        """The km_* tools actions can call (the upstream's, or the shipped catalog)."""
        ...

    def ceiling(self) -> tuple[str, ...]:
        """What MCP callers may grant the actions they create or install."""
        ...

    def plugin_ids(self) -> list[str]: ...

    def plugin_state(self, plugin: str) -> PluginState:
        """An installed plugin's status (see :mod:`engine.plugins.status`)."""
        ...

    async def in_worker(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` where the host's store may be used (its own thread)."""
        ...

    def plugin_docs(self, plugin: str) -> str:
        """Generated Markdown documentation of an installed plugin."""
        ...

    async def execute(
        self,
        qualified: str,
        inputs: Mapping[str, Any],
        *,
        timeout: float | None,
        profile: str | None,
        progress: Progress | None,
    ) -> dict[str, Any]:
        """Run an installed action; the envelope of its result."""
        ...

    async def operation(
        self, operation: str, args: Mapping[str, Any], progress: Progress | None
    ) -> dict[str, Any]:
        """Run one checked `km_plugin_ecosystem` operation; its envelope."""
        ...

    async def settle(self) -> None:
        """Once the store work in flight has finished (an operation that timed out or was
        cancelled does not stop it), reload the tools and announce any change."""
        ...


def thread_progress(progress: Progress | None, what: str) -> Any:
    """A synchronous ``(done, total)`` callback for work on the store's thread that
    reports to the MCP client from the event loop."""
    if progress is None:
        return None
    loop = asyncio.get_running_loop()

    def report(done: int, total: int | None) -> None:
        asyncio.run_coroutine_threadsafe(progress(done, total, what), loop)

    return report
