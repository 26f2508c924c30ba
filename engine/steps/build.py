"""Building the step nodes of a manifest, once: :func:`step_tree`.

The validator and the compiler both walk the tree this builds (as Jinja parses a template
once into nodes that carry their line numbers), so neither reads the step mappings again.
Building checks nothing and never fails: a step of no kind, or of several, is a plain
:class:`StepNode`, and a field of the wrong type is kept as written for the validator to
report.

:data:`STEP_NODES` is the one table of step kinds, by manifest keyword, in the order of
the schema's step rules (a test keeps them the same).

>>> from engine.load.loader import load_text
>>> doc = load_text("steps:\\n  - foreach: [1, 2]\\n    steps:\\n      - wait: 1\\n"
...                 "  - {tool: km_list_macros, action: x}\\n")
>>> tree = step_tree(doc)
>>> [(type(n).__name__, n.kinds, n.path) for n in iter_nodes(tree.steps)]
[('ForeachStep', ('foreach',), ('steps', 0)), ('WaitStep', ('wait',), ('steps', 0, 'steps', 0)), \
('StepNode', ('tool', 'action'), ('steps', 1))]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import Path
from engine.load.sourcemap import Document
from engine.steps.nodes import (
    ActionStep,
    Block,
    Branch,
    Case,
    ChooseStep,
    EmitStep,
    FailStep,
    Field,
    ForeachStep,
    ParallelStep,
    RepeatStep,
    ReturnStep,
    SetStep,
    StepNode,
    ToolStep,
    WaitStep,
)

# What a kind's builder is given: the step mapping, its path, the fields every kind has
# and the step lists found in it, by where they are (("steps",), ("repeat", "steps"),
# ("parallel", 0, "steps")…). It returns the node.
NodeBuilder = Callable[[Mapping[str, Any], dict[str, Any], dict[Path, Block]], StepNode]


@dataclass(frozen=True, slots=True)
class StepTree:
    """The nodes of a manifest's ``steps:`` (built by :func:`step_tree`)."""

    document: Document
    steps: Block


def step_tree(document: Document) -> StepTree:
    """The step nodes of a manifest, built once: the validator and then the compiler of the
    same document get the same tree."""
    last = _LAST.tree
    if last is not None and last.document is document:
        return last
    data = document.data
    steps = data.get("steps") if isinstance(data, Mapping) else None
    tree = StepTree(document, build_block(steps, ("steps",), document))
    _LAST.tree = tree
    return tree


class _Last(threading.local):
    """The tree built last on this thread: validating then compiling a document builds its
    nodes once, and no tree outlives the next one built."""

    tree: StepTree | None = None


_LAST = _Last()


def build_block(steps: Any, path: Path, document: Document) -> Block:
    """The nodes of a list of steps at ``path`` (an empty block if it is not a list)."""
    if not isinstance(steps, list):
        return Block(path)
    return Block(
        path,
        tuple(build_node(step, (*path, index), document) for index, step in enumerate(steps)),
        True,
    )


def build_node(step: Any, path: Path, document: Document) -> StepNode:
    """The node of one step, of its kind's class (a plain :class:`StepNode` when it has no
    single kind)."""
    if not isinstance(step, Mapping):
        return StepNode(path=path, data=step, document=document)
    kinds = tuple(kind for kind in STEP_NODES if kind in step)
    blocks = _blocks(step, path, document)
    step_id = step.get("id")
    name = step.get("name")
    catch = blocks.get(("catch",))
    common: dict[str, Any] = {
        "path": path,
        "data": step,
        "document": document,
        "kinds": kinds,
        "id": step_id if isinstance(step_id, str) else None,
        "name": name if isinstance(name, str) else None,
        "condition": _field(step, "if", path),
        "timeout": _field(step, "timeout", path),
        "retry": _field(step, "retry", path),
        "catch": catch
        if catch is not None
        else (Block((*path, "catch")) if "catch" in step else None),
        "continue_on_error": bool(step.get("continue_on_error", False)),
        "blocks": tuple(blocks.values()),
    }
    if len(kinds) != 1:
        return StepNode(**common)
    return STEP_NODES[kinds[0]](step, common, blocks)


def iter_nodes(block: Block) -> Iterator[StepNode]:
    """Every step (mapping) in a block, nested ones included, in document order."""
    for node in block.items:
        if node.is_mapping:
            yield node
            for inner in node.blocks:
                yield from iter_nodes(inner)


def setter_path(block: Block, name: str) -> Path:
    """Where the first `set` of ``name`` in ``block`` is (the block's path if none is)."""
    for node in iter_nodes(block):
        assigned = node.data.get("set")
        if isinstance(assigned, Mapping) and name in assigned:
            return node.at("set", name)
    return block.path


