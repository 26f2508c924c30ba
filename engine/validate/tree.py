"""Walking the step tree without checking it: every step, every id, every variable."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path
from engine.load.sourcemap import Document


def collect_ids_and_vars(
    document: Document, steps: Any
) -> tuple[dict[str, Path], set[str], list[Diagnostic]]:
    """Every step id (first occurrence) and every variable name set anywhere."""
    ids: dict[str, Path] = {}
    names: set[str] = set()
    problems: list[Diagnostic] = []
    for step, path in iter_steps(steps, ("steps",)):
        step_id = step.get("id")
        if isinstance(step_id, str):
            if step_id in ids:
                first = document.span(ids[step_id])
                where = f" (first at line {first.line})" if first else ""
                problems.append(
                    document.diagnostic(
                        "duplicate-step-id",
                        f"two steps have the id `{step_id}`{where}",
                        (*path, "id"),
                        hint="give each step its own id",
                    )
                )
            else:
                ids[step_id] = (*path, "id")
        assigned = step.get("set")
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
        for key in ("steps", "catch", "otherwise"):
            yield from iter_steps(step.get(key), (*here, key))
        repeat = step.get("repeat")
        if isinstance(repeat, Mapping):
            yield from iter_steps(repeat.get("steps"), (*here, "repeat", "steps"))
        for group in ("parallel", "choose"):
            branches = step.get(group)
            if isinstance(branches, list):
                for b, branch in enumerate(branches):
                    if isinstance(branch, Mapping):
                        yield from iter_steps(branch.get("steps"), (*here, group, b, "steps"))


def setter_path(steps: Any, path: Path, name: str) -> Path:
    """Where the first `set` of ``name`` in ``steps`` is (``path`` if none is found)."""
    for step, here in iter_steps(steps, path):
        assigned = step.get("set")
        if isinstance(assigned, Mapping) and name in assigned:
            return (*here, "set", name)
    return path


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
