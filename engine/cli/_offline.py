"""The tools a command's offline checks use (kept apart from the backends so that
``km-actions validate`` loads neither the simulator nor the MCP bridges)."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.diagnostics.errors import ConfigError
from engine.tools.catalog import ToolCatalog
from engine.tools.config import Settings, load_settings
from engine.tools.saved_tools import offline_catalog


def offline_tools(
    config: str | Path | None = None, settings: Settings | None = None
) -> ToolCatalog:
    """The tools a command's offline checks use: the saved tool list of the server last
    connected to, else the catalog km-actions ships with the tools the configuration
    chooses (``[catalog] tools``). A saved list, or a configuration file, that cannot be
    read is a ``warning:`` line, and the current server's tools are used."""
    if settings is None:
        try:
            settings = load_settings(config)
        except ConfigError as problem:
            print(
                f"warning: {problem.message}; checking against the current server's tools",
                file=sys.stderr,
            )
            settings = Settings()
    catalog, warning = offline_catalog(shipped=settings.shipped_catalog())
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return catalog
