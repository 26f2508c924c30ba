"""The typed step nodes: one frozen class per step kind, each with its fields and where
they are in the file.

A node keeps its JSON path, the document it came from (so :meth:`StepNode.span` gives
any of its fields' ``line:col`` when a message needs it, and only then), the mapping it
was built from (the schema checks that, and a few messages name its keys), and the step
lists nested in it. Nothing here checks anything: a node of a malformed step holds what
was written, and the validator says what is wrong with it.

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
    JSON path. A field the step does not have is None, not a Field."""

    value: Any
    path: Path


@dataclass(frozen=True, slots=True)
class Block:
    """A list of steps (``steps``, ``catch``, a branch's ``steps``…) where a list of steps
    goes; ``is_list`` is false when something else is written there (``items`` is empty
    then). An entry that is not a mapping is a :class:`StepNode` of no kind."""

    path: Path
    items: tuple[StepNode, ...] = ()
    is_list: bool = False

    def __iter__(self) -> Iterator[StepNode]:
        return iter(self.items)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepNode:
    """One step: its kind, the fields every kind has, and the step lists in it.

    This class itself is a step of no single kind: not a mapping, a mapping with no kind
    key, or one with several (``kinds`` lists them then).
    """

    kind: ClassVar[str | None] = None

    path: Path
    data: Any = field(repr=False)  # the mapping as written (anything, for no kind)
    document: Document = field(repr=False, compare=False)
    kinds: tuple[str, ...] = ()  # the kind keys it has, in the schema's order
    id: str | None = None
    name: str | None = None
    condition: Field | None = None  # `if`
    timeout: Field | None = None
    retry: Field | None = None
    catch: Block | None = None
    continue_on_error: bool = False
    # Every step list in it, in document order of kinds: the ones its kind runs and any
    # written where its kind has none (the schema reports those; ids and variables set
    # there still count, as they would once the step is fixed).
    blocks: tuple[Block, ...] = ()

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.data, Mapping)

    @property
    def stops(self) -> bool:
        """Whether the action always ends at this step (a `return` or `fail` that is not
        under an `if` and whose failure is not caught)."""
        data = self.data
        return (
            isinstance(data, Mapping)
            and ("return" in data or "fail" in data)
            and "if" not in data
            and not data.get("continue_on_error")
            and "catch" not in data
        )

    def at(self, *keys: str | int) -> Path:
        """The JSON path of one of its fields: ``node.at("repeat", "max")``."""
        return (*self.path, *keys)

    def span(self, *keys: str | int, at_key: bool = False) -> Span | None:
        """Where the step (or one of its fields) is in the file, from the source map."""
        return self.document.span((*self.path, *keys), at_key=at_key)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolStep(StepNode):
    """``tool: km_…`` with its arguments under ``with:``."""

    kind: ClassVar[str | None] = "tool"
    tool: Any = None  # the tool's name, if text (anything else is a schema error)
    args: Any = None  # `with:` as written; None when the step has none
    has_args: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionStep(StepNode):
    """``action: name`` (another action) with its inputs under ``with:``."""

    kind: ClassVar[str | None] = "action"
    target: Any = None
    args: Any = None
    has_args: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SetStep(StepNode):
    """``set: {name: value}``: variables."""

    kind: ClassVar[str | None] = "set"
    values: Mapping[Any, Any] | None = None  # None when `set:` is not a mapping


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeachStep(StepNode):
    """``foreach:`` a list (an expression or written out), ``as:`` a name, ``steps:``."""

    kind: ClassVar[str | None] = "foreach"
    source: Any = None
    item_name: Any = "item"
    body: Block | None = None


@dataclass(frozen=True, slots=True)
class Branch:
    """One of a `parallel` step's branches (a mapping in its list)."""

    index: int
    path: Path
    body: Block


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelStep(StepNode):
    """``parallel:`` a list of branches, each with its ``steps:``."""

    kind: ClassVar[str | None] = "parallel"
    branches: tuple[Branch, ...] | None = None  # None when `parallel:` is not a list


@dataclass(frozen=True, slots=True)
class Case:
    """One case of a `choose` step: ``when:`` and its ``steps:``."""

    index: int
    path: Path
    when: Any
    body: Block


@dataclass(frozen=True, slots=True, kw_only=True)
class ChooseStep(StepNode):
    """``choose:`` cases, the first whose ``when`` holds runs; else ``otherwise:``."""

    kind: ClassVar[str | None] = "choose"
    cases: tuple[Case, ...] = ()
    otherwise: Block | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RepeatStep(StepNode):
    """``repeat: {steps, until | while, max}``."""

    kind: ClassVar[str | None] = "repeat"
    spec: Field | None = None  # the `repeat:` mapping; None when it is not one
    max: Field | None = None
    until: Field | None = None
    while_: Field | None = None
    body: Block | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitStep(StepNode):
    """``wait: seconds``."""

    kind: ClassVar[str | None] = "wait"
    seconds: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmitStep(StepNode):
    """``emit: event`` with its data under ``with:``."""

    kind: ClassVar[str | None] = "emit"
    event: Any = None
    args: Any = None
    has_args: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FailStep(StepNode):
    """``fail: message``: the action fails."""

    kind: ClassVar[str | None] = "fail"
    message: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnStep(StepNode):
    """``return: {output: value}``: the action ends with these outputs."""

    kind: ClassVar[str | None] = "return"
    values: Mapping[Any, Any] | None = None  # None when `return:` is not a mapping
