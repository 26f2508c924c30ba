"""A test-only MCP server on stdio: the simulator's tools plus a few that misbehave on purpose.

Run as ``python tests/tools/bridge/upstream_server.py [--keyboard-maestro-down]``. Its
serverInfo name is not the simulator's, so a bridge to it is not ``simulated``. With
``--keyboard-maestro-down`` it answers every simulator tool as the real server does on a
machine where Keyboard Maestro is not running: :data:`KM_DOWN`, a failure inside a
successful MCP result (structured content and the same JSON as text). Extra tools:

- ``km_test_sleep {seconds, marker?}``: touches ``marker`` (a file path), then sleeps.
- ``km_test_pid {}``: ``data: {pid}``, the server's process id.
- ``km_test_text {text}``: answers plain text content only (no structured content).
- ``km_test_fail {text}``: answers ``isError: true`` with the text.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from engine.simulator import Simulator
from engine.simulator.server import answer_call, tools_for

NAME = "km-actions-test-upstream"
#: The real server's answer when Keyboard Maestro Engine cannot be reached (its
#: ``check_connection`` failed), as its tools return it.
KM_DOWN = {
    "success": False,
    "error": {
        "code": "KM_CONNECTION_FAILED",
        "message": "Cannot connect to Keyboard Maestro Engine",
        "details": "Keyboard Maestro Engine is not running or not accessible",
        "recovery_suggestion": "Start Keyboard Maestro and ensure the Engine is running. "
        "Check accessibility permissions if needed.",
    },
}


def _tool(name: str, **properties: Any) -> types.Tool:
    schema = {"type": "object", "properties": properties}
    return types.Tool(name=name, description=f"test tool {name}", input_schema=schema)


EXTRA = [
    _tool("km_test_sleep", seconds={"type": "number"}, marker={"type": "string"}),
    _tool("km_test_pid"),
    _tool("km_test_text", text={"type": "string"}),
    _tool("km_test_fail", text={"type": "string"}),
]


def _text(text: str, *, is_error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], is_error=is_error
    )


async def _extra(name: str, args: dict[str, Any]) -> types.CallToolResult:
    if name == "km_test_sleep":
        if args.get("marker"):
            Path(args["marker"]).touch()
        await anyio.sleep(float(args.get("seconds", 1)))
        envelope = {"success": True, "data": {"slept": args.get("seconds", 1)}}
        return types.CallToolResult(content=[], structured_content=envelope)
    if name == "km_test_pid":
        envelope = {"success": True, "data": {"pid": os.getpid()}}
        return types.CallToolResult(content=[], structured_content=envelope)
    if name == "km_test_text":
        return _text(str(args.get("text", "")))
    return _text(str(args.get("text", "")), is_error=True)


def build(*, keyboard_maestro_down: bool = False) -> Server[Any]:
    simulator = Simulator()
    tools = [*tools_for(simulator.catalog()), *EXTRA]
    extra = {tool.name for tool in EXTRA}

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name in extra:
            return await _extra(params.name, params.arguments or {})
        if keyboard_maestro_down and params.name in simulator.catalog():
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=json.dumps(KM_DOWN))],
                structured_content=KM_DOWN,
            )
        return answer_call(simulator, params.name, params.arguments)

    return Server(NAME, version="0", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    server = build(keyboard_maestro_down="--keyboard-maestro-down" in sys.argv[1:])
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
