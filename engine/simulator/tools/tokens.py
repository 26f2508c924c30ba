"""km_token_processor and km_token_stats: text tokens through Keyboard Maestro or the server.

The server checks the text first (a token mentioning a password, a key, a URL… is
refused), then asks Keyboard Maestro's ``process tokens`` (context ``text`` only: for the
other contexts its script does not compile) or, when that fails or is not wanted, its own
local processor: variables only from the ``variables`` argument, calculations as "0",
dates in its own fixed format, system tokens from the machine it runs on. Counters of
both live in the server process and are what km_token_stats reports.
"""

from __future__ import annotations

import re
from typing import Any

from engine.simulator.km import engine as km_engine
from engine.simulator.km import system
from engine.simulator.tools._km import escape
from engine.simulator.tools.context import (
    KME,
    SE,
    Answer,
    AppleEventError,
    ScriptFailure,
    ToolContext,
    Via,
)

__all__ = ["HANDLERS", "handle_token_processor", "handle_token_stats", "parse_tokens"]

UNSAFE_EXPRESSION = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"%Execute\s*Shell\s*Script%",
        r"%Execute\s*AppleScript%.*(?:do\s+shell\s+script|system\s+events)",
        r"%.*(?:password|secret|key|token|auth|credential).*%",
        r"%.*(?:sudo|rm\s+-rf|format|delete|drop|truncate).*%",
        r"%.*(?:eval|exec|import|__import__).*%",
        r"%.*(?:file://|http://|https://|ftp://).*%",
    )
)
UNSAFE_FILENAME = re.compile(r'[<>:"|?*]')
UNSAFE_CONTENT = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (r"[;&|`$(){}[\]]", r"\\[nt]", r"(?:sudo|rm|format|delete)")
)
# Looked for in the lower-cased text, as the server does (so its two patterns with capital
# letters never match).
NOT_FOR_KM = (
    "do shell script",
    "system events",
    "mount volume",
    "unmount",
    "restart",
    "shutdown",
    'tell application "Terminal"',
    'tell application "Script Editor"',
    "-- dangerous comment patterns that could hide code",
)
LOCAL_TOKEN = re.compile(
    r"%(?:(?:Variable|Calculate|ICUDateTime|JSONValue|XMLValue|AddressBook|AskForUserInput|"
    r"CurrentMouse|Find|FoundImage|MIDI|Past|Path|Time|UUID|Wireless)%[^%]*|[^%]+)%"
)
SYSTEM_TOKENS = (
    "CurrentUser", "CurrentDate", "CurrentTime", "LongDate", "ShortDate", "Time",
    "SystemVersion", "ComputerName", "FrontWindowName", "CurrentApplication",
    "CurrentClipboard",
)  # fmt: skip
KM_TEXT_LIMIT = 10_000
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
UNSAFE_PATTERNS = "Precondition violated: Token expression contains unsafe patterns"


def handle_token_processor(ctx: ToolContext) -> Answer:
    """km_token_processor: the expression check, then a preview, Keyboard Maestro or local."""
    text, context = ctx.args["text"], ctx.args["context"]
    variables: dict[str, str] = ctx.args["variables"] or {}
    start = ctx.elapsed
    if _unsafe_expression(text, context):
        return {
            "success": False,
            "error": {
                "code": "TOKEN_PROCESSING_ERROR",
                "message": UNSAFE_PATTERNS,
                "details": {"text": _shown(text), "context": context},
            },
            "metadata": {"timestamp": ctx.utc_timestamp(), "processing_id": ctx.uuid4()},
        }
    if ctx.args["preview_only"]:
        return _preview(ctx, text, context)
    engine = "local"
    processed = None
    if ctx.args["use_km_engine"]:
        processed = _through_keyboard_maestro(ctx, text, context)
        engine = "keyboard_maestro" if processed is not None else "local_fallback"
    result: dict[str, Any]
    if processed is not None:
        found = [t["full_match"] for t in parse_tokens(text)]
        result = {
            "processed_text": processed,
            "tokens_found": found,
            "substitutions_made": len(found) if processed != text else 0,
            "security_warnings": [],
        }
    else:
        result = _locally(ctx, text, variables)
    warnings: list[str] = result["security_warnings"]
    return {
        "success": True,
        "processing": {
            "original_text": text,
            "processed_text": result["processed_text"],
            "tokens_found": result["tokens_found"],
            "substitutions_made": result["substitutions_made"],
            "processing_time": ctx.elapsed - start,
            "context": context,
            "has_changes": text != result["processed_text"],
            "variables_used": variables,
            "security_warnings": warnings,
            "security_level": ctx.args["security_level"],
            "has_security_issues": bool(warnings),
        },
        "metadata": {
            "timestamp": ctx.utc_timestamp(),
            "processing_id": ctx.uuid4(),
            "engine": engine,
            "context": context,
        },
    }


