"""Hot keys: km_create_hotkey_trigger (with the server's conflict check), km_list_hotkey_triggers.

km_create_hotkey_trigger checks the hot key against the server's own short lists (system
shortcuts and common application shortcuts; Keyboard Maestro's hot keys are not looked
at), suggests alternatives, then adds a HotKey trigger as km_trigger_manager does.
km_list_hotkey_triggers reads every trigger of every macro in one script.

>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> state, now = SimulatorState.seeded(), datetime(2026, 5, 4, tzinfo=UTC)
>>> args = {"macro_id": "Hello World", "key": "c", "modifiers": ["cmd"],
...     "activation_mode": "pressed", "tap_count": 1, "allow_repeat": False,
...     "check_conflicts": True, "suggest_alternatives": True}
>>> answer = handle_create_hotkey(ToolContext("km_create_hotkey_trigger", args, state, now))
>>> answer["error"]["message"], answer["error"]["details"]["conflicts"][0]["suggestion"]
('Hotkey conflicts detected for ⌘C', 'cmd+opt+c')
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from engine.simulator.km import library
from engine.simulator.tools._km import KMProblem, run_guarded
from engine.simulator.tools.context import SERVER_VERSION, Answer, ToolContext, failure
from engine.simulator.tools.triggers import attach_trigger

__all__ = ["HANDLERS", "HotKey"]

# The server's ModifierKey: (value, name), in the order it writes km strings.
MODIFIERS = (("cmd", "command"), ("ctrl", "control"), ("opt", "option"), ("shift", "shift"),
             ("fn", "function"))  # fmt: skip
SYMBOLS = {"cmd": "⌘", "opt": "⌥", "shift": "⇧", "ctrl": "⌃", "fn": "fn"}
SYSTEM_RESERVED = frozenset(
    {"cmd+space", "cmd+tab", "cmd+shift+tab", "cmd+opt+esc", "cmd+ctrl+space", "cmd+ctrl+f"}
)
APP_SHORTCUTS = {
    "cmd+c": "Copy (Universal)",
    "cmd+v": "Paste (Universal)",
    "cmd+x": "Cut (Universal)",
    "cmd+z": "Undo (Universal)",
    "cmd+shift+z": "Redo (Universal)",
    "cmd+a": "Select All (Universal)",
    "cmd+s": "Save (Universal)",
    "cmd+o": "Open (Universal)",
    "cmd+n": "New (Universal)",
    "cmd+w": "Close Window (Universal)",
    "cmd+q": "Quit Application (Universal)",
}
# Keys next to a letter on a QWERTY keyboard, in the order the server tries them.
QWERTY_NEIGHBOURS = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij",
    "i": "uok", "o": "ipl", "p": "ol", "a": "qsz", "s": "awdx", "d": "sefc", "f": "drgv",
    "g": "fthb", "h": "gyjn", "j": "hukm", "k": "jil", "l": "kop", "z": "ax", "x": "zsc",
    "c": "xdv", "v": "cfb", "b": "vgn", "n": "bhm", "m": "nj",
}  # fmt: skip
OTHER_COMBOS = (
    frozenset({"cmd", "shift"}),
    frozenset({"cmd", "opt"}),
    frozenset({"cmd", "ctrl"}),
    frozenset({"opt", "shift"}),
    frozenset({"ctrl", "shift"}),
    frozenset({"cmd", "opt", "shift"}),
)


class InvalidModifier(Exception):
    def __init__(self, modifier: str) -> None:
        text = f"Invalid modifier key: {modifier}"
        super().__init__(f"Validation failed for field 'modifier': {text}. Got: {modifier}")
        self.modifier = modifier


def modifier_value(text: str) -> str:
    """``cmd`` for cmd or command (ignoring case), and so on."""
    normalized = text.lower().strip()
    for value, name in MODIFIERS:
        if normalized in (value, name):
            return value
    raise InvalidModifier(text)


@dataclass(frozen=True)
class HotKey:
    """The server's HotkeySpec: key, a set of modifiers, mode, taps, repeat."""

    key: str
    modifiers: frozenset[str]
    activation_mode: str = "pressed"
    tap_count: int = 1
    allow_repeat: bool = False

    def ordered(self) -> list[str]:
        return [value for value, _ in MODIFIERS if value in self.modifiers]

    def km_string(self) -> str:
        return "+".join([*self.ordered(), self.key.lower()])

    def display(self) -> str:
        symbols = "".join(SYMBOLS[m] for m in self.ordered())
        text = symbols + (self.key.upper() if len(self.key) == 1 else self.key.title())
        if self.tap_count > 1:
            text += f" (×{self.tap_count})"
        if self.activation_mode != "pressed":
            text += f" ({self.activation_mode})"
        return text

    def with_string(self, text: str) -> HotKey:
        """The hot key a km string names, with this one's mode, taps and repeat."""
        *modifiers, key = text.split("+")
        return replace(self, key=key, modifiers=frozenset(modifier_value(m) for m in modifiers))


