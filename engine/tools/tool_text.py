"""A tool's page in words: as text for the terminal (``km-actions tools NAME``) and as
Markdown (``docs/tools.md``), with the answer as a tree of keys, types and recorded values.

>>> from engine.tools.shapes import schema_of
>>> for line in answer_lines(schema_of({"success": True, "data": {"n": 2}}),
...                          {"success": True, "data": {"n": 2}}):
...     print(line)
success  true or false   true
data     a mapping (key: value pairs)
  n      a whole number  2
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from engine.diagnostics.words import TYPE_WORDS
from engine.lang.secrets import show
from engine.tools.older_tools import OLDER_TOOLS, instead_of
from engine.tools.shapes import Schema, compact, types_of
from engine.tools.tool_pages import Argument, Case, ToolPage

_MISSING: Any = object()
_EXAMPLE_WIDTH = 48
_FAILED = (
    "A failure (success: false) fails the step with kind tool-failed; with "
    "`continue_on_error: true` or `catch:`, `steps.{id}.error` holds its kind, message and code."
)


# -- the answer as a tree ------------------------------------------------------------------


def answer_lines(schema: Schema, example: Any) -> list[str]:
    """The keys of an answer, one a line, indented by depth: key, type in words, and the
    value the recorded example has (for text, numbers, true/false, null)."""
    rows = list(_rows(schema, example, 0))
    width = max((len(key) + 2 * depth for depth, key, _, _ in rows), default=0)
    types_width = max((len(words) for _, _, words, shown in rows if shown), default=0)
    lines = []
    for depth, key, words, shown in rows:
        head = f"{'  ' * depth}{key}".ljust(width)
        text = f"{head}  {words.ljust(types_width)}  {shown}" if shown else f"{head}  {words}"
        lines.append(text.rstrip())
    return lines


def _rows(schema: Schema, example: Any, depth: int) -> Iterable[tuple[int, str, str, str]]:
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        required = set(schema.get("required", ()))
        for key, sub in properties.items():
            value = example.get(key, _MISSING) if isinstance(example, Mapping) else _MISSING
            words = type_words(sub) + ("" if key in required else " (in some answers)")
            yield depth, key, words, _shown(value)
            yield from _children(sub, value, depth + 1)
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        yield depth, "(any key)", type_words(extra), ""
        yield from _children(extra, _MISSING, depth + 1)


def _children(schema: Schema, value: Any, depth: int) -> Iterable[tuple[int, str, str, str]]:
    if "object" in types_of(schema):
        yield from _rows(schema, value, depth)
    items = schema.get("items")
    if "array" in types_of(schema) and isinstance(items, Mapping) and "object" in types_of(items):
        first = value[0] if isinstance(value, list) and value else _MISSING
        yield from _rows(items, first, depth)


def type_words(schema: Schema) -> str:
    """A shape's type in the engine's words: "text or null", "a list of
    mappings", "a list (each text)"."""
    words = []
    for kind in types_of(schema) or ("any",):
        if kind == "object":
            words.append(TYPE_WORDS["object"])
        elif kind == "array":
            items = schema.get("items")
            if not isinstance(items, Mapping):
                words.append("a list (empty when recorded)")
            elif types_of(items) == ("object",):
                words.append("a list of mappings")
            else:
                words.append(f"a list (each {type_words(items)})")
        else:
            words.append(TYPE_WORDS.get(kind, kind))
    return " or ".join(words)


def _shown(value: Any) -> str:
    """A recorded scalar as messages quote values (:func:`engine.lang.secrets.show`)."""
    if value is _MISSING or isinstance(value, Mapping | list):
        return ""
    return show(value, _EXAMPLE_WIDTH)


# -- the page as text ----------------------------------------------------------------------


def step_yaml(step: Mapping[str, Any]) -> str:
    """An example step as YAML to paste under `steps:`."""
    text = yaml.safe_dump(
        [dict(step)], sort_keys=False, allow_unicode=True, default_flow_style=None, width=88
    )
    return text.rstrip("\n")


