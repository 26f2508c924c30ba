"""The registry of modelled tools: tool name → handler. Every other tool gets the generic answer."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from engine.simulator._calculator import handle_calculator
from engine.simulator._clipboard import handle_clipboard
from engine.simulator._context import Handler
from engine.simulator._dictionaries import handle_dictionaries
from engine.simulator._engine import handle_engine_control
from engine.simulator._groups import (
    handle_group_manager,
    handle_list_macro_groups,
)
from engine.simulator._macros import (
    handle_execute_macro,
    handle_list_macros,
    handle_macro_editor,
)
from engine.simulator._notifications import (
    handle_dismiss,
    handle_notification_status,
    handle_notify,
)
from engine.simulator._search import (
    handle_analyze_macro,
    handle_search_macros,
)
from engine.simulator._tokens import handle_token_processor, handle_token_stats

HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "km_clipboard_manager": handle_clipboard,
        "km_dictionary_manager": handle_dictionaries,
        "km_list_macros": handle_list_macros,
        "km_execute_macro": handle_execute_macro,
        "km_macro_editor": handle_macro_editor,
        "km_macro_group_manager": handle_group_manager,
        "km_list_macro_groups": handle_list_macro_groups,
        "km_search_macros_advanced": handle_search_macros,
        "km_analyze_macro_metadata": handle_analyze_macro,
        "km_notifications": handle_notify,
        "km_notification_status": handle_notification_status,
        "km_dismiss_notifications": handle_dismiss,
        "km_calculator": handle_calculator,
        "km_token_processor": handle_token_processor,
        "km_token_stats": handle_token_stats,
        "km_engine_control": handle_engine_control,
    }
)
