"""Action XML as the server writes it by hand: bare plist elements, no whitespace.

The server builds the ``<dict>`` of an action (If Then Else, For, Switch…) as one line of
text, keys in Keyboard Maestro's order, values escaped for XML; Keyboard Maestro parses it
when ``make new action with properties {xml: …}`` runs. These helpers write the same text.

>>> entries(("Time", string("1 < 2")), ("Wait", flag(True)))
'<dict><key>Time</key><string>1 &lt; 2</string><key>Wait</key><true/></dict>'
>>> array("<dict></dict>", ""), flag(False)
('<array><dict></dict></array>', '<false/>')
"""

from __future__ import annotations

from typing import Any

__all__ = ["array", "entries", "escape", "flag", "integer", "string"]


def escape(value: Any) -> str:
    """``value`` as text, with ``& < > " '`` written as XML entities."""
    return (
        str(value)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def string(value: Any) -> str:
    return f"<string>{escape(value)}</string>"


def integer(value: int) -> str:
    return f"<integer>{value}</integer>"


def flag(value: Any) -> str:
    """``<true/>`` or ``<false/>``, by the value's truth (as the server tests it)."""
    return "<true/>" if value else "<false/>"


def array(*items: str) -> str:
    """An array of already-written elements (``<array></array>`` when empty)."""
    return f"<array>{''.join(items)}</array>"


def entries(*pairs: tuple[str, str]) -> str:
    """A dict of ``(key, already-written element)`` pairs, in the order given."""
    return "<dict>" + "".join(f"<key>{key}</key>{value}" for key, value in pairs) + "</dict>"
