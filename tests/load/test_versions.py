"""API versions: what this km-actions reads, the upgrade of 1.0 files on load, and the
messages for versions it does not read."""

from __future__ import annotations

import json

import pytest

from engine.diagnostics.errors import Severity
from engine.engine import Engine
from engine.load.loader import load_text
from engine.load.versions import CURRENT, SUPPORTED, groups_1_0, version_problem
from engine.tools.catalog import ToolCatalog
from engine.tools.older_tools import CatalogTools
from engine.validate import ValidationContext, validate

HEAD_1_0 = 'api_version: "1.0"\nkind: action\nname: demo\ndescription: A demo.\n'

CATALOG = ToolCatalog.builtin()


def still_there(group: str) -> list[str]:
    """The tools a 1.0 class group covered that the shipped catalog still has."""
    return [tool for tool in groups_1_0()[group] if tool in CATALOG]


WRITE_1_0 = still_there("write")


def test_the_versions_read_and_written() -> None:
    assert (SUPPORTED, CURRENT) == (("1.0", "1.1"), "1.1")


def test_the_1_0_groups_are_the_whole_tool_classes_of_the_1_0_catalog() -> None:
    # The annotations of engine/data/km_tools.json before permissions became per
    # operation (commit 37f3dba): km_variable_manager was a destructive tool as a whole.
    groups = groups_1_0()
    assert sorted(groups) == ["destructive", "read-only", "write"]
    assert (len(groups["read-only"]), len(groups["write"]), len(groups["destructive"])) == (
        14,
        18,
        15,
    )
    assert "km_variable_manager" in groups["destructive"]
    assert "km_notifications" in groups["write"]
    assert "km_list_macros" in groups["read-only"]


def test_a_class_group_of_a_1_0_file_becomes_the_tools_it_covered_in_1_0() -> None:
    doc = load_text(
        HEAD_1_0 + "permissions: [km_notifications, write, km_variable_manager:get]\n"
        "steps:\n  - tool: km_notifications\n    with: {title: a, message: b}\n",
        file="demo.yaml",
    )
    others = [t for t in WRITE_1_0 if t != "km_notifications"]
    assert doc.data["permissions"] == ["km_notifications", *others, "km_variable_manager:get"]
    assert doc.data["api_version"] == "1.1"
    (note,) = doc.notes
    assert note.severity is Severity.NOTE
    assert str(note) == (
        "demo.yaml:1:14: note[api-version-upgraded]: this file is written for api_version 1.0 "
        "and was read as 1.1: `write` in permissions (in 1.0: every tool of that class; now: "
        "the write operations) became the tools it covered in 1.0: " + ", ".join(others)
    )
    assert note.hint == (
        "run `km-actions migrate demo.yaml` to write the upgrade into the file (comments and "
        "layout are kept)"
    )


def test_in_1_0_write_covered_every_operation_of_a_write_tool() -> None:
    # km_engine_control was a write tool in 1.0; through the 1.1 group `write` its
    # read-only operations are covered, but the upgraded 1.0 file keeps the whole tool.
    doc = load_text(HEAD_1_0 + "permissions: [write]\nsteps:\n  - set: {a: 1}\n")
    assert CATALOG.coverage(doc.data["permissions"]).tools >= set(WRITE_1_0)
    assert "km_engine_control" in WRITE_1_0
    assert "km_engine_control" not in CATALOG.coverage(["write"]).tools


def test_entries_after_an_expanded_group_keep_their_own_location() -> None:
    text = HEAD_1_0 + "permissions:\n  - read-only\n  - km_nope\nsteps:\n  - set: {a: 1}\n"
    doc = load_text(text, file="demo.yaml")
    errors = [d for d in validate(doc) if d.is_error]
    assert [(d.code, d.json_path, str(d.span)) for d in errors] == [
        ("unknown-permission", f"$.permissions[{len(still_there('read-only'))}]", "7:5")
    ]


def test_error_kinds_spelt_as_in_1_0_are_respelt_where_they_name_a_kind() -> None:
    doc = load_text(
        HEAD_1_0 + "steps:\n"
        "  - id: get\n    tool: km_list_macros\n    with: {}\n"
        "    retry: {on: [tool_failed, timeout]}\n    continue_on_error: true\n"
        '  - if: "steps.get.error.kind in [\'not_found\', \\"limit_exceeded\\"]"\n'
        "    set: {said: tool_failed}\n"
        "tests:\n  - name: fails\n    expect: {error: {kind: permission_denied}}\n",
        file="demo.yaml",
    )
    steps = doc.data["steps"]
    assert steps[0]["retry"]["on"] == ["tool-failed", "timeout"]
    assert steps[1]["if"] == "steps.get.error.kind in ['not-found', \"limit-exceeded\"]"
    assert steps[1]["set"] == {"said": "tool_failed"}  # text, not a kind: left alone
    assert doc.data["tests"][0]["expect"]["error"]["kind"] == "permission-denied"
    assert doc.notes[0].message.endswith(
        "error kinds are spelt as codes are: limit_exceeded → limit-exceeded, not_found → "
        "not-found, permission_denied → permission-denied, tool_failed → tool-failed"
    )


