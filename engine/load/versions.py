"""API versions: the versions of the manifest language this km-actions reads, and the
upgrade of older ones.

Every manifest says the version of the language it is written in (``api_version``).
This km-actions reads :data:`SUPPORTED`; it writes :data:`CURRENT`. A file of an older
version it knows is upgraded when loaded (:func:`upgraded`: its data rewritten to what
it meant, and a note saying what changed) and on disk by ``km-actions migrate FILE``
(:mod:`engine.load.migrate`, which edits the text where the source map places each change).

What 1.1 changed in the meaning of a 1.0 file, and how a 1.0 file is upgraded:

- The class groups ``read-only``, ``write`` and ``destructive`` of ``permissions`` cover
  *operations* of that class (``km_variable_manager:get`` is read-only, ``:delete``
  destructive); in 1.0 they covered every tool whose whole-tool class was that one. A
  1.0 group becomes the tools it covered in 1.0 (``engine/data/api_1_0_groups.json``,
  the 1.0 catalog's classes kept as history) that the catalog the file is loaded for
  still has: the current server's tools, or also the 2025 server's for a user who opted
  into them (``[catalog] tools = "2025"``) or a connected server that lists them. Whoever
  loads a file to check or run it against a catalog passes that catalog down
  (``load_text(..., catalog=)``, ``Engine.load``); :func:`upgrade_key` says which tools
  an upgrade depended on, for what keeps an upgraded document (the manifest cache).
- Error kinds are kebab-case (``tool-failed``); 1.0 spelt them with underscores
  (``tool_failed``). ``retry.on``, a test's ``expect.error.kind`` and the quoted kinds
  in expressions and templates that read a kind (``error.kind == 'not_found'``) are
  respelt.
- Dependency ranges are PEP 440 specifiers only; 1.0 also read npm ranges. A 1.0
  ``plugin.yaml``'s npm range is respelt as the PEP 440 range that means the same
  (:func:`engine.load.ranges.upgrade_range`: ``^1.2`` → ``>=1.2,<2``).

>>> from engine.load.loader import load_text
>>> doc = load_text('api_version: "1.0"\\nkind: action\\nname: a\\npermissions: [write]\\n'
...                 'steps:\\n  - tool: km_notifications\\n    with: {message: hi}\\n'
...                 '    retry: {on: [tool_failed]}\\n')
>>> doc.data["api_version"], doc.data["steps"][0]["retry"]["on"], len(doc.data["permissions"])
('1.1', ['tool-failed'], 11)
>>> print(doc.notes[0].message[:84])
this file is written for api_version 1.0 and was read as 1.1: `write` in permissions
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from types import MappingProxyType
from typing import Any

from engine import __version__
from engine.diagnostics.errors import Path, Severity
from engine.load.sourcemap import Document, SourceMap
from engine.resources import data_text
from engine.tools.catalog import ToolCatalog

__all__ = [
    "CURRENT",
    "SUPPORTED",
    "Expansion",
    "Respelling",
    "changes",
    "groups_1_0",
    "upgrade_key",
    "upgraded",
    "upgraded_permissions",
    "version_problem",
]

#: The version this km-actions writes.
CURRENT = "1.1"
#: Every version it reads, oldest first: older ones it knows are upgraded when loaded.
SUPPORTED: tuple[str, ...] = ("1.0", "1.1")

#: The error kinds as 1.0 spelt them, and as they are spelt now.
RENAMED_KINDS_1_0: Mapping[str, str] = MappingProxyType(
    {
        old: old.replace("_", "-")
        for old in (
            "tool_failed",
            "invalid_arguments",
            "permission_denied",
            "limit_exceeded",
            "tool_unavailable",
            "template_error",
            "expression_error",
            "invalid_input",
            "not_found",
        )
    }
)

_QUOTED_KIND = re.compile(r"(?P<q>['\"])(?P<kind>" + "|".join(RENAMED_KINDS_1_0) + r")(?P=q)")


@dataclass(frozen=True, slots=True)
class Respelling:
    """A string value rewritten: ``value`` is what it becomes; in the text, each of
    ``fragments`` (old, new) is replaced where it appears in the value's source."""

    path: Path
    value: str
    fragments: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Expansion:
    """A class group of a permissions list replaced by the tools it covered in 1.0
    (``tools``: those not listed already; maybe none)."""

    path: Path
    group: str
    tools: tuple[str, ...]


Change = Respelling | Expansion


