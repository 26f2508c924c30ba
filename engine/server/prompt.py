"""The `write-action` prompt: what a model needs to write an action `create` accepts.

The rules of the manifest language, templates and expressions side by side, a complete
example (one `create` accepts as written, at the default ceiling and validation level),
the tools an MCP caller may use here, each operation with its class, the arguments it
was recorded with and what it answers, then what only the user can grant, and how to
submit. Everything it points to is an MCP resource (never a file).

>>> from engine.catalog import ToolCatalog
>>> tool = ToolCatalog.builtin()["km_variable_manager"]
>>> print(tool_lines(tool, ToolCatalog.builtin().coverage(("read-only", "write"))))
... # doctest: +ELLIPSIS
- km_variable_manager(operation, name?, value?, scope?): Comprehensive Keyboard Maestro ...
  get(name) [read-only] → {data: {name: string, value: string, scope: string, ...}}
  set(name, value) [write] → {data: {name: string, scope: string, operation: string, ...}}
  list [read-only] → {data: {variables: [{name: string, scope: string, type: string}], ...}}
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from engine.answers import AnswerBook, ToolAnswers
from engine.catalog import Coverage, Need, ToolSpec
from engine.server import ecosystem
from engine.shapes import compact

NAME = "write-action"
DESCRIPTION = (
    "How to write a km-actions action that `create` accepts on the first try: the manifest "
    "language, templates and expressions side by side, a complete example with tests, the "
    "tools this server lets you use and what each answers, and how to submit it."
)

EXAMPLE = """\
api_version: "1.1"
kind: action
name: tidy-clipboard
description: Trim and title-case the clipboard's text, keep it in a variable, and say so.
permissions: [km_engine_control:process_tokens, km_variable_manager:set, km_notifications]
inputs:
  variable: {type: string, default: Tidied, description: The variable to keep the text in}
  notify: {type: boolean, default: true, description: Show a notification when done}
steps:
  - id: clip
    tool: km_engine_control
    with: {operation: process_tokens, expression: "%SystemClipboard%"}
  - if: trim(steps.clip.result.data.processed) == ''
    fail: The clipboard holds no text
  - set:
      text: "{{ steps.clip.result.data.processed | trim | title }}"
  - tool: km_variable_manager
    with: {operation: set, name: "{{ inputs.variable }}", value: "{{ vars.text }}"}
    retry: {max_attempts: 3, interval: 0.5}
  - if: inputs.notify
    tool: km_notifications
    with:
      notification_type: notification
      title: Tidied
      message: "{{ vars.text | truncate(60) }}"
outputs:
  text: "{{ vars.text }}"
tests:
  - name: tidies the clipboard into the variable
    inputs: {notify: false}
    mocks:
      km_engine_control: [{success: true, data: {processed: "  hello world "}}]
      km_variable_manager: [{success: true, data: {name: Tidied}}]
    expect:
      outputs: {text: Hello World}
      calls:
        - {tool: km_engine_control, with: {operation: process_tokens}}
        - {tool: km_variable_manager, with: {name: Tidied, value: Hello World}}
  - name: an empty clipboard fails
    mocks: {km_engine_control: [{success: true, data: {processed: ""}}]}
    expect: {error: {kind: failed, message: no text}}
"""

RULES = """\
The manifest language (api_version "1.1"):
- Top level: api_version ("1.1", quoted), kind: action, name (lower-case letters, digits,
  - and _), description, permissions, inputs, steps, outputs, tests.
- permissions: every tool call's need, as tool:operation for a tool with operations
  (km_variable_manager:get), the tool's name otherwise (km_list_macros).
- inputs: NAME: {type: string|integer|number|boolean|array|object, description, default?,
  required?, enum?, …}.
- A step does ONE thing: tool (+ with), action (+ with), set, foreach (+ as, steps), parallel
  (list of {steps}), choose (list of {when, steps} + otherwise), repeat ({steps, until|while,
  max}), wait (seconds), emit (+ with), fail (message), return (outputs).
- Any step may have: id, name, if, timeout, retry {max_attempts, interval, backoff_rate,
  max_delay, jitter, on}, catch (steps; error.kind, error.message, error.step in them),
  continue_on_error.
