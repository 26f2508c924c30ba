"""References into what a step gave: the keys a tool answers, the outputs of an action.

A tool step's ``steps.<id>.result`` is the tool's answer, whose shape the real server's
recordings give (:mod:`engine.tools.answers`): reading a key it never has is a warning
(``unknown-result-field``: recorded from one version of the server, so a probable
mistake rather than a certain one). An ``action`` step's result is the called action's
outputs, which its manifest declares: reading another is an error (``unknown-output``).
The items of a ``foreach`` over a list in an answer are checked the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import Severity
from engine.diagnostics.suggestions import closest, did_you_mean
from engine.diagnostics.words import TYPE_WORDS
from engine.lang.sandbox.messages import position_hint
from engine.lang.sandbox.references import PathPart, Reference, format_reference
from engine.tools.answers import Answer
from engine.tools.shapes import Schema, find_miss, node_at, types_of


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool step whose answer is known: ``answer`` (that of its literal operation)."""

    answer: Answer


@dataclass(frozen=True, slots=True)
class ActionResult:
    """An ``action`` step: the called action and the outputs it declares."""

    target: str
    outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ItemShape:
    """The items of a ``foreach`` over a list in a tool's answer: their shape, the answer
    they come from and where in it (``data.variables``)."""

    schema: Schema
    answer: Answer
    source: str


