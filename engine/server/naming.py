"""Stable, collision-free MCP tool names for actions.

A tool name depends only on the action's plugin and name, never on what else is
installed, so it does not change when another plugin arrives or the server restarts.
Names use the characters MCP clients accept (``[A-Za-z0-9_-]``) and stay within 64
characters.

Two actions never share a name, by construction:

- **As written**: ``<plugin>__<action>`` when the plugin is made of ``a-z``, digits and
  ``-`` only, the action of ``a-z``, digits, ``-`` and ``_``, and the whole fits. The
  plugin part holds no ``_``, so the first ``__`` is where it ends: from such a name the
  plugin and the action can be read back, and two of them cannot be equal.
- **Changed** (dots or ``_`` in the plugin, other characters, too long): the readable
  form (lower case, ``-`` for what MCP does not accept), cut to fit, then ``_H`` and 13
  characters of the base32 sha256 of the exact ``plugin/action``. Only such names hold
  a capital letter (names as written are lower case), so none equals a name as written;
  two changed names are equal only if 65 bits of sha256 are.

>>> action_tool_name("clipboard-tools", "title-case")
'clipboard-tools__title-case'
>>> action_tool_name("com.example.tools", "title-case")
'com-example-tools__title-case_HEG45RHTQ4F477'
>>> action_tool_name("com-example-tools", "title-case_heg45rhtq4f477")  # cannot equal it
'com-example-tools__title-case_heg45rhtq4f477'
"""

from __future__ import annotations

import base64
import hashlib
import re

MAX_LENGTH = 64
SEPARATOR = "__"
_PLUGIN = re.compile(r"[a-z0-9][a-z0-9-]*")
_ACTION = re.compile(r"[a-z0-9][a-z0-9_-]*")
_UNSAFE = re.compile(r"[^a-z0-9_-]")
_MARK = "_H"
_DIGEST = 13  # base32 characters: 65 bits


def action_tool_name(plugin: str, action: str) -> str:
    """The MCP tool name of ``plugin/action``."""
    written = f"{plugin}{SEPARATOR}{action}"
    if (
        len(written) <= MAX_LENGTH
        and _PLUGIN.fullmatch(plugin) is not None
        and _ACTION.fullmatch(action) is not None
    ):
        return written
    readable = _UNSAFE.sub("-", written.lower())
    digest = hashlib.sha256(f"{plugin}/{action}".encode()).digest()
    tag = base64.b32encode(digest).decode("ascii")[:_DIGEST]
    return f"{readable[: MAX_LENGTH - len(_MARK) - _DIGEST]}{_MARK}{tag}"
