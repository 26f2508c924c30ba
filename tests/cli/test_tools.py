"""``km-actions tools NAME [OPERATION]``: one tool's page, from the shipped catalog or a
saved server's tool list, as text and JSON; unknown tools and operations."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.paths import saved_tools_path
from engine.tools.catalog import ToolCatalog
from engine.tools.saved_tools import save_tool_list
from tests.cli.conftest import Cli

CATALOG = ToolCatalog.builtin()


def test_the_page_of_a_tool(cli: Cli) -> None:
    shown = cli("tools", "km_variable_manager", "get")
    assert (shown.code, shown.err) == (0, "")
    lines = shown.out.splitlines()
    assert lines[0] == "km_variable_manager (destructive), from the catalog km-actions ships"
    assert "    with: {operation: get, name: Greeting}" in lines
    assert '    value   text           "Hello"' in lines
    assert lines[-1] == "Answers recorded from the Keyboard Maestro MCP server at 66c1fcb."
    whole = cli("tools", "km_variable_manager").out
    assert whole.count("Example step:") == 4


def test_the_page_as_json(cli: Cli) -> None:
    data = cli("tools", "km_window_manager", "get_screens", "--json").json()
    assert data["source"] == {"kind": "shipped"}
    tool = data["tool"]
    assert (tool["name"], tool["class"]) == ("km_window_manager", "write")
    (case,) = tool["cases"]
    assert case["operation"] == "get_screens"
    assert case["class"] == "read-only"
    assert case["example_step"]["with"]["operation"] == "get_screens"
    assert case["answer_compact"].startswith("{success: boolean, operation: string, screens: [")


def test_an_unknown_tool_or_operation(cli: Cli) -> None:
    assert (cli("tools", "km_variabel_manager").code, cli("tools", "km_variabel_manager").err) == (
        2,
        "km-actions tools: there is no tool named `km_variabel_manager` in the catalog\n"
        "     = hint: did you mean 'km_variable_manager'?\n",
    )
    wrong = cli("tools", "km_variable_manager", "gett")
    assert (wrong.code, wrong.out, wrong.err) == (
        2,
        "",
        "km-actions tools: km_variable_manager has no operation `gett`\n"
        "     = hint: did you mean 'get'?\n",
    )
    single = cli("tools", "km_list_macros", "get")
    assert single.err == (
        "km-actions tools: km_list_macros has no operations\n"
        "     = hint: `km-actions tools km_list_macros` shows the whole tool\n"
    )


def test_the_page_of_a_saved_servers_tool(cli: Cli) -> None:
    listed = [
        {"name": "km_variable_manager", "inputSchema": {"type": "object"}},
        {"name": "km_notifications", "inputSchema": CATALOG["km_notifications"].input_schema},
    ]
    save_tool_list(listed, upstream="km-mcp", server=None, now=datetime(2026, 5, 3, tzinfo=UTC))
    changed = cli("tools", "km_variable_manager")
    assert changed.code == 0
    assert changed.out.splitlines()[0] == (
        "km_variable_manager (destructive), from the tool list of the Keyboard Maestro server "
        "you connected to on 2026-05-03 (km-mcp)"
    )
    assert (
        "What it answers is not known: the answers km-actions has of km_variable_manager were "
        "recorded from the Keyboard Maestro MCP server at 66c1fcb, which publishes other "
        "arguments for it (this is another version of the tool)."
    ) in changed.out
    same = cli("tools", "km_notifications", "--json").json()
    assert same["source"]["file"] == str(saved_tools_path())
    assert same["tool"]["cases"][0]["answer_compact"].startswith("{success: boolean, data: {")
    missing = cli("tools", "km_list_macros")
    assert missing.code == 2
    assert missing.err.startswith(
        "km-actions tools: there is no tool named `km_list_macros` in the Keyboard Maestro "
        "server you connected to on 2026-05-03 (km-mcp)\n"
    )
