"""The real Keyboard Maestro MCP server's recorded answers, and a comparison of answers with them.

The recordings (``tests/data/km_server/``, see its README) are facts of the server at the
commit in ``meta.json``. :func:`compare` says how another answer differs from a recorded
one: outcome (success / ``isError``), error code, shape (keys, nesting, JSON types) and
values, except where a value changes from run to run by nature (``VARIABLE_FIELDS``):
those are checked for their format only.

>>> compare({"success": True, "data": {"n": 1}}, {"success": True, "data": {"n": "1"}})
['data.n: recorded a whole number (1), ours text ("1")']
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "tests" / "data" / "km_server"
CORPUS = ROOT / "scripts" / "km_server" / "corpus.yaml"

_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# UUIDs that are facts of the seed or the model (which mints them from a counter); any
# other UUID in an answer was minted at run time (uuid4 in the server) and varies per run.
FIXED_UUID_PREFIXES = ("5EED0000-", "9A1F0000-", "4B4D0000-")


def _iso_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


FORMATS: Mapping[str, Callable[[Any], bool]] = {
    "ISO date-time text": _iso_datetime,
    "number": _number,
    "whole number": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "text": lambda v: isinstance(v, str) and bool(v),
    "notification id (notification_<n>_<epoch>)": lambda v: (
        isinstance(v, str) and re.fullmatch(r"notification_\d+_\d+", v) is not None
    ),
}

# Fields whose values differ from run to run, by key name, with the format they must have.
# Everything else is compared by value.
VARIABLE_FIELDS: Mapping[str, str] = {
    # clock readings (the server's own clock, not the model's)
    "timestamp": "ISO date-time text",
    "queried_at": "ISO date-time text",
    "creation_time": "ISO date-time text",
    "creation_timestamp": "ISO date-time text",
    "start_time": "number",  # epoch seconds
    # the Mac's clock and what it stamped, in the model's state (the stand-in's clock
    # stood still during a recording; the simulator's moves as the server spends time)
    "clock": "ISO date-time text",
    "created": "number",  # a macro's, seconds since 2001
    "modified": "number",
    "at": "ISO date-time text",  # an execution's, in the log
    # durations
    "display_time": "number",
    "execution_time": "number",
    "processing_time": "number",
    "reload_time_seconds": "number",
    "duration_seconds": "number",
    "operation_time": "number",
    "execution_time_ms": "whole number",
    "duration_ms": "whole number",
    # ids made per call (uuid4, or Python's per-process hash() of the arguments)
    "correlation_id": "text",
    "execution_id": "text",
    "processing_id": "text",
    "stats_id": "text",
    "error_id": "text",
    "notification_id": "notification id (notification_<n>_<epoch>)",
}


def _ranked_search(holder: Mapping[str, Any]) -> bool:
    """The ``data`` of a km_search_actions answer to a query (not an empty-query listing)."""
    summary = holder.get("summary")
    return (
        isinstance(summary, Mapping)
        and "semantic" in summary
        and bool(str(summary.get("query", "")).strip())
    )


# What is compared by shape only (keys, nesting, JSON types; not values, nor how many items
# a list holds), when ``applies`` says so of the object holding it; every other value is
# compared exactly. Each entry is a known difference, documented in docs/simulator.md.
SHAPE_ONLY_FIELDS: Mapping[str, tuple[Callable[[Mapping[str, Any]], bool], str]] = {
    # km_window_manager caches a window's geometry for 2 s: the answer to a change (move,
    # resize, minimize, arrange…) shows the window before or after it, depending on how
    # long the calls inside it took. get_info answers are facts.
    "window": (
        lambda holder: holder.get("operation") != "get_info",
        "a window read through a 2-second cache",
    ),
    # km_search_actions ranks a query with rapidfuzz's WRatio over curated fields it never
    # sends (task hints, parameter labels) and its own field weights; the simulator ranks
    # the recorded catalog by its own documented method (engine/simulator/tools/catalog.py
    # ``score``). Same candidates and entries, other scores, matched fields and order; how
    # many results there are is still compared (``summary.returned``), and so is an
    # empty-query listing, entry for entry.
    "actions": (_ranked_search, "search results ranked by another method"),
}

# Lists whose order changes from run to run: compared as collections.
UNORDERED_FIELDS: Mapping[str, str] = {
    # km_create_hotkey_trigger lists a Python set of modifiers; its order follows string
    # hashing, which changes with every server process.
    "modifiers": "a set: any order",
}


def type_name(value: Any) -> str:
    """The JSON type, in the words users see."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


