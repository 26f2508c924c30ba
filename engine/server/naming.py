"""Stable, collision-free MCP tool names for actions.

A tool name depends only on the action's plugin and name, never on what else is
installed, so it does not change when another plugin arrives. Names use the
characters MCP clients accept (``[A-Za-z0-9_-]``) and stay within 64 characters; when
the readable form had to change (dots, length), a short hash of the exact original
keeps two different actions from sharing a name.

>>> action_tool_name("clipboard-tools", "title-case")
'clipboard-tools__title-case'
>>> action_tool_name("com.example.tools", "title-case")
'com-example-tools__title-case_21b9d8'
"""

from __future__ import annotations

import hashlib
import re

MAX_LENGTH = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
SEPARATOR = "__"


def action_tool_name(plugin: str, action: str) -> str:
    """The MCP tool name of ``plugin/action``."""
    original = f"{plugin}{SEPARATOR}{action}"
    readable = _UNSAFE.sub("-", original)
    if readable == original and len(readable) <= MAX_LENGTH:
        return readable
    digest = hashlib.sha256(f"{plugin}/{action}".encode()).hexdigest()[:6]
    return f"{readable[: MAX_LENGTH - 7]}_{digest}"