def _field(step: Mapping[str, Any], key: str, path: Path) -> Field | None:
    return Field(step[key], (*path, key)) if key in step else None


def _blocks(step: Mapping[str, Any], path: Path, document: Document) -> dict[Path, Block]:
    """Every list of steps in a step, by where it is in the step, whatever its kind."""
    found: dict[Path, Block] = {}
    for key in ("steps", "catch", "otherwise"):
        inner = step.get(key)
        if isinstance(inner, list):
            found[(key,)] = build_block(inner, (*path, key), document)
    repeat = step.get("repeat")
    if isinstance(repeat, Mapping) and isinstance(repeat.get("steps"), list):
        where: Path = ("repeat", "steps")
        found[where] = build_block(repeat["steps"], (*path, *where), document)
    for group in ("parallel", "choose"):
        branches = step.get(group)
        if isinstance(branches, list):
            for index, branch in enumerate(branches):
                if isinstance(branch, Mapping) and isinstance(branch.get("steps"), list):
                    where = (group, index, "steps")
                    found[where] = build_block(branch["steps"], (*path, *where), document)
    return found


def _block(blocks: dict[Path, Block], where: Path, path: Path) -> Block:
    """The block at ``where`` in a step (an empty one where no list of steps is)."""
    found = blocks.get(where)
    return found if found is not None else Block((*path, *where))


# -- one builder per kind ----------------------------------------------------------------


def _tool(step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]) -> StepNode:
    return ToolStep(
        tool=step.get("tool"), args=step.get("with", {}), has_args="with" in step, **common
    )


def _action(step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]) -> StepNode:
    return ActionStep(
        target=step.get("action"), args=step.get("with", {}), has_args="with" in step, **common
    )


def _set(step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]) -> StepNode:
    values = step.get("set")
    return SetStep(values=values if isinstance(values, Mapping) else None, **common)


def _foreach(
    step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]
) -> StepNode:
    return ForeachStep(
        source=step.get("foreach"),
        item_name=step.get("as", "item"),
        body=_block(blocks, ("steps",), common["path"]),
        **common,
    )


def _parallel(
    step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]
) -> StepNode:
    listed = step.get("parallel")
    if not isinstance(listed, list):
        return ParallelStep(**common)
    path = common["path"]
    branches = tuple(
        Branch(
            index, (*path, "parallel", index), _block(blocks, ("parallel", index, "steps"), path)
        )
        for index, branch in enumerate(listed)
        if isinstance(branch, Mapping)
    )
    return ParallelStep(branches=branches, **common)


def _choose(step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]) -> StepNode:
    listed = step.get("choose")
    path = common["path"]
    cases = (
        tuple(
            Case(
                index,
                (*path, "choose", index),
                case.get("when"),
                _block(blocks, ("choose", index, "steps"), path),
            )
            for index, case in enumerate(listed)
            if isinstance(case, Mapping)
        )
        if isinstance(listed, list)
        else ()
    )
    otherwise = _block(blocks, ("otherwise",), path) if "otherwise" in step else None
    return ChooseStep(cases=cases, otherwise=otherwise, **common)


def _repeat(step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]) -> StepNode:
    spec = step.get("repeat")
    if not isinstance(spec, Mapping):
        return RepeatStep(**common)
    here = (*common["path"], "repeat")
    return RepeatStep(
        spec=Field(spec, here),
        max=_field(spec, "max", here),
        until=_field(spec, "until", here),
        while_=_field(spec, "while", here),
        body=_block(blocks, ("repeat", "steps"), common["path"]),
        **common,
    )


def _wait(step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]) -> StepNode:
    return WaitStep(seconds=step.get("wait"), **common)


def _emit(step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]) -> StepNode:
    return EmitStep(
        event=step.get("emit"), args=step.get("with", {}), has_args="with" in step, **common
    )


def _fail(step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]) -> StepNode:
    return FailStep(message=step.get("fail"), **common)


def _return(step: Mapping[str, Any], common: dict[str, Any], blocks: dict[Path, Block]) -> StepNode:
    values = step.get("return")
    return ReturnStep(values=values if isinstance(values, Mapping) else None, **common)


STEP_NODES: dict[str, NodeBuilder] = {
    "tool": _tool,
    "action": _action,
    "set": _set,
    "foreach": _foreach,
    "parallel": _parallel,
    "choose": _choose,
    "repeat": _repeat,
    "wait": _wait,
    "emit": _emit,
    "fail": _fail,
    "return": _return,
}