def _shown(text: str) -> str:
    return text[:100] + "..." if len(text) > 100 else text


def _unsafe_expression(text: str, context: str) -> bool:
    if any(p.search(text) for p in UNSAFE_EXPRESSION):
        return True
    return context == "filename" and UNSAFE_FILENAME.search(text) is not None


def parse_tokens(text: str) -> list[dict[str, Any]]:
    """The tokens the server's processor sees (those with unsafe content are skipped).

    >>> [t["full_match"] for t in parse_tokens("%Variable%A% %Calculate%1+1% %rm x% %Time%")]
    ['%Variable%A%', '%Calculate%1+1%', '%Time%']
    """
    tokens = []
    for match in LOCAL_TOKEN.finditer(text):
        content = match.group(0)[1:-1]
        if len(content) > 500 or any(p.search(content) for p in UNSAFE_CONTENT):
            continue
        tokens.append(
            {
                "full_match": match.group(0),
                "content": content,
                "start": match.start(),
                "end": match.end(),
                "type": _kind(content),
            }
        )
    return tokens


def _kind(content: str) -> str:
    if content.startswith("Calculate"):
        return "calculation"
    if content.startswith("ICUDateTime"):
        return "datetime"
    if content in SYSTEM_TOKENS:
        return "system"
    if content.startswith("Variable"):
        return "variable"
    if "clipboard" in content.lower():
        return "clipboard"
    if "application" in content.lower():
        return "application"
    return "unknown"


def _preview(ctx: ToolContext, text: str, context: str) -> Answer:
    tokens = parse_tokens(text)
    return {
        "success": True,
        "preview": {
            "original_text": text,
            "tokens_found": [t["full_match"] for t in tokens],
            "token_details": [
                {
                    "token": t["full_match"],
                    "content": t["content"],
                    "type": t["type"],
                    "position": {"start": t["start"], "end": t["end"]},
                }
                for t in tokens
            ],
            "token_count": len(tokens),
            "context": context,
            "security_level": ctx.args["security_level"],
        },
        "metadata": {
            "timestamp": ctx.utc_timestamp(),
            "preview_mode": True,
            "processing_id": ctx.uuid4(),
        },
    }


# -- through Keyboard Maestro --------------------------------------------------------------


def _through_keyboard_maestro(ctx: ToolContext, text: str, context: str) -> str | None:
    """Keyboard Maestro's ``process tokens`` as the server asks it; None when it failed
    (the server then falls back to its local processor)."""
    if not _fit_for_km(text):
        return None
    literal = escape(text)
    if len(literal) > KM_TEXT_LIMIT:
        literal = literal[:KM_TEXT_LIMIT] + "..."
    counters = ctx.server

    def run() -> str:
        if context != "text":
            # "process tokens … for calculation" does not compile: the command has no
            # such parameter.
            raise AppleEventError(-2741, "Expected end of line but found identifier.",
                                  syntax=True)  # fmt: skip
        return km_engine.process_tokens(ctx.km, _unescaped(literal))

    try:
        output = ctx.osascript("", run, via=Via.SYNC, apps=(KME,)).strip()
    except ScriptFailure as problem:
        if problem.stderr:  # osascript ran and failed; without osascript it never ran
            counters.count("km_calls")
        counters.count("km_errors")
        return None
    counters.count("km_calls")
    return output


def _fit_for_km(text: str) -> bool:
    folded = text.lower()
    if any(pattern in folded for pattern in NOT_FOR_KM):
        return False
    if text.count("%") > 50:
        return False
    return not text.count('"') > text.count('\\"') + 10


def _unescaped(literal: str) -> str:
    """The text an AppleScript string literal holds (``\\n`` a line break, ``\\x`` x)."""
    return _ESCAPE.sub(lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m[1], m[1]), literal)


# -- the server's local processor -----------------------------------------------------------


