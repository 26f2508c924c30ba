"""The simulator served over MCP: every catalog tool answered by a Simulator, on stdio or HTTP.

A stand-in for the Keyboard Maestro MCP server that speaks real MCP, so the upstream
bridge, the km-actions server and MCP clients can be exercised end to end without a
Mac. It answers exactly as that server does: a tool's answer comes back as
``structured_content`` and as its JSON text, with ``is_error`` false even when the
answer says ``"success": false``; arguments its schema refuses get pydantic's message
with ``is_error`` true. Its tools are listed as that server lists them (a title, an
output schema, no annotations); a tool it does not have gets the server's ``Unknown tool:
'km_x'`` (``is_error`` true). Only a defect in the simulator gets an ``is_error`` answer of
km-actions' own.

>>> import anyio
>>> from mcp import Client
>>> async def demo() -> tuple[int, object]:
...     async with Client(create_server(Simulator()), mode="legacy") as client:
...         listing = await client.list_tools()
...         answer = await client.call_tool("km_variable_manager",
...                                         {"operation": "get", "name": "Greeting"})
...         return len(listing.tools), answer.structured_content["data"]["value"]
>>> anyio.run(demo)
(29, 'Hello')
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from engine import __version__
from engine.diagnostics.errors import StepError
from engine.simulator._core import Simulator
from engine.tools.bridge.upstream import SIMULATOR_SERVER_NAME
from engine.tools.catalog import ToolCatalog

__all__ = [
    "LOOPBACK",
    "SIMULATOR_SERVER_NAME",
    "answer_call",
    "create_server",
    "serve",
    "serve_http",
    "serve_stdio",
    "tools_for",
]

LOOPBACK = "127.0.0.1"
HTTP_PATH = "/mcp"

logger = logging.getLogger(__name__)

_INSTRUCTIONS = (
    "A simulator of the Keyboard Maestro MCP server's km_* tools, run by km-actions. "
    "Nothing reaches Keyboard Maestro: every answer comes from a model of it."
)
OUTPUT_SCHEMA = {"type": "object", "additionalProperties": True}


def tools_for(catalog: ToolCatalog) -> list[types.Tool]:
    """The MCP tool entries for a catalog, as the Keyboard Maestro MCP server (FastMCP)
    lists its tools: name, a title made from it, description, inputSchema as published,
    an object outputSchema and FastMCP's ``_meta``; no annotations (it publishes none).

    >>> tools = tools_for(ToolCatalog.builtin())
    >>> len(tools), tools[0].name, tools[0].title, tools[0].annotations
    (29, 'km_action_builder', 'Km Action Builder', None)
    """
    return [
        types.Tool.model_validate(
            {
                "name": spec.name,
                "title": spec.name.replace("_", " ").title(),
                "description": spec.description,
                "inputSchema": dict(spec.input_schema),
                "outputSchema": OUTPUT_SCHEMA,
                "_meta": {"fastmcp": {"tags": []}},
            }
        )
        for spec in catalog.values()
    ]


def answer_call(
    simulator: Simulator, name: str, arguments: Mapping[str, Any] | None
) -> types.CallToolResult:
    """Answer one ``tools/call`` with the simulator, as the real server would; never raises.

    >>> result = answer_call(Simulator(), "km_variable_manager", {"operation": "rename"})
    >>> result.is_error, result.structured_content["error"]["code"]
    (False, 'INVALID_PARAMETER')
    >>> answer_call(Simulator(), "km_variable_manager", {}).content[0].text.splitlines()[0]
    '1 validation error for call[km_variable_manager]'
    >>> answer_call(Simulator(), "km_clipboard_manager", {}).content[0].text
    "Unknown tool: 'km_clipboard_manager'"
    """
    try:
        result = simulator.result(name, {} if arguments is None else arguments)
    except StepError as problem:
        hint = f" ({problem.hint})" if problem.hint else ""
        return _error_result(f"{problem.message}{hint}")
    except Exception as bug:  # a defect must not take the server down with it
        logger.exception("the simulator failed while answering %s", name)
        return _error_result(
            f"the km-actions simulator failed while answering {name}: "
            f"{type(bug).__name__}: {bug} (this is a bug in km-actions; please report it)"
        )
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=result.text)],
        structured_content=result.structured,
        is_error=result.is_error,
    )


def _error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], is_error=True
    )


def create_server(simulator: Simulator | None = None) -> Server[Any]:
    """A low-level MCP server (named :data:`SIMULATOR_SERVER_NAME`) that serves ``simulator``.

    The low-level server keeps each tool's JSON Schema exactly as the catalog has it
    (``MCPServer`` would rebuild schemas from Python signatures).

    >>> create_server().name
    'km-actions-simulator'
    """
    sim = simulator if simulator is not None else Simulator()
    catalog = sim.catalog()
    tools = tools_for(catalog)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return answer_call(sim, params.name, params.arguments)

    def input_schema(name: str) -> Mapping[str, Any] | None:
        spec = catalog.get(name)
        return spec.input_schema if spec is not None else None

    return Server(
        SIMULATOR_SERVER_NAME,
        version=__version__,
        title="km-actions simulator (not Keyboard Maestro)",
        instructions=_INSTRUCTIONS,
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(simulator: Simulator) -> None:
    """Serve ``simulator`` on stdin/stdout until stdin closes. Nothing else goes to stdout.

    Example: an MCP client configured with the command ``km-actions simulator`` starts
    this; ``UpstreamBridge(["km-actions", "simulator"])`` does the same for km-actions.
    """
    server = create_server(simulator)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(
    simulator: Simulator,
    port: int,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``simulator`` over streamable HTTP on ``127.0.0.1:port`` (0 picks a free port).

    ``on_ready`` gets the URL (``http://127.0.0.1:PORT/mcp``) once the port is listening.
    Only loopback is ever bound: the simulator has no authentication.

    Example: ``km-actions simulator --http 8765`` serves ``http://127.0.0.1:8765/mcp``,
    which ``UpstreamBridge(url="http://127.0.0.1:8765/mcp")`` connects to.
    """
    import uvicorn  # only HTTP mode pays for it

    server = create_server(simulator)
    app = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=LOOPBACK)
    listener = _listen(port)
    url = f"http://{LOOPBACK}:{listener.getsockname()[1]}{HTTP_PATH}"
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    if on_ready is not None:
        on_ready(url)
    try:
        await uvicorn.Server(config).serve(sockets=[listener])
    finally:
        listener.close()


def _listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def serve(simulator: Simulator, *, http_port: int | None = None) -> None:
    """Serve until stdin closes (stdio) or the process is interrupted (HTTP); blocking.

    Announcements go to stderr, e.g. ``km-actions simulator: serving MCP at
    http://127.0.0.1:8765/mcp``; stdout carries nothing but the protocol.

    Example: ``serve(Simulator(state_path=Path("state.json")), http_port=8765)`` is what
    ``km-actions simulator --http 8765 --state state.json`` runs.
    """
    if http_port is None:
        _announce("serving MCP on stdin/stdout (not Keyboard Maestro: answers come from a model)")
        anyio.run(serve_stdio, simulator, backend="asyncio")
        return

    def ready(url: str) -> None:
        _announce(f"serving MCP at {url} (loopback only; Ctrl-C stops it)")

    async def main() -> None:
        await serve_http(simulator, http_port, on_ready=ready)

    anyio.run(main, backend="asyncio")


def _announce(text: str) -> None:
    print(f"km-actions simulator: {text}", file=sys.stderr, flush=True)
