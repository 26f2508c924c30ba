"""The catalog of ``km_*`` tools: names, input schemas, classes and permission groups.

The shipped catalog (``engine/data/km_tools.json``, a copy of the Keyboard Maestro MCP
server's tool list) is used for validation, the simulator and dry runs when no upstream
server is connected; a connected server's own ``tools/list`` replaces it
(:meth:`ToolCatalog.from_tool_list`).

>>> catalog = ToolCatalog.builtin()
>>> catalog["km_clipboard_manager"].tool_class
<ToolClass.DESTRUCTIVE: 'destructive'>
>>> sorted(catalog.expand_permission("notifications"))
['km_dismiss_notifications', 'km_notification_status', 'km_notifications']
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from engine._resources import data_text


class ToolClass(enum.Enum):
    """What a tool may do, from its MCP annotations. Security profiles allow classes."""

    READ_ONLY = "read-only"
    WRITE = "write"
    DESTRUCTIVE = "destructive"

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, Any] | None) -> ToolClass:
        annotations = annotations or {}
        if annotations.get("readOnlyHint"):
            return cls.READ_ONLY
        # MCP's default for destructiveHint is true when a tool is not read-only.
        if annotations.get("destructiveHint", True):
            return cls.DESTRUCTIVE
        return cls.WRITE


# Permission groups by domain. A plugin may ask for a group instead of listing tools.
# Class groups ("read-only", "write", "destructive") and "all" are added by the catalog.
DOMAIN_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "clipboard": ("km_clipboard_manager",),
        "variables": ("km_variable_manager",),
        "dictionaries": ("km_dictionary_manager",),
        "tokens": ("km_token_processor", "km_token_stats"),
        "calculator": ("km_calculator",),
        "notifications": ("km_notifications", "km_notification_status", "km_dismiss_notifications"),
        "windows": ("km_window_manager", "km_window_manager_advanced"),
        "applications": ("km_application_control", "km_app_control"),
        "files": ("km_file_operations",),
        "engine": ("km_engine_control",),
        "macros": (
            "km_list_macros",
            "km_execute_macro",
            "km_create_macro",
            "km_macro_editor",
            "km_macro_group_manager",
            "km_move_macro_to_group",
            "km_list_templates",
            "km_search_macros_advanced",
            "km_analyze_macro_metadata",
            "km_list_macro_groups",
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
            "km_create_trigger_advanced",
        ),
        "sync": (
            "km_start_realtime_sync",
            "km_stop_realtime_sync",
            "km_sync_status",
            "km_force_sync",
        ),
        "analytics": (
            "km_analytics_engine",
            "km_analyze_workflow_intelligence",
            "km_create_workflow_from_description",
            "km_audit_system",
        ),
    }
)

ALL_GROUP = "all"


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One ``km_*`` tool as the catalog knows it."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    annotations: Mapping[str, Any] = field(default_factory=dict)
    source: str = "builtin"

    @property
    def tool_class(self) -> ToolClass:
        return ToolClass.from_annotations(self.annotations)

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
        groups: dict[str, frozenset[str]] = {
            name: frozenset(t for t in members if t in self._tools)
            for name, members in DOMAIN_GROUPS.items()
        }
        for tool_class in ToolClass:
            groups[tool_class.value] = frozenset(
                t.name for t in self._tools.values() if t.tool_class is tool_class
            )
        groups[ALL_GROUP] = frozenset(self._tools)
        self.groups: Mapping[str, frozenset[str]] = MappingProxyType(groups)

    @classmethod
    def builtin(cls) -> ToolCatalog:
        """The catalog shipped with km-actions (cached: it is immutable)."""
        return _builtin_catalog()

    @classmethod
    def from_tool_list(
        cls, tools: Iterable[Mapping[str, Any]], *, origin: str, **described: str
    ) -> ToolCatalog:
        """Build a catalog from MCP ``tools/list`` entries (camelCase wire form).

        Annotations a server does not publish are taken from the shipped catalog, so
        the read-only/destructive classification stays meaningful.
        """
        shipped = _builtin_catalog()
        specs = []
        for entry in tools:
            name = str(entry["name"])
            annotations = entry.get("annotations") or {}
            if not annotations and name in shipped:
                annotations = shipped[name].annotations
            specs.append(
                ToolSpec(
                    name=name,
                    description=str(entry.get("description") or ""),
                    input_schema=entry.get("inputSchema") or {"type": "object"},
                    annotations=annotations,
                    source=origin,
                )
            )
        return cls(specs, origin=origin, **described)

    def __getitem__(self, name: str) -> ToolSpec:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def is_permission(self, entry: str) -> bool:
        """True if ``entry`` names a tool or a group this catalog knows."""
        return entry in self._tools or entry in self.groups

    def expand_permission(self, entry: str) -> frozenset[str]:
        """The tools a permission entry (tool name or group name) covers."""
        if entry in self.groups:
            return self.groups[entry]
        return frozenset((entry,))

    def expand_permissions(self, entries: Iterable[str]) -> frozenset[str]:
        out: set[str] = set()
        for entry in entries:
            out |= self.expand_permission(entry)
        return frozenset(out)

    def permission_names(self) -> list[str]:
        """Every tool and group name, for did-you-mean suggestions."""
        return [*self.groups, *self._tools]


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
            )
            for t in data["tools"]
        ),
        origin=origin,
    )


@cache
def _builtin_catalog() -> ToolCatalog:
    text = data_text("km_tools.json")
    return load_catalog_json(text, origin="builtin")
