"""km_add_condition, km_control_flow, the action catalog, plug-in actions and template refresh,
beyond their recorded calls (those are replayed in test_differential.py).

Each case follows the server's source where no recording shows the behaviour; the answers
are the server's, word for word, except where docs/simulator.md says the simulator differs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.simulator import Simulator
from engine.simulator._state import default_seed
from engine.simulator.km.state import KMState, StateError
from tests.simulator.conftest import KM, FakeClock

PLUGINS = "/Users/kmuser/Library/Application Support/Keyboard Maestro/Keyboard Maestro Actions"
SCRIPT = "#!/bin/sh\necho hi\n"


def _plugin(km: KM, name: str, **more: Any) -> dict[str, Any]:
    return km.ok(
        "km_create_plugin_action",
        output_dir=PLUGINS,
        name=name,
        title=f"{name} %Param%Words%",
        script_source=SCRIPT,
        **more,
    )


def _actions(sim: Simulator, macro: str) -> list[dict[str, Any]]:
    groups = sim.snapshot()["keyboard_maestro"]["groups"]
    return next(m["actions"] for g in groups for m in g["macros"] if m["name"] == macro)


def _seeded(**system: Any) -> Simulator:
    seed = default_seed()
    seed["system"].update(system)
    return Simulator(seed=seed, clock=FakeClock())


# -- km_create_plugin_action: bundles live in the model, never on a disk -------------------


def test_a_plugin_bundle_is_written_into_the_model_not_to_the_disk(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "Library").mkdir(parents=True)
    sim = _seeded(home=str(home))
    answer = sim.call(
        "km_create_plugin_action",
        {"output_dir": str(home), "name": "Shout", "title": "Shout", "script_source": SCRIPT},
    )
    assert answer["data"]["bundle_path"] == f"{home}/Shout.kmactions"
    assert sorted(p.name for p in home.rglob("*")) == ["Library"]  # nothing written
    bundle = sim.snapshot()["keyboard_maestro"]["system"]["plugin_bundles"][
        f"{home}/Shout.kmactions"
    ]
    assert bundle == {
        "plist": {
            "Name": "Shout",
            "Title": "Shout",
            "Script": "script",
            "Results": "Variable",
            "Parameters": [],
        },
        "script": {"name": "script", "text": SCRIPT},
        "icon": False,
    }


def test_an_installed_plugin_can_be_appended_and_used_inside_control_flow(
    km: KM, sim: Simulator
) -> None:
    _plugin(km, "Shout", parameters=[{"Label": "Words", "Type": "String"}])
    inner = {"type": "plug_in", "plugin_identifier": "Shout", "parameters": {"Words": "hey"}}
    km.ok(
        "km_control_flow",
        macro_identifier="Hello World",
        control_type="try_catch",
        try_actions=[inner],
    )
    action = _actions(sim, "Hello World")[-1]["TryActions"][0]
    assert action["MacroActionType"] == "PlugIn"
    assert action["PlugInFolderName"] == "Shout.kmactions"
    assert action["PlugInParameters"] == {"Words": "hey"}


def test_the_working_folder_bounds_where_bundles_go() -> None:
    sim = _seeded(cwd="/Users/kmuser/Work", folders=["/Users/kmuser/Work"])
    arguments = {"name": "X", "title": "X", "script_source": SCRIPT}
    refused = sim.call("km_create_plugin_action", {"output_dir": "/Users/kmuser", **arguments})
    assert refused["error"]["message"] == (
        "output_dir /Users/kmuser is outside the working directory /Users/kmuser/Work; "
        "path traversal blocked"
    )
    made = sim.call("km_create_plugin_action", {"output_dir": "/Users/kmuser/Work/", **arguments})
    assert made["data"]["bundle_path"] == "/Users/kmuser/Work/X.kmactions"


def test_an_unhashable_parameter_type_crashes_the_servers_code(sim: Simulator) -> None:
    result = sim.result(
        "km_create_plugin_action",
        {
            "output_dir": "/Users/kmuser",
            "name": "X",
            "title": "X",
            "script_source": SCRIPT,
            "parameters": [{"Label": "P", "Type": ["String"]}],
        },
    )
    assert result.is_error
    assert result.text == "Error calling tool 'km_create_plugin_action': unhashable type: 'list'"


def test_replacing_a_bundle_removes_what_was_inside_it(km: KM, sim: Simulator) -> None:
    _plugin(km, "Outer")
    km.ok(
        "km_create_plugin_action",
        output_dir=f"{PLUGINS}/Outer.kmactions",
        name="Inner",
        title="Inner",
        script_source=SCRIPT,
    )
    _plugin(km, "Outer", on_existing="replace")
    bundles = sim.snapshot()["keyboard_maestro"]["system"]["plugin_bundles"]
    assert sorted(bundles) == [f"{PLUGINS}/Outer.kmactions"]


# -- reading installed plug-ins ---------------------------------------------------------------


def test_the_plugin_listing_reads_bundles_as_the_server_does() -> None:
    def bundle(plist: dict[str, Any]) -> dict[str, Any]:
        return {"plist": plist, "script": {"name": "script", "text": ""}, "icon": False}

    sim = _seeded(
        plugin_bundles={
            f"{PLUGINS}/A.kmactions": bundle(
                {
                    "Name": "A",
                    "Title": "A",
                    "Keywords": ["alt"],
                    "Results": "None|Window",
                    "Parameters": [{"Label": "L"}, {"Type": "String"}, "x"],
                }
            ),
            f"{PLUGINS}/.Hidden.kmactions": bundle({"Name": "Hidden", "Title": "H"}),
            f"{PLUGINS}/NoTitle.kmactions": bundle({"Name": "NoTitle"}),
            f"{PLUGINS}/Sub/Deep.kmactions": bundle({"Name": "Deep", "Title": "D"}),
        }
    )
    data = sim.call("km_list_action_types", {"category": "plug_in"})["data"]
    assert [a["identifier"] for a in data["actions"]] == ["A"]
    entry = data["actions"][0]
    assert entry["keywords"] == ["alt"]
    assert entry["required_parameters"] == ["L"]
    assert entry["plugin_metadata"]["parameter_types"] == ["String"]  # a missing Type reads String
    assert entry["plugin_metadata"]["result_targets"] == ["None", "Window"]


def test_a_state_with_malformed_bundles_is_refused() -> None:
    seed = default_seed()
    seed["system"]["plugin_bundles"] = {"/x.kmactions": {"script": {}}}
    with pytest.raises(StateError, match="plist"):
        KMState.from_json(seed)


# -- km_search_actions -------------------------------------------------------------------------


def test_search_scores_are_between_0_and_1_and_min_score_filters(km: KM) -> None:
    everything = km.ok("km_search_actions", query="speak text", limit=100)["actions"]
    scores = [a["score"] for a in everything]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert everything[0]["identifier"] == "speak_text"
    strong = km.ok("km_search_actions", query="speak text", min_score=0.5, limit=100)["actions"]
    assert strong == [a for a in everything if a["score"] >= 0.5]
    assert km.ok("km_search_actions", query="speak text", result_target="Variable")["actions"] == []


def test_the_search_index_is_kept_in_the_state_file(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "state.json"
    first = Simulator(state_path=state, clock=clock)
    first.call("km_search_actions", {"category": "plug_in"})
    first.call(
        "km_create_plugin_action",
        {"output_dir": PLUGINS, "name": "Late", "title": "Late", "script_source": SCRIPT},
    )
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["server"]["search_plugins"] == []
    again = Simulator(state_path=state, clock=clock)
    assert again.call("km_search_actions", {"category": "plug_in"})["data"]["actions"] == []
    listed = again.call("km_list_action_types", {"category": "plug_in"})["data"]["actions"]
    assert [a["identifier"] for a in listed] == ["Late"]


# -- km_control_flow and km_add_condition ------------------------------------------------------


def test_an_unknown_control_type_lists_the_known_ones_in_a_fixed_order(km: KM) -> None:
    # The server lists a set: its order changes with each server process.
    error = km.fails(
        "km_control_flow", "VALIDATION_ERROR", macro_identifier="Hello World", control_type="loop"
    )
    assert error["message"] == (
        "Validation failed for field 'control_type': must be one of: if_then_else, for_loop, "
        "while_loop, until_loop, switch_case, try_catch. Got: loop"
    )


@pytest.mark.parametrize(
    ("collection", "crash"),
    [
        pytest.param(
            {"type": "Range", "collection_type": "x"},
            "build_collection_dict() got multiple values for argument 'collection_type'",
            id="collection_type-key",
        ),
        pytest.param(
            {"type": "FoundImages", "fuzz": None},
            "int() argument must be a string, a bytes-like object or a real number, not 'NoneType'",
            id="fuzz-null",
        ),
    ],
)
def test_collections_the_server_code_cannot_take_are_mcp_errors(
    sim: Simulator, collection: dict[str, Any], crash: str
) -> None:
    arguments = {
        "macro_identifier": "Hello World",
        "control_type": "for_loop",
        "iterator": "I",
        "collection_dict": collection,
    }
    result = sim.result("km_control_flow", arguments)
    assert result.is_error
    assert result.text == f"Error calling tool 'km_control_flow': {crash}"


@pytest.mark.parametrize(
    ("actions", "crash"),
    [
        pytest.param("pause", "'str' object has no attribute 'get'", id="text"),
        pytest.param(5, "'int' object is not iterable", id="number"),
    ],
)
def test_case_actions_that_are_not_a_list_crash_the_servers_code(
    sim: Simulator, actions: Any, crash: str
) -> None:
    arguments = {
        "macro_identifier": "Hello World",
        "control_type": "switch_case",
        "condition": "Mode",
        "cases": [{"condition_type": "Is", "actions": actions}],
    }
    result = sim.result("km_control_flow", arguments)
    assert result.is_error
    assert result.text == f"Error calling tool 'km_control_flow': {crash}"


def test_a_negated_greater_than_has_no_value_to_compare(km: KM, sim: Simulator) -> None:
    km.ok(
        "km_add_condition",
        macro_identifier="Hello World",
        condition_type="variable",
        operator="greater_equal",
        operand="Count=5",
        negate=True,
        ctx={"anything": 1},
    )
    condition = _actions(sim, "Hello World")[-1]["Conditions"]["ConditionList"][0]
    assert condition == {
        "ConditionType": "Variable",
        "VariableConditionType": "NumericallyLessThanOrEqual",
        "Variable": "Count",
    }


def test_dangerous_content_in_an_inner_action_is_refused_before_keyboard_maestro(km: KM) -> None:
    error = km.fails(
        "km_control_flow",
        "APPEND_FAILED",
        macro_identifier="Hello World",
        control_type="try_catch",
        try_actions=[{"type": "paste", "text": "/etc/hosts"}],
    )
    assert error["message"] == "Dangerous AppleScript content detected"


# -- km_refresh_action_templates ---------------------------------------------------------------


def test_the_refresh_clears_the_scratch_macro_and_captures_nothing(km: KM, sim: Simulator) -> None:
    assert _actions(sim, "Hello World")
    data = km.ok("km_refresh_action_templates", macro_id="Hello World", confirm=True)
    assert _actions(sim, "Hello World") == []
    assert data["added"] == data["removed"] == []
    assert data["total_after"] == len(data["unchanged"]) == 144
    assert data["resolved_macro_id"] == "0053494D-0000-4000-8000-000000000003"
