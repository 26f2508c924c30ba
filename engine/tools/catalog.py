"""The catalog of ``km_*`` tools: names, input schemas, classes and permission groups.

Longer than 400 lines: the tools and the permission vocabulary over them (entries,
groups, operations, coverage, their problems) are one lookup.

The shipped catalog (``engine/data/km_tools.json``, a copy of the current Keyboard Maestro
MCP server's tool list) is used for validation, the simulator and dry runs when no upstream
server is connected; a connected server's own ``tools/list`` replaces it
(:meth:`ToolCatalog.from_tool_list`). The tools only the 2025 server had
(``km_tools_2025.json``, :mod:`engine.tools.older_tools`) join it only when the user opts in.

A class (read-only, write, destructive) belongs to what a call does: the tool's, or, for
a tool with several operations (``km_variable_manager`` get/list/set/delete), the
operation's. Permission entries name tools, operations (``tool:operation``) or groups;
what a set of them allows is a :class:`Coverage`, and what one call needs a :class:`Need`.

>>> catalog = ToolCatalog.builtin()
>>> spec = catalog["km_variable_manager"]
>>> [c.value for c in (spec.class_of("get"), spec.class_of("set"), spec.tool_class)]
['read-only', 'write', 'destructive']
>>> sorted(catalog.coverage(["notifications"]).tools)
['km_dismiss_notifications', 'km_notification_status', 'km_notifications']
>>> catalog.coverage(["read-only"]).covers(Need("km_variable_manager", "delete"))
False
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from engine.diagnostics.suggestions import closest, did_you_mean, you_mean
from engine.lang.limits import ToolClass
from engine.resources import data_text
from engine.tools.needs import Coverage, Need, Operations
from engine.tools.older_tools import (
    OLDER_GROUPS,
    OLDER_TOOLS,
    OPT_IN,
    CatalogTools,
    older_tool_hint,
)

__all__ = [
    "ALL_GROUP",
    "DOMAIN_GROUPS",
    "OLDER_TOOLS_DATA",
    "CatalogTools",
    "Coverage",
    "Need",
    "Operations",
    "ToolCatalog",
    "ToolClass",
    "ToolSpec",
    "load_catalog_json",
]


# Permission groups by domain. A plugin may ask for a group instead of listing tools.
# Class groups ("read-only", "write", "destructive") and "all" are added by the catalog;
# so are the groups of the 2025 server's tools (``OLDER_GROUPS``), where it has them.
DOMAIN_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "variables": ("km_variable_manager",),
        "tokens": ("km_token_processor", "km_token_stats"),
        "notifications": ("km_notifications", "km_notification_status", "km_dismiss_notifications"),
        "windows": ("km_window_manager",),
        "applications": ("km_application_control",),
        "engine": ("km_engine_control",),
        "macros": (
            "km_list_macros",
            "km_execute_macro",
            "km_create_macro",
            "km_macro_editor",
            "km_macro_group_manager",
            "km_move_macro_to_group",
            "km_list_templates",
        ),
        "macro-building": (
            "km_action_builder",
            "km_list_action_types",
            "km_search_actions",
            "km_add_condition",
            "km_control_flow",
            "km_refresh_action_templates",
            "km_create_plugin_action",
        ),
        "triggers": (
            "km_create_hotkey_trigger",
            "km_list_hotkey_triggers",
            "km_set_macro_triggers",
            "km_add_system_trigger",
            "km_trigger_crud",
            "km_trigger_manager",
        ),
    }
)

ALL_GROUP = "all"
#: The data file of the 2025 server's tools (beside ``km_tools.json``).
OLDER_TOOLS_DATA = "km_tools_2025.json"


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One ``km_*`` tool as the catalog knows it; ``operations`` for a tool that does
    several things, told apart by one argument."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    annotations: Mapping[str, Any] = field(default_factory=dict)
    source: str = "builtin"
    operations: Operations | None = None

    @property
    def tool_class(self) -> ToolClass:
        """The class of the tool's most dangerous operation (of the tool, without any)."""
        if self.operations is not None:
            return ToolClass.most(self.operations.classes.values())
        return ToolClass.from_annotations(self.annotations)

    def class_of(self, operation: str | None) -> ToolClass:
        """The class of ``operation`` (None, or one the catalog does not know: the most
        dangerous one's)."""
        if self.operations is not None and operation is not None:
            found = self.operations.classes.get(operation)
            if found is not None:
                return found
        return self.tool_class

    def need(self, arguments: Mapping[str, Any]) -> Need:
        """What a call with ``arguments`` needs: the operation it names (an argument left
        out is the schema's default), or the whole tool when that is not a known one.

        >>> spec = ToolCatalog.builtin()["km_variable_manager"]
        >>> str(spec.need({"operation": "get"})), str(spec.need({"operation": "{{ inputs.op }}"}))
        ('km_variable_manager:get', 'km_variable_manager')
        """
        operations = self.operations
        if operations is None:
            return Need(self.name)
        value = arguments.get(operations.parameter, _MISSING)
        if value is _MISSING:
            schema = self.properties.get(operations.parameter)
            value = schema.get("default") if isinstance(schema, Mapping) else None
        if isinstance(value, str) and value in operations.classes:
            return Need(self.name, value)
        return Need(self.name)

    @property
    def properties(self) -> Mapping[str, Any]:
        props = self.input_schema.get("properties", {})
        return props if isinstance(props, Mapping) else {}

    @property
    def required(self) -> tuple[str, ...]:
        req = self.input_schema.get("required", ())
        return tuple(r for r in req if isinstance(r, str)) if isinstance(req, list) else ()

    @property
    def summary(self) -> str:
        """The first line of the description."""
        return self.description.strip().splitlines()[0] if self.description.strip() else ""


