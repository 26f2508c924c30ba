"""km_token_processor and km_token_stats: Keyboard Maestro text tokens, expanded from state."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from engine.simulator._calculator import calculate, format_number
from engine.simulator._clipboard import current_text
from engine.simulator._context import Call, ToolFailure
from engine.simulator._icu import format_icu, shift
from engine.simulator._variables import lookup_variable

_TOKEN = re.compile(
    r"%%"
    r"|%(?P<kind>Variable|NamedClipboard|PastClipboard|Calculate|ICUDateTime)%(?P<arg>[^%]*)%"
    r"|%(?P<shift>ICUDateTimePlus|ICUDateTimeMinus)%(?P<amount>[^%]*)%(?P<unit>[^%]*)%(?P<fmt>[^%]*)%"
    r"|%(?P<plain>SystemClipboard|CurrentClipboard|ShortDate|LongDate|Time)%"
    r"|%(?P<hex>[0-9A-Fa-f]{4}|[0-9A-Fa-f]{2})%"
    r"|%(?P<other>[A-Z][A-Za-z0-9]*)%"
)
DATE_FORMATS = {"ShortDate": "M/d/yy", "LongDate": "MMMM d, y", "Time": "h:mm a"}


@dataclass
class Expansion:
    """The tokens met while expanding one text, and what became of them."""

    call: Call
    given: Mapping[str, str]
    context: str
    tokens: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: int = 0
    text: str = ""

    def replace(self, match: re.Match[str]) -> str:
        text = match.group(0)
        kind = _kind_of(match)
        try:
            value = self._value(match, kind)
        except (ToolFailure, ValueError, OverflowError) as problem:
            reason = problem.message if isinstance(problem, ToolFailure) else str(problem)
            self.warnings.append(f"{text}: {reason}")
            self.errors += 1
            value = None
        self.tokens.append({"token": text, "type": kind, "resolved": value is not None})
        if value is None:
            return text
        return value if kind in ("escape", "character") else self._encode(value)

    def _value(self, match: re.Match[str], kind: str) -> str | None:
        arg = match.group("arg")
        if kind == "escape":
            return "%"
        if kind == "character":
            return chr(int(match.group("hex"), 16))
        if kind == "Variable":
            return self._variable(arg)
        if kind in ("SystemClipboard", "CurrentClipboard"):
            return current_text(self.call)
        if kind == "PastClipboard":
            history = self.call.state.clipboard
            index = int(arg)
            return str(history[index]["content"]) if 0 <= index < len(history) else ""
        if kind == "NamedClipboard":
            record = self.call.state.named_clipboards.get(arg)
            return str(record["content"]) if record else ""
        if kind == "Calculate":
            value, _ = calculate(self.call, arg, {})
            return format_number(value, "auto", 10)
        if kind == "ICUDateTime":
            return format_icu(self.call.now, arg)
        if kind in DATE_FORMATS:
            return format_icu(self.call.now, DATE_FORMATS[kind])
        if kind in ("ICUDateTimePlus", "ICUDateTimeMinus"):
            amount = int(match.group("amount").strip())
            sign = 1 if kind == "ICUDateTimePlus" else -1
            moment = shift(self.call.now, sign * amount, match.group("unit"))
            return format_icu(moment, match.group("fmt"))
        # Single-value system tokens stay as written outside a macro execution,
        # as the real server documents.
        self.warnings.append(f"{match.group(0)} is not available outside a running macro")
        return None

    def _variable(self, name: str) -> str:
        if name in self.given:
            return self.given[name]
        value = lookup_variable(self.call, name)
        if value is None:
            self.warnings.append(f"variable '{name}' is not set; it expands to empty text")
            return ""
        return value

    def _encode(self, value: str) -> str:
        if self.context == "url":
            return quote(value, safe="")
        if self.context == "filename":
            return value.replace("/", "-").replace(":", "-")
        if self.context == "regex":
            return re.escape(value)
        return value


def _kind_of(match: re.Match[str]) -> str:
    if match.group(0) == "%%":
        return "escape"
    if match.group("hex") is not None:
        return "character"
    for group in ("kind", "shift", "plain"):
        if match.group(group) is not None:
            return str(match.group(group))
    return str(match.group("other"))


def expand(call: Call, text: str, given: Mapping[str, str], context: str) -> Expansion:
    """Expand every token in ``text``; the result is in ``.text`` of the returned record."""
    expansion = Expansion(call, given, context)
    expansion.text = _TOKEN.sub(expansion.replace, text)
    return expansion


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


def preview_tokens(text: str) -> list[dict[str, Any]]:
    """The tokens in ``text`` and their types, without expanding anything."""
    return [{"token": m.group(0), "type": _kind_of(m)} for m in _TOKEN.finditer(text)]


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
