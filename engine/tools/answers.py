"""What each ``km_*`` tool answers: the shapes of the real server's recorded answers.

``engine/data/km_answers.json`` is generated from the answers of the Keyboard Maestro MCP
server recorded in ``tests/data/km_server/`` (``scripts/km_server/answer_shapes.py``; a
test regenerates it and compares). For each tool, and each operation of a tool with
several (or each mode of a tool whose answer depends on one argument, such as
``km_token_processor``'s ``preview_only``), it holds the shape of a successful answer as
a small JSON Schema (``type``, ``properties``, ``required``, ``items``), a recorded example
with the call that gave it, and the shape and codes of its failures.

A shape (:mod:`engine.tools.shapes`) says which keys an answer has, so the validator can tell,
before anything runs, that ``steps.get.result.data.valu`` reads a key km_variable_manager
get never answers.

>>> from engine.tools.shapes import compact, find_miss
>>> book = AnswerBook.builtin()
>>> answer = book["km_variable_manager"].answers["get"]
>>> answer.label, compact(answer.schema)
('km_variable_manager get', '{success: boolean, data: {name: string, value: string, \
scope: string, exists: boolean, type: string}}')
>>> find_miss(answer.schema, ("data", "valu")).keys
('name', 'value', 'scope', 'exists', 'type')
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from engine.lang.templates import is_template
from engine.resources import data_text
from engine.tools.shapes import Schema, merge, schema_hash

__all__ = ["Answer", "AnswerBook", "ToolAnswers"]

# -- the book of answers -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """What one tool answers to one operation (or in one mode, or at all).

    ``schema`` is None when no successful answer was recorded (``note`` says why).
    ``example`` is a recorded successful answer (long lists and texts cut, as ``about``
    in the data says) and ``call`` the call that gave it: ``scenario``, ``index``,
    ``note`` and ``arguments``. ``failure`` is the shape of the recorded failures,
    ``failure_codes`` their codes.
    """

    tool: str
    selector: str | None = None
    value: str | None = None
    schema: Schema | None = None
    example: Any = None
    call: Mapping[str, Any] | None = None
    failure: Schema | None = None
    failure_codes: tuple[str, ...] = ()
    failure_example: Any = None
    successes: int = 0
    failures: int = 0
    note: str | None = None

    @property
    def label(self) -> str:
        """How messages name it: "km_variable_manager get", "km_token_processor with
        preview_only: true", "km_list_macros"."""
        if self.selector is None:
            return self.tool
        if self.value is None:
            return f"{self.tool} (any {self.selector})"
        if self.selector == "operation":
            return f"{self.tool} {self.value}"
        return f"{self.tool} with {self.selector}: {self.value}"

    @classmethod
    def from_data(
        cls, tool: str, data: Mapping[str, Any], selector: str | None, value: str | None
    ) -> Answer:
        recorded = data.get("recorded") or {}
        return cls(
            tool=tool,
            selector=selector,
            value=value,
            schema=data.get("answer"),
            example=data.get("example"),
            call=data.get("call"),
            failure=data.get("failure"),
            failure_codes=tuple(data.get("failure_codes") or ()),
            failure_example=data.get("failure_example"),
            successes=int(recorded.get("successes", 0)),
            failures=int(recorded.get("failures", 0)),
            note=data.get("note"),
        )


_MISSING: Any = object()