- Names: inputs.NAME, vars.NAME (set by an earlier `set`; one namespace for the run),
  steps.ID.result (the tool's whole answer: {success, data, …}), steps.ID.status
  ('succeeded', 'failed', 'skipped'), steps.ID.error, config.NAME, item (or the `as` name)
  and loop.index (from 1) in foreach, error in catch. A step reads only steps before it.
- A km_* answer with success: false fails the step (retry, catch or continue_on_error
  handle it); error kinds: tool-failed, timeout, invalid-arguments, permission-denied,
  limit-exceeded, tool-unavailable, template-error, expression-error, invalid-input,
  failed, cancelled, not-found.
- tests: each with name, inputs, mocks (per tool, its answers in call order, shaped as
  the tool answers below), expect ({outputs: …}, {calls: [{tool, with}]} or
  {error: {kind, message}}: message is a part of the error's text).
"""

#: Templates and expressions, side by side: what to write in each for the same thing.
SIDE_BY_SIDE: tuple[tuple[str, str, str], ...] = (
    ("a value", '"{{ inputs.name }}" (alone: keeps its type)', "inputs.name"),
    ("length", '"{{ x | length }}"', "len(x)"),
    ("case", '"{{ x | upper }}", lower, title, capitalize', "upper(x), lower(x), title(x)"),
    ("trim", '"{{ x | trim }}"', "trim(x)"),
    ("fallback", "\"{{ x | default('') }}\"", "default(x, '')"),
    ("exists, null", '"{{ x is defined }}", "{{ x is none }}"', "defined(x), x == null"),
    ("text joined", "\"{{ a ~ ' ' ~ b }}\"", "str(a) + ' ' + str(b)"),
    (
        "lists",
        '"{{ xs | join(\', \') }}", "{{ s | split(\',\') }}", "{{ s.splitlines() }}"',
        "join(xs, ', '), split(s, ','), s.splitlines()",
    ),
    (
        "replace",
        "\"{{ s | replace('a', 'b') }}\", \"{{ s | regex_replace('\\s+', ' ') }}\"",
        "replace(s, 'a', 'b')",
    ),
    (
        "numbers",
        '"{{ s | int }}", "{{ s | float }}", "{{ x | round(2) }}"',
        "int(s), float(s), round(x, 2)",
    ),
    (
        "sort, unique",
        '"{{ xs | sort }}", "{{ xs | unique | list }}": IGNORE CASE unless case_sensitive=true',
        "sorted(xs) (case matters)",
    ),
    (
        "keep some items",
        "\"{{ xs | select('string') | list }}\", \"{{ xs | reject('eq', '') | list }}\"",
        "foreach + if",
    ),
    ("dates", '"{{ today() }}" (2026-05-04), "{{ now() }}" (ISO 8601)', "today(), now()"),
    ("JSON", '"{{ x | tojson }}", "{{ s | from_json }}"', "to_json(x), from_json(s)"),
    ("regex", "\"{{ s | regex_search('\\d+') }}\", regex_findall", "matches(s, '\\d+')"),
    (
        "more",
        "first, last, map(attribute=…), selectattr, sum, min, max, reverse, truncate(n), "
        "wordcount, urlencode",
        "contains, startswith, endswith, any, all, min, max, sum, abs, keys, values, items, "
        "range, type_of",
    ),
)


def side_by_side() -> str:
    """The templates and expressions side by side, with how to read them."""
    rows = "\n".join(
        f"- {what}: {template}  ⇄  {expression}" for what, template, expression in SIDE_BY_SIDE
    )
    return (
        "Templates and expressions, side by side (template  ⇄  expression). Templates are "
        "for values\n(with, set, outputs, fail, emit), always quoted in YAML; expressions "
        "decide (if, when, until,\nwhile, foreach), without braces, filters (|) or `is` "
        f"tests:\n{rows}\n"
        "No {% %} statements: use steps. Every filter and function: "
        "km-actions://docs/templates-and-expressions.\n"
    )


COMMON = """\
Everyday needs, with the tools of the current Keyboard Maestro server:
- the clipboard's text: km_engine_control, operation process_tokens, expression
  "%SystemClipboard%" → data.processed (other tokens too: "%ICUDateTime%yyyy-MM-dd%").
  No tool of the current server sets the clipboard: say so, or run a macro of the user's
  that does (km_execute_macro with trigger_value).
- arithmetic: km_engine_control, operation calculate, expression "2+3*4" → data.result is
  TEXT ("14"): "{{ steps.ID.result.data.result | float }}" to compute on, or to compare.
- variables: km_variable_manager get → data.value (TEXT, "" when unset), set (value: text).
- macros: km_execute_macro (identifier: name or UUID, trigger_value), km_list_macros.
"""

ANSWERS_KEY = (
    "`name?`: an optional argument; `op(a, b)`: the arguments the operation was recorded "
    "with; → what it answers, then e.g. a short recorded answer (recorded from the real "
    "server; `success`, always true there, and `metadata` left out; `key?`: only in some "
    "answers; `{…}`: not shown)"
)
_SKIP = frozenset({"success", "metadata"})
_DEPTH = 4  # nested mappings shown in full


def authoring_prompt(host: Any, goal: str) -> str:
    """The prompt's text for ``host``'s tools and ceiling (``goal``: what to write)."""
    catalog = host.catalog()
    ceiling = host.ceiling()
    allowed = catalog.coverage(ceiling)
    tools = "\n".join(lines for tool in catalog.values() if (lines := tool_lines(tool, allowed)))
    beyond = _beyond(catalog.values(), allowed)
    only_user = (
        f"Only the user can grant (left out above): {beyond}. An action using them is "
        "refused; do without them.\n\n"
        if beyond
        else ""
    )
    ask = f"Write an action that does this: {goal}\n\n" if goal else ""
    return (
        f"{ask}{RULES}\n{side_by_side()}\n{COMMON}\n"
        f"A complete example, accepted as it is:\n```yaml\n{EXAMPLE}```\n\n"
        f"The tools you may use ({ANSWERS_KEY}):\n{tools}\n\n{only_user}"
        f"{ecosystem.ceiling_sentence(ceiling)}\n\n{SUBMIT}"
    )


SUBMIT = """\
Submit with km_plugin_ecosystem {"operation": "create", "plugin_source": "<the YAML>"}
(or the manifest as an object in `parameters`). validation_level is strict unless you say
otherwise: a description for the action and each input, and `tests:` that pass. `validate`
answers exactly what `create` would, installing nothing. A refusal lists every problem with
its JSON path, line, column and a hint: fix them all and send it again. The answer of
`create` names the plugin (mcp-created unless you give plugin_identifier); run the action
with {"operation": "execute", "action_name": "<name>", "parameters": {…}}.
More: km-actions://catalog (each tool's arguments, classes, answers), km-actions://docs/tools
(example calls and answers), km-actions://docs/reference, km-actions://schemas/action."""


def tool_lines(tool: ToolSpec, allowed: Coverage) -> str:
    """A tool's lines in the prompt (empty when an MCP caller may use none of it): its
    arguments and summary, then each operation it may use with its class, the arguments
    it was recorded with and what it answers."""
    operations = tool.operations
    answers = AnswerBook.builtin().for_tool(tool.name, tool.input_schema)
    head = f"- {tool.name}({_arguments(tool)})"
    if operations is None:
        if not allowed.covers(Need(tool.name)):
            return ""
        lines = [f"{head} [{tool.tool_class.value}]: {tool.summary}"]
        lines.extend(_mode_lines(answers))
        return "\n".join(lines)
    usable = [op for op in operations.classes if allowed.covers(Need(tool.name, op))]
    if not usable:
        return ""
    # Operations of one class that answer alike share a line.
    alike: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for op in usable:
        answer = answers.answers.get(op) if answers is not None else None
        used = _recorded_arguments(answer, operations.parameter)
        shape = _shape(answers, op) if answers is not None and answer is not None else ""
        named = f"{op}({used})" if used else op
        alike.setdefault((operations.classes[op].value, shape), []).append(
            (named, _example(answer))
        )
    lines = [f"{head}: {tool.summary}"]
    for (tool_class, shape), found in alike.items():
        line = f"  {', '.join(named for named, _ in found)} [{tool_class}]"
        line += f" → {shape}" if shape else ""
        line += found[0][1] if len(found) == 1 else ""
        lines.append(line)
    return "\n".join(lines)


def _mode_lines(answers: ToolAnswers | None) -> Iterator[str]:
    """What a tool without operations answers: one line, or one per mode."""
    if answers is None:
        return
    if answers.selector is None:
        yield f"  → {_shape(answers, '')}{_example(answers.answers[''])}"
        return
    for key, answer in answers.answers.items():
        yield f"  {answers.selector} {key} → {_shape(answers, key)}{_example(answer)}"


_ARGUMENTS_SHOWN = 8  # the catalog has every argument of the tools that have more


def _arguments(tool: ToolSpec) -> str:
    """The tool's arguments, optional ones marked `?` (internal ones, `_…`, left out),
    the first few of a tool with many."""
    required = set(tool.required)
    names = [name for name in tool.properties if not name.startswith("_")]
    room = max(_ARGUMENTS_SHOWN - len(required), 0)
    optional = [name for name in names if name not in required][:room]
    shown = [
        name if name in required else f"{name}?"
        for name in names
        if name in required or name in optional
    ]
    return ", ".join(shown + (["…"] if len(shown) < len(names) else []))


def _recorded_arguments(answer: Any, selector: str) -> str:
    call = getattr(answer, "call", None) or {}
    arguments = call.get("arguments") or {}
    return ", ".join(name for name in arguments if name != selector)


_EXAMPLE_WIDTH = 110  # a recorded answer this short is shown: its values say more than types


def _example(answer: Any) -> str:
    """`` e.g. {…}``: a short recorded answer (what its keys hold: `state: "foreground"`),
    or nothing."""
    example = getattr(answer, "example", None)
    if not isinstance(example, Mapping):
        return ""
    shown = {key: value for key, value in example.items() if key not in _SKIP}
    text = json.dumps(shown, ensure_ascii=False, separators=(", ", ": "))
    return f" e.g. {text}" if len(text) <= _EXAMPLE_WIDTH else ""


def _shape(answers: ToolAnswers, key: str) -> str:
    answer = answers.answers[key]
    if answer.schema is None:
        return f"unknown: {answer.note}" if answer.note else "unknown"
    return compact(answer.schema, skip=_SKIP, depth=_DEPTH)


def _beyond(tools: Any, allowed: Coverage) -> str:
    """What MCP callers may not be granted here: tools, and operations of tools."""
    out: list[str] = []
    for tool in tools:
        operations = tool.operations
        if operations is None:
            if not allowed.covers(Need(tool.name)):
                out.append(tool.name)
            continue
        refused = [op for op in operations.classes if not allowed.covers(Need(tool.name, op))]
        if len(refused) == len(operations.classes):
            out.append(tool.name)
        elif refused:
            out.append(f"{tool.name} {'/'.join(refused)}")
    return ", ".join(out)