def page_text(page: ToolPage, source: str) -> str:
    """The whole page, for the terminal; ``source`` says where the tool list comes from."""
    spec = page.spec
    lines = [f"{spec.name} ({spec.tool_class.value}), {source}", ""]
    lines += ["  " + line for line in spec.description.strip().splitlines()] + [""]
    lines += ["Arguments (under `with:`):", *_argument_lines(page.arguments), ""]
    if page.selector == "operation" and len(page.cases) > 1:
        lines.append("Operations:")
        width = max(len(str(case.value)) for case in page.cases)
        for case in page.cases:
            lines.append(f"  {str(case.value).ljust(width)}  {case.tool_class.value}")
        lines.append("")
    elif page.selector is not None and len(page.cases) > 1:
        values = ", ".join(str(case.value) for case in page.cases)
        lines += [f"What it answers depends on `{page.selector}`: {values}.", ""]
    if page.unknown is not None:
        lines += [page.unknown[0].upper() + page.unknown[1:] + ".", ""]
    for case in page.cases:
        lines += _case_text(page, case)
    if page.recorded is not None:
        lines.append(
            f"Answers recorded from the Keyboard Maestro MCP server at {page.recorded[:7]}."
        )
    return "\n".join(lines).rstrip("\n")


def _argument_lines(arguments: Iterable[Argument]) -> list[str]:
    shown = list(arguments)
    if not shown:
        return ["  none"]
    width = max(len(a.name) for a in shown)
    return [f"  {a.name.ljust(width)}  {argument_text(a)}" for a in shown]


def argument_text(argument: Argument) -> str:
    """One argument in words: "text, required; one of get, set. What it is"."""
    parts = [argument.words]
    if argument.required:
        parts.append("required")
    elif argument.has_default and argument.default is not None:
        parts.append(f"default {json.dumps(argument.default, ensure_ascii=False)}")
    head = ", ".join(parts)
    if argument.allowed is not None:
        head += "; one of " + ", ".join(str(v) for v in argument.allowed)
    return f"{head}. {argument.description}".rstrip(". ") if argument.description else head


def _case_text(page: ToolPage, case: Case) -> list[str]:
    step_id = str(case.step["id"])
    title = page.spec.name if case.value is None else f"{page.spec.name} {_case_name(page, case)}"
    lines = [f"== {title} ({case.tool_class.value}) ==", "Example step:"]
    lines += ["  " + line for line in step_yaml(case.step).splitlines()]
    answer = case.answer
    if answer is not None and answer.schema is not None and answer.call is not None:
        lines.append(f"Answer (steps.{step_id}.result), {_recorded(answer.call)}:")
        lines += ["  " + line for line in answer_lines(answer.schema, answer.example)]
    elif answer is not None and answer.note:
        lines.append(f"Answer: {answer.note}.")
    if answer is not None and answer.failure_codes:
        lines.append("Recorded failures: " + ", ".join(answer.failure_codes) + ".")
    if page.recorded is not None:
        lines.append(_FAILED.format(id=step_id))
    return [*lines, ""]


def _recorded(call: Mapping[str, Any]) -> str:
    """Which recorded call an example comes from: "recorded (get an existing global;
    variables#0)"."""
    where = f"{call.get('scenario')}#{call.get('index')}"
    note = call.get("note")
    return f"recorded ({note}; {where})" if note else f"recorded ({where})"


def _case_name(page: ToolPage, case: Case) -> str:
    if page.selector == "operation":
        return str(case.value)
    return f"with {page.selector}: {case.value}"


# -- the page as Markdown ------------------------------------------------------------------