# Parts of text that differ from run to run, replaced before text is compared.
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")  # the server's clock, in text
_MINTED_CODE = re.compile(r"^([A-Za-z]+_[A-Za-z]+_)[0-9a-f]{8}$")  # CATEGORY_CLASS_<uuid4[:8]>


def _mask(text: str) -> str:
    """``text`` with run-time UUIDs, clock readings and minted error-code suffixes masked."""
    text = _UUID.sub(
        lambda m: m.group(0) if m.group(0).upper().startswith(FIXED_UUID_PREFIXES) else "<uuid>",
        text,
    )
    text = _LOCAL_TIME.sub("<time>", text)
    return _MINTED_CODE.sub(r"\1<id>", text)


def answer_of(result: Any) -> tuple[bool, Any]:
    """``(is_error, answer)`` of a recorded MCP result, or of a bare answer envelope."""
    if isinstance(result, dict) and "protocol_error" in result:
        return True, {"protocol_error": result["protocol_error"]}
    if isinstance(result, dict) and ("structured_content" in result or "content" in result):
        answer = result.get("structured_content")
        if answer is None:
            content = result.get("content") or []
            first = content[0] if content else {}
            answer = first.get("json", first.get("text"))
        return bool(result.get("is_error")), answer
    return False, result


def error_code(answer: Any) -> str | None:
    """The error code of a failure answer (``error.code``, or ``error`` when it is text)."""
    if not isinstance(answer, dict) or answer.get("success") is not False:
        return None
    error = answer.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        return code if isinstance(code, str) else None
    return error if isinstance(error, str) else None


def compare(recorded: Any, ours: Any) -> list[str]:
    """How ``ours`` differs from ``recorded``: one line per difference, [] when none.

    Both may be recorded MCP results (``is_error``/``content``/``structured_content``) or
    bare answers. Outcome and error code come first, then every difference of shape or
    value, each with its path (``data.macros[0].name``).
    """
    recorded_error, recorded_answer = answer_of(recorded)
    our_error, our_answer = answer_of(ours)
    out: list[str] = []
    if recorded_error != our_error:
        out.append(f"isError: recorded {recorded_error}, ours {our_error}")
    recorded_code, our_code = error_code(recorded_answer), error_code(our_answer)
    code_differs = _masked(recorded_code) != _masked(our_code)
    if code_differs:
        out.append(f"error code: recorded {recorded_code}, ours {our_code}")
    for line in _differences(recorded_answer, our_answer, ""):
        if not (code_differs and line.startswith(("error.code:", "error:"))):
            out.append(line)
    return out


def _masked(code: str | None) -> str | None:
    return _mask(code) if code is not None else None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _differences(recorded: Any, ours: Any, path: str, *, shape_only: bool = False) -> Iterator[str]:
    """Differences under ``path``; with ``shape_only``, scalars are compared by type alone
    and lists item by item while both have items."""
    key = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if key in VARIABLE_FIELDS and not isinstance(recorded, dict | list):
        fmt = VARIABLE_FIELDS[key]
        check = FORMATS[fmt]
        if check(recorded) and not check(ours):
            yield f"{path}: recorded {fmt}, ours {type_name(ours)} ({_shown(ours)})"
        return
    if type_name(recorded) != type_name(ours):
        yield (
            f"{path or 'the answer'}: recorded {type_name(recorded)} ({_shown(recorded)}), "
            f"ours {type_name(ours)} ({_shown(ours)})"
        )
        return
    if isinstance(recorded, dict):
        for name in recorded:
            if name not in ours:
                yield f"{_join(path, name)}: missing (recorded {_shown(recorded[name])})"
            else:
                by_shape = name in SHAPE_ONLY_FIELDS and SHAPE_ONLY_FIELDS[name][0](recorded)
                yield from _differences(
                    recorded[name],
                    ours[name],
                    _join(path, name),
                    shape_only=shape_only or by_shape,
                )
        for name in ours:
            if name not in recorded:
                yield f"{_join(path, name)}: not in the recorded answer (ours {_shown(ours[name])})"
        return
    if isinstance(recorded, list):
        if key in UNORDERED_FIELDS:
            recorded, ours = _sorted(recorded), _sorted(ours)
        if len(recorded) != len(ours) and not shape_only:
            yield f"{path}: recorded {len(recorded)} items, ours {len(ours)}"
        for index, (a, b) in enumerate(zip(recorded, ours, strict=False)):
            yield from _differences(a, b, _join(path, index), shape_only=shape_only)
        return
    if shape_only:
        return
    if isinstance(recorded, str) and _mask(recorded) == _mask(ours):
        return
    if recorded != ours:
        yield f"{path or 'the answer'}: recorded {_shown(recorded)}, ours {_shown(ours)}"


