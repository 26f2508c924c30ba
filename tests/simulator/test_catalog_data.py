"""engine/data/km_action_catalog.json: the real server's catalog as its recorded answers show it."""

from __future__ import annotations

import json

from tests.simulator.km_server_answers import CATALOG_DATA, action_catalog


def test_the_catalog_data_is_what_the_recordings_hold() -> None:
    # Regenerate with: python scripts/km_server/catalog.py
    assert json.loads(CATALOG_DATA.read_text(encoding="utf-8")) == action_catalog()


def test_the_recorded_catalog_is_complete() -> None:
    catalog = action_catalog()
    actions = catalog["actions"]
    identifiers = [a["identifier"] for a in actions]
    assert len(identifiers) == len(set(identifiers)) == 145
    # The server indexes every captured template not already in its curated catalog; so
    # every template's action type is among the recorded entries.
    types = {a["macro_action_type"] for a in actions}
    assert [t for t in catalog["templates"] if t not in types] == []
    assert catalog["template_file_entries"] == len(catalog["templates"]) + 1  # and its _meta
    assert {t["identifier"] for t in catalog["action_types"]} <= set(identifiers)
