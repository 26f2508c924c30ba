"""Embedding: km-actions inside an existing ``MCPServer`` app (as the Keyboard Maestro
server would host it), its actions calling the app's own ``km_*`` tools in-process.

The app here has two tools, ``km_calculator`` (sums like ``"2 + 3"``) and
``km_notifications`` (remembers what it showed); clients connect in-process with
``Client(app)``, in both protocol modes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from engine.server.embed import Embedded, attach
from engine.tools.config import Settings

from .conftest import ECOSYSTEM, PATIENCE, Changes, action_yaml, envelope_of

pytestmark = pytest.mark.anyio

NOTIFY_SUM = action_yaml(
    "notify-sum",
    """
inputs:
  a: {type: integer, description: A number}
  b: {type: integer, description: Another number}
steps:
  - id: sum
    tool: km_calculator
    with: {expression: "{{ inputs.a }} + {{ inputs.b }}"}
  - tool: km_notifications
    with: {title: Sum, message: "= {{ steps.sum.result.data.result }}"}
outputs:
  sum: "{{ steps.sum.result.data.result }}"
""",
    description="Add two numbers and show the sum in a notification.",
    permissions=("km_calculator", "km_notifications"),
)


class KeyboardMaestroApp:
    """A stand-in for the Keyboard Maestro MCP server: an ``MCPServer`` with two tools."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.app = MCPServer("keyboard-maestro")

        @self.app.tool()
        def km_calculator(expression: str) -> dict[str, Any]:
            """Add the whole numbers of ``expression`` (e.g. "2 + 3")."""
            try:
                total = sum(int(part) for part in expression.split("+"))
            except ValueError:
                raise ToolError(f"cannot calculate {expression!r}: only sums of numbers") from None
            return {"success": True, "data": {"result": total}}

        @self.app.tool()
        def km_notifications(
            title: str, message: str, notification_type: str = "notification"
        ) -> dict[str, Any]:
            """Show a notification."""
            self.shown.append(f"{title}: {message}")
            return {"success": True, "data": {"shown": True}}


@pytest.fixture(scope="module")
def keyboard_maestro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyboardMaestroApp]:
    """The app with km-actions attached (its store in a temporary folder)."""
    host = KeyboardMaestroApp()
    embedded = attach(
        host.app, settings=Settings(), store_root=tmp_path_factory.mktemp("embed-home")
    )
    assert isinstance(embedded, Embedded)
    yield host


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return envelope_of(await client.call_tool(name, arguments))


@pytest.mark.parametrize(
    "mode", [pytest.param("legacy", id="legacy"), pytest.param("auto", id="2026-07-28")]
)
async def test_attach_adds_the_ecosystem_and_keeps_the_apps_tools(
    keyboard_maestro: KeyboardMaestroApp, mode: str
) -> None:
    async with Client(keyboard_maestro.app, mode=mode, cache=None) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        assert names[:3] == ["km_calculator", "km_notifications", ECOSYSTEM]
        own = await client.call_tool("km_calculator", {"expression": "40 + 2"})
        assert own.structured_content == {"success": True, "data": {"result": 42}}
        listed = await call(client, ECOSYSTEM, {"operation": "list"})
        assert listed["success"] is True


async def test_an_action_runs_the_apps_own_tools_in_process(
    keyboard_maestro: KeyboardMaestroApp,
) -> None:
    async with Client(keyboard_maestro.app, cache=None) as client:
        created = await call(
            client,
            ECOSYSTEM,
            {"operation": "create", "plugin_source": NOTIFY_SUM, "validation_level": "standard"},
        )
        assert created["data"]["tool"] == "mcp-created__notify-sum"
        tool = {t.name: t for t in (await client.list_tools()).tools}["mcp-created__notify-sum"]
        assert tool.input_schema["required"] == ["a", "b"]

        answer = await call(client, "mcp-created__notify-sum", {"a": 2, "b": 3})
        assert answer["data"]["outputs"] == {"sum": 5}
        assert (answer["simulated"], answer["backend"]) == (
            False,
            "the keyboard-maestro server (in-process)",
        )
        assert keyboard_maestro.shown[-1] == "Sum: = 5"