@dataclass(frozen=True)
class ToolAnswers:
    """Everything one tool answers: one :class:`Answer`, or one per value of its
    ``selector`` argument (``operation``; or a mode such as ``preview_only``)."""

    tool: str
    selector: str | None
    answers: Mapping[str, Answer]
    input_hash: str
    _union: list[Answer | None] = field(default_factory=list, repr=False, compare=False)

    def pick(self, arguments: Any, input_schema: Mapping[str, Any]) -> Answer | None:
        """What a call with these (literal) arguments answers: the answer of the
        operation or mode they select (an argument left out is the schema's default);
        when a template gives it, what every operation or mode may answer; None when
        that is not known (a value the tool does not have, or one never recorded).

        >>> tools = AnswerBook.builtin()["km_variable_manager"]
        >>> schema = {"properties": {"operation": {"type": "string"}}}
        >>> tools.pick({"operation": "get"}, schema).label
        'km_variable_manager get'
        >>> tools.pick({"operation": "{{ inputs.op }}"}, schema).label
        'km_variable_manager (any operation)'
        """
        key = self.key_of(arguments, input_schema)
        return self.any_answer() if key is None else self.answers.get(key)

    def key_of(self, arguments: Any, input_schema: Mapping[str, Any]) -> str | None:
        """The key in :attr:`answers` of what a call with these (literal) arguments
        answers: the operation or mode they select (the schema's default when left out),
        as its JSON text for a value that is not text (``true``); ``""`` for a tool with
        one answer; None when a template gives it, or nothing does (any of them).

        >>> tools = AnswerBook.builtin()["km_token_processor"]
        >>> tools.key_of({"preview_only": True}, {}), tools.key_of({}, {})
        ('true', None)
        """
        if self.selector is None:
            return ""
        given: Mapping[str, Any] = arguments if isinstance(arguments, Mapping) else {}
        value = given.get(self.selector, _MISSING)
        if value is _MISSING:
            properties = input_schema.get("properties")
            spec = properties.get(self.selector) if isinstance(properties, Mapping) else None
            value = spec.get("default", _MISSING) if isinstance(spec, Mapping) else _MISSING
        if value is _MISSING or (isinstance(value, str) and is_template(value)):
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def any_answer(self) -> Answer | None:
        """What the tool answers whatever the operation or mode, when each one's answer
        was recorded (None otherwise: a key missing from them all may be in the other)."""
        if not self._union:
            schemas = [a.schema for a in self.answers.values()]
            union: Answer | None = None
            if schemas and all(s is not None for s in schemas):
                merged = dict(schemas[0] or {})
                for schema in schemas[1:]:
                    merged = merge(merged, schema or {})
                union = Answer(self.tool, self.selector, schema=merged)
            self._union.append(union)
        return self._union[0]

    def entries(self) -> Iterator[Answer]:
        yield from self.answers.values()


class AnswerBook(Mapping[str, ToolAnswers]):
    """The recorded answers of every tool, by tool name (``builtin()``: the shipped data).

    A tool is known only as the server recorded publishes it: :meth:`for_tool` gives
    nothing for a tool whose inputSchema differs (another version of the server).
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.server_commit = str(data.get("server_commit", ""))
        self.about = str(data.get("about", ""))
        self._tools: dict[str, ToolAnswers] = {}
        for name, entry in data.get("tools", {}).items():
            selector = entry.get("by")
            raw = entry.get("answers") if selector is not None else {"": entry}
            self._tools[name] = ToolAnswers(
                tool=name,
                selector=selector,
                answers={
                    key: Answer.from_data(name, value, selector, key or None)
                    for key, value in raw.items()
                },
                input_hash=str(entry.get("input_hash", "")),
            )
        self._matches: dict[int, tuple[Mapping[str, Any], bool]] = {}

    @classmethod
    def builtin(cls) -> AnswerBook:
        """The answers km-actions ships (cached: they never change)."""
        return _builtin_book()

    def __getitem__(self, name: str) -> ToolAnswers:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def for_tool(self, name: str, input_schema: Mapping[str, Any]) -> ToolAnswers | None:
        """The answers of the tool ``name`` publishing ``input_schema``, if recorded."""
        found = self._tools.get(name)
        if found is None:
            return None
        known = self._matches.get(id(input_schema))
        if known is None or known[0] is not input_schema:
            if len(self._matches) > 4096:
                self._matches.clear()
            known = (input_schema, schema_hash(input_schema) == found.input_hash)
            self._matches[id(input_schema)] = known
        return found if known[1] else None


@cache
def _builtin_book() -> AnswerBook:
    return AnswerBook(json.loads(data_text("km_answers.json")))
