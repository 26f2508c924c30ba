"""The Keyboard Maestro MCP server's tools, answered from the model of Keyboard Maestro.

One module per tool family; each has ``HANDLERS`` (tool name → handler), merged here into
:data:`TOOLS`. A handler takes a :class:`ToolContext` (arguments already checked against
the tool's published schema, as FastMCP checks them) and returns the answer the real
server returns, key for key: the simulator sends it as that server does (the same JSON as
structured content and as text). What only Keyboard Maestro decides comes from
``engine.simulator.km``; what the server decides (its checks, envelopes, wording) is
written here from its source and its recorded answers (``tests/data/km_server/``).

The machinery: ``_arguments`` (the published schema, checked as FastMCP checks it, before
any handler), ``_context`` (:class:`ToolContext`: the state, the server's clock and ids,
and :meth:`ToolContext.osascript`, which runs a change of the model the way the server's
script would run: its dangerous-content check, osascript's absence, waking the
application, Keyboard Maestro's errors as osascript prints them), ``_records`` (the
AppleScript record text some tools read back), ``_km`` (Keyboard Maestro as the server's
KMClient reaches it: macro and group references and lookups, scripts that catch their own
errors, the macro and group lists, the operations several tools share), ``_imports`` (new
macros by import, and the rebuild that gives a macro a new UUID); a tool answers a
failure with ``_context.failure``.

Every tool of the current server is here:

>>> len(TOOLS), sorted(TOOLS)[0]
(29, 'km_action_builder')
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from engine.simulator.tools import (
    actions,
    applications,
    catalog,
    conditions,
    control_flow,
    creation,
    editor,
    engine,
    groups,
    hotkeys,
    macros,
    moves,
    notifications,
    plugins,
    refresh,
    tokens,
    triggers,
    variables,
    windows,
)
from engine.simulator.tools._context import Handler, ToolContext

__all__ = ["TOOLS", "Handler", "ToolContext"]

TOOLS: Mapping[str, Handler] = MappingProxyType(
    {
        **variables.HANDLERS,
        **engine.HANDLERS,
        **tokens.HANDLERS,
        **macros.HANDLERS,
        **groups.HANDLERS,
        **editor.HANDLERS,
        **notifications.HANDLERS,
        **windows.HANDLERS,
        **applications.HANDLERS,
        **triggers.HANDLERS,
        **hotkeys.HANDLERS,
        **actions.HANDLERS,
        **creation.HANDLERS,
        **moves.HANDLERS,
        **conditions.HANDLERS,
        **control_flow.HANDLERS,
        **plugins.HANDLERS,
        **catalog.HANDLERS,
        **refresh.HANDLERS,
    }
)