def version_problem(value: object, what: str = "this file") -> tuple[str, str] | None:
    """What is wrong with ``value`` as the api_version of ``what``, and how to fix it
    (None: it is one this km-actions reads).

    >>> version_problem("1.1") is None
    True
    >>> version_problem("0.9")[1]
    'write api_version: "1.1" and run `km-actions validate FILE`: it names every key to change'
    """
    if isinstance(value, str) and value in SUPPORTED:
        return None
    known = ", ".join(SUPPORTED)
    shown = json.dumps(value) if not isinstance(value, str) else value
    order = _order(value) if isinstance(value, str) else None
    if order is not None and order > _NEWEST:
        return (
            f"{what} is written for api_version {shown}, which needs a km-actions newer "
            f"than {__version__} (this one reads api_version {known})",
            "upgrade km-actions (`pip install .` in a newer checkout of it), or write the "
            f'file for api_version "{CURRENT}"',
        )
    if order is not None:
        return (
            f"{what} is written for api_version {shown}, which is older than the "
            f"manifest language km-actions knows ({SUPPORTED[0]} is the first; this "
            f"km-actions reads {known}), so it cannot be upgraded by itself",
            f'write api_version: "{CURRENT}" and run `km-actions validate FILE`: it names '
            "every key to change",
        )
    return (
        f"api_version {shown} is not a version of the manifest language (this km-actions "
        f"reads {known})",
        f'write api_version: "{CURRENT}" (in quotes)',
    )


def _order(text: str) -> tuple[int, ...] | None:
    """``1.10`` as (1, 10), to compare versions as numbers; None for what is not one."""
    if not re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6})*", text):
        return None
    return tuple(int(part) for part in text.split("."))


_NEWEST = tuple(int(part) for part in SUPPORTED[-1].split("."))


@cache
def groups_1_0() -> Mapping[str, tuple[str, ...]]:
    """The tools each class group covered in api_version 1.0 (history, as data)."""
    data = json.loads(data_text("api_1_0_groups.json"))
    return MappingProxyType({name: tuple(tools) for name, tools in data["groups"].items()})


