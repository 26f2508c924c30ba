"""Property lists as Keyboard Maestro keeps them: macros, triggers and actions are plist dicts.

The model stores them as JSON objects; ``<data>`` and ``<date>`` values (rare in macros)
become ``{"$data": base64}`` and ``{"$date": iso}`` so nothing is lost on the way back.

>>> parse_dict('<dict><key>MacroTriggerType</key><string>HotKey</string></dict>')
{'MacroTriggerType': 'HotKey'}
>>> parse_dict("<dict><key>broken") is None
True
>>> document({"A": 1}).splitlines()[2:6]
['<plist version="1.0">', '<dict>', '\\t<key>A</key>', '\\t<integer>1</integer>']
"""

from __future__ import annotations

import base64
import plistlib
from datetime import UTC, datetime
from typing import Any
from xml.parsers.expat import ExpatError

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
    '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
    '<plist version="1.0">\n'
)


def parse(text: str) -> Any:
    """A plist value from XML text (a whole document or one bare element), as JSON data.

    Raises ``ValueError`` when the text is not a property list.
    """
    body = text.strip()
    if not body.startswith(("<?xml", "<!DOCTYPE", "<plist")):
        body = f"{_HEAD}{body}\n</plist>\n"
    try:
        value = plistlib.loads(body.encode("utf-8"))
    except (plistlib.InvalidFileException, ExpatError, ValueError, TypeError) as problem:
        raise ValueError(f"not a property list: {problem}") from None
    return to_json(value)


def parse_dict(text: str) -> dict[str, Any] | None:
    """The plist dict in ``text``, or None when the text is not a plist dictionary."""
    try:
        value = parse(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def document(value: Any) -> str:
    """``value`` (JSON data) as a whole XML plist document, keys sorted as Cocoa writes them."""
    return plistlib.dumps(from_json(value), fmt=plistlib.FMT_XML, sort_keys=True).decode("utf-8")


def to_json(value: Any) -> Any:
    """A plist value as JSON data."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return {"$data": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return {"$date": moment.isoformat()}
    return value


def from_json(value: Any) -> Any:
    """JSON data (as :func:`to_json` makes it) as a plist value."""
    if isinstance(value, dict):
        if set(value) == {"$data"}:
            return base64.b64decode(value["$data"])
        if set(value) == {"$date"}:
            return datetime.fromisoformat(value["$date"]).astimezone(UTC).replace(tzinfo=None)
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value
