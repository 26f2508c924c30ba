"""A manifest's own ``tests:``: mocks in call order or matched on arguments, and expected
outputs, calls or error (engine/run/testing.py, engine/tools/bridge/mock.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from engine.run import default_grant
from engine.run.model import Pipeline, PluginSettings
from engine.run.testing import TestOutcome, run_test, run_tests
from engine.tools.bridge.mock import contains
from engine.tools.catalog import ToolCatalog
from engine.tools.grants import Grant

from .conftest import Tools

ACTION = """
inputs: {names: {type: array}}
steps:
  - foreach: inputs.names
    steps:
      - id: e
        tool: km_echo
        with: {text: "{{ item }}"}
      - set: {last: "{{ steps.e.result.data }}"}
outputs: {last: "{{ vars.last }}"}
"""


def _outcome(tools: Tools, case: dict[str, Any], body: str = ACTION) -> TestOutcome:
    pipeline = tools.compile(body)
    return asyncio.run(run_test(pipeline, case, catalog=tools.bridge.catalog()))


def _answers(*data: Any) -> list[dict[str, Any]]:
    return [{"success": True, "data": d} for d in data]


def test_a_passing_test(tools: Tools) -> None:
    outcome = _outcome(
        tools,
        {
            "name": "echoes each name",
            "inputs": {"names": ["a", "b"]},
            "mocks": {"km_echo": _answers("A", "B")},
            "expect": {
                "outputs": {"last": "B"},
                "calls": [
                    {"tool": "km_echo", "with": {"text": "a"}},
                    {"tool": "km_echo"},
                ],
            },
        },
    )
    assert (outcome.passed, outcome.failures, outcome.name, outcome.action) == (
        True,
        [],
        "echoes each name",
        "t",
    )
    assert outcome.to_dict()["passed"] is True
    assert tools.calls == []  # mocks answered; the real tools were never called


@pytest.mark.parametrize(
    ("inputs", "mocks", "expect", "failures"),
    [
        pytest.param(
            ["a"],
            _answers("A"),
            {"outputs": {"last": "Z", "other": 1}},
            ['output `last` is "A", expected "Z"', "output `other` is missing"],
            id="outputs-differ",
        ),
        pytest.param(
            ["a"],
            _answers("A"),
            {"calls": [{"tool": "km_echo"}, {"tool": "km_echo"}]},
            ["call 2 to km_echo was never made (only 1 call)"],
            id="call-never-made",
        ),
        pytest.param(
            ["a", "b"],
            _answers("A", "B"),
            {"calls": [{"tool": "km_echo", "with": {"text": "b"}}]},
            [
                'call 1 to km_echo had arguments {"text": "a"}, which do not contain {"text": "b"}',
                "1 more call(s) than expected: km_echo",
            ],
            id="arguments-differ-and-extra-call",
        ),
        pytest.param(
            ["a"],
            _answers("A"),
            {"calls": [{"tool": "km_add"}]},
            ["call 1 went to km_echo, expected km_add"],
            id="wrong-tool",
        ),
        pytest.param(
            ["a", "b"],
            _answers("A"),
            {"outputs": {"last": "B"}},
            [
                "the action failed: [tool-unavailable] km_echo was called 2 times, but the "
                "test mocks 1 answer at t.yaml:9:9"
            ],
            id="mocks-exhausted",
        ),
        pytest.param(
            ["a"],
            _answers("A"),
            {"error": {"kind": "tool-failed"}},
            ["the action succeeded, but the test expects it to fail"],
            id="expected-error-but-succeeded",
        ),
    ],
)
def test_failing_tests_say_why(
    tools: Tools, inputs: list[str], mocks: Any, expect: dict[str, Any], failures: list[str]
) -> None:
    case = {"name": "n", "inputs": {"names": inputs}, "mocks": {"km_echo": mocks}, "expect": expect}
    outcome = _outcome(tools, case)
    assert (outcome.passed, outcome.failures) == (False, failures)


@pytest.mark.parametrize(
    ("expected", "failures"),
    [
        pytest.param({"kind": "tool-failed", "message": "REFUSED"}, [], id="matches"),
        pytest.param(
            {"kind": "timeout"},
            [
                "the action failed with kind tool-failed, expected timeout: "
                "[tool-failed] km_echo failed: no (REFUSED) at t.yaml:9:9"
            ],
            id="other-kind",
        ),
        pytest.param(
            {"message": "yes"},
            ['the error message "km_echo failed: no (REFUSED)" does not contain "yes"'],
            id="other-message",
        ),
    ],
)
def test_expected_errors(tools: Tools, expected: dict[str, Any], failures: list[str]) -> None:
    refusal = {"success": False, "error": {"code": "REFUSED", "message": "no"}}
    case = {
        "name": "n",
        "inputs": {"names": ["a"]},
        "mocks": {"km_echo": [refusal]},
        "expect": {"error": expected},
    }
    assert _outcome(tools, case).failures == failures


def test_a_tool_without_a_mock_fails_the_test(tools: Tools) -> None:
    case = {"name": "n", "inputs": {"names": ["a"]}, "expect": {"outputs": {"last": "A"}}}
    assert _outcome(tools, case).failures == [
        "the action failed: [tool-unavailable] the test has no mock for km_echo at t.yaml:9:9"
    ]


MATCH = {
    "match": [
        {"with": {"text": "a"}, "result": {"success": True, "data": "first rule"}},
        {"with": {"text": "b"}, "result": {"success": True, "data": "second rule"}},
    ],
    "otherwise": {"success": True, "data": "otherwise"},
}


@pytest.mark.parametrize(
    ("names", "last"),
    [
        pytest.param(["b"], "second rule", id="matched"),
        pytest.param(["a", "b", "a"], "first rule", id="matched-again"),
        pytest.param(["zzz"], "otherwise", id="otherwise"),
    ],
)
def test_mocks_matched_on_arguments(tools: Tools, names: list[str], last: str) -> None:
    case = {
        "name": "n",
        "inputs": {"names": names},
        "mocks": {"km_echo": MATCH},
        "expect": {"outputs": {"last": last}},
    }
    assert _outcome(tools, case).failures == []


def test_no_matching_rule_and_no_otherwise(tools: Tools) -> None:
    case = {
        "name": "n",
        "inputs": {"names": ["c"]},
        "mocks": {"km_echo": {"match": MATCH["match"]}},
        "expect": {"outputs": {"last": "x"}},
    }
    assert _outcome(tools, case).failures == [
        "the action failed: [tool-unavailable] no mock rule for km_echo matches the "
        'arguments {"text": "c"} at t.yaml:9:9'
    ]


def test_a_mocked_answer_is_a_fresh_copy_for_every_call(tools: Tools) -> None:
    body = """
    steps:
      - id: one
        tool: km_free
      - id: two
        tool: km_free
    outputs: {same: "{{ steps.one.result is not sameas steps.two.result }}"}
    """
    pipeline = tools.compile(body, check=False)
    case = {"name": "n", "mocks": {"km_free": {"match": [], "otherwise": {"data": []}}}}
    outcome = asyncio.run(
        run_test(
            pipeline,
            {**case, "expect": {"calls": [{"tool": "km_free"}, {"tool": "km_free"}]}},
            catalog=tools.bridge.catalog(),
        )
    )
    assert outcome.failures == []


def test_waits_and_retries_in_tests_use_a_fake_clock(tools: Tools) -> None:
    pipeline: Pipeline = tools.compile(
        """
        steps:
          - wait: 250
          - id: e
            tool: km_echo
            with: {text: x}
            retry: {max_attempts: 3, interval: 3600, max_delay: 3600}
        outputs: {data: "{{ steps.e.result.data }}"}
        tests:
          - name: waits and retries without sleeping
            mocks:
              km_echo:
                - {success: false, error: {code: BUSY, message: busy}}
                - {success: true, data: done}
            expect: {outputs: {data: done}}
          - name: a second test in the same file
            mocks: {km_echo: [{success: true, data: other}]}
            expect: {outputs: {data: wrong}}
        """
    )
    outcomes = asyncio.run(run_tests(pipeline, catalog=tools.bridge.catalog()))
    assert [(o.name, o.failures) for o in outcomes] == [
        ("waits and retries without sleeping", []),
        ("a second test in the same file", ['output `data` is "other", expected "wrong"']),
    ]


@pytest.mark.parametrize(
    ("actual", "expected", "result"),
    [
        pytest.param({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 2}}, True, id="subset"),
        pytest.param({"a": 1}, {"a": 1.0}, True, id="int-equals-float"),
        pytest.param({"a": True}, {"a": 1}, False, id="bool-is-not-int"),
        pytest.param([1, 2], [1], False, id="lists-compare-whole"),
        pytest.param("x", {"a": 1}, False, id="not-a-mapping"),
    ],
)
def test_contains(actual: Any, expected: Any, result: bool) -> None:
    assert contains(actual, expected) is result


# -- settings and secrets: a test never sees what the user set ---------------------------

SHARE = """
inputs: {text: {type: string, default: hello}}
steps:
  - id: send
    tool: km_echo
    with: {text: "{{ config.token }} {{ inputs.text }}"}
