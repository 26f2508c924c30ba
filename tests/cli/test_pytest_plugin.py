"""The pytest plugin (engine/cli/pytest_plugin.py): action tests as pytest items, run by
pytest's own ``pytester`` in a fresh project folder."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Imported here, not first in pytester's runs: pytester forgets the modules a run
# imported, and a second run's fresh engine.load.loader would not know the event classes
# of PyYAML's C parser, which stays loaded.
import engine.cli._files
import engine.plugins.local
import engine.run.testing  # noqa: F401
from tests.cli.conftest import DEMO_PLUGIN, HELLO, action_text

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parents[2]
KM_ACTIONS = (sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())")

GREET = action_text(
    "greet",
    """\
    inputs:
      who: {type: string, description: Who.}
    steps:
      - tool: km_variable_manager
        with: {operation: set, name: Greeting, value: "Hello {{ inputs.who }}"}
    outputs:
      text: "Hello {{ inputs.who }}"
    tests:
      - name: greets Ann
        inputs: {who: Ann}
        mocks:
          km_variable_manager: [{success: true}]
        expect:
          outputs: {text: Hello Ann}
      - name: greets Bob
        inputs: {who: Bob}
        mocks:
          km_variable_manager: [{success: true}]
        expect:
          outputs: {text: Hello Robert}
          calls:
            - {tool: km_variable_manager, with: {name: Salutation}}
      - name: greets Cy
        inputs: {who: Cy}
        mocks:
          km_variable_manager: [{success: true}]
        expect:
          outputs: {text: Hello Cy}
    """,
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with ``actions/greet.yaml`` and ``km_actions_paths = actions``."""
    pytester.makeini("[pytest]\nkm_actions_paths = actions\n")
    (pytester.path / "actions").mkdir()
    (pytester.path / "actions" / "greet.yaml").write_text(GREET, "utf-8")
    return pytester


def test_each_test_of_an_action_is_an_item_named_after_the_action_and_the_test(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("--collect-only", "-q")
    assert result.outlines[:3] == [
        "actions/greet.yaml::greet::greets Ann",
        "actions/greet.yaml::greet::greets Bob",
        "actions/greet.yaml::greet::greets Cy",
    ]


def test_a_failure_says_what_differed(project: pytest.Pytester) -> None:
    result = project.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ greet::greets Bob _*",
            "test `greets Bob` of greet failed (actions/greet.yaml:19):",
            '  output `text` is "Hello Bob", expected "Hello Robert"',
            '  call 1 to km_variable_manager had arguments {"operation": "set", "name": '
            '"Greeting", "value": "Hello Bob"}, which do not contain {"name": "Salutation"}',
            "FAILED actions/greet.yaml::greet::greets Bob - test `greets Bob` of greet fai*",
        ]
    )


READS = action_text(
    "reads",
    """\
    steps:
      - id: read
        tool: km_variable_manager
        with: {operation: get, name: Greeting}
    outputs:
      text: "{{ steps.read.result.data.value }}"
    tests:
      - name: reads Hi
        mocks:
          km_variable_manager: [{data: {value: Hi}}]
        expect:
          outputs: {text: Hi}
    """,
)


def test_a_mock_the_real_server_would_not_answer_is_a_warning(project: pytest.Pytester) -> None:
    """As `km-actions test` says it first: the test passes here, the action may not."""
    (project.path / "actions" / "reads.yaml").write_text(READS, "utf-8")
    # (-W default: this suite's own `error` filter would reach the run pytester makes)
    result = project.runpytest("-W", "default", "actions/reads.yaml")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*warnings summary*",
            "actions/reads.yaml:12",
            "  actions/reads.yaml:12: MockAnswerWarning: actions/reads.yaml:14:29: "
            "warning[mock-answer-shape]: the test's "
            "mock of km_variable_manager is not shaped as the real server answers: an answer of "
            "km_variable_manager get always has `success`, and the mock has none",
        ]
    )


def test_k_and_x_work_as_usual(project: pytest.Pytester) -> None:
    project.runpytest("-k", "Ann or Cy").assert_outcomes(passed=2, deselected=1)
    project.runpytest("-x").assert_outcomes(passed=1, failed=1)


def test_nothing_is_collected_unless_asked(pytester: pytest.Pytester) -> None:
    (pytester.path / "greet.yaml").write_text(GREET, "utf-8")
    assert pytester.runpytest().ret == pytest.ExitCode.NO_TESTS_COLLECTED
    pytester.runpytest("--km-actions").assert_outcomes(passed=2, failed=1)


def test_a_plain_pytest_also_collects_the_configured_paths(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\ntestpaths = tests\nkm_actions_paths = actions\n")
    (project.path / "tests").mkdir()
    (project.path / "tests" / "test_a.py").write_text("def test_a():\n    pass\n", "utf-8")
    project.runpytest().assert_outcomes(passed=3, failed=1)
    project.runpytest("tests").assert_outcomes(passed=1)


def test_the_actions_of_a_plugin_run_with_its_settings(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nkm_actions_paths = demo\n")
    (pytester.path / "demo" / "actions").mkdir(parents=True)
    (pytester.path / "demo" / "plugin.yaml").write_text(DEMO_PLUGIN, "utf-8")
    (pytester.path / "demo" / "actions" / "hello.yaml").write_text(HELLO, "utf-8")
    # Next to the plugin but not one of its actions: `km-actions test` runs none of it.
    (pytester.path / "demo" / "draft.yaml").write_text(GREET, "utf-8")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["demo/actions/hello.yaml::demo/hello::greets with a setting PASSED*"]
    )


def test_an_action_that_does_not_compile_shows_what_validate_prints(
    project: pytest.Pytester,
) -> None:
    broken = GREET.replace("km_variable_manager\n", "km_variable_manger\n", 1)
    (project.path / "actions" / "greet.yaml").write_text(broken, "utf-8")
    validate = subprocess.run(
        [*KM_ACTIONS, "validate", "actions/greet.yaml"],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=False,
    )
    diagnostics = validate.stdout.split("\n\n")[0]
    assert "km_variable_manger" in diagnostics
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert diagnostics in result.stdout.str()
    result.stdout.fnmatch_lines(["ERROR actions/greet.yaml*"])


def test_other_yaml_files_are_no_items(project: pytest.Pytester) -> None:
    (project.path / "actions" / "notes.yaml").write_text("kind: notes\nitems: [1]\n", "utf-8")
    untested = action_text("untested", "steps:\n  - set: {x: 1}\n")
    (project.path / "actions" / "untested.yaml").write_text(untested, "utf-8")
    (project.path / "actions" / "action.schema.json").write_text("{", "utf-8")
    (project.path / "actions" / "readme.txt").write_text("hi", "utf-8")
    project.runpytest().assert_outcomes(passed=2, failed=1)


def test_yaml_that_does_not_load_is_a_collection_error(project: pytest.Pytester) -> None:
    (project.path / "actions" / "bad.yaml").write_text("kind: [action\n", "utf-8")
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*actions/bad.yaml:*", "ERROR actions/bad.yaml*"])


_PROBE = """
import json, sys
import engine.cli.pytest_plugin
print(json.dumps(sorted(m for m in sys.modules if m.startswith("engine"))))
"""


def test_the_plugin_imports_no_engine_module_at_pytest_start() -> None:
    """pytest imports the plugin in every project of every user of km-actions: only the
    packages it sits in load with it (``engine.cli`` defines its commands lazily, with the
    argparse pytest has already imported)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_PROBE)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(done.stdout) == ["engine", "engine.cli", "engine.cli.pytest_plugin"]