async def test_actions_are_checked_against_the_apps_tools(
    keyboard_maestro: KeyboardMaestroApp,
) -> None:
    clipboard = action_yaml(
        "read-clipboard",
        """
steps:
  - tool: km_clipboard_manager
    with: {operation: get}
""",
        description="Read the clipboard.",
    )
    misspelt = action_yaml(
        "misspelt",
        """
steps:
  - tool: km_calculator
    with: {expresion: "1 + 1"}
""",
        description="Calculate.",
    )
    async with Client(keyboard_maestro.app, cache=None) as client:
        unknown = await call(
            client,
            ECOSYSTEM,
            {"operation": "validate", "plugin_source": clipboard, "validation_level": "standard"},
        )
        (diagnostic,) = unknown["error"]["diagnostics"]
        assert (diagnostic["code"], diagnostic["path"], diagnostic["line"]) == (
            "unknown-tool",
            "$.steps[0].tool",
            6,
        )
        assert "km_clipboard_manager" in diagnostic["message"]

        wrong = await call(
            client,
            ECOSYSTEM,
            {"operation": "validate", "plugin_source": misspelt, "validation_level": "standard"},
        )
        codes = [(d["path"], d["hint"]) for d in wrong["error"]["diagnostics"]]
        # The app's schema for km_calculator requires `expression`.
        assert codes == [("$.steps[0].with", "add `expression: …` under `with:`")]


async def test_a_failure_the_apps_tool_anticipated_reaches_the_action_as_the_tools_answer(
    keyboard_maestro: KeyboardMaestroApp,
) -> None:
    calculate = action_yaml(
        "calculate",
        """
inputs:
  expression: {type: string, description: What to calculate}
steps:
  - id: calc
    tool: km_calculator
    with: {expression: "{{ inputs.expression }}"}
outputs:
  result: "{{ steps.calc.result.data.result }}"
""",
        description="Calculate.",
        permissions=("km_calculator",),
    )
    async with Client(keyboard_maestro.app, cache=None) as client:
        await call(
            client,
            ECOSYSTEM,
            {"operation": "create", "plugin_source": calculate, "validation_level": "standard"},
        )
        failed = await call(client, "mcp-created__calculate", {"expression": "two + 2"})
    error = failed["error"]
    assert (error["code"], error["path"]) == ("tool-failed", "$.steps[0]")
    assert error["message"] == (
        "km_calculator failed: Error executing tool km_calculator: cannot calculate "
        "'two + 2': only sums of numbers (UPSTREAM_TOOL_ERROR)"
    )


@pytest.mark.parametrize(
    "mode", [pytest.param("legacy", id="legacy"), pytest.param("auto", id="2026-07-28")]
)
async def test_the_apps_clients_hear_of_new_action_tools(
    keyboard_maestro: KeyboardMaestroApp, mode: str
) -> None:
    changes = Changes()
    handler = changes.on_message if mode == "legacy" else None
    created = action_yaml(
        f"made-{mode}", "steps:\n  - set: {x: 1}\n", description="Made while listening."
    )
    async with (
        Client(keyboard_maestro.app, mode=mode, cache=None, message_handler=handler) as client,
        anyio.create_task_group() as group,
    ):
        if mode != "legacy":
            await group.start(changes.listen, client)
        else:
            await client.list_tools()  # the app learns of the client on its first request
        await call(
            client,
            ECOSYSTEM,
            {"operation": "create", "plugin_source": created, "validation_level": "standard"},
        )
        with anyio.fail_after(PATIENCE):
            await changes.wait_past(0)
        assert f"mcp-created__made-{mode}" in [t.name for t in (await client.list_tools()).tools]
        group.cancel_scope.cancel()


async def test_the_settings_switch_action_tools_off_one_by_one_or_all(tmp_path: Path) -> None:
    for settings, expected in (
        (Settings.from_data({"tools": {"disabled": ["mcp-created/hidden"]}}), ["shown"]),
        (Settings.from_data({"tools": {"per_action": False}}), []),
    ):
        host = KeyboardMaestroApp()
        attach(host.app, settings=settings, store_root=tmp_path / str(len(expected)))
        async with Client(host.app, cache=None) as client:
            for name in ("shown", "hidden"):
                text = action_yaml(name, "steps:\n  - set: {x: 1}\n", description="One.")
                await call(
                    client,
                    ECOSYSTEM,
                    {"operation": "create", "plugin_source": text, "validation_level": "standard"},
                )
            names = [t.name for t in (await client.list_tools()).tools]
            assert names[3:] == [f"mcp-created__{name}" for name in expected]
            hidden = await call(
                client, ECOSYSTEM, {"operation": "execute", "action_name": "mcp-created/hidden"}
            )
            assert hidden["success"] is True  # switched off as a tool, not as an action