outputs: {sent: "{{ steps.send.result.data.text }}"}
"""
CALLER = """
steps:
  - id: share
    action: other/share
outputs: {sent: "{{ steps.share.result.sent }}"}
tests:
  - name: shares
    mocks: {km_echo: [{success: true, data: {text: sent}}]}
    expect:
      calls: [{tool: km_echo, with: {text: WRONG}}]
"""


class _Installed:
    """A resolver as an installed store is one: ``other/share`` with the user's settings."""

    def __init__(self, tools: Tools, settings: PluginSettings) -> None:
        self.share = replace(tools.compile(SHARE, name="share", check=False), plugin="other")
        self.settings = settings

    def resolve(self, target: str, caller: Pipeline) -> tuple[Pipeline, Grant, PluginSettings]:
        return self.share, default_grant(self.share, ToolCatalog.builtin()), self.settings


USERS = PluginSettings(
    {"token": "the-users-real-token"}, frozenset({"token"}), {"token": "default-token"}
)


def test_tests_run_called_actions_with_their_defaults_never_the_users_settings(
    tools: Tools,
) -> None:
    caller = tools.compile(CALLER, check=False)
    resolver = _Installed(tools, USERS)
    [outcome] = asyncio.run(run_tests(caller, catalog=tools.bridge.catalog(), resolver=resolver))
    assert outcome.failures == [
        'call 1 to km_echo had arguments {"text": (a value containing the secret setting '
        '`token` of other)}, which do not contain {"text": "WRONG"}'
    ]
    assert "real" not in repr(outcome.to_dict())


def test_a_test_sees_its_own_settings_over_the_defaults(tools: Tools) -> None:
    body = SHARE + (
        "tests:\n  - name: own\n    config: {token: test-token}\n"
        "    mocks: {km_echo: [{success: true, data: {text: x}}]}\n"
        "    expect: {calls: [{tool: km_echo, with: {text: test-token hello}}]}\n"
        "  - name: defaults\n"
        "    mocks: {km_echo: [{success: true, data: {text: x}}]}\n"
        "    expect: {calls: [{tool: km_echo, with: {text: default-token hello}}]}\n"
    )
    pipeline = tools.compile(body, check=False)
    outcomes = asyncio.run(run_tests(pipeline, catalog=tools.bridge.catalog(), settings=USERS))
    assert [(o.name, o.failures) for o in outcomes] == [("own", []), ("defaults", [])]
