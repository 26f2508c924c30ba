"""The typed step nodes: one class per step kind (subclasses of the frozen
:class:`StepNode`), each with its fields and where they are in the file.

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

from collections.abc import Mapping
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


class _Args:
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


class ToolStep(_Args, StepNode):
    """``tool: km_…`` with its arguments under ``with:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "tool"

    @property
    def tool(self) -> Any:
        """The tool's name, if text (anything else is a schema error)."""
        return self.data.get("tool")


class ActionStep(_Args, StepNode):
    """``action: name`` (another action) with its inputs under ``with:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "action"

    @property
    def target(self) -> Any:
        return self.data.get("action")


class SetStep(StepNode):
    """``set: {name: value}``: variables."""

    __slots__ = ()

    kind: ClassVar[str | None] = "set"

    @property
    def values(self) -> Mapping[Any, Any] | None:
        """None when `set:` is not a mapping."""
        values = self.data.get("set")
        return values if isinstance(values, Mapping) else None


class ForeachStep(StepNode):
    """``foreach:`` a list (an expression or written out), ``as:`` a name, ``steps:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "foreach"

    @property
    def source(self) -> Any:
        return self.data.get("foreach")

    @property
    def item_name(self) -> Any:
        return self.data.get("as", "item")

    @property
    def body(self) -> Block:
        return self.block("steps")


@dataclass(frozen=True, slots=True)
class Branch:
    """One of a `parallel` step's branches (a mapping in its list)."""

    index: int
    path: Path
    body: Block


class ParallelStep(StepNode):
    """``parallel:`` a list of branches, each with its ``steps:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "parallel"

    @property
    def branches(self) -> tuple[Branch, ...] | None:
        """None when `parallel:` is not a list."""
        listed = self.data.get("parallel")
        if not isinstance(listed, list):
            return None
        return tuple(
            Branch(index, self.at("parallel", index), self.block("parallel", index, "steps"))
            for index, branch in enumerate(listed)
            if isinstance(branch, Mapping)
        )


@dataclass(frozen=True, slots=True)
class Case:
    """One case of a `choose` step: ``when:`` and its ``steps:``."""

    index: int
    path: Path
    when: Any
    body: Block


class ChooseStep(StepNode):
    """``choose:`` cases, the first whose ``when`` holds runs; else ``otherwise:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "choose"

    @property
    def cases(self) -> tuple[Case, ...]:
        listed = self.data.get("choose")
        if not isinstance(listed, list):
            return ()
        return tuple(
            Case(
                index,
                self.at("choose", index),
                case.get("when"),
                self.block("choose", index, "steps"),
            )
            for index, case in enumerate(listed)
            if isinstance(case, Mapping)
        )

    @property
    def otherwise(self) -> Block | None:
        return self.block("otherwise") if "otherwise" in self.data else None


class RepeatStep(StepNode):
    """``repeat: {steps, until | while, max}``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "repeat"

    @property
    def spec(self) -> Mapping[str, Any] | None:
        """The `repeat:` mapping; None when it is not one."""
        spec = self.data.get("repeat")
        return spec if isinstance(spec, Mapping) else None

    def _part(self, key: str) -> Field | None:
        spec = self.spec
        return Field(spec[key], self.at("repeat", key)) if spec and key in spec else None

    @property
    def max(self) -> Field | None:
        return self._part("max")

    @property
    def until(self) -> Field | None:
        return self._part("until")

    @property
    def while_(self) -> Field | None:
        return self._part("while")

    @property
    def body(self) -> Block:
        return self.block("repeat", "steps")


class WaitStep(StepNode):
    """``wait: seconds``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "wait"

    @property
    def seconds(self) -> Any:
        return self.data.get("wait")


class EmitStep(_Args, StepNode):
    """``emit: event`` with its data under ``with:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "emit"

    @property
    def event(self) -> Any:
        return self.data.get("emit")


class FailStep(StepNode):
    """``fail: message``: the action fails."""

    __slots__ = ()

    kind: ClassVar[str | None] = "fail"

    @property
    def message(self) -> Any:
        return self.data.get("fail")


class ReturnStep(StepNode):
    """``return: {output: value}``: the action ends with these outputs."""

    __slots__ = ()

    kind: ClassVar[str | None] = "return"

    @property
    def values(self) -> Mapping[Any, Any] | None:
        """None when `return:` is not a mapping."""
        values = self.data.get("return")
        return values if isinstance(values, Mapping) else None


# Each kind's node class, by manifest keyword, in the order of the schema's step rules (a
# test keeps them the same).
STEP_NODES: dict[str, type[StepNode]] = {
    cls.kind: cls
    for cls in (
        ToolStep,
        ActionStep,
        SetStep,
        ForeachStep,
        ParallelStep,
        ChooseStep,
        RepeatStep,
        WaitStep,
        EmitStep,
        FailStep,
        ReturnStep,
    )
    if cls.kind is not None
}
