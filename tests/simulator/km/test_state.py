"""The model's state document: checked on the way in, complete on the way out."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.simulator.km.state import MAX_LOG, KMState, StateError
from tests.simulator.km.conftest import SEED


def test_a_state_round_trips_and_gains_its_defaults(state: KMState) -> None:
    data = state.to_json()
    assert data["format"] == "km-model-state"
    assert data["version"] == 1
    assert data["log"] == {"notifications": [], "alerts": [], "typed": [], "executions": []}
    assert KMState.from_json(data).to_json() == data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"format": "other"}, "not a Keyboard Maestro model state: format: ", id="format"
        ),
        pytest.param(
            {"variables": {"A": 1}},
            "not a Keyboard Maestro model state: variables/A: 1 is not of type 'string'",
            id="variable-value",
        ),
        pytest.param(
            {"extra": True},
            "not a Keyboard Maestro model state: the document: Additional properties are not "
            "allowed ('extra' was unexpected)",
            id="unknown-key",
        ),
    ],
)
def test_a_document_that_is_no_state_is_refused(change: dict[str, Any], message: str) -> None:
    data = {**copy.deepcopy(SEED), **change}
    with pytest.raises(StateError) as caught:
        KMState.from_json(data)
    assert str(caught.value).startswith(message)


def test_uids_count_up_deterministically(state: KMState) -> None:
    assert state.new_uid() == "4B4D0000-0000-4000-8000-000000000001"
    assert state.new_uid() == "4B4D0000-0000-4000-8000-000000000002"
    assert state.counters == {"uid": 2}


def test_logs_keep_the_newest_entries(state: KMState) -> None:
    for number in range(MAX_LOG + 3):
        state.record("typed", {"n": number})
    assert len(state.log["typed"]) == MAX_LOG
    assert state.log["typed"][0] == {"n": 3}
