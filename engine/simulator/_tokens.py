"""km_token_processor and km_token_stats: Keyboard Maestro text tokens, expanded from state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.simulator._calculator import calculate, format_number, lookup_variable
from engine.simulator._clipboard import current_text
from engine.simulator._context import Call, ToolFailure
from engine.simulator.km.tokens import Expansion, TokenError, preview_tokens
from engine.simulator.km.tokens import expand as km_expand

__all__ = ["expand", "handle_token_processor", "handle_token_stats", "preview_tokens", "record"]


@dataclass(frozen=True, slots=True)
class _CallWorld:
    """Token values from the simulator's state, as seen by one call."""

    call: Call

    @property
    def now(self) -> datetime:
        return self.call.now

    def variable(self, name: str) -> str | None:
        return lookup_variable(self.call, name)

    def clipboard(self, index: int) -> str | None:
        if index == 0:
            return current_text(self.call)
        history = self.call.state.clipboard
        return str(history[index]["content"]) if 0 <= index < len(history) else ""

    def named_clipboard(self, name: str) -> str | None:
        record = self.call.state.named_clipboards.get(name)
        return str(record["content"]) if record else ""

    def calculate(self, expression: str) -> str:
        try:
            value, _ = calculate(self.call, expression, {})
        except ToolFailure as failure:
            raise TokenError(failure.message) from failure
        return format_number(value, "auto", 10)

    def system_token(self, name: str) -> str | None:
        return None  # the simulator runs no macro: single-value tokens stay as written


def expand(call: Call, text: str, given: Mapping[str, str], context: str) -> Expansion:
    """Expand every token in ``text``; the result is in ``.text`` of the returned record."""
    return km_expand(_CallWorld(call), text, given, context)


def _count(call: Call, found: int, resolved: int, errors: int, *, preview: bool) -> None:
    stats = call.state.token_stats
    stats["total_processed"] += 1
    stats["tokens_found"] += found
    if preview:
        stats["previews"] += 1
    else:
        stats["tokens_expanded"] += resolved
        stats["tokens_unresolved"] += found - resolved
        stats["errors"] += errors
    stats["last_processed_at"] = call.timestamp
    call.touch()


def record(call: Call, expansion: Expansion) -> None:
    """Count an expansion in the token statistics."""
    resolved = sum(1 for t in expansion.tokens if t["resolved"])
    _count(call, len(expansion.tokens), resolved, expansion.errors, preview=False)


def handle_token_processor(call: Call) -> dict[str, Any]:
    """km_token_processor: expand tokens (or only list them, with preview_only)."""
    text = call.args["text"]
    base = {
        "original_text": text,
        "context": call.args["context"],
        "security_level": call.args["security_level"],
        "engine_used": "simulator",
    }
    if call.args["preview_only"]:
        tokens = preview_tokens(text)
        _count(call, len(tokens), 0, 0, preview=True)
        return {
            **base,
            "processed_text": text,
            "preview": True,
            "tokens": tokens,
            "token_count": len(tokens),
        }
    expansion = expand(call, text, call.args.get("variables") or {}, call.args["context"])
    record(call, expansion)
    return {
        **base,
        "processed_text": expansion.text,
        "preview": False,
        "tokens": expansion.tokens,
        "token_count": len(expansion.tokens),
        "unresolved_tokens": [t["token"] for t in expansion.tokens if not t["resolved"]],
        "warnings": expansion.warnings,
    }


def handle_token_stats(call: Call) -> dict[str, Any]:
    """km_token_stats: counters kept by the simulator's token processing."""
    return {
        "statistics": dict(call.state.token_stats),
        "engine_status": {"available": True, "engine": "simulator", "keyboard_maestro": False},
        "security_summary": {"violations": 0, "blocked_tokens": 0},
    }