def upgrade_key(known: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The tools of 1.0's groups that ``known`` (default: the shipped catalog) has: all
    an upgrade of a 1.0 file depends on, so two catalogs with the same key upgrade a file
    the same way.

    >>> from engine.tools.older_tools import CatalogTools
    >>> len(upgrade_key()), len(upgrade_key(ToolCatalog.builtin(CatalogTools.WITH_2025)))
    (29, 47)
    """
    if known is None:
        known = ToolCatalog.builtin()
    return tuple(sorted({t for tools in groups_1_0().values() for t in tools if t in known}))


def upgraded_permissions(entries: Sequence[str], known: Mapping[str, Any]) -> list[str]:
    """A 1.0 permissions list as 1.1 reads it: each class group replaced by the tools it
    covered in 1.0 that ``known`` (a catalog) still has, none listed twice.

    >>> upgraded_permissions(["km_list_macros", "read-only"], {"km_list_macros": 1,
    ...                      "km_token_stats": 1})
    ['km_list_macros', 'km_token_stats']
    """
    out: list[str] = []
    for entry in entries:
        out.extend(_expanded(entry, entries, out, known))
    return out


def _expanded(
    entry: str, entries: Sequence[str], so_far: Sequence[str], known: Mapping[str, Any]
) -> tuple[str, ...]:
    covered = groups_1_0().get(entry)
    if covered is None:
        return () if entry in so_far else (entry,)
    return tuple(t for t in covered if t in known and t not in entries and t not in so_far)


def changes(data: Any, known: Mapping[str, Any] | None = None) -> list[Change]:
    """What upgrading ``data`` (a 1.0 manifest) to :data:`CURRENT` changes; empty for a
    manifest of any other version. ``known``: the tools that still exist (default: the
    catalog shipped with km-actions)."""
    if not isinstance(data, Mapping) or data.get("api_version") != SUPPORTED[0]:
        return []
    if known is None:
        known = ToolCatalog.builtin()
    found: list[Change] = [Respelling(("api_version",), CURRENT, ((SUPPORTED[0], CURRENT),))]
    entries = data.get("permissions")
    if isinstance(entries, list) and all(isinstance(e, str) for e in entries):
        so_far: list[str] = []
        for index, entry in enumerate(entries):
            tools = _expanded(entry, entries, so_far, known)
            so_far.extend(tools)
            if entry in groups_1_0():
                found.append(Expansion(("permissions", index), entry, tools))
    found.extend(_kinds(data, ()))
    found.extend(_ranges(data))
    return found


def _ranges(data: Mapping[str, Any]) -> Iterator[Respelling]:
    """The npm ranges of plugin.yaml's ``dependencies`` (1.0 read them), in PEP 440."""
    deps = data.get("dependencies")
    if not isinstance(deps, Mapping):
        return
    # Imported here: loading an action file does not load engine.plugins at all.
    from engine.load.ranges import RangeError, upgrade_range

    for dep, text in deps.items():
        if not isinstance(text, str):
            continue
        try:
            new = upgrade_range(text)
        except RangeError:
            continue  # neither syntax: validation reports it, with the 1.1 hint
        if new != text.strip():
            yield Respelling(("dependencies", dep), new, ((text.strip(), new),))


def _kinds(value: Any, path: Path) -> Iterator[Respelling]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _kinds(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _kinds(item, (*path, index))
    elif isinstance(value, str):
        if _is_kind_position(path) and value in RENAMED_KINDS_1_0:
            new = RENAMED_KINDS_1_0[value]
            yield Respelling(path, new, ((value, new),))
        elif "kind" in value and _QUOTED_KIND.search(value):
            olds = sorted({m.group("kind") for m in _QUOTED_KIND.finditer(value)})
            new_value = _QUOTED_KIND.sub(
                lambda m: m.group("q") + RENAMED_KINDS_1_0[m.group("kind")] + m.group("q"),
                value,
            )
            yield Respelling(path, new_value, tuple((o, RENAMED_KINDS_1_0[o]) for o in olds))


def _is_kind_position(path: Path) -> bool:
    """``retry.on`` (a list or one kind) and a test's ``expect.error.kind``."""
    tail = tuple(path[-3:])
    return (
        tail[-2:] == ("retry", "on")
        or (len(tail) == 3 and tail[:2] == ("retry", "on") and isinstance(tail[2], int))
        or tail == ("expect", "error", "kind")
    )


def upgraded(document: Document, known: Mapping[str, Any] | None = None) -> Document:
    """``document`` as :data:`CURRENT` reads it, with a note saying what changed (the
    document itself when it is not of an older version). Locations stay those of the
    file as written."""
    found = changes(document.data, known)
    if not found:
        return document
    data = _apply(document.data, found)
    note = document.diagnostic(
        "api-version-upgraded",
        _summary(found),
        ("api_version",),
        hint=f"run `km-actions migrate {document.file or 'FILE'}` to write the upgrade into "
        "the file (comments and layout are kept)",
        severity=Severity.NOTE,
    )
    return replace(
        document,
        data=data,
        source_map=_shifted(document.source_map, found, len(document.data["permissions"]))
        if any(isinstance(c, Expansion) for c in found)
        else document.source_map,
        notes=(*document.notes, note),
    )


def _apply(data: Mapping[str, Any], found: Sequence[Change]) -> dict[str, Any]:
    out: dict[str, Any] = _copy(data)
    expansions: dict[int, tuple[str, ...]] = {}
    for change in found:
        if isinstance(change, Expansion):
            expansions[int(change.path[1])] = change.tools
        else:
            _set(out, change.path, change.value)
    if expansions:
        out["permissions"] = [
            name
            for index, entry in enumerate(out["permissions"])
            for name in expansions.get(index, (entry,))
        ]
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _set(data: Any, path: Path, value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _shifted(source_map: SourceMap, found: Sequence[Change], count: int) -> SourceMap:
    """The source map with the ``count`` permissions entries renumbered as the expanded
    groups make them (each tool of a group located at the group)."""
    sizes = {int(c.path[1]): len(c.tools) for c in found if isinstance(c, Expansion)}
    new_index: dict[int, list[int]] = {}
    position = 0
    for index in range(count):
        size = sizes.get(index, 1)
        new_index[index] = list(range(position, position + size))
        position += size

    def moved(table: Mapping[Path, Any]) -> dict[Path, Any]:
        out: dict[Path, Any] = {}
        for path, raw in table.items():
            if len(path) > 1 and path[0] == "permissions" and isinstance(path[1], int):
                for target in new_index.get(path[1], [path[1]]):
                    out[("permissions", target, *path[2:])] = raw
            else:
                out[path] = raw
        return out

    return replace(source_map, values=moved(source_map.values), keys=moved(source_map.keys))


_NOT_KINDS = frozenset({"api_version", "dependencies"})


def _summary(found: Sequence[Change]) -> str:
    parts: list[str] = []
    for change in found:
        if isinstance(change, Expansion):
            listed = ", ".join(change.tools) if change.tools else "nothing more"
            parts.append(
                f"`{change.group}` in permissions (in 1.0: every tool of that class; now: "
                f"the {change.group} operations) became the tools it covered in 1.0: {listed}"
            )
    kinds = sorted(
        {
            f"{old} → {new}"
            for change in found
            if isinstance(change, Respelling) and change.path[0] not in _NOT_KINDS
            for old, new in change.fragments
        }
    )
    if kinds:
        parts.append("error kinds are spelt as codes are: " + ", ".join(kinds))
    ranges = [
        f"{change.path[1]}: {old} → {new}"
        for change in found
        if isinstance(change, Respelling) and change.path[0] == "dependencies"
        for old, new in change.fragments
    ]
    if ranges:
        parts.append("dependency ranges are PEP 440 specifiers: " + ", ".join(ranges))
    said = "; ".join(parts) if parts else "nothing else changes its meaning"
    return f"this file is written for api_version {SUPPORTED[0]} and was read as {CURRENT}: {said}"
