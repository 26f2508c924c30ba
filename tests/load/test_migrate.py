"""``km-actions migrate``: 1.0 files rewritten in place, text edited where each change
sits (comments, quotes and layout kept), idempotent, refused when unsure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.diagnostics.errors import EngineError
from engine.load.loader import load_text
from engine.load.migrate import migrate_file, migrated_text
from engine.load.versions import groups_1_0
from engine.tools.catalog import ToolCatalog

KNOWN = {"km_list_macros": 1, "km_token_stats": 1, "km_notifications": 1}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "permissions:  # what it may call\n  - km_notifications\n  - read-only   # all reads\n"
            "  - x\n",
            "permissions:  # what it may call\n  - km_notifications\n  - km_list_macros\n"
            "  - km_token_stats   # all reads\n  - x\n",
            id="block-list",
        ),
        pytest.param(
            "permissions: [x, 'read-only', y]  # flow\n",
            "permissions: [x, 'km_list_macros', 'km_token_stats', y]  # flow\n",
            id="flow-list-quoted",
        ),
        pytest.param(
            "permissions:\n- read-only\n- km_list_macros\n",
            "permissions:\n- km_token_stats\n- km_list_macros\n",
            id="tools-listed-already-not-repeated",
        ),
        pytest.param(
            "permissions:\n  - destructive\n  - x\n",
            "permissions:\n  - x\n",
            id="nothing-left-block",
        ),
        pytest.param(
            "permissions: [x, destructive]\n", "permissions: [x]\n", id="nothing-left-flow"
        ),
        pytest.param(
            "steps:\n  - tool: t\n    retry:\n      on: [tool_failed, 'not_found']\n"
            "  - if: \"error.kind == 'tool_failed' and vars.tool_failed_count\"\n",
            "steps:\n  - tool: t\n    retry:\n      on: [tool-failed, 'not-found']\n"
            "  - if: \"error.kind == 'tool-failed' and vars.tool_failed_count\"\n",
            id="kinds",
        ),
    ],
)
def test_only_what_changed_meaning_is_edited(before: str, after: str) -> None:
    head = 'api_version: "1.0"   # the language\nkind: action\nname: a\n'
    new_head = head.replace('"1.0"', '"1.1"')
    assert migrated_text(head + before, known=KNOWN) == new_head + after


def test_npm_ranges_of_a_plugin_yaml_are_written_in_pep_440_quoted_as_yaml_needs() -> None:
    before = (
        'api_version: "1.0"\nidentifier: demo\nname: Demo\nversion: 1.0.0\n'
        "dependencies:\n  lib: ^1.2   # the stable line\n  text: '~1.2.3'\n"
        '  fine: ">=1,<2"\n'
    )
    assert migrated_text(before, file="plugin.yaml") == (
        'api_version: "1.1"\nidentifier: demo\nname: Demo\nversion: 1.0.0\n'
        "dependencies:\n  lib: \">=1.2,<2\"   # the stable line\n  text: '>=1.2.3,<1.3'\n"
        '  fine: ">=1,<2"\n'
    )
    flow = (
        'api_version: "1.0"\nidentifier: d\nname: D\nversion: 1.0.0\n'
        "dependencies: {a: ^1, b: 1.x}\n"
    )
    assert migrated_text(flow, file="plugin.yaml") == flow.replace('"1.0"', '"1.1"').replace(
        "{a: ^1, b: 1.x}", '{a: ">=1,<2", b: ">=1,<2"}'
    )


def test_a_json_file_stays_json_with_its_layout() -> None:
    text = '{\n  "api_version": "1.0",\n  "permissions": ["read-only"],\n  "steps": []\n}\n'
    assert migrated_text(text, file="a.json", known=KNOWN) == (
        '{\n  "api_version": "1.1",\n  "permissions": ["km_list_macros", "km_token_stats"],\n'
        '  "steps": []\n}\n'
    )


def test_windows_line_ends_are_kept() -> None:
    text = 'api_version: "1.0"\r\npermissions:\r\n  - read-only\r\n'
    assert migrated_text(text, known=KNOWN) == (
        'api_version: "1.1"\r\npermissions:\r\n  - km_list_macros\r\n  - km_token_stats\r\n'
    )


def test_the_rewritten_file_means_what_the_upgrade_on_load_reads() -> None:
    text = (
        "api_version: '1.0'\nkind: action\nname: a\npermissions: [destructive, km_list_macros]\n"
        "steps:\n  - tool: km_list_macros\n    with: {}\n    retry: {on: [tool_unavailable]}\n"
    )
    new_text = migrated_text(text)
    assert new_text is not None
    assert load_text(new_text).data == load_text(text).data
    catalog = ToolCatalog.builtin()
    assert load_text(new_text).data["permissions"] == [
        *(tool for tool in groups_1_0()["destructive"] if tool in catalog),
        "km_list_macros",
    ]


def test_a_current_file_has_nothing_to_migrate() -> None:
    assert migrated_text('api_version: "1.1"\nkind: action\npermissions: [write]\n') is None


def test_a_layout_that_cannot_be_edited_in_place_is_refused() -> None:
    # The same word as a kind in quotes and as plain text in one template: editing the
    # text would change both, and the result would not mean what the upgrade reads.
    text = "api_version: '1.0'\nmessage: \"{{ error.kind == 'tool_failed' }} tool_failed\"\n"
    with pytest.raises(EngineError) as caught:
        migrated_text(text, file="a.yaml")
    assert (caught.value.code, caught.value.message) == (
        "migrate-failed",
        "a.yaml: its layout is one km-actions cannot rewrite in place",
    )


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        pytest.param(
            'api_version: "0.9"\n',
            "unsupported-api-version",
            "a.yaml: this file is written for api_version 0.9, which is older than the "
            "manifest language km-actions knows (1.0 is the first; this km-actions reads 1.0, "
            "1.1), so it cannot be upgraded by itself",
            id="older",
        ),
        pytest.param(
            "kind: action\n",
            "missing-key",
            "a.yaml: not a manifest (it has no api_version)",
            id="no-version",
        ),
    ],
)
def test_files_it_cannot_migrate_are_refused(text: str, code: str, message: str) -> None:
    with pytest.raises(EngineError) as caught:
        migrated_text(text, file="a.yaml")
    assert (caught.value.code, caught.value.message) == (code, message)


def test_the_file_is_replaced_whole_keeping_its_mode_and_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b'\xef\xbb\xbfapi_version: "1.0"\nkind: action\n')
    path.chmod(0o640)
    assert migrate_file(path, check=True) is True
    assert path.read_bytes().startswith(b'\xef\xbb\xbfapi_version: "1.0"')  # --check writes nothing
    assert migrate_file(path) is True
    assert path.read_bytes() == b'\xef\xbb\xbfapi_version: "1.1"\nkind: action\n'
    assert path.stat().st_mode & 0o777 == 0o640
    assert migrate_file(path) is False  # idempotent
    assert os.listdir(tmp_path) == ["a.yaml"]  # no temporary file left


def test_the_shipped_1_0_table_is_history_of_the_catalog() -> None:
    data = json.loads(
        (Path(__file__).parents[2] / "engine" / "data" / "api_1_0_groups.json").read_text()
    )
    assert data["api_version"] == "1.0"
    every = [t for tools in data["groups"].values() for t in tools]
    assert len(every) == len(set(every)) == 47
