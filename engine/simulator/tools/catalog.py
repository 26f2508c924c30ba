"""km_list_action_types and km_search_actions: the action types the server can build.

Neither reaches Keyboard Maestro. Both answer from the server's catalog as its recorded
answers show it (``engine/data/km_action_catalog.json``, written from
``tests/data/km_server/`` by ``scripts/km_server/catalog.py``) plus the plug-ins installed
in Keyboard Maestro's plug-in folder:

- km_list_action_types: the six built-in types and every installed plug-in, read afresh
  at each call; filtered by ``category`` and a ``search`` text (both ignoring case).
- km_search_actions: the 145 catalog entries and the plug-ins installed when it was first
  called (the server builds its index once per process). An empty query lists them by
  category then identifier, exactly as the server does. A query is ranked by the
  simulator's own method (:func:`score`), not the server's (rapidfuzz over curated fields
  it never sends): the same candidates and answer shape, other scores and order.

>>> score("speak text", {"identifier": "speak_text", "title": "Speak Text",
...     "description": "Speak text aloud.", "category": "system", "keywords": ["say"]})
(0.7, ['identifier', 'title', 'description'])
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from engine.resources import data_text
from engine.simulator.tools.context import Answer, ToolContext
from engine.simulator.tools.plugins import installed_plugins

__all__ = ["HANDLERS", "catalog", "score"]

REGISTRY_VERSION = "2.0.0"
RANKER = "rapidfuzz-WRatio-field-weighted"  # the server's name, sent as it sends it
# The simulator's ranking: how much a field counts, and from what share of the query's
# words found in it a field is reported in ``matched_fields``.
FIELD_WEIGHTS: Mapping[str, float] = {
    "identifier": 3.0,
    "title": 3.0,
    "description": 1.0,
    "category": 1.0,
    "keywords": 2.0,
}
MATCHED = 0.5
_WORDS = re.compile(r"[^\W_]+")


@cache
def catalog() -> dict[str, Any]:
    """The recorded catalog (``action_types``, ``actions``, ``templates``, …)."""
    data: dict[str, Any] = json.loads(data_text("km_action_catalog.json"))
    return data


# -- km_list_action_types ---------------------------------------------------------------------


def _plugin_type(spec: dict[str, Any]) -> dict[str, Any]:
    parameters = spec["parameters"]
    return {
        "identifier": spec["identifier"],
        "category": "plug_in",
        "description": spec["help"] or spec["title"],
        "keywords": spec["keywords"],
        "required_parameters": [p["label"] for p in parameters],
        "optional_parameters": [],
        "parameter_count": len(parameters),
        "plugin_metadata": {
            "title": spec["title"],
            "result_targets": spec["result_targets"],
            "parameter_types": [p["type"] for p in parameters],
            "bundle_path": spec["bundle_path"],
            "author": spec["author"],
            "help_url": spec["help_url"],
        },
    }


def handle_list_action_types(ctx: ToolContext) -> Answer:
    """km_list_action_types: built-ins and installed plug-ins, filtered, then cut to ``limit``."""
    correlation = ctx.uuid4()
    category, search, limit = ctx.args["category"], ctx.args["search"], ctx.args["limit"]
    builtins = catalog()["action_types"]
    plugins = installed_plugins(ctx)
    found = [*builtins, *(_plugin_type(p) for p in plugins)]
    if category:
        found = [e for e in found if e["category"] == category.lower()]
    if search:
        needle = search.lower()
        found = [
            e
            for e in found
            if needle in e["identifier"].lower() or needle in e["description"].lower()
        ]
    counts: dict[str, int] = {}
    for entry in builtins:
        counts[entry["category"]] = counts.get(entry["category"], 0) + 1
    if plugins:
        counts["plug_in"] = len(plugins)
    return {
        "success": True,
        "data": {
            "actions": found[:limit],
            "summary": {
                "total_available": len(builtins) + len(plugins),
                "total_found": len(found),
                "returned": len(found[:limit]),
                "filtered_by_category": category,
                "filtered_by_search": search,
                "limit_applied": limit,
            },
            "categories": counts,
        },
        "metadata": {
            "timestamp": ctx.utc_timestamp(),
            "correlation_id": correlation,
            "registry_version": REGISTRY_VERSION,
        },
    }


# -- km_search_actions ------------------------------------------------------------------------


def _plugin_entry(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "identifier": spec["identifier"],
        "category": "plug_in",
        "title": spec["title"],
        "description": spec["help"] or spec["title"],
        "keywords": spec["keywords"],
        "builder_supported": True,
        "result_targets": spec["result_targets"],
        "macro_action_type": None,
    }


def _index(ctx: ToolContext) -> list[dict[str, Any]]:
    """The catalog and the plug-ins installed when the server first searched."""
    if ctx.server.search_plugins is None:
        ctx.server.search_plugins = [_plugin_entry(p) for p in installed_plugins(ctx)]
    return [*catalog()["actions"], *ctx.server.search_plugins]


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(text)]


def score(query: str, entry: Mapping[str, Any]) -> tuple[float, list[str]]:
    """The simulator's relevance of ``entry`` to ``query``, in [0, 1], and its matched fields.

    Each field (the identifier, title, description, category, keywords) scores the share of
    the query's words that begin one of its words, ignoring case; the score is the mean of
    those shares weighted by ``FIELD_WEIGHTS``, rounded to four places. A field is matched
    when at least half the query's words are found in it.
    """
    wanted = _words(query)
    total, matched = 0.0, []
    for name, weight in FIELD_WEIGHTS.items():
        value = entry.get(name)
        text = " ".join(value) if isinstance(value, list) else str(value or "")
        words = _words(text)
        found = sum(1 for w in wanted if any(word.startswith(w) for word in words))
        share = found / len(wanted) if wanted else 0.0
        if share >= MATCHED:
            matched.append(name)
        total += weight * share
    return round(total / sum(FIELD_WEIGHTS.values()), 4), matched


def _filtered(entries: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    category, buildable, target = args["category"], args["builder_supported"], args["result_target"]
    return [
        e
        for e in entries
        if (category is None or e["category"] == category)
        and (buildable is None or e["builder_supported"] == buildable)
        and (target is None or target in e["result_targets"])
    ]


def _result(entry: dict[str, Any], relevance: float, matched: list[str]) -> dict[str, Any]:
    return {
        "identifier": entry["identifier"],
        "category": entry["category"],
        "title": entry["title"],
        "description": entry["description"],
        "keywords": list(entry["keywords"]),
        "builder_supported": entry["builder_supported"],
        "result_targets": list(entry["result_targets"]),
        "score": relevance,
        "matched_fields": matched,
        "macro_action_type": entry["macro_action_type"] or None,
    }


def handle_search_actions(ctx: ToolContext) -> Answer:
    """km_search_actions: the filtered index, listed (empty query) or ranked."""
    correlation = ctx.uuid4()
    args = ctx.args
    query, limit = args["query"], args["limit"]
    entries = sorted(_filtered(_index(ctx), args), key=lambda e: (e["category"], e["identifier"]))
    if not query.strip():
        results = [_result(e, 0.0, []) for e in entries[:limit]]
    else:
        scored = [(*score(query, e), e) for e in entries]
        ranked = sorted((s for s in scored if s[0] >= args["min_score"]), key=lambda s: -s[0])
        results = [_result(e, relevance, matched) for relevance, matched, e in ranked[:limit]]
    filters = {
        "category": args["category"],
        "builder_supported": args["builder_supported"],
        "result_target": args["result_target"],
        "min_score": args["min_score"],
    }
    return {
        "success": True,
        "data": {
            "actions": results,
            "summary": {
                "query": query,
                "returned": len(results),
                "filters": filters,
                "limit": limit,
                "semantic": False,
            },
        },
        "metadata": {
            "timestamp": ctx.utc_timestamp(),
            "correlation_id": correlation,
            "ranker": RANKER,
        },
    }


HANDLERS: dict[str, Callable[[ToolContext], Answer]] = {
    "km_list_action_types": handle_list_action_types,
    "km_search_actions": handle_search_actions,
}
