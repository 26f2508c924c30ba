"""``km-actions migrate``: files and folders, --check, and what it refuses."""

from __future__ import annotations

from tests.cli.conftest import Cli

OLD = """\
    api_version: "1.0"  # written for 1.0
    kind: action
    name: a
    description: Says hi.
    permissions: [km_notifications]
    steps:
      - tool: km_notifications
        with: {notification_type: notification, title: a, message: hi}
        retry: {max_attempts: 2, on: [tool_failed]}
    """


def test_check_names_the_files_to_migrate_and_changes_nothing(cli: Cli) -> None:
    old = cli.write("actions/a.yaml", OLD)
    cli.write("actions/b.yaml", OLD.replace('"1.0"', '"1.1"').replace("tool_failed", "timeout"))
    outcome = cli("migrate", "--check", "actions")
    assert (outcome.code, outcome.out, outcome.err) == (
        1,
        "actions/a.yaml: needs migrating to api_version 1.1\n"
        "actions/b.yaml: already api_version 1.1\n",
        "",
    )
    assert "tool_failed" in old.read_text()


def test_migrate_rewrites_the_file_and_a_second_run_has_nothing_to_do(cli: Cli) -> None:
    path = cli.write("a.yaml", OLD)
    assert cli("migrate", "a.yaml").out == "a.yaml: migrated to api_version 1.1\n"
    text = path.read_text()
    assert text.startswith('api_version: "1.1"  # written for 1.0\n')
    assert "retry: {max_attempts: 2, on: [tool-failed]}" in text
    assert cli("migrate", "a.yaml").out == "a.yaml: already api_version 1.1\n"
    assert cli("validate", "a.yaml").code == 0


def test_validate_shows_the_note_of_a_1_0_file(cli: Cli) -> None:
    cli.write("a.yaml", OLD)
    outcome = cli("validate", "a.yaml")
    assert outcome.code == 0
    assert outcome.out.startswith(
        "a.yaml:1:14: note[api-version-upgraded]: this file is written for api_version 1.0 and "
        "was read as 1.1: error kinds are spelt as codes are: tool_failed → tool-failed\n"
    )
    assert "= hint: run `km-actions migrate a.yaml` to write the upgrade into the file" in (
        outcome.out
    )
    assert outcome.out.rstrip().endswith("1 note in 1 file; 1 valid")


def test_a_file_of_a_version_older_than_any_known_is_refused(cli: Cli) -> None:
    cli.write("old.yaml", 'api_version: "0.9"\nkind: action\n')
    outcome = cli("migrate", "old.yaml")
    assert outcome.code == 1
    assert outcome.err == (
        "km-actions migrate: old.yaml: this file is written for api_version 0.9, which is "
        "older than the manifest language km-actions knows (1.0 is the first; this km-actions "
        "reads 1.0, 1.1), so it cannot be upgraded by itself\n"
        '     = hint: write api_version: "1.1" and run `km-actions validate FILE`: it names '
        "every key to change\n"
    )


def test_a_missing_file_is_a_usage_error(cli: Cli) -> None:
    outcome = cli("migrate", "nope.yaml")
    assert (outcome.code, outcome.err) == (
        2,
        "km-actions migrate: nope.yaml: no such file or folder\n",
    )


CALCULATOR_1_0 = """\
    api_version: "1.0"
    kind: action
    name: add
    description: Adds.
    permissions: [read-only]
    steps:
      - tool: km_calculator
        with: {expression: "1+1"}
    """


def test_a_1_0_group_keeps_the_2025_tools_of_a_user_who_chose_them(cli: Cli) -> None:
    """With `catalog.tools = 2025`, `read-only` of a 1.0 file still covers km_calculator:
    validate passes, and migrate writes it into the file."""
    path = cli.write("add.yaml", CALCULATOR_1_0)
    assert cli("config", "set", "catalog.tools", "2025").code == 0
    outcome = cli("validate", "add.yaml", "--json")
    assert [d["code"] for d in outcome.json()] == ["api-version-upgraded"]
    assert "km_calculator" in outcome.json()[0]["message"]
    assert cli("migrate", "add.yaml").code == 0
    assert "km_calculator" in path.read_text()
    assert cli("validate", "add.yaml").code == 0
