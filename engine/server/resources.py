"""MCP resources (schemas, the km_* catalog, plugin docs) and the action-writing prompt."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine._resources import load_schema
from engine.answers import AnswerBook, ToolAnswers
from engine.errors import EngineError
from engine.schema_tools import language_schema
from engine.server import ecosystem
from engine.shapes import compact

PROMPT_NAME = "write-action"
PROMPT_DESCRIPTION = (
    "How to write a correct km-actions action: the manifest language in brief, a complete "
    "example, the tools available, and how to submit it with km_plugin_ecosystem create."
)


@dataclass(frozen=True)
class ResourceItem:
    uri: str
    name: str
    description: str
    mime_type: str


def list_resources(host: Any) -> list[ResourceItem]:
    """Every resource the server offers: the two schemas, the catalog, each plugin's docs."""
    items = [
        ResourceItem(
            "km-actions://schemas/action",
            "action.schema.json",
            "JSON Schema of action manifests (api_version 1.0).",
            "application/json",
        ),
        ResourceItem(
            "km-actions://schemas/plugin",
            "plugin.schema.json",
            "JSON Schema of plugin.yaml.",
            "application/json",
        ),
        ResourceItem(
            "km-actions://catalog",
            "km_* tools",
            "The Keyboard Maestro tools actions can call, with their input schemas, "
            "classes (read-only, write, destructive) and what each answers (as recorded "
            "from the real server).",
            "application/json",
        ),
    ]
    for plugin in host.plugin_ids():
        status = host.plugin_state(plugin).status.value
        items.append(
            ResourceItem(
                f"km-actions://plugins/{plugin}/docs",
                f"{plugin} docs",
                f"Generated documentation of the plugin {plugin} (status: {status}).",
                "text/markdown",
            )
        )
    return items


def read_resource(host: Any, uri: str) -> tuple[str, str]:
    """The text and MIME type of a resource."""
    if uri == "km-actions://schemas/action":
        return json.dumps(language_schema(), indent=1), "application/json"
    if uri == "km-actions://schemas/plugin":
        return json.dumps(load_schema("plugin"), indent=1), "application/json"
    if uri == "km-actions://catalog":
        return json.dumps(catalog_listing(host.catalog()), indent=1), "application/json"
    prefix, suffix = "km-actions://plugins/", "/docs"
    if uri.startswith(prefix) and uri.endswith(suffix):
        plugin = uri[len(prefix) : -len(suffix)]
        return host.plugin_docs(plugin), "text/markdown"
    raise EngineError(
        f"no resource {uri}", code="not_found", hint="list the resources with resources/list"
    )


def catalog_listing(catalog: Any) -> list[dict[str, Any]]:
    """Every tool with its class; a tool with several operations also with the class of
    each (``operations``: the argument that names them and each value's class), so a
    caller can ask for exactly the operations it uses (``km_variable_manager:get``); and
    what it answers, where the recordings of the real server tell: ``answer`` (one line,
    see :func:`engine.answers.compact`), or ``answers`` by the value of the argument
    ``answers_by`` names (the operation, or a mode such as ``preview_only``)."""
    book = AnswerBook.builtin()
    out = []
    for tool in catalog.values():
        item: dict[str, Any] = {"name": tool.name, "class": tool.tool_class.value}
        if tool.operations is not None:
            item["operations"] = tool.operations.to_data()
        item["description"] = tool.description
        item["inputSchema"] = tool.input_schema
        answers = book.for_tool(tool.name, tool.input_schema)
        if answers is not None and answers.selector is None:
            item["answer"] = _answer_line(answers, "")
        elif answers is not None:
            item["answers_by"] = answers.selector
            item["answers"] = {key: _answer_line(answers, key) for key in answers.answers}
        out.append(item)
    return out


def _answer_line(answers: ToolAnswers, key: str, **shown: Any) -> str:
    answer = answers.answers[key]
    if answer.schema is None:
        return f"unknown: {answer.note}" if answer.note else "unknown"
    return compact(answer.schema, **shown)


EXAMPLE = """\
api_version: "1.0"
kind: action
name: title-case-clipboard
description: Title-case the text on the clipboard and put it back.
permissions: [km_clipboard_manager, km_notifications]
inputs:
  notify: {type: boolean, default: true, description: Show a notification when done}
steps:
  - id: read
    tool: km_clipboard_manager
    with: {operation: get}
  - if: steps.read.result.data.is_empty
    fail: The clipboard is empty
  - set:
      text: "{{ steps.read.result.data.content | title }}"
  - tool: km_clipboard_manager
    with: {operation: set, content: "{{ vars.text }}"}
    retry: {max_attempts: 3, interval: 0.5}
  - if: inputs.notify
    tool: km_notifications
    with: {notification_type: notification, title: Done, message: "{{ vars.text | truncate(60) }}"}
outputs:
  text: "{{ vars.text }}"
tests:
  - name: title-cases the clipboard
    inputs: {notify: false}
    mocks:
      km_clipboard_manager: [{success: true, data: {content: "hello world"}}, {success: true}]
    expect: {outputs: {text: Hello World}}
"""