def test_npm_ranges_of_a_1_0_plugin_yaml_are_read_as_their_pep_440_spelling() -> None:
    doc = load_text(
        'api_version: "1.0"\nidentifier: demo\nname: Demo\nversion: 1.0.0\n'
        'dependencies:\n  lib: ^1.2\n  text: "~1.2.3"\n  fine: ">=1,<2"\n',
        file="plugin.yaml",
    )
    assert doc.data["dependencies"] == {"lib": ">=1.2,<2", "text": ">=1.2.3,<1.3", "fine": ">=1,<2"}
    assert doc.notes[0].message == (
        "this file is written for api_version 1.0 and was read as 1.1: dependency ranges are "
        "PEP 440 specifiers: lib: ^1.2 → >=1.2,<2, text: ~1.2.3 → >=1.2.3,<1.3"
    )


def test_a_1_0_file_that_means_the_same_says_so() -> None:
    doc = load_text(HEAD_1_0 + "steps:\n  - set: {a: 1}\n", file="demo.yaml")
    assert doc.notes[0].message == (
        "this file is written for api_version 1.0 and was read as 1.1: nothing else changes "
        "its meaning"
    )
    found = validate(doc)
    assert [d.code for d in found] == ["api-version-upgraded"]
    assert not found[0].is_error


def test_a_current_file_is_read_as_written() -> None:
    text = HEAD_1_0.replace("1.0", "1.1") + "permissions: [write]\nsteps:\n  - set: {a: 1}\n"
    doc = load_text(text)
    assert (doc.data["permissions"], doc.notes) == (["write"], ())


def test_a_1_0_json_file_is_upgraded_too() -> None:
    text = json.dumps(
        {
            "api_version": "1.0",
            "kind": "action",
            "name": "demo",
            "permissions": ["destructive"],
            "steps": [{"set": {"a": 1}}],
        }
    )
    doc = load_text(text, file="demo.json")
    assert doc.data["permissions"] == still_there("destructive")
    assert str(doc.notes[0].span) == "1:17"


def test_upgrading_can_be_turned_off_to_read_the_file_as_written() -> None:
    doc = load_text(HEAD_1_0 + "permissions: [write]\nsteps: []\n", upgrade=False)
    assert (doc.data["api_version"], doc.data["permissions"], doc.notes) == ("1.0", ["write"], ())


@pytest.mark.parametrize(
    ("version", "message", "hint"),
    [
        pytest.param(
            "0.9",
            "this file is written for api_version 0.9, which is older than the manifest "
            "language km-actions knows (1.0 is the first; this km-actions reads 1.0, 1.1), so "
            "it cannot be upgraded by itself",
            'write api_version: "1.1" and run `km-actions validate FILE`: it names every key '
            "to change",
            id="older",
        ),
        pytest.param(
            "1.2",
            "this file is written for api_version 1.2, which needs a km-actions newer than "
            "0.1.0 (this one reads api_version 1.0, 1.1)",
            "upgrade km-actions (`pip install .` in a newer checkout of it), or write the file "
            'for api_version "1.1"',
            id="newer",
        ),
        pytest.param(
            "one",
            "api_version one is not a version of the manifest language (this km-actions reads "
            "1.0, 1.1)",
            'write api_version: "1.1" (in quotes)',
            id="not-a-version",
        ),
    ],
)
def test_versions_not_read_are_told_what_fits(version: str, message: str, hint: str) -> None:
    doc = load_text(
        f'api_version: "{version}"\nkind: action\nname: demo\nsteps: []\n', file="demo.yaml"
    )
    (problem,) = validate(doc)
    assert (problem.code, problem.message, problem.hint, str(problem.span)) == (
        "unsupported-api-version",
        message,
        hint,
        "1:14",
    )
    assert version_problem(version) == (message, hint)


def test_what_km_actions_writes_is_the_current_version() -> None:
    from engine.cli._scaffold import Template, action_text, plugin_files
    from engine.server.prompt import EXAMPLE

    header = f'api_version: "{CURRENT}"'
    for template in Template:
        assert header in action_text("a", "A.", template, "s.json").splitlines()
    assert header in EXAMPLE.splitlines()
    written = plugin_files("demo", "A demo.", Template.LOOP, schemas=("p", "a"))
    assert header in written["plugin.yaml"].splitlines()
    assert header in written["actions/notify-each.yaml"].splitlines()


CALCULATOR_1_0 = (
    HEAD_1_0 + "permissions: [read-only]\n"
    "steps:\n  - tool: km_calculator\n    with: {expression: '1+1'}\n"
)


@pytest.mark.parametrize(
    ("tools", "has_calculator"),
    [
        pytest.param(CatalogTools.CURRENT, False, id="current"),
        pytest.param(CatalogTools.WITH_2025, True, id="2025"),
    ],
)
def test_a_1_0_group_becomes_the_tools_the_catalog_in_use_has(
    tools: CatalogTools, has_calculator: bool
) -> None:
    """A user who chose the 2025 server's tools keeps those of them a 1.0 group covered."""
    catalog = ToolCatalog.builtin(tools)
    covered = [t for t in groups_1_0()["read-only"] if t in catalog]
    for document in (
        load_text(CALCULATOR_1_0, file="demo.yaml", catalog=catalog),
        Engine(catalog=catalog).load(CALCULATOR_1_0, file="demo.yaml"),
    ):
        assert document.data["permissions"] == covered
        assert ("km_calculator" in document.data["permissions"]) is has_calculator
        problems = [
            d.code for d in validate(document, ValidationContext(catalog=catalog)) if d.is_error
        ]
        assert problems == ([] if has_calculator else ["unknown-tool"])
    assert len(covered) == (14 if has_calculator else 8)
