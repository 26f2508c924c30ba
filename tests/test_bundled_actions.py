"""The bundled actions (actions/*.yaml) validate without a problem, warnings included:
people copy them, so what they read of each tool's answer must be what it answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.load.loader import load_text
from engine.validate import validate

ACTIONS = Path(__file__).resolve().parent.parent / "actions"


@pytest.mark.parametrize("path", sorted(ACTIONS.glob("*.yaml")), ids=lambda p: p.name)
def test_a_bundled_action_has_no_problem(path: Path) -> None:
    document = load_text(path.read_text("utf-8"), file=path.name)
    assert [str(d) for d in validate(document)] == []
