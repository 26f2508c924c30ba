"""The typed step nodes: the frozen :class:`StepNode` every kind's class derives from
(each kind's own is in its module, :mod:`engine.steps.kinds`), with its fields and where
they are in the file.

A node keeps its JSON path, the document it came from (so :meth:`StepNode.span` gives
any of its fields' ``line:col`` when a message needs it, and only then), the mapping it
was built from (the schema checks that, and a few messages name its keys), and the step
lists nested in it; its values are typed properties. Nothing here checks anything: a
node of a malformed step holds what was written, and the validator says what is wrong
with it.

>>> from engine.load.loader import load_text
>>> from engine.steps.build import step_tree
>>> doc = load_text("steps:\\n  - id: greet\\n    set: {text: hello}\\n")
>>> node = step_tree(doc).steps.items[0]
>>> node.kind, node.id, dict(node.values or {}), node.span("set", "text")
('set', 'greet', {'text': 'hello'}, Span(line=3, column=17, end_line=3, end_column=22))
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.diagnostics.errors import Path, Span
from engine.load.sourcemap import Document


@dataclass(frozen=True, slots=True)
class Field:
    """A field a step has (``if``, ``timeout``, ``max``…): its value as written and its
    JSON path (:meth:`StepNode.span` gives its ``line:col``). A field the step does not
    have is None, not a Field."""

    value: Any
    path: Path


@dataclass(frozen=True, slots=True)
class Block:
    """A list of steps (``steps``, ``catch``, a branch's ``steps``…) where a list of steps
    goes; ``is_list`` is false when something else is written there (``items`` is empty
    then). An entry that is not a mapping is a :class:`NotAStep`."""

    path: Path
    items: tuple[StepNode, ...] = ()
    is_list: bool = False


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class StepNode:
    """One step: its kind, the fields every kind has, and the step lists in it.

    What a node stores is its structure, worked out once: its kind, path and the step
    lists nested in it. Its single values (``id``, ``if``, ``tool``…) are read from the
    mapping when asked, typed. This class itself is a step of no single kind: not a
    mapping (a :class:`NotAStep`), a mapping with no kind key, or one with several
    (``kinds`` lists them then).
    """

    kind: ClassVar[str | None] = None
    is_mapping: ClassVar[bool] = True  # False for a :class:`NotAStep`

    path: Path
    data: Any = field(repr=False)  # the mapping as written (anything, for no kind)
    document: Document = field(repr=False)
    kinds: tuple[str, ...] = ()  # the kind keys it has, in the schema's order
    # Every step list in it, by where it is in the step (("steps",), ("repeat", "steps"),
    # ("parallel", 0, "steps")…): the ones its kind runs and any written where its kind has
    # none (the schema reports those; ids and variables set there still count, as they
    # would once the step is fixed).
    blocks: Mapping[Path, Block] = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str | None:
        value = self.data.get("id")
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str | None:
        value = self.data.get("name")
        return value if isinstance(value, str) else None

    @property
    def condition(self) -> Field | None:
        """`if`."""
        return self.field("if")

    @property
    def timeout(self) -> Field | None:
        return self.field("timeout")

    @property
    def retry(self) -> Field | None:
        return self.field("retry")

    @property
    def catch(self) -> Block | None:
        return self.block("catch") if "catch" in self.data else None

    @property
    def continue_on_error(self) -> bool:
        return bool(self.data.get("continue_on_error", False))

    @property
    def stops(self) -> bool:
        """Whether the action always ends at this step (a `return` or `fail` that is not
        under an `if` and whose failure is not caught)."""
        data = self.data
        return (
            ("return" in data or "fail" in data)
            and "if" not in data
            and not data.get("continue_on_error")
            and "catch" not in data
        )

    def field(self, key: str) -> Field | None:
        """One of its fields, or None if it has not that key."""
        data = self.data
        return Field(data[key], (*self.path, key)) if key in data else None

    def mapping(self, key: str) -> Mapping[Any, Any] | None:
        """Its field ``key`` when that is a mapping (None otherwise: the validator says
        what is wrong with it)."""
        value = self.data.get(key)
        return value if isinstance(value, Mapping) else None

    def block(self, *where: str | int) -> Block:
        """The step list at ``where`` in the step (an empty block where no list is)."""
        found = self.blocks.get(where)
        return found if found is not None else Block((*self.path, *where))

    def at(self, *keys: str | int) -> Path:
        """The JSON path of one of its fields: ``node.at("repeat", "max")``."""
        return (*self.path, *keys)

    def span(self, *keys: str | int, at_key: bool = False) -> Span | None:
        """Where the step (or one of its fields) is in the file, from the source map."""
        return self.document.span((*self.path, *keys), at_key=at_key)


class NotAStep(StepNode):
    """An entry of a list of steps that is not a mapping (the schema reports it)."""

    __slots__ = ()

    is_mapping: ClassVar[bool] = False

    @property
    def stops(self) -> bool:
        return False


class WithArgs:
    """The ``with:`` of a step that has one (`tool`, `action`, `emit`)."""

    __slots__ = ()
    data: Any

    @property
    def args(self) -> Any:
        """`with:` as written; ``{}`` when the step has none."""
        return self.data.get("with", {})

    @property
    def has_args(self) -> bool:
        return "with" in self.data


# The keys of a step under which nested_lists finds lists of steps.
NESTING_KEYS = frozenset({"steps", "catch", "otherwise", "repeat", "parallel", "choose"})


def nested_lists(step: Mapping[str, Any]) -> Iterator[tuple[Path, list[Any]]]:
    """Every list of steps written in ``step`` (a mapping as written, whatever its kind),
    with where it is in the step: its `steps`, `catch` and `otherwise`, its
    `repeat.steps`, then each `parallel` and `choose` branch's `steps`. The one place that
    knows where steps nest: the step builder, the validator's walks and the list of
    actions a manifest calls all read it, in this order (the order users see, e.g. which
    of two steps with one id is reported)."""
    for key in ("steps", "catch", "otherwise"):
        inner = step.get(key)
        if isinstance(inner, list):
            yield (key,), inner
    repeat = step.get("repeat")
    if isinstance(repeat, Mapping) and isinstance(repeat.get("steps"), list):
        yield ("repeat", "steps"), repeat["steps"]
    for group in ("parallel", "choose"):
        branches = step.get(group)
        if isinstance(branches, list):
            for index, branch in enumerate(branches):
                if isinstance(branch, Mapping) and isinstance(branch.get("steps"), list):
                    yield (group, index, "steps"), branch["steps"]


def iter_nodes(block: Block) -> Iterator[StepNode]:
    """Every step (mapping) in a block, nested ones included: each step, then the steps
    in its `steps`, `catch`, `otherwise`, `repeat`, `parallel` and `choose`."""
    for node in block.items:
        if node.is_mapping:
            yield node
            for inner in node.blocks.values():
                yield from iter_nodes(inner)


def setter_path(block: Block, name: str) -> Path:
    """Where the first `set` of ``name`` in ``block`` is (the block's path if none is)."""
    for node in iter_nodes(block):
        assigned = node.data.get("set")
        if isinstance(assigned, Mapping) and name in assigned:
            return node.at("set", name)
    return block.path