def _key_string(key: str, modifiers: frozenset[str]) -> str:
    return HotKey(key, modifiers).km_string()


def _other_modifier(hotkey: HotKey) -> str | None:
    for extra in ("cmd", "opt", "ctrl"):
        if extra not in hotkey.modifiers:
            return _key_string(hotkey.key, hotkey.modifiers | {extra})
    return None


def _other_key(hotkey: HotKey) -> str | None:
    if len(hotkey.key) == 1 and hotkey.key.isalpha():
        for neighbour in QWERTY_NEIGHBOURS.get(hotkey.key.lower(), ""):
            return _key_string(neighbour, hotkey.modifiers)
    return None


def _other_combo(hotkey: HotKey) -> str | None:
    for combo in OTHER_COMBOS:
        if combo != hotkey.modifiers:
            return _key_string(hotkey.key, combo)
    return None


def conflicts(hotkey: HotKey) -> list[dict[str, Any]]:
    """What the server's conflict check finds (its own lists only)."""
    text = hotkey.km_string()
    found = []
    if text.lower() in SYSTEM_RESERVED:
        found.append(("system", f"Conflicts with system shortcut {text}"))
    if text.lower() in APP_SHORTCUTS:
        app = APP_SHORTCUTS[text.lower()]
        found.append(("application", f"Conflicts with common application shortcut: {app}"))
    return [
        {
            "conflicting_hotkey": text,
            "conflict_type": kind,
            "description": description,
            "macro_name": None,
            "suggestion": _other_modifier(hotkey),
        }
        for kind, description in found
    ]


def alternatives(hotkey: HotKey) -> list[HotKey]:
    """Up to three other hot keys (another modifier, a neighbouring key, another combo)."""
    out: list[HotKey] = []
    for suggestion in (_other_modifier(hotkey), _other_key(hotkey), _other_combo(hotkey)):
        if suggestion and len(out) < 3:
            candidate = hotkey.with_string(suggestion)
            if candidate != hotkey:
                out.append(candidate)
    return out


def _correlation(ctx: ToolContext, modifiers: list[str]) -> str:
    """``hotkey-<hash>``: the server hashes the arguments with Python's per-process
    ``hash()``; a stable hash of the same text stands in for it."""
    text = f"{ctx.args['macro_id']}-{ctx.args['key']}-{modifiers}"
    return f"hotkey-{zlib.crc32(text.encode('utf-8', 'surrogatepass')) - 2**31}"


def _metadata(ctx: ToolContext, correlation: str) -> dict[str, Any]:
    return {
        "timestamp": ctx.utc_timestamp(),
        "correlation_id": correlation,
        "server_version": SERVER_VERSION,
    }


def handle_create_hotkey(ctx: ToolContext) -> Answer:
    """km_create_hotkey_trigger: validate, check conflicts, add the HotKey trigger."""
    args = ctx.args
    given: list[str] = args["modifiers"] or []
    correlation = _correlation(ctx, given)
    macro_id: str = args["macro_id"].strip()
    key: str = args["key"].strip().lower()
    try:
        modifiers = frozenset(modifier_value(m.strip().lower()) for m in given if m.strip())
    except InvalidModifier as problem:
        invalid = failure(
            "INVALID_HOTKEY",
            f"Invalid hotkey specification: {problem}",
            "Check hotkey format and use valid keys and modifiers",
            details={
                "field": "hotkey",
                "value": problem.modifier,
                "validation_error": str(problem),
            },
            error_id=f"validation-{correlation}",
        )
        return {**invalid, "metadata": _metadata(ctx, correlation)}
    hotkey = HotKey(
        key, modifiers, args["activation_mode"], args["tap_count"], args["allow_repeat"]
    )
    if args["check_conflicts"]:
        found = conflicts(hotkey)
        if found:
            return _conflict(ctx, hotkey, found, correlation)
    config = {"key": key, "modifiers": sorted(modifiers), "activation_mode": hotkey.activation_mode}
    try:
        attach_trigger(ctx, macro_id, "hotkey", config)
    except KMProblem as problem:
        error = problem.error
        failed = failure(
            error.code,
            error.message,
            "Check macro exists and system permissions are granted",
            details=error.details,
            error_id=f"creation-{correlation}",
        )
        return {**failed, "metadata": _metadata(ctx, correlation)}
    return {
        "success": True,
        "data": {
            "trigger_id": hotkey.km_string(),
            "macro_id": macro_id,
            "hotkey": {
                "key": key,
                "modifiers": sorted(modifiers),
                "activation_mode": hotkey.activation_mode,
                "tap_count": hotkey.tap_count,
                "allow_repeat": hotkey.allow_repeat,
                "display_string": hotkey.display(),
                "km_string": hotkey.km_string(),
            },
            "creation_time": ctx.utc_timestamp(),
            "conflicts_checked": args["check_conflicts"],
            "status": "active",
        },
        "metadata": {**_metadata(ctx, correlation), "creation_method": "km_create_hotkey_trigger"},
    }


