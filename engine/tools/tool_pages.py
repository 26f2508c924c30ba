"""A readable page per ``km_*`` tool: what it does, its arguments in words, its operations
and their classes, an example step to paste, and what it answers (``km-actions tools
NAME``, ``docs/tools.md``).

The answers are the real server's, recorded (:mod:`engine.tools.answers`); the example step of
an operation is the call that gave the recorded answer, so it is known to work.

>>> from engine.tools.catalog import ToolCatalog
>>> page = tool_page(ToolCatalog.builtin()["km_variable_manager"], only="get")
>>> [case.step for case in page.cases]
[{'id': 'get', 'tool': 'km_variable_manager', 'with': {'operation': 'get', 'name': 'Greeting'}}]
>>> page.arguments[0].words, page.arguments[0].allowed
('text', ('get', 'set', 'delete', 'list'))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.words import TYPE_WORDS
from engine.tools.answers import Answer, AnswerBook, ToolAnswers
from engine.tools.catalog import ToolClass, ToolSpec
from engine.tools.shapes import compact
from engine.tools.tool_schema import allowed_values, argument_types

_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Argument:
    """One argument of a tool, as its schema says: types, required, default, choices."""

    name: str
    types: tuple[str, ...]
    required: bool
    default: Any
    allowed: tuple[Any, ...] | None
    description: str
    schema: Mapping[str, Any]

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING

    @property
    def words(self) -> str:
        """Its type in the engine's words ("text", "a whole number or text")."""
        shown = [t for t in self.types if t != "null"] or list(self.types)
        return " or ".join(dict.fromkeys(TYPE_WORDS.get(t, t) for t in shown)) or "any value"

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": list(self.types), "words": self.words}
        out["required"] = self.required
        if self.has_default:
            out["default"] = self.default
        if self.allowed is not None:
            out["allowed"] = list(self.allowed)
        out["description"] = self.description
        return out


@dataclass(frozen=True, slots=True)
class Case:
    """One operation of a tool (or mode, or the tool's one answer): its value, its class,
    what it answers (None: not recorded) and an example step."""

    value: str | None
    tool_class: ToolClass
    answer: Answer | None
    step: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolPage:
    """Everything ``km-actions tools NAME`` shows of one tool.

    ``selector`` is the argument whose value picks the operation (or mode); ``recorded``
    the server commit the answers come from, ``unknown`` why they are not known.
    """

    spec: ToolSpec
    arguments: tuple[Argument, ...]
    selector: str | None
    cases: tuple[Case, ...]
    recorded: str | None
    unknown: str | None


def tool_page(
    spec: ToolSpec, book: AnswerBook | None = None, *, only: str | None = None
) -> ToolPage:
    """The page of ``spec``; ``only``: just that operation (or mode). A value the tool does
    not have raises ``KeyError`` with the values it has."""
    book = book if book is not None else AnswerBook.builtin()
    answers = book.for_tool(spec.name, spec.input_schema)
    if spec.operations is not None:
        selector: str | None = spec.operations.parameter
        values: list[tuple[str | None, ToolClass]] = list(spec.operations.classes.items())
    elif answers is not None and answers.selector is not None:
        selector = answers.selector
        values = [(value, spec.tool_class) for value in answers.answers]
    else:
        selector, values = None, [(None, spec.tool_class)]
    if only is not None:
        values = [(value, c) for value, c in values if value == only]
        if not values:
            raise KeyError(only)
    cases = tuple(
        Case(value, tool_class, found, example_step(spec, selector, value, found))
        for value, tool_class in values
        for found in [_answer(answers, value)]
    )
    return ToolPage(
        spec=spec,
        arguments=tuple(_arguments(spec, selector)),
        selector=selector,
        cases=cases,
        recorded=book.server_commit if answers is not None else None,
        unknown=None if answers is not None else _why_unknown(spec, book),
    )


def case_values(spec: ToolSpec, book: AnswerBook | None = None) -> list[str]:
    """The operations (or modes) a page of ``spec`` can be narrowed to."""
    return [case.value for case in tool_page(spec, book).cases if case.value is not None]


def _answer(answers: ToolAnswers | None, value: str | None) -> Answer | None:
    if answers is None:
        return None
    return answers.answers.get(value if value is not None else "")


def _why_unknown(spec: ToolSpec, book: AnswerBook) -> str:
    short = book.server_commit[:7]
    if spec.name in book:
        return (
            f"what it answers is not known: the answers km-actions has of {spec.name} were "
            f"recorded from the Keyboard Maestro MCP server at {short}, which publishes "
            "other arguments for it (this is another version of the tool)"
        )
    return (
        f"what it answers is not known: the Keyboard Maestro MCP server at {short}, whose "
        f"answers km-actions has recorded, has no {spec.name}"
    )


