"""Dry runs: everything rendered and checked, nothing sent to Keyboard Maestro.

Read-only calls (of a read-only tool, or a read-only operation such as
``km_variable_manager`` get) run on a scratch simulator; every other call is recorded,
not made, and answered with what the simulator would answer, so later steps still see a
result.
"""

from __future__ import annotations

import copy
from typing import Any

from engine.simulator import Simulator
from engine.tools.catalog import ToolCatalog, ToolClass


class DryRunBridge:
    """A bridge for ``--dry-run``: a scratch simulator plus a record of the calls."""

    def __init__(
        self, catalog: ToolCatalog | None = None, simulator: Simulator | None = None
    ) -> None:
        self._simulator = simulator or Simulator(catalog)
        self._catalog = catalog or self._simulator.catalog()
        self.recorded: list[dict[str, Any]] = []

    @property
    def label(self) -> str:
        return "dry run (simulator; nothing sent to Keyboard Maestro)"

    @property
    def simulated(self) -> bool:
        return True

    def catalog(self) -> ToolCatalog:
        return self._catalog

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        spec = self._catalog.get(name)
        read_only = (
            spec is not None
            and spec.class_of(spec.need(arguments).operation) is ToolClass.READ_ONLY
        )
        self.recorded.append(
            {
                "tool": name,
                "with": copy.deepcopy(arguments),
                "called": read_only,
                "note": "ran on the simulator (read-only)"
                if read_only
                else "recorded, not called; answered by the simulator",
            }
        )
        return await self._simulator.call_tool(name, arguments)
