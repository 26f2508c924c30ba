#!/usr/bin/env python3
"""Write engine/data/km_action_catalog.json from the recorded answers of the real server.

    python scripts/km_server/catalog.py

The simulator's km_list_action_types, km_search_actions and km_refresh_action_templates
answer from that file: the server's catalog as its answers show it (not its data files).
Run it after re-recording; tests/simulator/test_catalog_data.py checks the two agree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.simulator.km_server_answers import CATALOG_DATA, action_catalog  # noqa: E402


def main() -> int:
    text = json.dumps(action_catalog(), indent=2, ensure_ascii=False) + "\n"
    CATALOG_DATA.write_text(text, encoding="utf-8")
    print(f"wrote {CATALOG_DATA.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
