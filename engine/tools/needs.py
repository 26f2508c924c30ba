"""What a call may do, what it needs granted, and what permission entries cover.

A class (:class:`~engine.lang.limits.ToolClass`: read-only, write, destructive) belongs to
what a call does: the tool's, or, for a tool with several operations
(``km_variable_manager`` get/list/set/delete), the operation's (:class:`Operations`, kept
in the catalog). What one call needs is a :class:`Need`; what a set of permission entries
allows, a :class:`Coverage` (:meth:`engine.tools.catalog.ToolCatalog.coverage` builds them).

>>> Coverage(frozenset({"km_list_macros"})).covers(Need("km_list_macros"))
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from engine.lang.limits import ToolClass

if TYPE_CHECKING:
    from engine.tools.catalog import ToolCatalog


@dataclass(frozen=True, slots=True)
class Operations:
    """How a multi-operation tool is told what to do: the argument that names the
    operation (``parameter``) and the class of each value (``x-km-operations`` in the
    catalog's data)."""

    parameter: str
    classes: Mapping[str, ToolClass]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Operations:
        classes = data["classes"]
        return cls(
            str(data["parameter"]),
            MappingProxyType({str(op): ToolClass(value) for op, value in classes.items()}),
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "classes": {op: c.value for op, c in self.classes.items()},
        }


@dataclass(frozen=True, slots=True, order=True)
class Need:
    """What one call needs granted: a tool and the operation it performs, or
    ``operation=None`` for every operation of the tool (a tool without operations, or a
    call whose operation is a template or not one the catalog knows).

    >>> str(Need("km_variable_manager", "get")), str(Need("km_list_macros"))
    ('km_variable_manager:get', 'km_list_macros')
    """

    tool: str
    operation: str | None = None

    def __str__(self) -> str:
        return self.tool if self.operation is None else f"{self.tool}:{self.operation}"


@dataclass(frozen=True, slots=True)
class Coverage:
    """What permission entries allow: every operation of ``tools``, and single
    ``operations`` (tool, operation) of other tools. Built by :meth:`ToolCatalog.coverage`,
    which turns a tool whose every operation is covered into a whole tool.

    >>> Coverage(frozenset({"km_list_macros"})).covers(Need("km_list_macros"))
    True
    >>> Coverage(operations=frozenset({("km_variable_manager", "get")})).covers(
    ...     Need("km_variable_manager"))
    False
    """

    tools: frozenset[str] = frozenset()
    operations: frozenset[tuple[str, str]] = frozenset()

    def covers(self, need: Need) -> bool:
        if need.tool in self.tools:
            return True
        return need.operation is not None and (need.tool, need.operation) in self.operations

    def touches(self, tool: str) -> bool:
        """True if some operation of ``tool`` is covered."""
        return tool in self.tools or any(t == tool for t, _ in self.operations)

    def needs(self, catalog: ToolCatalog) -> list[Need]:
        """What is covered, one need per operation (whole tools without operations, or
        unknown to ``catalog``, as one need each), sorted."""
        out = {Need(tool, op) for tool, op in self.operations}
        for tool in self.tools:
            spec = catalog.get(tool)
            if spec is None or spec.operations is None:
                out.add(Need(tool))
            else:
                out.update(Need(tool, op) for op in spec.operations.classes)
        return sorted(out)
