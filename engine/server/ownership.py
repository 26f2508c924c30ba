"""What an MCP caller may change: only plugins installed over MCP (one rule, one place).

A caller over MCP is a stranger: the plugins the user installed (from the command line,
with their settings and secrets) are not theirs to replace, upgrade, update, remove,
configure, enable or disable (switching the user's plugin off, or on again after the user
switched it off, changes what the user chose as surely as removing it). Every MCP
operation that changes an installed plugin asks :func:`check` first, under the store's
lock where the store allows it (an install asks about each plugin it would replace,
dependencies included). Reading (``list``, ``describe``, ``stats``) and
running the user's actions stay allowed. ``security.allow_mcp_overwrite = true`` in the
configuration file lifts the rule.

>>> from types import SimpleNamespace
>>> plugin = SimpleNamespace(identifier="notes", origin="file")
>>> check(plugin, Change.REMOVE, allow=False)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
engine.diagnostics.errors.PluginError: the plugin `notes` was installed by the user (file); MCP ...
>>> check(SimpleNamespace(identifier="x", origin="mcp-install"), Change.REMOVE, allow=False)
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from engine.diagnostics.errors import PluginError
from engine.plugins.origins import is_from_mcp

ALLOW_SETTING = "security.allow_mcp_overwrite"


class Change(enum.Enum):
    """What an MCP operation would do to an installed plugin (the value: its verb)."""

    REPLACE = "replace"
    UPDATE = "update"
    REMOVE = "remove"
    CONFIGURE = "change the settings of"
    AUTO_UPDATE = "change auto_update of"
    CREATE = "add actions to"
    ENABLE = "enable"
    DISABLE = "disable"


#: The command with which the user can make each change.
_COMMANDS = {
    Change.REPLACE: "km-actions install SOURCE",
    Change.UPDATE: "km-actions update {id}",
    Change.REMOVE: "km-actions uninstall {id}",
    Change.CONFIGURE: "km-actions configure {id} KEY=VALUE",
    Change.AUTO_UPDATE: "km-actions update {id}",
    Change.CREATE: "km-actions install FOLDER",
    Change.ENABLE: "km-actions enable {id}",
    Change.DISABLE: "km-actions disable {id}",
}


def allowed(plugin: Any, *, allow: bool) -> bool:
    """True when an MCP caller may change ``plugin`` (installed over MCP, or ``allow``)."""
    return allow or is_from_mcp(plugin.origin)


def check(plugin: Any, change: Change, *, allow: bool) -> None:
    """Refuse (``overwrite-refused``) ``change`` to ``plugin`` (an installed plugin's
    record) unless an MCP caller installed it, or ``allow`` (the user's setting) says so."""
    if allowed(plugin, allow=allow):
        return
    identifier = plugin.identifier
    extra = (
        "create the action in another plugin (the default is mcp-created); "
        if change is Change.CREATE
        else ""
    )
    raise PluginError(
        f"the plugin `{identifier}` was installed by the user ({plugin.origin}); MCP callers "
        f"may not {change.value} it",
        code="overwrite-refused",
        hint=f"{extra}the user can do it with `{_COMMANDS[change].format(id=identifier)}`, "
        "or let MCP callers change what the user installed with "
        f"`km-actions config set {ALLOW_SETTING} true`",
    )


def guard(change: Change, *, allow: bool) -> Callable[[Any], None]:
    """:func:`check` as a callback (the installer's ``may_replace``, uninstall's check)."""

    def refuse(plugin: Any) -> None:
        check(plugin, change, allow=allow)

    return refuse
