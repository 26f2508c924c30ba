"""Walking the steps without checking them: every step, every id, every variable.

:func:`iter_steps` reads the step mappings themselves, for callers that have no step
nodes (the store describing an action); validation walks the nodes
(:mod:`engine.steps`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path
from engine.load.sourcemap import Document
from engine.steps.build import iter_nodes
from engine.steps.nodes import Block, nested_lists


def collect_ids_and_vars(
    document: Document, steps: Block
) -> tuple[dict[str, Path], set[str], list[Diagnostic]]:
    """Every step id (first occurrence) and every variable name set anywhere."""
    ids: dict[str, Path] = {}
    names: set[str] = set()
    problems: list[Diagnostic] = []
    for node in iter_nodes(steps):
        step_id = node.id
        if step_id is not None:
            if step_id in ids:
                first = document.span(ids[step_id])
                where = f" (first at line {first.line})" if first else ""
                problems.append(
                    document.diagnostic(
                        "duplicate-step-id",
                        f"two steps have the id `{step_id}`{where}",
                        node.at("id"),
                        hint="give each step its own id",
                    )
                )
            else:
                ids[step_id] = node.at("id")
        assigned = node.data.get("set")
        if isinstance(assigned, Mapping):
            names.update(k for k in assigned if isinstance(k, str))
    return ids, names, problems


def iter_steps(steps: Any, path: Path) -> Iterator[tuple[Mapping[str, Any], Path]]:
    """Every step mapping in a step list, nested ones included, in document order."""
    if not isinstance(steps, list):
        return
    for index, step in enumerate(steps):
        if not isinstance(step, Mapping):
            continue
        here = (*path, index)
        yield step, here
        for where, inner in nested_lists(step):
            yield from iter_steps(inner, (*here, *where))


def value_at(data: Any, path: Path) -> Any:
    """The value at ``path`` in ``data`` (None where the path leads nowhere).

    >>> value_at({"steps": [{"with": {"operation": "get"}}]}, ("steps", 0, "with", "operation"))
    'get'
    """
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