_MISSING: Any = object()


class ToolCatalog(Mapping[str, ToolSpec]):
    """An immutable set of tools with their permission groups.

    ``origin`` labels where the tools come from; ``where`` says it to users in
    "there is no tool named `x` in …" (the catalog, the connected server, or the server
    whose list was saved), and ``listing_hint`` says how to list the tools.
    """

    def __init__(
        self,
        tools: Iterable[ToolSpec],
        *,
        origin: str = "builtin",
        where: str | None = None,
        listing_hint: str = "run `km-actions schema --tools` to list the tools",
    ) -> None:
        self._tools: dict[str, ToolSpec] = {t.name: t for t in tools}
        self.origin = origin
        self.where = where or ("the catalog" if origin == "builtin" else "the connected server")
        self.listing_hint = listing_hint
        self._coverages: dict[tuple[str, ...], Coverage] = {}
        self._fingerprint: str | None = None
        groups: dict[str, Coverage] = {
            name: Coverage(frozenset(t for t in members if t in self._tools))
            for name, members in DOMAIN_GROUPS.items()
        }
        for name, members in OLDER_GROUPS.items():
            offered = frozenset(t for t in members if t in self._tools)
            if offered:
                groups[name] = Coverage(groups[name].tools | offered if name in groups else offered)
        for tool_class in ToolClass:
            groups[tool_class.value] = self._of_class(tool_class)
        groups[ALL_GROUP] = Coverage(frozenset(self._tools))
        self.groups: Mapping[str, Coverage] = MappingProxyType(groups)

    @classmethod
    def builtin(cls, tools: CatalogTools = CatalogTools.CURRENT) -> ToolCatalog:
        """The catalog shipped with km-actions: the current server's tools, and with
        ``CatalogTools.WITH_2025`` the 2025 server's too (cached: it is immutable).

        >>> len(ToolCatalog.builtin()), len(ToolCatalog.builtin(CatalogTools.WITH_2025))
        (29, 47)
        """
        return _builtin_catalog(tools)

    @classmethod
    def from_tool_list(
        cls, tools: Iterable[Mapping[str, Any]], *, origin: str, **described: str
    ) -> ToolCatalog:
        """Build a catalog from MCP ``tools/list`` entries (camelCase wire form).

        Annotations a server does not publish, and the classes of a tool's operations
        (no server publishes them), are taken from the shipped catalog, so the
        read-only/write/destructive classification stays meaningful.
        """
        shipped = _builtin_catalog(CatalogTools.WITH_2025)
        specs = []
        for entry in tools:
            name = str(entry["name"])
            known = shipped.get(name)
            annotations = entry.get("annotations") or {}
            if not annotations and known is not None:
                annotations = known.annotations
            schema = entry.get("inputSchema") or {"type": "object"}
            specs.append(
                ToolSpec(
                    name=name,
                    description=str(entry.get("description") or ""),
                    input_schema=schema,
                    annotations=annotations,
                    source=origin,
                    operations=_operations(entry, schema, known),
                )
            )
        return cls(specs, origin=origin, **described)

    @property
    def fingerprint(self) -> str:
        """A digest of what validation reads of the tools (names, input schemas,
        annotations, operation classes): two catalogs with the same fingerprint accept
        the same manifests, whoever built them.

        >>> ToolCatalog.builtin().fingerprint == ToolCatalog(
        ...     ToolCatalog.builtin().values(), origin="a copy").fingerprint
        True
        """
        if self._fingerprint is None:
            tools = [
                [t.name, t.input_schema, t.annotations, t.operations and t.operations.to_data()]
                for t in sorted(self._tools.values(), key=lambda t: t.name)
            ]
            text = json.dumps(tools, sort_keys=True, ensure_ascii=False, default=str)
            self._fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self._fingerprint

    def __getitem__(self, name: str) -> ToolSpec:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def missing_tool(self, name: str) -> tuple[str, str]:
        """What users are told of a tool this catalog does not have: the message, and the
        hint (what replaces one of the 2025 server's tools, else a did-you-mean).

        >>> message, hint = ToolCatalog.builtin().missing_tool("km_list_macro_groups")
        >>> message
        'the current Keyboard Maestro MCP server has no tool `km_list_macro_groups`'
        >>> hint.split(";")[0]
        'use km_macro_group_manager, operation: list'
        >>> ToolCatalog.builtin().missing_tool("km_variable_manger")[1]
        "did you mean 'km_variable_manager'?"
        """
        shipped = self.origin == "builtin"
        older = older_tool_hint(name, opt_in=shipped)
        if older is not None and shipped:
            return f"the current Keyboard Maestro MCP server has no tool `{name}`", older
        return (
            f"there is no tool named `{name}` in {self.where}",
            older or did_you_mean(name, self, listing=False) or self.listing_hint,
        )

    def coverage(self, entries: Iterable[str]) -> Coverage:
        """What permission entries (tools, ``tool:operation``, groups) allow.

        >>> catalog = ToolCatalog.builtin()
        >>> granted = catalog.coverage(["km_variable_manager:get", "km_list_macros"])
        >>> granted.tools, granted.operations
        (frozenset({'km_list_macros'}), frozenset({('km_variable_manager', 'get')}))
        >>> whole = [f"km_variable_manager:{op}" for op in ("get", "list", "set", "delete")]
        >>> catalog.coverage(whole).tools
        frozenset({'km_variable_manager'})
        """
        key = tuple(entries)
        found = self._coverages.get(key)
        if found is not None:
            return found
        tools: set[str] = set()
        operations: set[tuple[str, str]] = set()
        for entry in key:
            group = self.groups.get(entry)
            if group is not None:
                tools |= group.tools
                operations |= group.operations
                continue
            tool, colon, operation = entry.partition(":")
            if colon:
                operations.add((tool, operation))
            else:
                tools.add(entry)
        found = self._normal(tools, operations)
        if len(self._coverages) > 4096:
            self._coverages.clear()
        self._coverages[key] = found
        return found

    def named(self, entries: Iterable[str]) -> Coverage:
        """What the entries that name a tool or an operation allow (groups left out):
        destructive operations must be granted so, by name."""
        return self.coverage(e for e in entries if e not in self.groups)

    def is_permission(self, entry: str) -> bool:
        """True if ``entry`` names a tool, an operation of one, or a group this catalog
        knows."""
        return self.permission_problem(entry) is None

    def permission_problem(self, entry: str) -> tuple[str, str] | None:
        """What is wrong with a permission entry, and how to fix it (None: nothing).

        >>> catalog = ToolCatalog.builtin()
        >>> catalog.permission_problem("km_variable_manager:delet")[1]
        "did you mean 'km_variable_manager:delete'?"
        >>> catalog.permission_problem("km_variable_manager:remove")[1]
        'the operations of km_variable_manager are: get, set, delete, list'
        >>> catalog.permission_problem("km_list_macros:get")[1]
        'grant `km_list_macros` itself'
        >>> catalog.permission_problem("km_calculator")[0]
        'the current Keyboard Maestro MCP server has no tool `km_calculator`'

        """
        if entry in self._tools or entry in self.groups:
            return None
        tool, colon, operation = entry.partition(":")
        spec = self._tools.get(tool)
        if spec is None and tool in OLDER_TOOLS:
            return self.missing_tool(tool)
        if entry in OLDER_GROUPS:
            return (
                f"`{entry}` is a group of tools only the 2025 Keyboard Maestro MCP server had",
                OPT_IN.replace("which has it", "which has them"),
            )
        if not colon or (spec is None and tool in self.groups):
            return (
                f"`{entry}` is not a tool or a tool group",
                did_you_mean(entry, self.permission_names(), listing=False)
                or "list tool names (km_…), operations (tool:operation) or groups such as "
                "clipboard, read-only",
            )
        if spec is None:
            guess = closest(tool, self._tools)
            return (
                f"`{entry}` names an operation of `{tool}`, which is not a tool",
                you_mean(f"{guess}:{operation}")
                if guess
                else "run `km-actions schema --tools` to list the tools",
            )
        if spec.operations is None:
            return (
                f"`{entry}` names an operation, but {tool} has no operations to choose from",
                f"grant `{tool}` itself",
            )
        known = list(spec.operations.classes)
        if operation in known:
            return None
        guess = closest(operation, known)
        return (
            f"`{entry}` is not an operation of {tool}",
            you_mean(f"{tool}:{guess}")
            if guess
            else f"the operations of {tool} are: {', '.join(known)}",
        )

    def permission_names(self) -> list[str]:
        """Every group, tool and ``tool:operation``, for did-you-mean suggestions."""
        operations = [
            f"{spec.name}:{op}"
            for spec in self._tools.values()
            if spec.operations is not None
            for op in spec.operations.classes
        ]
        return [*self.groups, *self._tools, *operations]

    def _of_class(self, tool_class: ToolClass) -> Coverage:
        tools = {
            t.name
            for t in self._tools.values()
            if t.operations is None and t.tool_class is tool_class
        }
        operations = {
            (t.name, op)
            for t in self._tools.values()
            if t.operations is not None
            for op, op_class in t.operations.classes.items()
            if op_class is tool_class
        }
        return self._normal(tools, operations)

    def _normal(self, tools: set[str], operations: set[tuple[str, str]]) -> Coverage:
        """One form for equal coverages: a tool with every operation covered is whole."""
        partial: dict[str, set[str]] = {}
        for tool, operation in operations:
            if tool not in tools:
                partial.setdefault(tool, set()).add(operation)
        for tool, ops in partial.items():
            spec = self._tools.get(tool)
            if (
                spec is not None
                and spec.operations is not None
                and ops >= set(spec.operations.classes)
            ):
                tools.add(tool)
        return Coverage(
            frozenset(tools),
            frozenset(
                (tool, op) for tool, ops in partial.items() if tool not in tools for op in ops
            ),
        )