RULES = """\
Rules of the manifest language (api_version "1.0"):
- Top level: api_version ("1.0", quoted), kind: action, name (lower-case, digits, - _),
  description, permissions (what it calls: a km_* tool, or one operation of a tool with
  several, as tool:operation, e.g. km_variable_manager:get), inputs, steps, outputs, tests.
- Each step does exactly ONE thing: tool (+ with), action (+ with), set, foreach (+ as,
  steps), parallel (list of {steps}), choose (list of {when, steps} + otherwise), repeat
  ({steps, until|while, max}), wait (seconds), emit (+ with), fail (message), return (outputs).
- Any step may have: id, name, if, timeout, retry {max_attempts, interval, backoff_rate,
  max_delay, jitter, on}, catch (steps; `error.kind/message/step` inside), continue_on_error.
- Templates (in with/set/outputs/messages): "{{ inputs.x }}", "{{ vars.y | upper }}",
  "{{ steps.ID.result.data.field }}". Quote them in YAML. A value that is exactly one
  {{ }} keeps its type. No {% %} statements: use steps instead.
- Expressions (if, when, until, while, foreach): plain Python-like expressions such as
  `inputs.count > 3 and len(vars.items) > 0`, with functions len, lower, upper, str, int,
  float, round, min, max, abs, contains, startswith, endswith, matches, default, now.
  Not Jinja: write len(x), not x | length; x == null, not x is none.
- Names: inputs.NAME, vars.NAME (set by `set` steps earlier), steps.ID.result|status|error
  (only steps that ran before), config.NAME (plugin settings), item/loop in foreach,
  error in catch. A step can read only steps before it.
- A km_* tool answers {success, data, error}; success: false fails the step.
- Write `tests:` with mocks so the action can be checked without Keyboard Maestro.
"""


def authoring_prompt(host: Any, goal: str) -> str:
    """The prompt text: rules, an example, the available tools with the class of each
    operation, what this server lets a created action be granted, and how to submit."""
    tools = "\n".join(_tool_line(tool) for tool in host.catalog().values())
    ask = f"Write an action that does this: {goal}\n\n" if goal else ""
    return (
        f"{ask}{RULES}\nA complete, valid example:\n```yaml\n{EXAMPLE}```\n\n"
        f"Tools you can call (read km-actions://catalog for their argument schemas), each "
        f"with what it answers, which `steps.ID.result` holds ({ANSWERS_KEY}):\n{tools}\n\n"
        f"{ecosystem.ceiling_sentence(host.ceiling())}\n\n"
        'Submit with km_plugin_ecosystem: {"operation": "create", "plugin_source": '
        '"<the YAML>"} (or the manifest as an object in `parameters`). If it fails, the '
        "answer lists every problem with its JSON path, line, column and a hint: fix them all "
        "and send it again."
    )


ANSWERS_KEY = (
    "recorded from the real server; `success` (always true there: a failure fails the "
    "step) and `metadata` (timestamps, ids) left out; `key?`: only in some answers; "
    "`{…}`: not shown"
)
_PROMPT_SKIP = frozenset({"success", "metadata"})
_PROMPT_DEPTH = 4  # nested mappings shown in full


def _tool_line(tool: Any) -> str:
    operations = tool.operations
    if operations is None:
        head = f"- {tool.name} ({tool.tool_class.value}): {tool.summary}"
    else:
        by_class: dict[str, list[str]] = {}
        for name, tool_class in operations.classes.items():
            by_class.setdefault(tool_class.value, []).append(name)
        classes = "; ".join(f"{c}: {', '.join(names)}" for c, names in by_class.items())
        head = f"- {tool.name} ({operations.parameter} {classes}): {tool.summary}"
    return "\n".join([head, *_answer_lines(tool)])


def _answer_lines(tool: Any) -> list[str]:
    """What a tool answers, one line per operation (operations answering alike share
    one), for the prompt."""
    answers = AnswerBook.builtin().for_tool(tool.name, tool.input_schema)
    if answers is None:
        return []
    shown = {"skip": _PROMPT_SKIP, "depth": _PROMPT_DEPTH}
    if answers.selector is None:
        return [f"  answers {_answer_line(answers, '', **shown)}"]
    alike: dict[str, list[str]] = {}
    for key in answers.answers:
        alike.setdefault(_answer_line(answers, key, **shown), []).append(key)
    label = "" if answers.selector == "operation" else f"{answers.selector} "
    return [f"  {label}{', '.join(keys)} answers {line}" for line, keys in alike.items()]
