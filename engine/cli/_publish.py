"""``km-actions index add ARCHIVE`` and ``index build FOLDER``: publish without editing JSON.

Exit status: 0 the index was written (or already listed everything), 1 a refusal the
command reports (a version published with another archive, an invalid archive or index),
2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli import _plugins
from engine.cli._say import failed
from engine.diagnostics.errors import EngineError
from engine.load.files import Found, look


def add_parsers(sub: Any) -> None:
    """Add ``index add`` and ``index build``."""
    p = sub.add_parser(
        "index",
        help="add plugin archives to a marketplace index",
        description="Write a marketplace index from plugin archives made by `km-actions "
        "pack`: each archive's plugin.yaml gives its entry (version, api_version, "
        "dependencies), and its sha256 and size are measured. A published version is never "
        "changed.",
    )
    actions = p.add_subparsers(dest="index_command", metavar="ACTION")
    actions.required = True
    a = actions.add_parser(
        "add",
        help="add one archive's version to an index",
        description="Add the version packed in ARCHIVE to the index (created if missing).",
    )
    a.add_argument("archive", metavar="ARCHIVE", type=Path)
    a.add_argument(
        "--index",
        type=Path,
        default=Path("index.json"),
        help="the index file to write (default: index.json)",
    )
    _common(a)
    a.set_defaults(handler=_plugins._guard(cmd_index_add))
    b = actions.add_parser(
        "build",
        help="add every archive in a folder to its index",
        description="Add every .zip and .tar.gz under FOLDER to FOLDER/index.json (or "
        "--index); versions listed already with the same archive are left as they are.",
    )
    b.add_argument("folder", metavar="FOLDER", type=Path)
    b.add_argument("--index", type=Path, help="the index file (default: FOLDER/index.json)")
    _common(b)
    b.set_defaults(handler=_plugins._guard(cmd_index_build))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="where the index's folder is served: archives get absolute addresses under it "
        "(default: paths relative to the index)",
    )
    _plugins._json(p)


def cmd_index_add(args: argparse.Namespace) -> int:
    try:
        found = look(args.archive, str(args.archive))
    except EngineError as error:
        return failed("index add", error, 2)
    if found is not Found.FILE:
        print(f"km-actions index add: no such file: {args.archive}", file=sys.stderr)
        return 2
    return _publish(args, args.index, [args.archive])


def cmd_index_build(args: argparse.Namespace) -> int:
    from engine.plugins.publish import INDEX_NAME, find_archives

    try:
        found = look(args.folder, str(args.folder))
    except EngineError as error:
        return failed("index build", error, 2)
    if found is not Found.FOLDER:
        print(f"km-actions index build: no such folder: {args.folder}", file=sys.stderr)
        return 2
    archives = find_archives(args.folder)
    if not archives:
        print(
            f"km-actions index build: {args.folder} holds no .zip or .tar.gz archive "
            "(make them with `km-actions pack`)",
            file=sys.stderr,
        )
        return 1
    return _publish(args, args.index or args.folder / INDEX_NAME, archives)


def _publish(args: argparse.Namespace, index: Path, archives: list[Path]) -> int:
    from engine.plugins.publish import add_archives

    report = add_archives(index, archives, base_url=args.base_url)
    if args.json:
        _plugins._print_json(
            {
                "ok": True,
                "index": str(index),
                "added": [vars(item) for item in report.added],
                "unchanged": report.unchanged,
            }
        )
        return 0
    for item in report.added:
        print(f"Added {item} to {index}.")
    for text in report.unchanged:
        print(f"{text} is listed already with this archive.")
    return 0
