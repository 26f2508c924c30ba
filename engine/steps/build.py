"""Building the step nodes of a manifest, once: :func:`step_tree`.

The validator and the compiler both walk the tree this builds (as Jinja parses a template
once into nodes that carry their line numbers), so neither reads the step mappings again.
Building checks nothing and never fails: a step of no kind, or of several, is a plain
:class:`StepNode`, and a field of the wrong type is kept as written for the validator to
report.

:data:`engine.steps.kinds.STEP_NODES` is the table of step kinds, by manifest keyword,
in the order of the schema's step rules (a test keeps them the same).

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import Path
from engine.load.sourcemap import Document
from engine.steps.kinds import STEP_NODES
from engine.steps.nodes import (
    NESTING_KEYS,
    Block,
    NotAStep,
    StepNode,
    iter_nodes,
    nested_lists,
    setter_path,
)

__all__ = ["StepTree", "build_block", "build_node", "iter_nodes", "setter_path", "step_tree"]


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
    single kind; a :class:`NotAStep` when it is not a mapping)."""
    if type(step) is not dict and not isinstance(step, Mapping):  # the loaders give dicts
        return NotAStep(path=path, data=step, document=document)
    kinds = [key for key in step if key in STEP_NODES]
    if len(kinds) > 1:
        kinds.sort(key=_ORDER.__getitem__)
    cls = STEP_NODES[kinds[0]] if len(kinds) == 1 else StepNode
    blocks = _blocks(step, path, document) if not NESTING_KEYS.isdisjoint(step) else _NONE
    return cls(path=path, data=step, document=document, kinds=tuple(kinds), blocks=blocks)


def _blocks(step: Mapping[str, Any], path: Path, document: Document) -> dict[Path, Block]:
    """Every list of steps in a step, by where it is in the step, whatever its kind."""
    return {
        where: build_block(inner, (*path, *where), document) for where, inner in nested_lists(step)
    }


# The order of the kinds.
_ORDER = {kind: rank for rank, kind in enumerate(STEP_NODES)}
_NONE: Mapping[Path, Block] = {}
