"""The older handlers, run on the new state until their tools are rebuilt (then this goes).

Tools not yet rebuilt on the model of Keyboard Maestro (the seed-era tools such as
``km_clipboard_manager``, and current ones still in progress) keep their handlers
(``HANDLERS`` in ``_handlers.py``), written for the old state shape
(:class:`~engine.simulator._legacy_state.SimState`). For each call the old shape is made
from the model (macro groups, macros, variables, clipboards) plus what only those
handlers keep (``state.legacy``), and what the handler changed is written back, so every
tool sees one Keyboard Maestro. Their answers lose the old ``simulated`` marker and
``metadata``: the real server sends neither.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.simulator._context import Call, Handler, ToolFailure
from engine.simulator._legacy_state import STATE_FORMAT, SimState, uid
from engine.simulator.km import library
from engine.simulator.km.state import KMState
from engine.simulator.tools._context import Answer, ToolContext

__all__ = ["KEPT", "MACRO_EXTRAS", "legacy_handler"]

# The parts of the old state only the old handlers use, kept in ``state.legacy``
# (with ``groups``: uid → created_at, and ``macros``: uid → MACRO_EXTRAS).
KEPT = ("clipboard", "named_clipboards", "dictionaries", "executions", "counters")
MACRO_EXTRAS = ("template", "parameters", "created_at", "modified_at", "last_used", "use_count")


def legacy_handler(handler: Handler) -> Callable[[ToolContext], Answer]:
    """``handler`` (an old ``Call`` handler) as a handler of the new framework."""

    def run(ctx: ToolContext) -> Answer:
        old = _old_state(ctx.km, ctx.state.legacy, ctx.now.isoformat())
        call = Call(ctx.tool, ctx.args, old, ctx.now)
        try:
            answer: Answer = {"success": True, "data": handler(call)}
        except ToolFailure as failure:
            error: dict[str, Any] = {
                "code": failure.code,
                "message": failure.message,
                "recovery_suggestion": failure.suggestion,
            }
            if failure.details:
                error["details"] = failure.details
            answer = {"success": False, "error": error}
        if call.changed:
            _write_back(old, ctx.km, ctx.state.legacy)
        return answer

    run.__doc__ = handler.__doc__
    return run


def _old_state(km: KMState, legacy: dict[str, Any], now: str) -> SimState:
    data = {"format": STATE_FORMAT, "version": 1, **{k: legacy[k] for k in KEPT if k in legacy}}
    old = SimState.from_json(data)
    # Ids the old handlers mint (``uid(n)``) must not collide with the model's own.
    taken = [_legacy_number(g["uid"]) for g in km.groups]
    taken += [_legacy_number(m["uid"]) for _, m in library.all_macros(km)]
    old.counters["uid"] = max([old.counters.get("uid", 0), *taken])
    old.variables = {"global": dict(km.variables), "password": dict(km.password_variables)}
    old.clipboard = _records(old.clipboard, km.clipboards, now)
    old.named_clipboards = {
        name: (
            record
            if (record := old.named_clipboards.get(name)) and record["content"] == text
            else {"name": name, "content": text, "tags": [], "created_at": now}
        )
        for name, text in km.named_clipboards.items()
    }
    extras: Mapping[str, Any] = legacy.get("macros", {})
    for group in km.groups:
        old.groups[group["uid"]] = {
            "id": group["uid"],
            "name": group["name"],
            "enabled": group["enabled"],
            "created_at": legacy.get("groups", {}).get(group["uid"], now),
        }
        for macro in group["macros"]:
            extra = extras.get(macro["uid"], {})
            old.macros[macro["uid"]] = {
                "id": macro["uid"],
                "name": macro["name"],
                "group_id": group["uid"],
                "enabled": macro["enabled"],
                "template": extra.get("template", "custom"),
                "parameters": extra.get("parameters", {}),
                "created_at": extra.get("created_at", now),
                "modified_at": extra.get("modified_at", now),
                "last_used": extra.get("last_used"),
                "use_count": extra.get("use_count", 0),
                "triggers": macro["triggers"],
                "actions": macro["actions"],
            }
    return old


_LEGACY_UID = re.compile(re.escape(uid(0)[:-12]) + "([0-9A-F]{12})")


def _legacy_number(identifier: str) -> int:
    """n for an id ``uid(n)`` made by the old handlers; 0 for any other id."""
    match = _LEGACY_UID.fullmatch(identifier)
    return int(match.group(1), 16) if match else 0


def _records(records: list[dict[str, Any]], texts: list[str], now: str) -> list[dict[str, Any]]:
    """Clipboard records for the model's clipboard texts (kept where the text is the same)."""
    out = []
    for index, text in enumerate(texts):
        record = records[index] if index < len(records) else None
        if record is None or record.get("content") != text:
            record = {
                "content": text,
                "format": "text",
                "timestamp": now,
                "size_bytes": len(text.encode("utf-8", "surrogatepass")),
            }
        out.append(record)
    return out


def _write_back(old: SimState, km: KMState, legacy: dict[str, Any]) -> None:
    km.variables = dict(old.variables.get("global", {}))
    km.password_variables = dict(old.variables.get("password", {}))
    km.clipboards = [str(r["content"]) for r in old.clipboard]
    km.named_clipboards = {n: str(r["content"]) for n, r in old.named_clipboards.items()}
    saved = old.to_json()
    for key in KEPT:
        legacy[key] = saved[key]
    legacy["groups"] = {gid: g.get("created_at") for gid, g in old.groups.items()}
    legacy["macros"] = {mid: {k: m.get(k) for k in MACRO_EXTRAS} for mid, m in old.macros.items()}
    _write_library(old, km)


def _write_library(old: SimState, km: KMState) -> None:
    """Groups and macros as the old handler left them; the model's order is kept, and
    macros moved or made by the handler go last in their group."""
    groups = {g["uid"]: g for g in km.groups}
    macros = {m["uid"]: m for _, m in library.all_macros(km)}
    kept: list[dict[str, Any]] = []
    for gid, record in old.groups.items():
        group = groups.get(gid) or {"uid": gid, "active": True, "macros": []}
        group.update(name=record["name"], enabled=record["enabled"])
        group["macros"] = [
            m for m in group["macros"] if old.macros.get(m["uid"], {}).get("group_id") == gid
        ]
        kept.append(group)
    by_uid = {g["uid"]: g for g in kept}
    for mid, record in old.macros.items():
        macro = macros.get(mid) or library.new_macro(km, record["name"], uid=mid)
        macro.update(
            name=record["name"],
            enabled=record["enabled"],
            triggers=record["triggers"],
            actions=record["actions"],
        )
        members = by_uid[record["group_id"]]["macros"]
        if not any(m is macro for m in members):
            members.append(macro)
    km.groups = kept
