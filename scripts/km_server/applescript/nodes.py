"""The parsed form of a script: statements and expressions, each with its place in the source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    start: int
    end: int


# -- expressions ----------------------------------------------------------------------


@dataclass
class Literal(Node):
    value: Any


@dataclass
class Var(Node):
    name: str  # lower-cased (AppleScript identifiers ignore case)
    written: str  # as first written (records print their labels this way)


@dataclass
class ListLit(Node):
    items: list[Node]


@dataclass
class RecordLit(Node):
    pairs: list[tuple[str, Node]]


@dataclass
class BinOp(Node):
    op: str  # "&", "+", "-", "*", "/", "^", "div", "mod", "=", "≠", "<", ">", "≤", "≥",
    # "and", "or", "contains", "starts with", "ends with"
    left: Node
    right: Node


@dataclass
class Not(Node):
    operand: Node


@dataclass
class Negate(Node):
    operand: Node


@dataclass
class Coerce(Node):
    operand: Node
    kind: str  # "string", "text", "integer", "real", "number", "boolean", "list"


@dataclass
class Prop(Node):
    """``name of X``; ``of_`` None means "of the current target" (tell target, or the
    element a ``whose`` clause is testing)."""

    name: str
    of_: Node | None


@dataclass
class Elem(Node):
    """``kind selector of X``: an element reference (``macro id "…"``, ``trigger 3``…)."""

    kind: str  # singular class name, e.g. "macro group"
    how: str  # "every", "index", "id", "name", "whose-first", "whose-every", "front", "last"
    key: Node | None  # the index / id / name expression, or the whose condition
    of_: Node | None


@dataclass
class EndOf(Node):
    """``end of L`` (only as a target of ``set``) / ``beginning of L``."""

    which: str
    of_: Node


@dataclass
class AppRef(Node):
    key: Node
    by_id: bool


@dataclass
class PosixFile(Node):
    path: Node


@dataclass
class Command(Node):
    """An application or scripting-addition command: ``getvariable "X"``, ``make new …``."""

    name: str
    direct: Node | None
    params: dict[str, Node] = field(default_factory=dict)
    new_kind: str | None = None  # for ``make new <kind>``


# -- statements -----------------------------------------------------------------------


@dataclass
class Tell(Node):
    target: Node
    body: list[Node]


@dataclass
class Try(Node):
    body: list[Node]
    error_var: str | None
    handler: list[Node]


@dataclass
class If(Node):
    branches: list[tuple[Node, list[Node]]]
    otherwise: list[Node]


@dataclass
class RepeatIn(Node):
    var: str
    items: Node
    body: list[Node]


@dataclass
class RepeatFrom(Node):
    var: str
    first: Node
    last: Node
    step: Node | None
    body: list[Node]


@dataclass
class RepeatWhile(Node):
    condition: Node
    until: bool
    body: list[Node]


@dataclass
class ExitRepeat(Node):
    pass


@dataclass
class Set(Node):
    target: Node
    value: Node


@dataclass
class Return(Node):
    value: Node | None


@dataclass
class Raise(Node):
    message: Node | None
    number: Node | None


@dataclass
class ExprStmt(Node):
    expr: Node