def _conflict(
    ctx: ToolContext, hotkey: HotKey, found: list[dict[str, Any]], correlation: str
) -> Answer:
    details: dict[str, Any] = {
        "hotkey": hotkey.km_string(),
        "conflicts": found,
        "conflict_count": len(found),
    }
    if ctx.args["suggest_alternatives"]:
        details["suggested_alternatives"] = [
            {
                "hotkey": other.km_string(),
                "display": other.display(),
                "modifiers": sorted(other.modifiers),
                "key": other.key,
                "activation_mode": other.activation_mode,
                "tap_count": other.tap_count,
            }
            for other in alternatives(hotkey)
        ]
    conflicted = failure(
        "CONFLICT_ERROR",
        f"Hotkey conflicts detected for {hotkey.display()}",
        "Use suggested alternatives or choose different key combination",
        details=details,
        error_id=f"conflict-{correlation}",
    )
    return {**conflicted, "metadata": _metadata(ctx, correlation)}


# -- km_list_hotkey_triggers ----------------------------------------------------------------

UNIT, RECORD = "␟", "␞"


def _every_trigger(ctx: ToolContext) -> list[dict[str, Any]]:
    """KMClient.list_all_triggers_async: one row per trigger of every macro."""

    def scan() -> str:
        rows = []
        for group, macro in library.all_macros(ctx.km):
            for trigger in macro["triggers"]:
                description, xml = library.trigger_texts(trigger)
                enabled = "true" if macro["enabled"] else "false"
                fields = (group["name"], group["uid"], macro["name"], macro["uid"], enabled)
                rows.append(UNIT.join((*fields, description, xml)) + RECORD)
        return "".join(rows)

    output = run_guarded(ctx, "repeat with grp in (macro groups)", scan)
    rows = []
    for record in [r for r in output.split(RECORD) if r]:
        parts = record.split(UNIT, 6)
        if len(parts) < 7:
            continue
        rows.append(
            {
                "group_name": parts[0],
                "group_id": parts[1],
                "macro_name": parts[2],
                "macro_id": parts[3],
                "macro_enabled": parts[4].strip().lower() == "true",
                "description": parts[5],
                "xml": parts[6],
            }
        )
    return rows


def handle_list_hotkeys(ctx: ToolContext) -> Answer:
    """km_list_hotkey_triggers: every HotKey trigger (of one macro, by exact UUID or name)."""
    metadata = {"timestamp": ctx.utc_timestamp(), "server_version": SERVER_VERSION}
    try:
        rows = _every_trigger(ctx)
    except KMProblem as problem:
        failed = failure(
            "LIST_FAILED", problem.error.message, "Verify Keyboard Maestro is running."
        )
        return {**failed, "metadata": metadata}
    raw = ctx.args["macro_id"]
    wanted = raw.strip() if raw else None
    include = ctx.args["include_conflicts"]
    hotkeys = []
    for row in rows:
        if "<string>HotKey</string>" not in row["xml"]:
            continue
        if wanted and wanted not in (row["macro_id"], row["macro_name"]):
            continue
        entry: dict[str, Any] = {
            "macro_id": row["macro_id"],
            "macro_name": row["macro_name"],
            "macro_enabled": row["macro_enabled"],
            "group_name": row["group_name"],
            "group_id": row["group_id"],
            "display_string": row["description"],
            "xml": row["xml"],
        }
        if include:
            entry.update(conflicts=[], has_conflicts=False)
        hotkeys.append(entry)
    return {
        "success": True,
        "data": {
            "hotkeys": hotkeys,
            "total_count": len(hotkeys),
            "filtered_by_macro": wanted is not None,
            "conflicts_included": include,
        },
        "metadata": metadata,
    }


HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_create_hotkey_trigger": handle_create_hotkey,
    "km_list_hotkey_triggers": handle_list_hotkeys,
}
