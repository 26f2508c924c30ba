"""The simulator answers every recorded call as the real Keyboard Maestro MCP server did.

Each scenario of ``tests/data/km_server/`` is replayed on a Simulator built from the
scenario's seed (on a machine without osascript when it was recorded without one), with
the arguments as the recorder sent them, in order; each answer is compared with the
recorded one by ``compare`` (outcome, error code, shape, and every value that does not
change from run to run). One test per recorded call of every tool: ``scenario#index
tool``; and one test per scenario that the model ends in the state the stand-in's model
ended in (what the server made Keyboard Maestro do).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

import pytest

from engine.simulator import Simulator
from engine.tools.bridge.results import ToolResult
from tests.simulator.km_server_answers import (
    compare,
    load_corpus,
    load_json,
    load_recordings,
)

# What "{home}" stands for in the recorded arguments (the server's home and working folder).
HOME = "/Users/kmuser"

RECORDINGS = load_recordings()
CORPUS = {scenario["name"]: scenario for scenario in load_corpus()["scenarios"]}


def _simulator(scenario: str) -> Simulator:
    recording = RECORDINGS[scenario]
    seed = load_json(f"seeds/{recording['seed']}.json")
    if not recording["standin"]:
        seed["system"]["osascript"] = False  # recorded on a machine without osascript
    moment = datetime.fromisoformat(seed["clock"])
    return Simulator(seed=seed, clock=lambda: moment)


def _arguments(value: Any, answers: list[Any]) -> Any:
    """The arguments as the recorder sent them: ``{home}`` replaced, ``$from`` taken from
    our own earlier answer (ids are made at run time)."""
    if isinstance(value, str):
        return value.replace("{home}", HOME)
    if isinstance(value, list):
        return [_arguments(item, answers) for item in value]
    if isinstance(value, dict) and "$from" in value:
        found = answers[value["$from"]]
        for part in value["path"].split("."):
            found = found[part]
        return found
    if isinstance(value, dict):
        return {key: _arguments(item, answers) for key, item in value.items()}
    return value


@cache
def _replayed(scenario: str) -> tuple[tuple[ToolResult, ...], dict[str, Any]]:
    """Every call of the scenario, in order, on one simulator; the model's state after."""
    simulator = _simulator(scenario)
    results: list[ToolResult] = []
    answers: list[Any] = []
    for call in CORPUS[scenario]["calls"]:
        result = simulator.result(call["tool"], _arguments(call.get("arguments", {}), answers))
        results.append(result)
        answers.append(result.structured)
    return tuple(results), simulator.snapshot()["keyboard_maestro"]


def _replay(scenario: str) -> tuple[ToolResult, ...]:
    return _replayed(scenario)[0]


def _relocated(value: Any) -> Any:
    """``value`` with the home folder written ``{home}``, as the recorder writes the server's
    (temporary) one."""
    if isinstance(value, str):
        return value.replace(HOME, "{home}")
    if isinstance(value, list):
        return [_relocated(item) for item in value]
    if isinstance(value, dict):
        return {key: _relocated(item) for key, item in value.items()}
    return value


def _recorded_form(result: ToolResult) -> dict[str, Any]:
    """Our result in the recordings' form (``is_error``, ``content``, ``structured_content``),
    paths relocated as in the recordings."""
    text = _relocated(result.text)
    item: dict[str, Any] = {"type": "text", "text": text}
    if result.structured is not None:
        item["json"] = json.loads(text)
    return {
        "is_error": result.is_error,
        "content": [item],
        "structured_content": _relocated(result.structured),
    }


def _cases() -> list[Any]:
    cases = []
    for name, recording in RECORDINGS.items():
        for call in recording["calls"]:
            where = f"{name}#{call['index']} {call['tool']}"
            cases.append(pytest.param(name, call, id=where))
    return cases


@pytest.mark.parametrize(("scenario", "call"), _cases())
def test_the_simulator_answers_as_the_server_did(scenario: str, call: dict[str, Any]) -> None:
    ours = _recorded_form(_replay(scenario)[call["index"]])
    assert compare(call["result"], ours) == []
    if ours["structured_content"] is not None:  # the same JSON twice, as the server sends it
        assert ours["content"][0]["json"] == ours["structured_content"]


@pytest.mark.parametrize("scenario", sorted(RECORDINGS))
def test_the_model_ends_as_the_servers_did(scenario: str) -> None:
    """What the server made Keyboard Maestro do (the actions and triggers it wrote, the
    macros it made, moved or rebuilt) is what the stand-in's model holds after the
    scenario; recorded without osascript, Keyboard Maestro was never reached, and the
    model ends as it began."""
    ours = _replayed(scenario)[1]
    # The server wrote plug-in bundles to its (temporary) disk, which the stand-in's state
    # does not hold; the simulator keeps them in the model.
    ours["system"].pop("plugin_bundles", None)
    expected = RECORDINGS[scenario]["state_after"]
    if expected is None:
        expected = _simulator(scenario).snapshot()["keyboard_maestro"]
    assert compare(expected, ours) == []
