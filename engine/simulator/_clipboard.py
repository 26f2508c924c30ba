"""km_clipboard_manager: the current clipboard, its history and named clipboards."""

from __future__ import annotations

import re
from typing import Any

from engine.simulator._context import Call, ToolFailure, did_you_mean, dispatch
from engine.simulator._legacy_state import MAX_CLIPBOARD_HISTORY

HIDDEN = "[SENSITIVE CONTENT HIDDEN]"
LIST_HISTORY_COUNT = 10  # the server's default history_count (not in its published schema)
PREVIEW_LENGTH = 50

# The same kinds of content the server hides unless include_sensitive is true.
_SENSITIVE = re.compile(
    r"(?i)\b(?:password|passwd|secret|api[_-]?key|access[_-]?token)\b\s*[:=]"
    r"|\b(?:\d[ -]?){13,19}\b"
)


def is_sensitive(text: str) -> bool:
    """True for text that looks like a credential or a card number."""
    return bool(_SENSITIVE.search(text[:10_000]))


def preview(text: str) -> str:
    return text if len(text) <= PREVIEW_LENGTH else text[:PREVIEW_LENGTH] + "..."


def entry(content: str, fmt: str, now: str) -> dict[str, Any]:
    return {
        "content": content,
        "format": fmt,
        "timestamp": now,
        "size_bytes": len(content.encode("utf-8", "surrogatepass")),
    }


def current_text(call: Call) -> str:
    """What %SystemClipboard% shows: the current clipboard, or nothing."""
    history = call.state.clipboard
    return str(history[0]["content"]) if history else ""


def _view(item: dict[str, Any], include_sensitive: bool) -> dict[str, Any]:
    sensitive = is_sensitive(item["content"])
    hidden = sensitive and not include_sensitive
    content = HIDDEN if hidden else item["content"]
    return {
        "content": content,
        "format": item["format"],
        "size_bytes": item["size_bytes"],
        "timestamp": item["timestamp"],
        "is_sensitive": sensitive,
        "preview": HIDDEN if hidden else preview(item["content"]),
        "security_filtered": hidden,
    }


def clipboard_get(call: Call) -> dict[str, Any]:
    history = call.state.clipboard
    item = history[0] if history else entry("", "text", call.timestamp)
    return {**_view(item, call.args["include_sensitive"]), "is_empty": not item["content"]}


def clipboard_set(call: Call) -> dict[str, Any]:
    content = call.args.get("content")
    if not content:
        raise ToolFailure(
            "VALIDATION_ERROR",
            "content is required for set operation",
            "Pass the text to put on the clipboard in 'content'.",
            {"field": "content"},
        )
    history = call.state.clipboard
    history.insert(0, entry(content, call.args["format"], call.timestamp))
    del history[MAX_CLIPBOARD_HISTORY:]
    call.touch()
    return {
        "content_size": history[0]["size_bytes"],
        "content_preview": preview(content),
        "format": call.args["format"],
        "history_size": len(history),
    }


def clipboard_get_history(call: Call) -> dict[str, Any]:
    index = call.need("history_index", "0 is the current clipboard, 1 the one before it")
    history = call.state.clipboard
    if index >= len(history):
        raise ToolFailure(
            "NOT_FOUND",
            f"clipboard history has {len(history)} entries; there is no entry {index}",
            "Use an index below the history size (0 is the current clipboard); "
            "see them with operation 'list_history'.",
            {"history_size": len(history)},
        )
    return {"index": index, **_view(history[index], call.args["include_sensitive"])}


def clipboard_list_history(call: Call) -> dict[str, Any]:
    history = call.state.clipboard
    include = call.args["include_sensitive"]
    items = [
        {"index": i, **_view(item, include)} for i, item in enumerate(history[:LIST_HISTORY_COUNT])
    ]
    return {"history": items, "total_items": len(items), "history_size": len(history)}


def clipboard_manage_named(call: Call) -> dict[str, Any]:
    name = call.need("clipboard_name", "the named clipboard to create or read").strip()
    named = call.state.named_clipboards
    content = call.args.get("content")
    if content is None:
        return _read_named(call, name)
    existing = named.get(name)
    if existing is not None and not call.args["overwrite"]:
        raise ToolFailure(
            "ALREADY_EXISTS",
            f"named clipboard '{name}' already exists",
            "Pass overwrite: true to replace it, or leave out 'content' to read it.",
        )
    record = entry(content, call.args["format"], call.timestamp)
    record.update(
        name=name,
        tags=sorted(set(call.args.get("tags") or [])),
        description=call.args.get("description"),
        created_at=call.timestamp,
        accessed_at=None,
        access_count=0,
    )
    named[name] = record
    call.touch()
    return {"name": name, "created": True, "overwritten": existing is not None}


def _read_named(call: Call, name: str) -> dict[str, Any]:
    record = call.state.named_clipboards.get(name)
    if record is None:
        known = call.state.named_clipboards
        raise ToolFailure(
            "NOT_FOUND",
            f"named clipboard '{name}' does not exist",
            "Create it by calling manage_named with 'content'; list them with "
            f"operation 'search_named'.{did_you_mean(name, known)}",
        )
    record["accessed_at"] = call.timestamp
    record["access_count"] += 1
    call.touch()
    view = _view(record, call.args["include_sensitive"])
    return {
        "name": name,
        **view,
        "created_at": record["created_at"],
        "accessed_at": record["accessed_at"],
        "access_count": record["access_count"],
        "tags": record["tags"],
        "description": record["description"],
    }


def clipboard_search_named(call: Call) -> dict[str, Any]:
    query = (call.args.get("search_query") or "").strip().casefold()
    include = call.args["include_sensitive"]
    found = []
    for name in sorted(call.state.named_clipboards, key=str.casefold):
        record = call.state.named_clipboards[name]
        haystack = " ".join([name, *record["tags"], record.get("description") or ""])
        if query and query not in haystack.casefold():
            continue
        view = _view(record, include)
        found.append(
            {
                "name": name,
                "tags": record["tags"],
                "description": record["description"],
                "format": record["format"],
                "size_bytes": record["size_bytes"],
                "created_at": record["created_at"],
                "preview": view["preview"],
            }
        )
    return {"clipboards": found, "count": len(found), "query": query or None}


def clipboard_stats(call: Call) -> dict[str, Any]:
    history = call.state.clipboard
    named = call.state.named_clipboards.values()
    current = history[0] if history else None
    return {
        "current": {
            "is_empty": not (current and current["content"]),
            "format": current["format"] if current else "text",
            "size_bytes": current["size_bytes"] if current else 0,
        },
        "history_size": len(history),
        "history_capacity": MAX_CLIPBOARD_HISTORY,
        "named_count": len(call.state.named_clipboards),
        "named_total_size_bytes": sum(r["size_bytes"] for r in named),
        "tags": sorted({tag for r in named for tag in r["tags"]}),
    }


OPERATIONS = {
    "get": clipboard_get,
    "set": clipboard_set,
    "get_history": clipboard_get_history,
    "list_history": clipboard_list_history,
    "manage_named": clipboard_manage_named,
    "search_named": clipboard_search_named,
    "stats": clipboard_stats,
}


def handle_clipboard(call: Call) -> dict[str, Any]:
    """km_clipboard_manager: get/set the clipboard, its history, named clipboards, stats."""
    return dispatch(call, OPERATIONS)
