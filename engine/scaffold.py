"""Starting points for authors: an action of a common shape, or a whole plugin.

An action comes from one of :class:`Template` (a notification, a loop, a retry, a
choice); a plugin is a folder with ``plugin.yaml`` (permissions exactly what its action
uses), the action with its tests, and a README that says how to check, test, certify,
pack and install it. Every scaffold validates (strictly) and its tests pass as written,
so ``km-actions certify`` passes on a new plugin before anything is changed.

Texts go into YAML as values that read back as they were written (:func:`yaml_text`).

>>> text = action_text("greet", "Greets.", Template.NOTIFY, "schemas/action.schema.json")
>>> text.splitlines()[:4]
['# yaml-language-server: $schema=schemas/action.schema.json', 'api_version: "1.1"', \
'kind: action', 'name: greet']
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from string import Template as Text

import yaml


class Template(enum.Enum):
    """The shape of a new action."""

    NOTIFY = "notify"  # one tool call, with a test of its output and call
    LOOP = "loop"  # a foreach over a list input
    RETRY = "retry"  # a tool call tried again when it fails
    CHOICE = "choice"  # a `choose` between branches


@dataclass(frozen=True)
class _Shape:
    """What a template needs beyond its text: the tools its steps call, and the name an
    action of a new plugin gets."""

    text: str
    permissions: tuple[str, ...]
    example_name: str
    summary: str


_HEAD = """\
# yaml-language-server: $$schema=$schema
api_version: "1.1"
kind: action
name: $name
description: $description
version: 0.1.0
"""

_NOTIFY = """\
permissions: [km_notifications]
inputs:
  message:
    type: string
    default: $greeting
    description: What the notification says.
steps:
  - id: notify
    tool: km_notifications
    with:
      notification_type: notification
      title: $name
      message: "{{ inputs.message }}"
outputs:
  shown: "{{ steps.notify.status == 'succeeded' }}"
tests:
  - name: shows the message
    inputs: {message: Hi}
    mocks:
      km_notifications: [{success: true}]
    expect:
      outputs: {shown: true}
      calls:
        - {tool: km_notifications, with: {message: Hi}}
"""

_LOOP = """\
permissions: [km_notifications]
inputs:
  items:
    type: array
    items: {type: string}
    min_length: 1
    max_length: 20
    default: [first, second]
    description: What to show, one notification each.
steps:
  # One round per item: `item` is the item, `loop.index` its place (from 1).
  - name: each item
    foreach: "{{ inputs.items }}"
    steps:
      - tool: km_notifications
        with:
          notification_type: notification
          title: $name
          message: "{{ loop.index }} of {{ loop.length }}: {{ item }}"
outputs:
  shown: "{{ inputs.items | length }}"
tests:
  - name: shows one notification per item
    inputs: {items: [tea, cake]}
    mocks:
      km_notifications: [{success: true}, {success: true}]
    expect:
      outputs: {shown: 2}
      calls:
        - {tool: km_notifications, with: {message: "1 of 2: tea"}}
        - {tool: km_notifications, with: {message: "2 of 2: cake"}}
"""

_RETRY = """\
permissions: [km_execute_macro]
inputs:
  macro:
    type: string
    min_length: 1
    default: My Macro
    description: The name or UUID of the Keyboard Maestro macro to run.
steps:
  # Tried again (after 1 s, then 2 s) when Keyboard Maestro fails or does not answer.
  - id: run
    tool: km_execute_macro
    with: {identifier: "{{ inputs.macro }}"}
    retry: {max_attempts: 3, interval: 1, backoff_rate: 2, on: [tool-failed, timeout]}
outputs:
  ran: "{{ steps.run.status == 'succeeded' }}"
tests:
  - name: tries again after a failure
    inputs: {macro: Backup}
    mocks:
      km_execute_macro:
        - {success: false, error: {code: KM_CONNECTION_FAILED, message: Engine not running}}
        - {success: true}
    expect:
      outputs: {ran: true}
      calls:
        - {tool: km_execute_macro, with: {identifier: Backup}}
        - {tool: km_execute_macro, with: {identifier: Backup}}
  - name: gives up after three tries
    inputs: {macro: Backup}
    mocks:
      km_execute_macro:
        - {success: false, error: {code: KM_CONNECTION_FAILED, message: Engine not running}}
        - {success: false, error: {code: KM_CONNECTION_FAILED, message: Engine not running}}
        - {success: false, error: {code: KM_CONNECTION_FAILED, message: Engine not running}}
    expect:
      error: {kind: tool-failed, message: Engine not running}
"""

_CHOICE = """\
permissions: [km_notifications]
inputs:
  level:
    enum: [info, warning, error]
    default: info
    description: How serious the message is; it decides how it is shown.
  message:
    type: string
    min_length: 1
    default: Something happened.
    description: What to show.