def page_markdown(page: ToolPage) -> str:
    """One tool's section of docs/tools.md."""
    spec = page.spec
    first = spec.description.strip().split("\n\n")[0].replace("\n", " ")
    lines = [f"## {spec.name}", "", first, ""]
    lines += ["| Argument | Type | Required | Default | Allowed values | Description |"]
    lines += ["|---|---|---|---|---|---|"]
    for a in page.arguments:
        default = f"`{json.dumps(a.default)}`" if a.has_default and a.default is not None else ""
        allowed = ", ".join(f"`{v}`" for v in a.allowed) if a.allowed is not None else ""
        lines.append(
            f"| `{a.name}` | {a.words} | {'yes' if a.required else 'no'} | {default} | "
            f"{allowed} | {_cell(a.description)} |"
        )
    lines.append("")
    if page.unknown is not None:
        lines += [page.unknown[0].upper() + page.unknown[1:] + ".", ""]
    for case in page.cases:
        lines += _case_markdown(page, case)
    return "\n".join(lines)


def _case_markdown(page: ToolPage, case: Case) -> list[str]:
    lines: list[str] = []
    if case.value is not None:
        lines += [f"### {page.spec.name} {_case_name(page, case)}", ""]
    lines += [f"Class: {case.tool_class.value}.", "", "```yaml", step_yaml(case.step), "```", ""]
    answer = case.answer
    if answer is not None and answer.schema is not None:
        lines += [f"Answers (`steps.{case.step['id']}.result`): `{compact(answer.schema)}`", ""]
        lines += ["```text", *answer_lines(answer.schema, answer.example), "```", ""]
    elif answer is not None and answer.note:
        lines += [f"Answers: {answer.note}.", ""]
    if answer is not None and answer.failure_codes:
        codes = ", ".join(f"`{code}`" for code in answer.failure_codes)
        lines += [f"Recorded failures: {codes}.", ""]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def tools_markdown(pages: Iterable[ToolPage], commit: str) -> str:
    """docs/tools.md: every tool the recorded server offers, then the older ones."""
    known = [p for p in pages if p.recorded is not None]
    head = [
        "# Tools",
        "",
        "<!-- Generated by scripts/km_server/answer_shapes.py from engine/data/km_tools.json",
        "     and engine/data/km_answers.json: do not edit by hand. -->",
        "",
        "The `km_*` tools of the Keyboard Maestro MCP server that actions call, what each "
        "takes and what it answers. `km-actions tools NAME` shows the same page in the "
        "terminal (for the tools of the server you connect to).",
        "",
        "In an action, `steps.<id>.result` is the tool's answer exactly as shown here: "
        "most tools put what they give under `data`, some answer flat (km_window_manager) "
        "or under another key (km_token_processor, km_token_stats). A key an answer never "
        "has is reported by `km-actions validate` (warning `unknown-result-field`), and so "
        "is a mock in an action's `tests:` that answers a key, or a type, the tool never "
        "does, or no `success` (warning `mock-answer-shape`). "
        "An answer with `success: false` fails the step (kind `tool-failed`) with the "
        "tool's code, message and suggestion; with `continue_on_error: true` or `catch:`, "
        "the step's `result` is null and `steps.<id>.error` holds kind, message and code.",
        "",
        f"Every answer below was recorded from the server's own code at commit `{commit[:7]}` "
        "(tests/data/km_server/). Lists in the examples are cut to three items.",
        "",
        "Tools: " + ", ".join(f"[{p.spec.name}](#{p.spec.name})" for p in known) + ".",
        "",
    ]
    body = [page_markdown(page) for page in known]
    tail = [
        "## Tools of older servers",
        "",
        "The 2025 version of the server had 18 more tools; the current one answers "
        '"Unknown tool" to them, and `km-actions validate` reports a step that calls one, '
        "with what to use instead. km-actions checks calls to them only against a server "
        "that lists them (its saved tool list), or when you opt in with "
        '`[catalog] tools = "2025"` in config.toml, and knows nothing of what they answer.',
        "",
        "| Tool | On the current server |",
        "|---|---|",
        *(
            f"| `{name}` | {_cell(instead_of(name) or 'nothing does what it did')} |"
            for name in sorted(OLDER_TOOLS)
        ),
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(body) + "\n".join(tail)
