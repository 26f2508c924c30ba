"""``km-actions tools``: the ``km_*`` tools offline checks use, and refreshing them;
``km-actions tools NAME [OPERATION]``: one tool's page (arguments, operations, an
example step, what it answers).

``validate`` and ``run --dry-run`` check actions against the tool list of the Keyboard
Maestro MCP server km-actions last connected to (saved by ``run``, ``serve`` and
``tools --refresh``), or against the catalog km-actions ships when none is saved.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.cli._backend import CommandBackend, add_config_option
from engine.cli._say import failed, say
from engine.diagnostics.errors import BridgeError, EngineError
from engine.diagnostics.suggestions import did_you_mean
from engine.paths import saved_tools_path
from engine.tools.backend import BackendKind, choose_backend
from engine.tools.catalog import ToolCatalog
from engine.tools.config import config_path, load_settings
from engine.tools.older_tools import OLDER_TOOLS
from engine.tools.saved_tools import SavedTools, SavedToolsError, forget_tool_list, read_saved_tools
from engine.tools.tool_pages import case_values, page_data, tool_page
from engine.tools.tool_text import page_text


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "tools",
        help="the km_* tools actions are checked against",
        description="List the km_* tools `validate` and `run --dry-run` check actions "
        "against: those of the Keyboard Maestro MCP server km-actions last connected to "
        "(`run`, `serve` and --refresh save its tool list), or the catalog km-actions ships "
        "when none is saved. With a NAME, that tool's page: its arguments in words, its "
        "operations and their classes, an example step, and what it answers (recorded from "
        "the real server). Exit status: 0 success, 1 the server could not be reached, "
        "2 usage or configuration error (or no such tool or operation).",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="a tool: show its page")
    p.add_argument(
        "operation",
        nargs="?",
        metavar="OPERATION",
        help="one operation of the tool (or mode, such as true for preview_only)",
    )
    action = p.add_mutually_exclusive_group()
    action.add_argument(
        "--refresh",
        action="store_true",
        help="connect to the server under [upstream] and save its tool list",
    )
    action.add_argument(
        "--forget",
        action="store_true",
        help="delete the saved tool list (checks use the shipped catalog again)",
    )
    p.add_argument("--json", action="store_true", help="print the tools as JSON")
    add_config_option(p)
    p.set_defaults(handler=cmd_tools)


def cmd_tools(args: argparse.Namespace) -> int:
    if args.refresh:
        code = _refresh(args)
        if code:
            return code
    elif args.forget:
        try:
            forgot = forget_tool_list()
        except OSError as problem:
            say("tools", f"cannot delete {saved_tools_path()}: {problem.strerror or problem}")
            return 1
        print(
            f"Forgot the saved tool list ({saved_tools_path()})."
            if forgot
            else "No tool list was saved.",
            file=sys.stderr,
        )
    try:
        saved = read_saved_tools()
    except SavedToolsError as problem:
        say(
            "tools",
            f"the saved tool list {saved_tools_path()} cannot be used ({problem})",
            "`km-actions tools --refresh` saves it again, `km-actions tools --forget` deletes it",
        )
        return 1
    catalog = saved.catalog() if saved is not None else _shipped(args)
    if args.name is not None:
        return _page(args, saved, catalog)
    if args.json:
        source = {"kind": "saved", **saved.to_dict()} if saved else {"kind": "shipped"}
        print(json.dumps({"source": source, "tools": _entries(catalog)}, indent=2))
    else:
        _print(saved, catalog)
    return 0


def _page(args: argparse.Namespace, saved: SavedTools | None, catalog: ToolCatalog) -> int:
    spec = catalog.get(args.name)
    if spec is None:
        say("tools", *catalog.missing_tool(args.name))
        return 2
    try:
        page = tool_page(spec, only=args.operation)
    except KeyError:
        values = case_values(spec)
        say(
            "tools",
            f"{spec.name} has no operation `{args.operation}`"
            if values
            else f"{spec.name} has no operations",
            (did_you_mean(args.operation, values) if values else None)
            or f"`km-actions tools {spec.name}` shows the whole tool",
        )
        return 2
    if args.json:
        source = {"kind": "saved", **saved.to_dict()} if saved else {"kind": "shipped"}
        print(json.dumps({"source": source, "tool": page_data(page)}, indent=2))
    else:
        where = (
            f"from the tool list of {saved.described}"
            if saved is not None
            else "from the catalog km-actions ships"
        )
        print(page_text(page, where))
    return 0


def _shipped(args: argparse.Namespace) -> ToolCatalog:
    """The catalog km-actions ships, with the tools the configuration chooses (a
    configuration that cannot be read is a warning)."""
    try:
        settings = load_settings(args.config)
    except EngineError as error:
        print(f"warning: {error.message}; listing the current server's tools", file=sys.stderr)
        return ToolCatalog.builtin()
    return settings.shipped_catalog()


def _refresh(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except EngineError as error:
        return failed("tools", error, 2)
    backend = choose_backend(settings)
    if backend.kind is not BackendKind.UPSTREAM:
        say(
            "tools",
            "no Keyboard Maestro server is configured: there is no tool list to refresh",
            f"name it under [upstream] in {config_path(args.config)} (see docs/mcp.md)",
        )
        return 2
    with CommandBackend(backend, instead=None) as tools:
        try:
            tools.connect()
        except BridgeError as error:
            return failed("tools", error)
        if tools.unsaved is not None:
            return 1  # said as it happened
        count = len(tools.catalog())
        print(f"Saved the {count} tools of {tools.describe()}.", file=sys.stderr)
    return 0


def _entries(catalog: ToolCatalog) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "class": t.tool_class.value,
            "description": t.summary,
            "inputSchema": t.input_schema,
        }
        for t in catalog.values()
    ]


def _print(saved: SavedTools | None, catalog: ToolCatalog) -> None:
    if saved is not None:
        print(f"The tools of {saved.described}, saved in {saved.path}:")
    else:
        which = (
            "the current Keyboard Maestro MCP server's, and those only its 2025 version had"
            if not OLDER_TOOLS.isdisjoint(catalog)
            else "the current Keyboard Maestro MCP server's"
        )
        print(
            f"The tools km-actions ships, {which} (no server's tool list is saved: "
            "`km-actions tools --refresh` saves that of the server under [upstream]):"
        )
    width = max((len(name) for name in catalog), default=0)
    for spec in catalog.values():
        print(f"  {spec.name:<{width}}  {spec.tool_class.value:<11}  {spec.summary}")
    print(f"{len(catalog)} tools.")
