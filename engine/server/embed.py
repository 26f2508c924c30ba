"""Embedding km-actions in an existing ``MCPServer`` app (the Keyboard Maestro server).

:func:`attach` adds ``km_plugin_ecosystem`` and one tool per installed action to the
app's own tool list, and runs actions against the app's own ``km_*`` tools in-process:
no second process, no stdio hop.

>>> from mcp.server.mcpserver import MCPServer
>>> app = MCPServer("keyboard-maestro")
>>> @app.tool()
... def km_variable_manager(operation: str, name: str | None = None) -> dict:
...     return {"success": True, "data": {"name": name, "value": "", "exists": False}}
>>> embedded = attach(app)   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ToolError,
    UnexpectedResourceError,
    UnexpectedToolError,
)

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.suggestions import did_you_mean
from engine.plugins.store import Store
from engine.server import ecosystem
from engine.server.app import KmActionsServer, _result
from engine.tools.bridge.upstream import answer_from_mcp
from engine.tools.catalog import ToolCatalog
from engine.tools.config import Settings, load_settings


class AppBridge:
    """The app's own tools as a km-actions bridge (called in-process)."""

    def __init__(self, app: Any, call: Any, tools: list[types.Tool]) -> None:
        self._app = app
        self._call = call
        self._names = {t.name for t in tools}
        self._catalog = ToolCatalog.from_tool_list(
            [t.model_dump(by_alias=True, exclude_none=True) for t in tools],
            origin=f"the {getattr(app, 'name', 'host')} server (in-process)",
        )

    @property
    def label(self) -> str:
        return self._catalog.origin

    @property
    def simulated(self) -> bool:
        return False

    def catalog(self) -> ToolCatalog:
        return self._catalog

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        if name not in self._names:
            raise StepError(
                ErrorKind.TOOL_UNAVAILABLE,
                f"{self.label} has no tool {name}",
                hint=did_you_mean(name, self._names, listing=False) or "list the server's tools",
                details={"tool": name},
            )
        try:
            result = await self._call(name, arguments)
        except (ToolError, ResourceError) as error:
            if isinstance(error, UnexpectedToolError | UnexpectedResourceError):
                raise  # a crash in the tool: the run reports it as the tool's fault
            # A failure the tool anticipated (bad arguments, a refusal): answered as the
            # app answers it over MCP, so an action sees the same failure in-process.
            result = types.CallToolResult(
                content=[types.TextContent(type="text", text=str(error))], is_error=True
            )
        if isinstance(result, types.CallToolResult):
            return answer_from_mcp(result)
        return result


class Embedded:
    """km-actions living inside another ``MCPServer``; created by :func:`attach`."""

    def __init__(self, app: Any, settings: Settings, store_root: Path | None) -> None:
        self.app = app
        self.settings = settings
        self.store_root = store_root
        self._list = app.list_tools
        self._call = app.call_tool
        self._server: KmActionsServer | None = None
        self._lock = asyncio.Lock()

    async def server(self) -> KmActionsServer:
        """The km-actions side, started on first use (it needs the app's tool list)."""
        async with self._lock:
            if self._server is None:
                from engine.server.store_host import StoreHost

                own = await self._list()
                bridge = AppBridge(self.app, self._call, own)
                host = StoreHost(Store.open(self.store_root), bridge, self.settings)
                server = KmActionsServer(host)
                # Announce changes on the app's own subscription bus (2026-07-28
                # clients); older clients are told directly, as by the server itself.
                bus = getattr(self.app, "_subscriptions", None)
                if bus is not None:
                    server.bus = bus
                self._server = server
        return self._server

    async def list_tools(self) -> list[types.Tool]:
        own = await self._list()
        server = await self.server()
        return [*own, *server._tools()[0]]

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        server = await self.server()
        request = getattr(context, "request_context", None)
        if request is not None:
            server._remember(request)
        _, by_name = server._tools()
        if name == ecosystem.TOOL_NAME:
            return _result(await server.ecosystem(dict(arguments), None))
        entry = by_name.get(name)
        if entry is None:
            return await self._call(name, arguments, context)
        return _result(
            await server.host.execute(
                entry.qualified, dict(arguments), timeout=None, profile=None, progress=None
            )
        )


def attach(
    app: Any,
    *,
    settings: Settings | None = None,
    config: str | Path | None = None,
    store_root: Path | None = None,
) -> Embedded:
    """Add km-actions to ``app`` (an ``mcp.server.mcpserver.MCPServer``): its
    ``list_tools`` and ``call_tool`` then include ``km_plugin_ecosystem`` and the
    installed actions, which call the app's own tools in-process."""
    embedded = Embedded(app, settings or load_settings(config), store_root)
    app.list_tools = embedded.list_tools
    app.call_tool = embedded.call_tool
    return embedded


__all__ = ["AppBridge", "Embedded", "attach"]
