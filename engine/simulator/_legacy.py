"""The seed-era tools' handlers, run on the model (they leave the default catalog soon).

The tools only the 2025 server had (``km_clipboard_manager``, ``km_calculator``,
``km_dictionary_manager``, …) keep their handlers (``HANDLERS`` in ``_handlers.py``),
written for the old state shape (:class:`~engine.simulator._legacy_state.SimState`). For
each call the old shape is made from the model (macro groups, macros, variables,
clipboards) plus what only those handlers keep (``state.legacy``); what they change (the
clipboards, and their own records) is written back, so every tool sees one Keyboard
Maestro. None of them changes macros, groups or variables. Their answers carry no
``simulated`` marker and no ``metadata``: the real server sends neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.simulator._context import Call, Handler, ToolFailure
from engine.simulator._legacy_state import STATE_FORMAT, SimState
from engine.simulator.km.state import KMState
from engine.simulator.tools._context import Answer, ToolContext, failure

__all__ = ["KEPT", "MACRO_EXTRAS", "legacy_handler"]

# What only the seed-era handlers keep, in ``state.legacy`` (with ``groups``: uid →
# created_at, and ``macros``: uid → MACRO_EXTRAS, from a version-1 state file).
KEPT = ("clipboard", "named_clipboards", "dictionaries", "executions")
MACRO_EXTRAS = ("template", "parameters", "created_at", "modified_at", "last_used", "use_count")


def legacy_handler(handler: Handler) -> Callable[[ToolContext], Answer]:
    """``handler`` (a seed-era ``Call`` handler) as a handler of the new framework."""

    def run(ctx: ToolContext) -> Answer:
        old = _old_state(ctx.km, ctx.state.legacy, ctx.now.isoformat())
        call = Call(ctx.tool, ctx.args, old, ctx.now)
        try:
            answer: Answer = {"success": True, "data": handler(call)}
        except ToolFailure as problem:
            more = {"details": problem.details} if problem.details else {}
            answer = failure(problem.code, problem.message, problem.suggestion, **more)
        if call.changed:
            _write_back(old, ctx.km, ctx.state.legacy)
        return answer

    run.__doc__ = handler.__doc__
    return run


def _old_state(km: KMState, legacy: dict[str, Any], now: str) -> SimState:
    data = {"format": STATE_FORMAT, "version": 1, **{k: legacy[k] for k in KEPT if k in legacy}}
    old = SimState.from_json(data)
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
    km.clipboards = [str(r["content"]) for r in old.clipboard]
    km.named_clipboards = {n: str(r["content"]) for n, r in old.named_clipboards.items()}
    saved = old.to_json()
    for key in KEPT:
        legacy[key] = saved[key]
