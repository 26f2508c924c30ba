"""``km-actions docs``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.cli._say import failed
from engine.docs import plugin_markdown, plugin_markdown_from
from engine.errors import EngineError


def add_parsers(sub: Any) -> None:
    d = sub.add_parser(
        "docs",
        help="print the documentation of a plugin",
        description="Markdown for an installed plugin (by id) or a plugin "
        "folder: metadata, permissions, settings, and every action with its "
        "inputs, outputs and examples from its tests.",
    )
    d.add_argument("plugin", metavar="ID_OR_FOLDER")
    d.set_defaults(handler=cmd_docs)


def cmd_docs(args: argparse.Namespace) -> int:
    folder = Path(args.plugin)
    try:
        if folder.is_dir():
            from engine.plugins.manifest import read_plugin

            plugin = read_plugin(folder)
            manifests = [document.data for document in _documents(plugin)]
            print(plugin_markdown_from(plugin.metadata(), manifests))
            return 0
        from engine.plugins.store import Store

        with Store.open() as store:
            print(plugin_markdown(store, args.plugin))
        return 0
    except EngineError as error:
        return failed("docs", error)


def _documents(plugin: Any) -> list[Any]:
    from engine.plugins._action_files import load_action_files

    return [document for _, document in load_action_files(plugin).loaded]