def _arguments(spec: ToolSpec, selector: str | None) -> list[Argument]:
    out = []
    required = set(spec.required)
    for name, raw in spec.properties.items():
        schema: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        allowed = allowed_values(schema)
        if allowed is None and spec.operations is not None and name == selector:
            allowed = list(spec.operations.classes)
        out.append(
            Argument(
                name=str(name),
                types=tuple(argument_types(schema)),
                required=name in required,
                default=schema.get("default", _MISSING),
                allowed=tuple(allowed) if allowed is not None else None,
                description=str(schema.get("description") or ""),
                schema=schema,
            )
        )
    return out


# -- example steps -------------------------------------------------------------------------


def example_step(
    spec: ToolSpec, selector: str | None, value: str | None, answer: Answer | None
) -> dict[str, Any]:
    """A step calling ``spec`` for this operation (or mode): the recorded call that gave
    the answer, else the required arguments with a plain value each."""
    if answer is not None and answer.call is not None:
        given = answer.call["arguments"]
        order = [*(["operation"] if selector == "operation" else []), *spec.properties, *given]
        arguments = {name: given[name] for name in dict.fromkeys(order) if name in given}
    else:
        arguments = {
            arg.name: _plain_value(arg) for arg in _arguments(spec, selector) if arg.required
        }
        if selector is not None and value is not None:
            arguments[selector] = _typed(spec, selector, value)
    if selector == "operation" and value is not None:
        step_id = value
    else:
        step_id = spec.name.removeprefix("km_")
    return {"id": step_id, "tool": spec.name, "with": arguments}


def _typed(spec: ToolSpec, selector: str, value: str) -> Any:
    """A selector's value as the argument takes it (modes of other types are keyed by
    their JSON text: ``"true"``)."""
    schema = spec.properties.get(selector)
    types = argument_types(schema) if isinstance(schema, Mapping) else []
    return value if "string" in types or not types else json.loads(value)


_PLAIN: Mapping[str, Any] = {
    "string": "text",
    "integer": 1,
    "number": 1,
    "boolean": True,
    "array": [],
    "object": {},
}


def _plain_value(argument: Argument) -> Any:
    """A value of the argument's type that its schema accepts: its first allowed value,
    example or default, else a plain one ("text" as long as it must be at least)."""
    if argument.allowed:
        return argument.allowed[0]
    options = [argument.schema, *(argument.schema.get("anyOf") or ())]
    for option in options:
        examples = option.get("examples") if isinstance(option, Mapping) else None
        if isinstance(examples, list) and examples:
            return examples[0]
    if argument.has_default and argument.default is not None:
        return argument.default
    for kind in argument.types:
        if kind == "string":
            least = max(int(o.get("minLength", 0)) for o in options if isinstance(o, Mapping))
            text = "text"
            while len(text) < least:
                text = f"{text}, example text"
            return text
        if kind in _PLAIN:
            return _PLAIN[kind]
    return "text"


# -- the page as data ----------------------------------------------------------------------


def page_data(page: ToolPage) -> dict[str, Any]:
    """The page as JSON data (``km-actions tools NAME --json``)."""
    spec = page.spec
    out: dict[str, Any] = {"name": spec.name, "class": spec.tool_class.value}
    if spec.operations is not None:
        out["operations"] = spec.operations.to_data()
    out["description"] = spec.description
    out["arguments"] = [a.to_data() for a in page.arguments]
    out["answers_recorded_from"] = page.recorded
    if page.unknown is not None:
        out["answers_unknown"] = page.unknown
    out["cases"] = [_case_data(page, case) for case in page.cases]
    return out


def _case_data(page: ToolPage, case: Case) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if page.selector is not None:
        out[page.selector] = case.value
    out["class"] = case.tool_class.value
    out["example_step"] = dict(case.step)
    answer = case.answer
    if answer is None:
        return out
    out["answer"] = answer.schema
    out["answer_compact"] = compact(answer.schema) if answer.schema is not None else None
    if answer.note:
        out["note"] = answer.note
    if answer.schema is not None:
        out["example"] = answer.example
        out["recorded_call"] = dict(answer.call or {})
    out["failure_codes"] = list(answer.failure_codes)
    if answer.failure_example is not None:
        out["failure_example"] = answer.failure_example
    return out