def _sorted(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


# -- loading ---------------------------------------------------------------------------


def load_json(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def load_corpus() -> dict[str, Any]:
    corpus: dict[str, Any] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return corpus


def load_recordings() -> dict[str, dict[str, Any]]:
    """Every recorded scenario, by name."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((DATA / "scenarios").glob("*.json"))
    }


def recorded_calls() -> Iterator[tuple[str, dict[str, Any]]]:
    """``(scenario name, call)`` for every recorded call, in order."""
    for name, recording in load_recordings().items():
        for call in recording["calls"]:
            yield name, call


# -- the action catalog, as recorded -----------------------------------------------------

CATALOG_DATA = ROOT / "engine" / "data" / "km_action_catalog.json"


def _answers(recording: dict[str, Any], tool: str) -> Iterator[tuple[dict[str, Any], Any]]:
    """``(arguments, answer)`` of the recording's successful calls of ``tool``."""
    for call in recording["calls"]:
        is_error, answer = answer_of(call["result"])
        if call["tool"] == tool and not is_error and answer.get("success"):
            yield call["arguments"], answer


def action_catalog() -> dict[str, Any]:
    """The server's action catalog, from its recorded answers (what
    ``engine/data/km_action_catalog.json`` holds; ``scripts/km_server/catalog.py`` writes it):

    - ``action_types``: km_list_action_types' entries with no plug-in installed (its
      listing of everything, ``limit: 200``);
    - ``actions``: km_search_actions' catalog, from its listing of each category (an empty
      query and ``limit: 100``), without the per-query ``score`` and ``matched_fields``;
    - ``templates``: the action templates of the server's data file (km_refresh_action_templates'
      ``unchanged`` when nothing was captured), and ``template_file_entries``: the entries of
      that file (``diff.captured_before``: the templates and its ``_meta``).
    """
    recordings = load_recordings()
    catalog = recordings["action_catalog"]
    types = next(
        a for args, a in _answers(catalog, "km_list_action_types") if args == {"limit": 200}
    )
    actions = [
        {k: v for k, v in entry.items() if k not in ("score", "matched_fields")}
        for args, answer in _answers(catalog, "km_search_actions")
        if set(args) == {"category", "limit"}
        for entry in answer["data"]["actions"]
    ]
    refresh = next(
        a for _, a in _answers(recordings["refresh_templates"], "km_refresh_action_templates")
    )
    return {
        "source": (
            "Answers of the Keyboard Maestro MCP server (commit "
            f"{load_json('meta.json')['server']['commit'][:7]}) recorded in "
            "tests/data/km_server/scenarios/action_catalog.json and refresh_templates.json; "
            "written by scripts/km_server/catalog.py"
        ),
        "action_types": types["data"]["actions"],
        "actions": sorted(actions, key=lambda a: (a["category"], a["identifier"])),
        "templates": refresh["data"]["unchanged"],
        "template_file_entries": refresh["data"]["diff"]["captured_before"],
        "action_templates": _captured_templates(recordings["control_flow"]),
    }


def _captured_templates(recording: dict[str, Any]) -> dict[str, Any]:
    """The templates of catalog actions appended with nothing set, by MacroActionType: the
    action the server wrote, as the model's state holds it after the scenario (the call
    whose note says so wraps it in a Try/Catch, the macro's last action)."""
    found: dict[str, Any] = {}
    for call in recording["calls"]:
        if not call["note"].startswith("a catalog action"):
            continue
        name = call["arguments"]["macro_identifier"]
        macro = next(
            m for g in recording["state_after"]["groups"] for m in g["macros"] if m["name"] == name
        )
        for action in macro["actions"][-1]["TryActions"]:
            found[action["MacroActionType"]] = action
    return found
