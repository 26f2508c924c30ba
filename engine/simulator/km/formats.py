"""Dictionary data rendered as JSON, YAML, CSV or XML text (read and export operations)."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import yaml

# Characters XML 1.0 cannot hold, replaced so the document stays well-formed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text))


def _xml_attribute(text: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", text))


def render(data: Any, fmt: str, *, name: str) -> str:
    """``data`` as text in ``fmt`` (json, yaml, csv or xml).

    >>> render({"a": 1}, "csv", name="d")
    'key,value\\r\\na,1\\r\\n'
    """
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if fmt == "csv":
        return _csv(data)
    if fmt == "xml":
        head = f'<?xml version="1.0" encoding="UTF-8"?>\n<dictionary name={_xml_attribute(name)}>\n'
        return f"{head}{_xml(data, 1)}</dictionary>\n"
    return json.dumps(data, indent=2, ensure_ascii=False)


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv(data: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        header = list(dict.fromkeys(key for row in data for key in row))
        writer.writerow(header)
        writer.writerows([_cell(row.get(key)) for key in header] for row in data)
    elif isinstance(data, list):
        writer.writerow(["value"])
        writer.writerows([_cell(item)] for item in data)
    elif isinstance(data, dict):
        writer.writerow(["key", "value"])
        writer.writerows([key, _cell(value)] for key, value in data.items())
    else:
        writer.writerow(["value"])
        writer.writerow([_cell(data)])
    return out.getvalue()


def _xml(value: Any, depth: int) -> str:
    pad = "  " * depth
    if isinstance(value, dict):
        inner = "".join(
            f"{pad}  <entry key={_xml_attribute(key)}>\n{_xml(item, depth + 2)}{pad}  </entry>\n"
            for key, item in value.items()
        )
        return f"{pad}<object>\n{inner}{pad}</object>\n"
    if isinstance(value, list):
        inner = "".join(_xml(item, depth + 1) for item in value)
        return f"{pad}<array>\n{inner}{pad}</array>\n"
    if value is None:
        return f"{pad}<null/>\n"
    if isinstance(value, bool):
        return f"{pad}<{'true' if value else 'false'}/>\n"
    tag = "string" if isinstance(value, str) else "number"
    return f"{pad}<{tag}>{_xml_text(str(value))}</{tag}>\n"
