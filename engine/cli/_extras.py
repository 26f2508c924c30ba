"""``km-actions docs``: Markdown of a plugin or an action, or a catalog page (``--html``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.cli import _catalog
from engine.cli._say import failed
from engine.diagnostics.errors import EngineError
from engine.load.files import Found, look
from engine.load.loader import load_bytes
from engine.plugins.docs import (
    action_markdown,
    installed_action_markdown,
    plugin_markdown,
    plugin_markdown_from,
)


def add_parsers(sub: Any) -> None:
    d = sub.add_parser(
        "docs",
        help="print the documentation of a plugin or an action",
        description="Markdown for an installed plugin (ID) or one of its actions "
        "(ID/ACTION), a plugin folder, or an action file: metadata, permissions, settings, "
        "and every action with its inputs, outputs, how to run it and examples from its "
        "tests. With --html FOLDER: one static catalog page of every installed plugin (or "
        "of those --index lists), searchable with the browser's Find.",
    )
    d.add_argument(
        "plugin", metavar="ID_OR_PATH", nargs="?", help="ID, ID/ACTION, a folder or a file"
    )
    d.add_argument(
        "--html",
        metavar="FOLDER",
        type=Path,
        help="write a catalog page (FOLDER/index.html) of every installed plugin, or of the "
        "plugins --index lists, instead of printing Markdown",
    )
    d.add_argument(
        "--index",
        metavar="URL_OR_FILE",
        help="with --html: the plugins this marketplace index lists (their newest versions)",
    )
    d.add_argument("--allow-http", action="store_true", help="allow plain http to other machines")
    d.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for a server (default 30)"
    )
    d.set_defaults(handler=cmd_docs)


def cmd_docs(args: argparse.Namespace) -> int:
    if args.html is not None or args.index is not None:
        return _catalog.cmd_html(args)
    if args.plugin is None:
        print("km-actions docs: give ID_OR_PATH, or --html FOLDER", file=sys.stderr)
        return 2
    folder = Path(args.plugin)
    try:
        found = look(folder, args.plugin)
        if found is Found.FILE:
            document = load_bytes(folder.read_bytes(), file=args.plugin)
            data = document.data if isinstance(document.data, Mapping) else {}
            print(action_markdown(data, heading="#", run_as=args.plugin).rstrip())
            return 0
        if found is Found.FOLDER:
            from engine.plugins.manifest import read_plugin

            plugin = read_plugin(folder)
            manifests = [document.data for document in _documents(plugin)]
            print(plugin_markdown_from(plugin.metadata(), manifests))
            return 0
        from engine.plugins.store import Store

        with Store.open() as store:
            if "/" in args.plugin:
                print(installed_action_markdown(store, args.plugin).rstrip())
            else:
                print(plugin_markdown(store, args.plugin))
        return 0
    except EngineError as error:
        return failed("docs", error)


def _documents(plugin: Any) -> list[Any]:
    from engine.plugins.action_files import load_action_files

    return [document for _, document in load_action_files(plugin).loaded]
