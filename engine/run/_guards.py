"""Grants and guarded bridges, reused across runs (building them is not free)."""

from __future__ import annotations

import weakref
from typing import Any

from engine.lang.limits import Limits
from engine.run.model import Pipeline
from engine.tools.bridge import ToolBridge
from engine.tools.bridge.guard import GuardedBridge
from engine.tools.catalog import ToolCatalog
from engine.tools.grants import Grant

_GRANTS: dict[tuple[Any, ...], tuple[ToolCatalog, Grant]] = {}


def default_grant(pipeline: Pipeline, catalog: ToolCatalog) -> Grant:
    """The grant of an action run directly from its file: what it declares, else what it
    uses (the person running a file grants it; installed plugins have recorded grants)."""
    key = (pipeline.permissions, pipeline.tools, id(catalog))
    cached = _GRANTS.get(key)
    if cached is not None and cached[0] is catalog:
        return cached[1]
    if pipeline.permissions is not None:
        grant = Grant.from_permissions(pipeline.permissions, catalog)
    else:
        grant = Grant.of_tools(pipeline.tools)
    if len(_GRANTS) > 4096:
        _GRANTS.clear()
    _GRANTS[key] = (catalog, grant)
    return grant


class Guards:
    """The guarded bridges of one (bridge, limits, catalog), one per grant. A guard's
    checks depend on nothing else, so runs share them instead of rebuilding them."""

    __slots__ = ("_bridge", "_by_grant", "_catalog", "_limits")

    def __init__(self, bridge: ToolBridge, limits: Limits, catalog: ToolCatalog) -> None:
        self._bridge = bridge
        self._limits = limits
        self._catalog = catalog
        self._by_grant: dict[Grant, GuardedBridge] = {}

    def __call__(self, pipeline: Pipeline, grant: Grant) -> GuardedBridge:
        guard = self._by_grant.get(grant)
        if guard is None:
            if len(self._by_grant) > 1024:
                self._by_grant.clear()
            guard = GuardedBridge(self._bridge, grant, self._limits, self._catalog)
            self._by_grant[grant] = guard
        return guard

    def with_limits(self, limits: Limits) -> Guards:
        """The guards of the same bridge and catalog under other limits."""
        return Guards.of(self._bridge, limits, self._catalog)

    @classmethod
    def of(cls, bridge: ToolBridge, limits: Limits, catalog: ToolCatalog) -> Guards:
        """The shared guards for these three. Looked up by the bridge's id (a weak
        reference confirms it is the same bridge): cheaper than a WeakKeyDictionary on
        the path every run takes."""
        entry = _GUARDS.get(id(bridge))
        if entry is None or entry[0]() is not bridge:
            try:
                ref = weakref.ref(bridge)
            except TypeError:  # cannot be weakly referenced: no reuse
                return cls(bridge, limits, catalog)
            if len(_GUARDS) > 64:
                _GUARDS.clear()
            entry = _GUARDS[id(bridge)] = (ref, {})
        per_limits = entry[1]
        found = per_limits.get(id(limits))
        if found is None or found._limits is not limits or found._catalog is not catalog:
            if len(per_limits) > 16:
                per_limits.clear()
            found = per_limits[id(limits)] = cls(bridge, limits, catalog)
        return found


_GUARDS: dict[int, tuple[weakref.ref[Any], dict[int, Guards]]] = {}