def _operations(
    entry: Mapping[str, Any], schema: Mapping[str, Any], known: ToolSpec | None
) -> Operations | None:
    """A listed tool's operations: its own ``x-km-operations``, else the shipped
    classification when the listed schema still has the argument that selects them."""
    own = entry.get("x-km-operations")
    if isinstance(own, Mapping):
        return Operations.from_data(own)
    if known is None or known.operations is None:
        return None
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and known.operations.parameter in properties:
        return known.operations
    return None


def load_catalog_json(text: str, *, origin: str) -> ToolCatalog:
    """Read a catalog in the format of ``km_tools.json``."""
    data = json.loads(text)
    return ToolCatalog(
        (
            ToolSpec(
                name=t["name"],
                description=t.get("description", ""),
                input_schema=t.get("inputSchema", {"type": "object"}),
                annotations=t.get("annotations") or {},
                source=origin,
                operations=Operations.from_data(t["x-km-operations"])
                if "x-km-operations" in t
                else None,
            )
            for t in data["tools"]
        ),
        origin=origin,
    )


@cache
def _builtin_catalog(tools: CatalogTools) -> ToolCatalog:
    current = load_catalog_json(data_text("km_tools.json"), origin="builtin")
    if tools is CatalogTools.CURRENT:
        return current
    older = load_catalog_json(data_text(OLDER_TOOLS_DATA), origin="builtin")
    return ToolCatalog([*current.values(), *older.values()], origin="builtin")
