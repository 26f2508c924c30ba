"""The older handlers (tool name → handler) of the tools not yet rebuilt on the model of
Keyboard Maestro (``engine/simulator/tools``); every other tool gets the generic answer."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from engine.simulator._calculator import handle_calculator
from engine.simulator._clipboard import handle_clipboard
from engine.simulator._context import Handler
from engine.simulator._dictionaries import handle_dictionaries
from engine.simulator._groups import handle_list_macro_groups, handle_move_macro
from engine.simulator._hotkeys import (
    handle_create_hotkey,
    handle_list_hotkeys,
    handle_trigger_manager,
)
from engine.simulator._macros import handle_create_macro
from engine.simulator._search import (
    handle_analyze_macro,
    handle_list_templates,
    handle_search_macros,
)
from engine.simulator._triggers import (
    handle_add_system_trigger,
    handle_set_macro_triggers,
    handle_trigger_crud,
)

HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "km_clipboard_manager": handle_clipboard,
        "km_dictionary_manager": handle_dictionaries,
        "km_create_macro": handle_create_macro,
        "km_list_macro_groups": handle_list_macro_groups,
        "km_move_macro_to_group": handle_move_macro,
        "km_search_macros_advanced": handle_search_macros,
        "km_analyze_macro_metadata": handle_analyze_macro,
        "km_list_templates": handle_list_templates,
        "km_trigger_crud": handle_trigger_crud,
        "km_trigger_manager": handle_trigger_manager,
        "km_set_macro_triggers": handle_set_macro_triggers,
        "km_add_system_trigger": handle_add_system_trigger,
        "km_create_hotkey_trigger": handle_create_hotkey,
        "km_list_hotkey_triggers": handle_list_hotkeys,
        "km_calculator": handle_calculator,
    }
)
