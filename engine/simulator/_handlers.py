"""The older handlers (tool name → handler) of the seed-era tools, which the current server
no longer has; every tool of the current server is rebuilt (``engine/simulator/tools``),
and any other tool gets the generic answer."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from engine.simulator._calculator import handle_calculator
from engine.simulator._clipboard import handle_clipboard
from engine.simulator._context import Handler
from engine.simulator._dictionaries import handle_dictionaries
from engine.simulator._groups import handle_list_macro_groups
from engine.simulator._search import handle_analyze_macro, handle_search_macros

HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "km_clipboard_manager": handle_clipboard,
        "km_dictionary_manager": handle_dictionaries,
        "km_list_macro_groups": handle_list_macro_groups,
        "km_search_macros_advanced": handle_search_macros,
        "km_analyze_macro_metadata": handle_analyze_macro,
        "km_calculator": handle_calculator,
    }
)
