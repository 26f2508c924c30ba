"""The shapes the MCP server and its host share: an action as a tool, progress reports.

The server is a thin adapter: it lists tools, turns calls into operations of
:class:`engine.server.store_host.StoreHost` (the host over the plugin store, the only
one) and answers with the host's envelopes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from engine.plugins.progress import Progress

ClientProgress = Callable[[float, float | None, str | None], Coroutine[Any, Any, None]]
"""Reports ``(done, total, message)`` to the MCP client (``ctx.report_progress``); the
store's own work reports to a :data:`engine.plugins.progress.Progress`, which
:func:`thread_progress` turns into one of these."""


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


def thread_progress(progress: ClientProgress | None, what: str) -> Progress | None:
    """A synchronous ``(done, total)`` callback for work on the store's thread that
    reports to the MCP client from the event loop."""
    if progress is None:
        return None
    loop = asyncio.get_running_loop()

    def report(done: int, total: int | None) -> None:
        asyncio.run_coroutine_threadsafe(progress(done, total, what), loop)

    return report