def _locally(ctx: ToolContext, text: str, variables: dict[str, str]) -> dict[str, Any]:
    tokens = parse_tokens(text)
    if not tokens:
        return {"processed_text": text, "tokens_found": [], "substitutions_made": 0,
                "security_warnings": []}  # fmt: skip
    processed, made = text, 0
    warnings: list[str] = []
    for token in tokens:
        value, problem = _local_value(ctx, token, variables, warnings)
        if problem is None:
            processed = processed.replace(token["full_match"], value, 1)
            made += 1
        else:
            warnings.append(f"Token '{token['full_match']}' failed: {problem}")
    ctx.server.count("total_processed")
    if warnings:
        ctx.server.count("security_violations")
    return {
        "processed_text": processed,
        "tokens_found": [t["full_match"] for t in tokens],
        "substitutions_made": made,
        "security_warnings": warnings,
    }


def _local_value(
    ctx: ToolContext, token: dict[str, Any], variables: dict[str, str], warnings: list[str]
) -> tuple[str, str | None]:
    """The token's value and None, or ("", the reason it has none)."""
    kind, content = token["type"], token["content"]
    if kind == "system":
        return _system_token(ctx, content), None
    if kind == "variable":
        name = content[8:].strip("%")
        if name not in variables:
            return "", f"Variable '{name}' not found"
        value = variables[name]
        if len(value) > 1000:
            warnings.append(f"Variable '{name}' value truncated (too long)")
            value = value[:1000] + "..."
        return value, None
    if kind == "calculation":
        warnings.append("Calculation tokens require KM engine integration")
        return "0", None
    if kind == "datetime":
        return _local_now(ctx).strftime("%Y-%m-%d %H:%M:%S"), None
    if kind == "clipboard":
        warnings.append("Clipboard access restricted - showing preview only")
        return "[Clipboard Content]", None
    warnings.append(f"Unknown token type: {content}")
    return token["full_match"], None


def _local_now(ctx: ToolContext) -> Any:
    return ctx.now.astimezone().replace(tzinfo=None)


def _system_token(ctx: ToolContext, name: str) -> str:
    """The server's machine (the simulated Mac: its user, name and front window)."""
    now = _local_now(ctx)
    formats = {
        "CurrentDate": "%Y-%m-%d",
        "CurrentTime": "%H:%M:%S",
        "LongDate": "%A, %B %d, %Y",
        "ShortDate": "%m/%d/%Y",
        "Time": "%I:%M:%S %p",
    }
    if name in formats:
        return str(now.strftime(formats[name]))
    facts = ctx.km.system
    if name == "CurrentUser":
        return str(facts.get("user", "kmuser"))
    if name == "SystemVersion":
        return str(facts.get("macos_version", ""))
    if name == "ComputerName":
        return str(facts.get("computer_name", "localhost"))
    if name == "CurrentClipboard":
        return "[Clipboard Preview - Access Restricted]"
    return _front(ctx, window=name == "FrontWindowName")


def _front(ctx: ToolContext, *, window: bool) -> str:
    """The front application's name, or its front window's title ("" when it has none)."""

    def ask() -> str:
        front = system.frontmost(ctx.km)
        if front is None:
            return ""
        if not window:
            return str(front["name"])
        windows = system.windows(front)
        return str(windows[0]["title"]) if windows else ""

    try:
        return ctx.osascript("", ask, via=Via.SYNC, apps=(SE,)).strip()
    except ScriptFailure:
        return "Unknown Window" if window else "Unknown Application"


# -- km_token_stats --------------------------------------------------------------------------


def handle_token_stats(ctx: ToolContext) -> Answer:
    """km_token_stats: the counters as they stand, then the server's availability probe
    (a ``process tokens "Test Connection"``, counted after the reading)."""
    counters = dict(ctx.server.tokens)
    local = {k: counters[k] for k in ("total_processed", "errors", "security_violations")}
    engine = {k: counters[k] for k in ("km_calls", "km_errors", "fallbacks")}
    available = _through_keyboard_maestro(ctx, "Test Connection", "text") is not None
    processed = max(local["total_processed"], 1)
    return {
        "success": True,
        "statistics": {
            "local_processor": local,
            "km_engine": engine,
            "km_engine_available": available,
            "total_operations": local["total_processed"],
            "error_rate": local["errors"] / processed * 100,
            "security_violation_rate": local["security_violations"] / processed * 100,
        },
        "system_status": {
            "local_processor": "available",
            "km_engine": "available" if available else "unavailable",
            "security_level": "active",
            "monitoring": "enabled",
        },
        "metadata": {"timestamp": ctx.utc_timestamp(), "stats_id": ctx.uuid4()},
    }


HANDLERS = {"km_token_processor": handle_token_processor, "km_token_stats": handle_token_stats}