steps:
  # The first `when` that holds runs; `otherwise` when none does.
  - name: pick a style
    choose:
      - when: inputs.level == 'error'
        steps:
          - set: {style: alert}
      - when: inputs.level == 'warning'
        steps:
          - set: {style: notification}
    otherwise:
      - set: {style: hud}
  - tool: km_notifications
    with:
      notification_type: "{{ vars.style }}"
      title: $name
      message: "{{ inputs.message }}"
outputs:
  style: "{{ vars.style }}"
tests:
  - name: an error is an alert
    inputs: {level: error, message: Disk full}
    mocks:
      km_notifications: [{success: true}]
    expect:
      outputs: {style: alert}
      calls:
        - {tool: km_notifications, with: {notification_type: alert, message: Disk full}}
  - name: a warning is a notification
    inputs: {level: warning}
    mocks:
      km_notifications: [{success: true}]
    expect:
      outputs: {style: notification}
  - name: anything else is a HUD
    mocks:
      km_notifications: [{success: true}]
    expect:
      outputs: {style: hud}
"""

SHAPES: dict[Template, _Shape] = {
    Template.NOTIFY: _Shape(_NOTIFY, ("km_notifications",), "say-hello", "shows a notification"),
    Template.LOOP: _Shape(_LOOP, ("km_notifications",), "notify-each", "loops over a list"),
    Template.RETRY: _Shape(_RETRY, ("km_execute_macro",), "run-macro", "retries a macro"),
    Template.CHOICE: _Shape(
        _CHOICE, ("km_notifications",), "notify-by-level", "chooses between branches"
    ),
}


def yaml_text(text: str) -> str:
    """``text`` as a YAML value that reads back as that text: plain when it does, else
    in double quotes (names such as ``yes`` or ``null``, texts with ``: `` or ``#``).

    >>> yaml_text("hello"), yaml_text("yes"), yaml_text("a: b")
    ('hello', '"yes"', '"a: b"')
    """
    try:
        if yaml.safe_load(f"value: {text}\n") == {"value": text}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def action_text(name: str, description: str, template: Template, schema: str) -> str:
    """A new action named ``name`` of the shape ``template`` (``schema``: where editors
    find the action schema)."""
    shape = SHAPES[template]
    return Text(_HEAD + shape.text).substitute(
        schema=schema,
        name=yaml_text(name),
        description=yaml_text(description),
        greeting=yaml_text(f"Hello from {name}"),
    )


_PLUGIN = """\
# yaml-language-server: $$schema=$schema
api_version: "1.1"
kind: plugin
identifier: $identifier
name: $title
version: 0.1.0
description: $description
author: $author
license: MIT
plugin_type: action
# Exactly the tools the actions call: install shows them, and the bridge refuses others.
permissions: [$permissions]
"""

_README = """\
# $title

$description

`$identifier` is a plugin of km-actions: custom actions for the Keyboard Maestro MCP
server.

## Actions

- `$action`: $summary (`actions/$action.yaml`).

## Developing it

```sh
km-actions validate .            # every problem, with how to fix it
km-actions test .                # the tests written in the actions (mocked tools)
km-actions run actions/$action.yaml --dry-run --trace
km-actions new action NAME --folder actions --template loop   # add an action
```

List the tools a new action calls under `permissions:` in `plugin.yaml`.

## Publishing it

```sh
km-actions certify .             # strict validation, tests, permissions, docs, a pack
km-actions pack .                # $identifier-0.1.0.zip and its sha256
km-actions install .             # or the archive
```
"""


def plugin_files(
    identifier: str,
    description: str,
    template: Template,
    *,
    action: str | None = None,
    author: str = "Your name",
    schemas: tuple[str, str],
) -> dict[str, str]:
    """The files of a new plugin, by path in its folder: ``plugin.yaml``, one action
    (named ``action``, else after its template) and ``README.md``. ``schemas``: where
    editors find the plugin and the action schema, from the plugin's folder and from its
    ``actions/`` folder.

    >>> sorted(plugin_files("demo", "Demo.", Template.LOOP, schemas=("p", "a")))
    ['README.md', 'actions/notify-each.yaml', 'plugin.yaml']
    """
    shape = SHAPES[template]
    name = action or shape.example_name
    title = identifier.replace("-", " ").replace("_", " ").replace(".", " ").title()
    values = {
        "identifier": identifier,
        "title": yaml_text(title),
        "description": yaml_text(description),
        "author": yaml_text(author),
        "permissions": ", ".join(shape.permissions),
        "action": name,
        "summary": shape.summary,
    }
    return {
        "plugin.yaml": Text(_PLUGIN).substitute(values, schema=schemas[0]),
        f"actions/{name}.yaml": action_text(
            name, f"{title}: {shape.summary}.", template, schemas[1]
        ),
        "README.md": Text(_README).substitute(values, title=title, description=description),
    }