ResultShape = ToolResult | ActionResult


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem with a reference, before it is placed: code, message, hint, severity."""

    code: str
    message: str
    hint: str
    severity: Severity


def relative(path: Sequence[PathPart]) -> str:
    """A path inside an answer as users write it after ``result.``: ``data.items[0].name``.

    >>> relative(("data", "items", 0, "name")), relative(())
    ('data.items[0].name', '')
    """
    return format_reference("", path).lstrip(".")


def result_finding(
    shape: ResultShape, step_id: str, path: Sequence[PathPart], *, guarded: bool
) -> Finding | None:
    """What is wrong with reading ``steps.<step_id>.result.<path>`` (None: nothing known)."""
    if isinstance(shape, ActionResult):
        return None if guarded else _output_finding(shape, path)
    answer = shape.answer
    if answer.schema is None:
        return None
    if path and path[0] == "error" and find_miss(answer.schema, path[:1]) is not None:
        return Finding(
            "unknown-result-field",
            f"`steps.{step_id}.result.error` never has a value: a successful answer of "
            f"{answer.label} has no `error`, and a step that failed has no result",
            f"give the step `continue_on_error: true` (or `catch:`) and read "
            f"`steps.{step_id}.error.message` (also `.code` and `.kind`)",
            Severity.WARNING,
        )
    context = _Context(
        says=f"{answer.label} answers",
        where=f"what {answer.label} answers",
        top="the answer",
        show=relative,
        full=lambda parts: format_reference(f"steps.{step_id}.result", parts),
        tool=answer.tool,
        envelope=True,
    )
    return _shape_finding(context, answer.schema, path)


def item_finding(item: ItemShape, name: str, path: Sequence[PathPart]) -> Finding | None:
    """What is wrong with reading ``<name>.<path>`` of a loop item of known shape."""
    label = item.answer.label
    context = _Context(
        says=f"`{name}` (an item of `{item.source}` in what {label} answers) has",
        where=f"each `{name}`",
        top=f"each `{name}`",
        show=lambda parts: format_reference(name, parts),
        full=lambda parts: format_reference(name, parts),
        tool=item.answer.tool,
    )
    return _shape_finding(context, item.schema, path)


def foreach_reference(source: Any) -> str | None:
    """The expression of a ``foreach:`` (``{{ }}`` around it taken off), if it is text.

    >>> foreach_reference("{{ steps.all.result.data.variables }}")
    'steps.all.result.data.variables'
    """
    if not isinstance(source, str):
        return None
    text = source.strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    return text


def foreach_items(
    ref: Reference,
    text: str,
    results: Mapping[str, ResultShape],
    item_of: Callable[[str], ItemShape | None],
) -> ItemShape | None:
    """The shape of the items a ``foreach`` over ``text`` gives, when ``text`` is exactly
    the reference ``ref`` to a list of mappings of known shape: in a tool step's answer
    (``steps.all.result.data.variables``, ``results`` by step id), or in a loop item
    (``group.macros``; ``item_of`` gives the shape of a loop variable's items)."""
    if ref.text != text:
        return None
    rest = tuple(ref.path)
    item = item_of(ref.root)
    if item is not None:
        source = f"{item.source}[…].{relative(rest)}"
        return _items_of(node_at(item.schema, rest), item.answer, source)
    if ref.root != "steps" or len(rest) < 3 or rest[1] != "result":
        return None
    shape = results.get(str(rest[0]))
    if not isinstance(shape, ToolResult) or shape.answer.schema is None:
        return None
    return _items_of(node_at(shape.answer.schema, rest[2:]), shape.answer, relative(rest[2:]))


def _items_of(node: Schema | None, answer: Answer, source: str) -> ItemShape | None:
    if node is None or "array" not in types_of(node):
        return None
    items = node.get("items")
    if not isinstance(items, Mapping) or types_of(items) != ("object",):
        return None
    return ItemShape(items, answer, source)


@dataclass(frozen=True, slots=True)
class _Context:
    """How messages name the value a path is read in (a tool's answer, a loop item)."""

    says: str  # "km_variable_manager get answers" (`…`, not `…`)
    where: str  # "what km_variable_manager get answers" (in …, `x` is a list)
    top: str  # what the value itself is called
    show: Any  # path parts -> how messages show them (inside the answer: `data.value`)
    full: Any  # path parts -> the whole reference (`steps.get.result.data.value`)
    tool: str
    envelope: bool = False  # a whole answer, where most tools put what they give in `data`


def _shape_finding(context: _Context, schema: Schema, path: Sequence[PathPart]) -> Finding | None:
    miss = find_miss(schema, path)
    if miss is None:
        return None
    part = path[miss.index]
    parent = tuple(path[: miss.index])
    bad = context.show((*parent, part))
    named = f"`{context.show(parent)}`" if parent else context.top
    whole = f"`km-actions tools {context.tool}` shows the whole answer"
    if isinstance(part, str) and "object" in miss.types:
        holds = f"{named} holds {', '.join(miss.keys)}"
        unwrapped = context.envelope and not parent and part == "data"
        guess = None if unwrapped else closest(part, miss.keys)
        if unwrapped:
            message = f"{context.says} no `data`: unlike most tools, it gives no `data` mapping"
            hint = f"{holds}; {whole}"
        elif guess is not None:
            message = f"{context.says} `{context.show((*parent, guess))}`, not `{bad}`"
            hint = f"{did_you_mean(part, miss.keys)} ({holds})"
        else:
            message = f"{context.says} no `{bad}`"
            hint = f"{holds}; {whole}"
    elif isinstance(part, str) and "array" in miss.types:
        message = f"in {context.where}, {named} is a list, so it has no `{part}`"
        hint = position_hint(context.full(parent), part) or (
            f"read one item, as in `{context.full((*parent, 0, part))}`, or go through them "
            f"with `foreach: {context.full(parent)}`"
        )
    elif "object" in miss.types:
        message = f"in {context.where}, {named} is a mapping, not a list: it has no item [{part}]"
        hint = f"read one of its keys: {', '.join(miss.keys)}" if miss.keys else whole
    else:
        kind = " or ".join(TYPE_WORDS.get(t, t) for t in miss.types)
        shown = f"[{part}]" if isinstance(part, int) else f"`{part}`"
        message = f"in {context.where}, {named} is {kind}, so it has no {shown}"
        hint = f"read {named} itself; {whole}"
    return Finding("unknown-result-field", message, hint, Severity.WARNING)


def _output_finding(shape: ActionResult, path: Sequence[PathPart]) -> Finding | None:
    name = path[0] if path else None
    if not isinstance(name, str) or name in shape.outputs:
        return None
    if shape.outputs:
        hint = did_you_mean(name, shape.outputs) or ""
    else:
        hint = f"`{shape.target}` declares no outputs; add them under its `outputs:`"
    return Finding(
        "unknown-output",
        f"the action `{shape.target}` has no output `{name}`",
        hint,
        Severity.ERROR,
    )
