"""A tool's MCP result as plain data, and the one way it becomes the answer a step sees.

Every backend that speaks for an MCP server goes through :func:`answer_from_result`: the
upstream bridge (it converts the ``mcp`` SDK's ``CallToolResult`` first) and the
simulator (which produces :class:`ToolResult` itself, without importing ``mcp``).

>>> answer_from_result(ToolResult.of_answer({"success": True, "data": 1}, '{"success":true}'))
{'success': True, 'data': 1}
>>> failed = ToolResult("1 validation error for call[km_x]", is_error=True)
>>> answer_from_result(failed)["error"]["code"]
'UPSTREAM_TOOL_ERROR'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["UPSTREAM_TOOL_ERROR", "ToolResult", "answer_from_result"]

#: The error code of an answer the server marked ``isError``.
UPSTREAM_TOOL_ERROR = "UPSTREAM_TOOL_ERROR"
_RECOVERY = (
    "The Keyboard Maestro MCP server reported this error; check the arguments, and that "
    "Keyboard Maestro is running."
)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What an MCP server sends back for ``tools/call``.

    ``text`` is its text content (text blocks joined by line breaks), ``structured`` its
    ``structuredContent`` (None when it sent none), ``is_error`` its ``isError`` flag, and
    ``other_content`` any non-text content blocks in their wire form.
    """

    text: str
    structured: Any = None
    is_error: bool = False
    other_content: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of_answer(cls, answer: Mapping[str, Any], text: str) -> ToolResult:
        """An answer sent as the Keyboard Maestro MCP server sends it: the same JSON twice,
        as ``structuredContent`` and as ``text`` (its serialisation), ``isError`` false."""
        return cls(text=text, structured=answer)


def answer_from_result(result: ToolResult) -> Any:
    """A tool's answer as the runtime expects it.

    ``structured`` when present; else the text parsed as JSON when it is a JSON object or
    array; else ``{"success": true, "data": {"text": …}}``. A result marked ``is_error``
    becomes a failure envelope, so the step fails with ``tool-failed``.

    >>> answer_from_result(ToolResult("no such macro"))
    {'success': True, 'data': {'text': 'no such macro'}}
    >>> answer_from_result(ToolResult('{"success": true, "data": 1}'))
    {'success': True, 'data': 1}
    """
    if result.is_error:
        return {
            "success": False,
            "error": {
                "code": UPSTREAM_TOOL_ERROR,
                "message": result.text or "the tool reported an error without a message",
                "recovery_suggestion": _RECOVERY,
            },
        }
    if result.structured is not None:
        return result.structured
    parsed = _json_structure(result.text)
    if parsed is not None:
        return parsed
    data: dict[str, Any] = {"text": result.text}
    if result.other_content:
        data["content"] = [dict(block) for block in result.other_content]
    return {"success": True, "data": data}


def _json_structure(text: str) -> dict[str, Any] | list[Any] | None:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        parsed = json.loads(stripped, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict | list) else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
