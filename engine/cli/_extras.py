"""``km-actions new`` and ``km-actions docs``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from engine.cli._say import failed
from engine.docs import plugin_markdown, plugin_markdown_from
from engine.errors import EngineError
from engine.names import NameKind, is_valid_name, name_hint

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
        help="print the documentation of a plugin",
        description="Markdown for an installed plugin (by id) or a plugin "
        "folder: metadata, permissions, settings, and every action with its "
        "inputs, outputs and examples from its tests.",
    )
    d.add_argument("plugin", metavar="ID_OR_FOLDER")
    d.set_defaults(handler=cmd_docs)


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
    """Where editors find the schema: the checkout's schemas/ if the file is in one, else
    the installed copy (``km-actions schema`` prints the same)."""
    from engine._resources import schema_path

    here = folder.resolve()
    for parent in [here, *here.parents]:
        candidate = parent / "schemas" / "action.schema.json"
        if candidate.is_file():
            return os.path.relpath(candidate, here)
    return schema_path("action").as_uri()


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
