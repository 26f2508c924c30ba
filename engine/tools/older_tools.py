"""The 18 tools only the 2025 Keyboard Maestro MCP server had, and what to use instead.

The current server answers "Unknown tool" to them, so the shipped catalog leaves them
out (``engine/data/km_tools.json``); their schemas are kept apart
(``engine/data/km_tools_2025.json``) for users of an older server, who get them from that
server's own tool list or by opting in (``[catalog] tools = "2025"`` in config.toml).
Everywhere a call to one is refused (``validate``, the simulator, the upstream bridge),
the hint says what does the job on the current server, from :data:`INSTEAD`.

>>> print(instead_of("km_list_macro_groups"))
use km_macro_group_manager, operation: list
>>> instead_of("km_force_sync") is None, instead_of("km_variable_manager") is None
(True, True)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "INSTEAD",
    "OLDER_GROUPS",
    "OLDER_TOOLS",
    "OPT_IN",
    "CatalogTools",
    "instead_of",
    "older_tool_hint",
]


class CatalogTools(enum.Enum):
    """Which tools the shipped catalog offers (``[catalog] tools`` in config.toml)."""

    CURRENT = "current"  # the current server's 29 tools
    WITH_2025 = "2025"  # and the 18 more the 2025 server had


# What does each older tool's job on the current server (verified against its recorded
# answers, tests/data/km_server/scenarios/older_tools.json); None: nothing does.
INSTEAD: Mapping[str, str | None] = MappingProxyType(
    {
        "km_clipboard_manager": (
            "read the clipboard with km_engine_control, operation: process_tokens, expression: "
            '"%SystemClipboard%" (the text is its data.processed), or km_token_processor with '
            'text: "%SystemClipboard%"; a named clipboard is %NamedClipboard%Name%, an older '
            "one %PastClipboard%1%. No tool of the current server sets the clipboard"
        ),
        "km_dictionary_manager": (
            "read a value of a Keyboard Maestro dictionary with the token "
            "%Dictionary[Name,Key]% (km_engine_control, operation: process_tokens). No tool "
            "of the current server writes or lists dictionaries"
        ),
        "km_calculator": (
            'calculate with km_engine_control, operation: calculate, expression: "6*7" (its '
            'data.result is text: "42"), or with the token %Calculate%6*7%'
        ),
        "km_app_control": (
            "use km_application_control (operations launch, quit, activate, get_state and "
            "list_running; there is no menu_select)"
        ),
        "km_list_macro_groups": "use km_macro_group_manager, operation: list",
        "km_search_macros_advanced": (
            "list macros with km_list_macros (by group, sorted) and pick from its answer"
        ),
        "km_analyze_macro_metadata": (
            "read a macro's actions with km_action_builder (operation: list) and its "
            "triggers with km_trigger_crud (operation: list)"
        ),
        "km_window_manager_advanced": (
            "use km_window_manager (operations move, resize, arrange, get_info, get_screens)"
        ),
        "km_create_trigger_advanced": (
            "add triggers with km_trigger_manager or km_trigger_crud (operation: add), "
            "km_create_hotkey_trigger or km_add_system_trigger"
        ),
        "km_create_workflow_from_description": (
            "build the macro step by step: km_create_macro, then km_action_builder "
            "(operation: append)"
        ),
        "km_file_operations": None,
        "km_start_realtime_sync": None,
        "km_stop_realtime_sync": None,
        "km_sync_status": None,
        "km_force_sync": None,
        "km_audit_system": None,
        "km_analytics_engine": None,
        "km_analyze_workflow_intelligence": None,
    }
)

OLDER_TOOLS: frozenset[str] = frozenset(INSTEAD)

# The permission groups of the older tools: added to a catalog's groups (and to those
# it already has) only where the catalog offers them.
OLDER_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "clipboard": ("km_clipboard_manager",),
        "dictionaries": ("km_dictionary_manager",),
        "calculator": ("km_calculator",),
        "files": ("km_file_operations",),
        "windows": ("km_window_manager_advanced",),
        "applications": ("km_app_control",),
        "macros": (
            "km_search_macros_advanced",
            "km_analyze_macro_metadata",
            "km_list_macro_groups",
        ),
        "triggers": ("km_create_trigger_advanced",),
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

#: How a user of the 2025 server gets its tools back.
OPT_IN = (
    "if your Keyboard Maestro MCP server is the 2025 version, which has it, "
    "`km-actions tools --refresh` reads that server's own tools, or set "
    '`[catalog] tools = "2025"` in config.toml'
)


def instead_of(name: str) -> str | None:
    """What does the job of the older tool ``name`` on the current server (None: nothing,
    or ``name`` is not an older tool)."""
    return INSTEAD.get(name)


def older_tool_hint(name: str, *, opt_in: bool = True) -> str | None:
    """The hint for a call to ``name`` where the current server's tools are used: what to
    use instead, or that nothing replaces it, and (``opt_in``) how to keep using it with an
    older server. None when ``name`` is not one of the older tools.

    >>> print(older_tool_hint("km_list_macro_groups", opt_in=False))
    use km_macro_group_manager, operation: list
    >>> print(older_tool_hint("km_force_sync", opt_in=False))
    no tool of the current server does what it did
    """
    if name not in OLDER_TOOLS:
        return None
    replacement = INSTEAD[name] or "no tool of the current server does what it did"
    return f"{replacement}; {OPT_IN}" if opt_in else replacement
