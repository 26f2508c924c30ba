"""A stand-in for the Keyboard Maestro MCP server with km-actions embedded (for
bench_mcp.py): an ``MCPServer`` app with one tool, ``km_engine_control`` (its operation
calculate, for sums such as "6+7", answered as the real server does: the result as
text), and :func:`engine.server.embed.attach`, served over stdio. The store is
``KM_ACTIONS_HOME``.

    python benchmarks/_keyboard_maestro_app.py
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from engine.server.embed import attach
from engine.tools.config import Settings

app = MCPServer("keyboard-maestro")


@app.tool()
def km_engine_control(operation: str, expression: str = "") -> dict[str, Any]:
    """Calculate: add the whole numbers of ``expression`` (e.g. "6+7")."""
    result = sum(int(p) for p in expression.split("+"))
    return {
        "success": True,
        "data": {"expression": expression, "result": str(result), "result_type": "int"},
    }


if __name__ == "__main__":
    attach(app, settings=Settings())
    app.run()
