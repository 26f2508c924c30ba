"""Paths into JSON data: dot key paths (``user.tags.0``), a JSONPath subset, and merges."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

MAX_MATCHES = 10_000


class PathProblem(ValueError):
    """A key path or query that does not fit the data (or is not well-formed)."""


def split_key_path(path: str) -> list[str]:
    """``"user.profile.name"`` → ``["user", "profile", "name"]`` (no empty parts)."""
    parts = path.split(".")
    if any(not part for part in parts):
        raise PathProblem(f"key path '{path}' has an empty part")
    return parts


def _child(node: Any, part: str, path: str) -> Any:
    if isinstance(node, dict):
        if part not in node:
            raise PathProblem(f"key '{part}' of '{path}' does not exist")
        return node[part]
    if isinstance(node, list) and part.lstrip("-").isdigit():
        index = int(part)
        if not -len(node) <= index < len(node):
            raise PathProblem(f"index {index} of '{path}' is out of range (length {len(node)})")
        return node[index]
    raise PathProblem(f"'{part}' of '{path}' goes into a {_kind(node)}, which has no keys")


def get_at(data: Any, parts: list[str], path: str) -> Any:
    node = data
    for part in parts:
        node = _child(node, part, path)
    return node


def set_at(data: dict[str, Any], parts: list[str], value: Any, path: str) -> bool:
    """Set the value at a path, creating missing objects on the way. True if it was new."""
    node: Any = data
    for part in parts[:-1]:
        if isinstance(node, dict) and part not in node:
            node[part] = {}
        node = _child(node, part, path)
    last = parts[-1]
    if isinstance(node, dict):
        created = last not in node
        node[last] = value
        return created
    if isinstance(node, list) and last.isdigit() and int(last) <= len(node):
        if int(last) == len(node):
            node.append(value)
            return True
        node[int(last)] = value
        return False
    raise PathProblem(f"cannot set '{last}' of '{path}' inside a {_kind(node)}")


def delete_at(data: dict[str, Any], parts: list[str], path: str) -> Any:
    parent = get_at(data, parts[:-1], path)
    _child(parent, parts[-1], path)  # raises when missing
    if isinstance(parent, dict):
        return parent.pop(parts[-1])
    return parent.pop(int(parts[-1]))


def _kind(node: Any) -> str:
    if node is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(type(node), "number")


_STEP = re.compile(
    r"""\.\.(?P<deep>[A-Za-z_][\w-]*|\*)
      | \.(?P<name>[A-Za-z_][\w-]*|\*)
      | \[\s*(?:(?P<index>-?\d+)|(?P<star>\*)|'(?P<sq>[^']*)'|"(?P<dq>[^"]*)")\s*\]""",
    re.VERBOSE,
)


def parse_query(query: str) -> list[tuple[str, str | int]]:
    """Steps of a JSONPath query: ``$.a.b``, ``$..name``, ``$.items[0]``, ``$.a[*]``, ``['k']``.

    >>> parse_query("$.users[*].name")
    [('key', 'users'), ('all', '*'), ('key', 'name')]
    """
    text = query.strip()
    if text.startswith("$"):
        text = text[1:]
    elif text and not text.startswith((".", "[")):
        text = "." + text
    steps: list[tuple[str, str | int]] = []
    pos = 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise PathProblem(f"cannot read the query at '{text[pos : pos + 20]}'")
        steps.append(_step_of(match))
        pos = match.end()
    return steps


def _step_of(match: re.Match[str]) -> tuple[str, str | int]:
    groups = match.groupdict()
    if groups["deep"] is not None:
        return ("deep", groups["deep"])
    if groups["index"] is not None:
        return ("index", int(groups["index"]))
    name = groups["name"] if groups["name"] is not None else groups["sq"]
    if name is None:
        name = groups["dq"]
    if groups["star"] is not None or name == "*":
        return ("all", "*")
    return ("key", str(name))


def run_query(data: Any, steps: list[tuple[str, str | int]]) -> list[Any]:
    """Every value the steps select, in document order."""
    current = [data]
    for kind, arg in steps:
        found: list[Any] = []
        for node in current:
            found.extend(_select(node, kind, arg))
            if len(found) > MAX_MATCHES:
                raise PathProblem(f"the query matches more than {MAX_MATCHES} values")
        current = found
    return current


def _select(node: Any, kind: str, arg: str | int) -> Iterator[Any]:
    if kind == "key" and isinstance(node, dict) and arg in node:
        yield node[arg]
    elif kind == "index" and isinstance(node, list) and isinstance(arg, int):
        if -len(node) <= arg < len(node):
            yield node[arg]
    elif kind == "all":
        yield from _children(node)
    elif kind == "deep":
        for each in _walk(node):
            if arg == "*":
                yield from _children(each)
            elif isinstance(each, dict) and arg in each:
                yield each[arg]


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    return list(node) if isinstance(node, list) else []


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in _children(node):
        yield from _walk(child)


def merge(target: Any, source: Any, strategy: str) -> Any:
    """Merge ``source`` into ``target`` (neither is changed; the result is new data).

    deep: objects merge recursively, the source wins; shallow: top-level keys only;
    replace: the source; append: like deep, arrays are concatenated; union: like deep,
    arrays gain the items they lack and existing values win.
    """
    if strategy == "replace":
        return source
    if strategy == "shallow":
        return {**target, **source}
    if isinstance(target, dict) and isinstance(source, dict):
        out = dict(target)
        for key, value in source.items():
            out[key] = merge(out[key], value, strategy) if key in out else value
        return out
    if isinstance(target, list) and isinstance(source, list):
        if strategy == "append":
            return [*target, *source]
        if strategy == "union":
            seen = {_identity(item) for item in target}
            out_list = list(target)
            for item in source:
                if (key := _identity(item)) not in seen:
                    seen.add(key)
                    out_list.append(item)
            return out_list
    return target if strategy == "union" else source


def _identity(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
