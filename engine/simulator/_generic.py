"""The answer of a tool the simulator does not model: conformant, validated, changes nothing.

Every tool of the current Keyboard Maestro MCP server is modelled (``engine/simulator/tools``).
A simulator built on another catalog (a dry run against the saved tool list of an older or
newer server) answers that server's other tools with this echo, so later steps still see a
result.
"""

from __future__ import annotations

from engine.simulator.tools import Answer, ToolContext

NO_EFFECT = "none: the simulator accepted this call and changed nothing"


def answer_generically(ctx: ToolContext) -> Answer:
    """Echo the tool, its operation and its checked arguments (defaults filled in)."""
    return {
        "success": True,
        "data": {
            "tool": ctx.tool,
            "operation": ctx.args.get("operation"),
            "arguments": ctx.args,
            "simulated_effect": NO_EFFECT,
        },
    }
