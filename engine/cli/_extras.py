"""``km-actions new``, ``km-actions docs`` and ``km-actions stats``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from engine.cli._say import failed
from engine.docs import (
    action_markdown,
    installed_action_markdown,
    plugin_markdown,
    plugin_markdown_from,
)
from engine.errors import EngineError
from engine.loader import load_bytes
from engine.names import NameKind, is_valid_name, name_hint

SCHEMA_FILE = "action.schema.json"

TEMPLATE = """\
# yaml-language-server: $schema={schema}
api_version: "1.0"
kind: action
name: {name}
description: {description}
version: 0.1.0
permissions: [km_notifications]
inputs:
  message:
    type: string
    default: Hello from {plain_name}
    description: What the notification says.
steps:
  - id: notify
    tool: km_notifications
    with:
      notification_type: notification
      title: {name}
      message: "{{{{ inputs.message }}}}"
outputs:
  shown: "{{{{ steps.notify.status == 'succeeded' }}}}"
tests:
  - name: shows the message
    inputs: {{message: Hi}}
    mocks:
      km_notifications: [{{success: true}}]
    expect:
      outputs: {{shown: true}}
      calls:
        - {{tool: km_notifications, with: {{message: Hi}}}}
"""


def add_parsers(sub: Any) -> None:
    n = sub.add_parser(
        "new",
        help="start a new action file",
        description="Write a small, valid action with a test, to edit from.",
    )
    n.add_argument("name", help="the action's name (lower-case letters, digits, - and _)")
    n.add_argument("--folder", type=Path, default=Path("."), help="where to write it")
    n.add_argument("--description", default="Describe what the action does, in one sentence.")
    n.set_defaults(handler=cmd_new)

    d = sub.add_parser(
        "docs",
        help="print the documentation of a plugin or an action",
        description="Markdown for an installed plugin (ID) or one of its actions "
        "(ID/ACTION), a plugin folder, or an action file: metadata, permissions, settings, "
        "and every action with its inputs, outputs, how to run it and examples from its "
        "tests.",
    )
    d.add_argument("plugin", metavar="ID_OR_PATH", help="ID, ID/ACTION, a folder or a file")
    d.set_defaults(handler=cmd_docs)

    s = sub.add_parser(
        "stats",
        help="runs, failures and timings of installed actions",
        description="The execution metrics and recent history kept by the store.",
    )
    s.add_argument("--json", action="store_true", help="print as JSON")
    s.add_argument("--recent", type=int, default=10, help="how many recent runs to list")
    s.set_defaults(handler=cmd_stats)


def cmd_new(args: argparse.Namespace) -> int:
    if not is_valid_name(args.name, NameKind.ACTION):  # it names the file written
        print(
            f"km-actions new: {args.name!r} is not a valid name: "
            f"{name_hint(args.name, NameKind.ACTION)}",
            file=sys.stderr,
        )
        return 2
    target = args.folder / f"{args.name}.yaml"
    if target.exists():
        print(f"km-actions new: {target} already exists; choose another name", file=sys.stderr)
        return 1
    schema = _schema_reference(args.folder)
    text = TEMPLATE.format(
        name=_yaml_text(args.name),
        plain_name=args.name,
        description=_yaml_text(args.description),
        schema=schema,
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    except OSError as exc:
        print(f"km-actions new: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {target}: edit it, then `km-actions validate {target}` and "
        f"`km-actions test {target}`"
    )
    if not (args.folder / schema).is_file():
        print(f"for your editor: km-actions schema > {args.folder / SCHEMA_FILE}")
    return 0


def _yaml_text(text: str) -> str:
    """``text`` as a YAML value that reads back as that text: plain when it does, else in
    double quotes (names such as ``yes`` or ``null``, descriptions with ``: `` or ``#``)."""
    try:
        if yaml.safe_load(f"value: {text}\n") == {"value": text}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def _schema_reference(folder: Path) -> str:
    """The `$schema` path the docs show, relative to the new file: the nearest
    ``action.schema.json`` saved in its folder or a parent (or a checkout's
    ``schemas/action.schema.json``), else ``./action.schema.json``, where the docs say to
    save it (`km-actions schema > action.schema.json`)."""
    here = folder.resolve()
    for parent in [here, *here.parents]:
        for candidate in (parent / SCHEMA_FILE, parent / "schemas" / SCHEMA_FILE):
            if candidate.is_file():
                relative = Path(os.path.relpath(candidate, here)).as_posix()
                return relative if relative.startswith("../") else f"./{relative}"
    return f"./{SCHEMA_FILE}"


def cmd_docs(args: argparse.Namespace) -> int:
    folder = Path(args.plugin)
    try:
        if folder.is_file():
            document = load_bytes(folder.read_bytes(), file=args.plugin)
            data = document.data if isinstance(document.data, Mapping) else {}
            print(action_markdown(data, heading="#", run_as=args.plugin).rstrip())
            return 0
        if folder.is_dir():
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
    from engine.plugins._action_files import load_action_files

    return [document for _, document in load_action_files(plugin).loaded]


def cmd_stats(args: argparse.Namespace) -> int:
    from engine.plugins.history import RunHistory
    from engine.plugins.store import Store

    try:
        store = Store.open()
    except EngineError as error:
        return failed("stats", error)
    with store:
        history = RunHistory(store)
        try:
            stats, recent = history.stats(), history.history(args.recent)
        finally:
            history.close()
    if args.json:
        print(json.dumps({"actions": stats, "recent": recent}, indent=2, default=str))
        return 0
    if not stats:
        print("no runs of installed actions yet")
        return 0
    print(f"{'action':<40} {'runs':>6} {'failed':>6} {'mean ms':>9} {'max ms':>9}  last run")
    for row in stats:
        print(
            f"{row['action']:<40} {row['runs']:>6} {row['failures']:>6} "
            f"{row['mean_ms']:>9.2f} {row['max_ms']:>9.2f}  {row['last_run']}"
        )
    return 0
