"""Who installed a plugin: the user, or a caller over MCP (told by its recorded origin).

Every install records an origin. The user's own installs record where the plugin came
from (``file``, ``marketplace``, ``dependency``); installs asked for over MCP record
``mcp-install`` (a plugin and the dependencies it brought), and actions created over MCP
``mcp-create``. A store written before origins told MCP installs apart recorded them as
``file``: they count as the user's, which errs on the side of the user.

>>> is_from_mcp("mcp-install"), is_from_mcp("file"), is_from_mcp("dependency")
(True, False, False)
"""

from __future__ import annotations

MCP_CREATE = "mcp-create"
MCP_INSTALL = "mcp-install"
MCP_ORIGINS = frozenset({MCP_CREATE, MCP_INSTALL})


def is_from_mcp(origin: str) -> bool:
    """True when a caller over MCP installed the plugin (not the user)."""
    return origin in MCP_ORIGINS
