"""Shapes of JSON values, as a small JSON Schema (``type``, ``properties``, ``required``,
``items``, ``additionalProperties``): built from values, merged, read along a path, and
written in one line.

The shapes of the ``km_*`` tools' answers (:mod:`engine.tools.answers`) are made of these.

>>> shape = merge(schema_of({"a": 1, "b": [{"c": "x"}]}), schema_of({"a": 2.5}))
>>> compact(shape), find_miss(shape, ("b", 0, "d")).keys
('{a: number, b?: [{c: string}]}', ('c',))
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.words import json_type

__all__ = [
    "Misfit",
    "Miss",
    "PathPart",
    "Schema",
    "compact",
    "find_misfits",
    "find_miss",
    "merge",
    "node_at",
    "schema_hash",
    "schema_of",
    "types_of",
]

# JSON types in the order they are shown; "integer" is a "number" too.
TYPE_ORDER = ("object", "array", "string", "integer", "number", "boolean", "null")
Schema = Mapping[str, Any]
PathPart = str | int


# -- shapes of values --------------------------------------------------------------------


def schema_of(value: Any) -> dict[str, Any]:
    """The exact shape of one JSON value (an empty mapping's keys stay unknown).

    >>> schema_of({"n": 1, "tags": ["a"], "none": None})
    {'type': 'object', 'properties': {'n': {'type': 'integer'}, 'tags': {'type': 'array', \
'items': {'type': 'string'}}, 'none': {'type': 'null'}}, 'required': ['n', 'tags', 'none']}
    """
    if isinstance(value, Mapping):
        if not value:
            return {"type": "object"}
        return {
            "type": "object",
            "properties": {str(k): schema_of(v) for k, v in value.items()},
            "required": [str(k) for k in value],
        }
    if isinstance(value, list | tuple):
        out: dict[str, Any] = {"type": "array"}
        items: dict[str, Any] | None = None
        for item in value:
            shape = schema_of(item)
            items = shape if items is None else merge(items, shape)
        if items is not None:
            out["items"] = items
        return out
    return {"type": json_type(value)}


def types_of(schema: Schema) -> tuple[str, ...]:
    """The JSON types a shape allows, in :data:`TYPE_ORDER` (empty: any)."""
    found = schema.get("type")
    if isinstance(found, str):
        return (found,)
    if isinstance(found, list):
        return tuple(str(t) for t in found)
    return ()


def _type_field(types: set[str]) -> str | list[str]:
    if "integer" in types and "number" in types:
        types = types - {"integer"}
    ordered = [t for t in TYPE_ORDER if t in types]
    return ordered[0] if len(ordered) == 1 else ordered


def merge(a: Schema, b: Schema) -> dict[str, Any]:
    """The shape of a value that is sometimes like ``a`` and sometimes like ``b``: the
    types of both, every key of either (required when both require it), items of both.

    >>> merge({"type": "string"}, {"type": "null"})
    {'type': ['string', 'null']}
    >>> merge(schema_of({"a": 1}), schema_of({"a": 2.5, "b": True}))["required"]
    ['a']
    """
    out: dict[str, Any] = {"type": _type_field({*types_of(a), *types_of(b)})}
    if "properties" in a or "properties" in b:
        left, right = a.get("properties", {}), b.get("properties", {})
        properties = {
            key: merge(left[key], right[key])
            if key in left and key in right
            else dict(left.get(key) or right[key])
            for key in [*left, *(k for k in right if k not in left)]
        }
        out["properties"] = properties
        both = set(a.get("required", ())) & set(b.get("required", ()))
        required = [key for key in properties if key in both]
        if required:
            out["required"] = required
    extra = [s["additionalProperties"] for s in (a, b) if "additionalProperties" in s]
    if extra:
        out["additionalProperties"] = merge(extra[0], extra[-1]) if len(extra) == 2 else extra[0]
    items = [s["items"] for s in (a, b) if "items" in s]
    if items:
        out["items"] = merge(items[0], items[-1]) if len(items) == 2 else dict(items[0])
    return out


def schema_hash(schema: Mapping[str, Any]) -> str:
    """A fingerprint of a tool's inputSchema: answers are known for the tool recorded, and
    a server publishing another schema for a tool of that name may answer otherwise."""
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# -- reading a path in a shape -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Miss:
    """Where a path leaves a shape: ``path[index]`` is not there. ``keys`` are those of
    the mapping it was read from (empty when that is not a mapping), ``types`` what that
    value is."""

    index: int
    keys: tuple[str, ...]
    types: tuple[str, ...]


def find_miss(schema: Schema, path: Sequence[PathPart]) -> Miss | None:
    """The first part of ``path`` that a value of this shape cannot have (None: every part
    can be there, or the shape does not say: a mapping whose keys were never seen, a list
    never seen with items, text indexed by position).

    >>> shape = schema_of({"data": {"items": [{"name": "a"}], "text": "x"}})
    >>> find_miss(shape, ("data", "items", 0, "name")) is None
    True
    >>> find_miss(shape, ("data", "items", "name"))
    Miss(index=2, keys=(), types=('array',))
    >>> find_miss(shape, ("data", "text", 0)) is None
    True
    """
    node: Schema = schema
    for index, part in enumerate(path):
        types = types_of(node)
        if not types or types == ("null",):
            return None  # any value, or one only ever seen as null: the shape does not say
        properties = node.get("properties")
        keys = tuple(properties) if isinstance(properties, Mapping) else ()
        if isinstance(part, str) and "object" in types:
            if isinstance(properties, Mapping) and part in properties:
                node = properties[part]
                continue
            extra = node.get("additionalProperties")
            if isinstance(extra, Mapping):
                node = extra
                continue
            if not isinstance(properties, Mapping):
                return None
            return Miss(index, keys, types)
        if isinstance(part, int) and "array" in types:
            items = node.get("items")
            if not isinstance(items, Mapping):
                return None
            node = items
            continue
        if isinstance(part, int) and "string" in types:
            return None  # a character of the text
        return Miss(index, keys, types)
    return None


@dataclass(frozen=True, slots=True)
class Misfit:
    """Where a value departs from a shape, at ``path`` in the value: a key the shape never
    has (``extra``), a key it always has that the value lacks (``missing``: the mapping at
    ``path`` lacks ``key``), or a value of another type (``type``). ``keys`` are those of
    the shape's mapping there, ``types`` what the shape allows there."""

    kind: str
    path: tuple[PathPart, ...]
    key: str | None
    keys: tuple[str, ...]
    types: tuple[str, ...]


def find_misfits(
    schema: Schema, value: Any, *, must_have: Collection[str] = ()
) -> tuple[Misfit, ...]:
    """Every place where ``value`` is not shaped as ``schema`` says, in the value's order
    (none: it fits, or the shape does not say). A value may leave out keys (it says
    less), except the top-level keys in ``must_have`` that the shape always has; a key
    the shape never has is one that is never there (what is under it is not looked at),
    and so is a value of another type.

    >>> shape = schema_of({"success": True, "data": {"name": "a", "n": 1}})
    >>> find_misfits(shape, {"success": True, "data": {"name": "b"}})
    ()
    >>> [(m.kind, m.path, m.key) for m in find_misfits(
    ...     shape, {"data": {"nme": "b", "n": "1"}}, must_have={"success"})]
    [('missing', (), 'success'), ('extra', ('data', 'nme'), 'nme'), ('type', ('data', 'n'), None)]
    """
    return tuple(_misfits(schema, value, (), must_have))


def _misfits(
    node: Schema, value: Any, path: tuple[PathPart, ...], must_have: Collection[str]
) -> Iterator[Misfit]:
    types = types_of(node)
    if not types or types == ("null",):
        return  # any value, or one only ever seen as null: the shape does not say
    found = json_type(value)
    if found not in types and not (found == "integer" and "number" in types):
        yield Misfit("type", path, None, (), types)
    elif isinstance(value, Mapping):
        yield from _object_misfits(node, value, path, must_have)
    elif isinstance(value, list) and isinstance(items := node.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from _misfits(items, item, (*path, index), ())


def _object_misfits(
    node: Schema, value: Mapping[str, Any], path: tuple[PathPart, ...], must_have: Collection[str]
) -> Iterator[Misfit]:
    properties = node.get("properties")
    extra = node.get("additionalProperties")
    keys = tuple(properties) if isinstance(properties, Mapping) else ()
    if isinstance(properties, Mapping):
        for key in node.get("required", ()):
            if key in must_have and key not in value:
                yield Misfit("missing", path, str(key), keys, types_of(node))
    for key, item in value.items():
        if isinstance(properties, Mapping) and key in properties:
            inner: Schema = properties[key]
        elif isinstance(extra, Mapping):
            inner = extra
        elif isinstance(properties, Mapping):
            yield Misfit("extra", (*path, str(key)), str(key), keys, types_of(node))
            continue
        else:
            continue  # a mapping whose keys were never seen: the shape does not say
        yield from _misfits(inner, item, (*path, str(key)), ())


def node_at(schema: Schema, path: Sequence[PathPart]) -> Schema | None:
    """The shape of the value at ``path`` (None when the shape does not say).

    >>> node_at(schema_of({"data": {"list": [{"n": 1}]}}), ("data", "list"))["items"]["type"]
    'object'
    """
    node: Schema = schema
    for part in path:
        if isinstance(part, str):
            properties = node.get("properties")
            if isinstance(properties, Mapping) and part in properties:
                node = properties[part]
            elif isinstance(node.get("additionalProperties"), Mapping):
                node = node["additionalProperties"]
            else:
                return None
        else:
            items = node.get("items")
            if not isinstance(items, Mapping):
                return None
            node = items
    return node


def compact(
    schema: Schema | None, *, skip: frozenset[str] = frozenset(), depth: int | None = None
) -> str:
    """A shape in one line, as the catalog and the prompt show it: ``{key: type, …}``,
    ``key?`` for a key only some answers have, ``[item]`` for a list, ``a|b`` for either,
    ``{…}`` for a mapping whose keys vary (or, past ``depth`` nested mappings, are not
    shown). Top-level keys in ``skip`` are left out.

    >>> compact(merge(schema_of({"a": [1], "b": None}), schema_of({"a": [], "b": "x"})))
    '{a: [integer], b: string|null}'
    >>> compact(schema_of({"n": 1, "m": {"k": {"j": 1}}}), skip=frozenset({"n"}), depth=2)
    '{m: {k: {…}}}'
    """
    if schema is None:
        return "unknown"
    types = types_of(schema)
    if not types:
        return "any"
    words = []
    for kind in types:
        if kind == "object":
            words.append(_compact_object(schema, skip, depth))
        elif kind == "array":
            items = schema.get("items")
            shown = compact(items, depth=depth) if isinstance(items, Mapping) else ""
            words.append(f"[{shown}]")
        else:
            words.append(kind)
    return "|".join(words)


def _compact_object(schema: Schema, skip: frozenset[str], depth: int | None) -> str:
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    if depth is not None and depth <= 0:
        return "{…}"
    inner = None if depth is None else depth - 1
    if not isinstance(properties, Mapping):
        return f"{{…: {compact(extra, depth=inner)}}}" if isinstance(extra, Mapping) else "{…}"
    required = set(schema.get("required", ()))
    parts = [
        f"{key}{'' if key in required else '?'}: {compact(value, depth=inner)}"
        for key, value in properties.items()
        if key not in skip
    ]
    return "{" + ", ".join(parts) + "}"
