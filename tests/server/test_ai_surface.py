"""An AI assistant using only the MCP surface gets an action right on the first try
(issue 10: items 1, 2, 4, 5).

The server runs in-process (the handlers `km-actions serve` runs, on the built-in
simulator, at the default configuration: ceiling read-only and write), driven by a real
MCP client: the tool's description, the resources, the `write-action` prompt and the
answers are what a model sees.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import TextContent, TextResourceContents

from engine.plugins.installer import install
from engine.plugins.store import Store
from engine.server import prompt
from engine.server.app import KmActionsServer
from engine.server.ecosystem import OPERATIONS, PARAMETERS, SEED_DEFAULTS
from engine.server.store_host import StoreHost
from engine.simulator import Simulator
from engine.tools.config import Settings

from .conftest import ECOSYSTEM, action_yaml, envelope_of, write_plugin

pytestmark = pytest.mark.anyio


@pytest.fixture
def host(tmp_path: Path) -> Iterator[StoreHost]:
    """A store host at the default settings, on the built-in simulator."""
    opened = StoreHost(Store.open(tmp_path / "home"), Simulator(), Settings())
    yield opened
    opened.close()
    opened.store.close()


@pytest.fixture
async def client(host: StoreHost) -> AsyncIterator[Client]:
    """A real MCP client connected to the server, in-process."""
    async with Client(KmActionsServer(host).server, cache=None) as connected:
        yield connected


async def call(client: Client, operation: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(ECOSYSTEM, {"operation": operation, **arguments})
    return envelope_of(result)


async def prompt_text(client: Client) -> str:
    (message,) = (await client.get_prompt("write-action")).messages
    assert isinstance(message.content, TextContent)
    return message.content.text


# -- item 1: the rules, before the caller breaks them ----------------------------------


async def test_the_prompts_example_is_created_as_it_is(client: Client) -> None:
    text = await prompt_text(client)
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert example == prompt.EXAMPLE
    created = await call(client, "create", plugin_source=example)
    assert created["success"] is True, created
    assert created["warnings"] == []
    assert created["data"]["action"] == "mcp-created/tidy-clipboard"
    # It runs as written: the simulator's clipboard is empty, as the example foresees.
    ran = await call(client, "execute", action_name="tidy-clipboard")
    assert (ran["error"]["code"], ran["error"]["message"]) == (
        "failed",
        "The clipboard holds no text",
    )
    assert ran["data"]["steps_run"] == 2


async def test_the_prompt_leaves_out_what_the_ceiling_refuses_and_says_so(client: Client) -> None:
    text = await prompt_text(client)
    assert "  get(name) [read-only] → {data: {name: string, value: string, " in text
    # Short recorded answers show what the keys hold.
    assert (
        "get_state(app_identifier) [read-only] → {data: {app: string, state: string}} e.g. " in text
    )
    assert '{"data": {"app": "Finder", "state": "foreground"}}' in text
    assert "  set(name, value) [write] → " in text
    assert "delete(name) [destructive]" not in text
    assert "- km_set_macro_triggers(" not in text  # destructive: left out entirely
    assert re.search(
        r"^Only the user can grant \(left out above\): .*km_variable_manager delete", text, re.M
    )
    assert "km_set_macro_triggers, " in text.split("Only the user can grant", 1)[1]
    # Templates and expressions side by side, sort and unique ignoring case.
    assert '- length: "{{ x | length }}"  ⇄  len(x)\n' in text
    assert "IGNORE CASE unless case_sensitive=true" in text
    # It points to resources, never to files.
    assert "km-actions://docs/templates-and-expressions" in text
    assert not re.search(r"\bdocs/[\w-]+\.md", text)


async def test_the_tool_description_states_the_ceiling_and_the_default_level(
    client: Client,
) -> None:
    (tool,) = [t for t in (await client.list_tools()).tools if t.name == ECOSYSTEM]
    assert tool.description is not None
    assert "validation_level is strict unless told" in tool.description
    assert "may be granted what the ceiling allows (read-only, write), operation by operation" in (
        tool.description
    )
    assert tool.input_schema["properties"]["validation_level"]["default"] == "strict"
    assert tool.input_schema["properties"]["timeout"]["default"] == 60


async def test_the_catalog_says_what_mcp_callers_may_be_granted(client: Client) -> None:
    contents = (await client.read_resource("km-actions://catalog")).contents
    assert isinstance(contents[0], TextResourceContents)
    import json

    catalog = {tool["name"]: tool for tool in json.loads(contents[0].text)}
    assert catalog["km_variable_manager"]["mcp_may_grant"] == ["get", "set", "list"]
    assert catalog["km_set_macro_triggers"]["mcp_may_grant"] is False
    assert catalog["km_list_macros"]["mcp_may_grant"] is True


# -- item 2: `validate` answers exactly what `create` would ------------------------------

HEADER = 'api_version: "1.1"\nkind: action\n'

CORPUS = {
    "valid": prompt.EXAMPLE.replace("name: tidy-clipboard", "name: corpus-valid"),
    "beyond-the-ceiling-and-misspelt": HEADER
    + """name: Bad Name
description: Delete a variable, and calculate.
permissions: [km_variable_manager]
steps:
  - tool: km_variable_manager
    with: {operation: delete, name: X}
  - tool: km_engine_control
    wiht: {operation: calculate, expression: "1+2"}
""",
    # Declared permissions are the grant: a call they do not cover is refused at
    # install (it used to pass `validate`, and fail `create` only then).
    "declared-permissions-miss-a-call": HEADER
    + """name: corpus-sum
description: Add two numbers.
permissions: [km_variable_manager:get]
steps:
  - id: sum
    tool: km_engine_control
    with: {operation: calculate, expression: "1+2"}
outputs:
  sum: "{{ steps.sum.result.data.result }}"
tests:
  - name: adds
    mocks: {km_engine_control: [{success: true, data: {result: "3"}}]}
    expect: {outputs: {sum: "3"}}
""",
    "a-failing-test": HEADER
    + """name: corpus-wrong
description: Add two numbers.
permissions: [km_engine_control:calculate]
steps:
  - id: sum
    tool: km_engine_control
    with: {operation: calculate, expression: "1+2"}
outputs:
  sum: "{{ steps.sum.result.data.result }}"
tests:
  - name: adds
    mocks: {km_engine_control: [{success: true, data: {result: "4"}}]}
    expect: {outputs: {sum: "3"}}
""",
    "no-tests-no-descriptions": HEADER
    + """name: corpus-bare
inputs:
  n: {type: integer}
steps:
  - set: {twice: "{{ inputs.n * 2 }}"}
outputs:
  twice: "{{ vars.twice }}"
""",
    "another-plugins-action": HEADER
    + """name: corpus-borrow
description: Call another plugin's action.
steps:
  - action: tools/noop
tests:
  - name: calls it
    expect: {outputs: {}}
""",
    "a-templated-operation": HEADER
    + """name: corpus-any
description: Do any operation on a variable.
inputs:
  op: {type: string, description: The operation}
permissions: [km_variable_manager:get]
steps:
  - tool: km_variable_manager
    with: {operation: "{{ inputs.op }}", name: X}
""",
    # The tests pass, on a mock shaped as wrongly as the reference: at strict, an error.
    "reads-a-key-the-tool-never-answers": HEADER
    + """name: corpus-read
description: Read a variable.
permissions: [km_variable_manager:get]
steps:
  - id: get
    tool: km_variable_manager
    with: {operation: get, name: X}
outputs:
  value: "{{ steps.get.result.value }}"
tests:
  - name: reads it
    mocks: {km_variable_manager: [{success: true, value: hello}]}
    expect: {outputs: {value: hello}}
""",
    "not-yaml": HEADER + "name: [unclosed\n",
    "a-plugin-manifest": 'api_version: "1.1"\nkind: plugin\nidentifier: p\nname: P\n'
    "version: 1.0.0\n",
}


def _timeless(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    return {"tests": [{**t, "duration_ms": None} for t in data["tests"]]}


def _without_operation(envelope: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in envelope.items() if key not in ("operation", "data")}


@pytest.mark.parametrize("name", list(CORPUS))
async def test_validate_answers_what_create_would(
    client: Client, host: StoreHost, tmp_path: Path, name: str
) -> None:
    install(
        host.store,
        write_plugin(
            tmp_path / "tools",
            "tools",
            {"noop": action_yaml("noop", "steps:\n  - set: {x: 1}\n", description="Nothing.")},
        ),
    )
    await host.reload()
    validated = await call(client, "validate", plugin_source=CORPUS[name])
    created = await call(client, "create", plugin_source=CORPUS[name])
    assert validated["success"] is created["success"]
    if created["success"]:
        assert validated["data"] == {"valid": True, "plugin": "mcp-created", "tests": {"passed": 2}}
        assert validated["warnings"] == created["warnings"]
        return
    assert _without_operation(validated) == _without_operation(created)
    # The tests' results, when they ran (how long each took aside).
    assert _timeless(validated.get("data")) == _timeless(created.get("data"))
    for problem in created["error"]["diagnostics"]:
        if problem["code"].startswith("permission"):
            assert problem["path"] != "$", problem  # located: the entry, or the call


async def test_every_problem_comes_back_at_once_each_where_it_is(client: Client) -> None:
    refused = await call(
        client, "validate", plugin_source=CORPUS["beyond-the-ceiling-and-misspelt"]
    )
    found = [(d["code"], d["path"], d["line"]) for d in refused["error"]["diagnostics"]]
    assert found == [
        ("invalid-name", "$.name", 3),
        ("unknown-key", "$.steps[1].wiht", 10),
        ("permission-not-allowed", "$.permissions[0]", 5),
        ("permission-not-allowed", "$.steps[0].with.operation", 8),
        ("permission-missing", "$.steps[1].tool", 9),
        ("missing-key", "$", 1),  # strict: `tests:`
    ]
    hints = {d["path"]: d["hint"] for d in refused["error"]["diagnostics"]}
    assert "ask the user" in hints["$.steps[0].with.operation"]


async def test_a_call_the_declared_permissions_miss_is_an_error_located_at_the_call(
    client: Client,
) -> None:
    refused = await call(
        client, "validate", plugin_source=CORPUS["declared-permissions-miss-a-call"]
    )
    (problem,) = refused["error"]["diagnostics"]
    assert (problem["code"], problem["path"], problem["line"], problem["hint"]) == (
        "permission-missing",
        "$.steps[0].with.operation",
        9,
        "add km_engine_control:calculate (or km_engine_control) to `permissions:`",
    )


async def test_at_strict_reading_a_key_the_tool_never_answers_is_an_error(
    client: Client,
) -> None:
    text = CORPUS["reads-a-key-the-tool-never-answers"]
    refused = await call(client, "validate", plugin_source=text)
    problem, mock = refused["error"]["diagnostics"]
    assert (problem["severity"], problem["code"], problem["path"], problem["message"]) == (
        "error",
        "unknown-result-field",
        "$.outputs.value",
        "km_variable_manager get answers no `value`",
    )
    assert problem["hint"] == (
        "the answer holds success, data; km-actions://catalog (its `km_variable_manager` "
        "entry) shows the whole answer"
    )
    # the mock the test passes on is shaped as wrongly: an error at strict too
    assert (mock["severity"], mock["code"], mock["path"], mock["message"]) == (
        "error",
        "mock-answer-shape",
        "$.tests[0].mocks.km_variable_manager[0].value",
        "the test's mock of km_variable_manager is not shaped as the real server answers: "
        "an answer of km_variable_manager get never has `value`",
    )
    assert mock["hint"].startswith("the answer holds success, data; the real server answers")
    assert (
        "km-actions://catalog (its `km_variable_manager` entry) shows a recorded example"
        in (mock["hint"])
    )
    standard = await call(client, "validate", plugin_source=text, validation_level="standard")
    assert [w["code"] for w in standard["warnings"]] == [
        "unknown-result-field",
        "mock-answer-shape",
    ]


async def test_at_strict_a_failing_test_is_a_problem_located_at_the_test(client: Client) -> None:
    refused = await call(client, "validate", plugin_source=CORPUS["a-failing-test"])
    (problem,) = refused["error"]["diagnostics"]
    assert (problem["code"], problem["message"], problem["path"], problem["line"]) == (
        "test-failed",
        'the test `adds` failed: output `sum` is "4", expected "3"',
        "$.tests[0]",
        13,
    )
    assert [t["passed"] for t in refused["data"]["tests"]] == [False]


# -- item 4: the seed's calling convention --------------------------------------------

SEED_CALL: dict[str, Any] = {
    "security_profile": "standard",
    "api_version": "1.0",
    "auto_update": False,
    "dependency_resolution": True,
    "validation_level": "strict",
    "timeout": 60,
}

#: What each operation needs besides the seed's parameters, to get past them.
NEEDED: dict[str, dict[str, Any]] = {
    "install": {"plugin_source": "/nowhere/plugin"},
    "uninstall": {"plugin_identifier": "nothing-here"},
    "create": {"plugin_source": prompt.EXAMPLE},
    "execute": {"action_name": "nothing/here"},
    "configure": {"plugin_identifier": "nothing-here", "plugin_config": {}},
    "enable": {"plugin_identifier": "nothing-here"},
    "disable": {"plugin_identifier": "nothing-here"},
    "validate": {"plugin_source": prompt.EXAMPLE},
    "describe": {"plugin_identifier": "nothing-here"},
    "test": {"plugin_identifier": "nothing-here"},
}


def test_the_seed_call_fills_in_every_parameter_but_the_operations_own() -> None:
    assert (
        set(SEED_CALL)
        == set(SEED_DEFAULTS)
        == set(PARAMETERS)
        - {
            "operation",
            "plugin_identifier",
            "plugin_source",
            "action_name",
            "parameters",
            "plugin_config",
        }
    )


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_a_call_with_every_seed_default_is_accepted(client: Client, operation: str) -> None:
    envelope = await call(client, operation, **SEED_CALL, **NEEDED.get(operation, {}))
    assert envelope.get("error", {}).get("code") != "invalid-parameter", envelope


async def test_dependency_resolution_takes_the_seeds_booleans(client: Client) -> None:
    refused = await call(client, "update", plugin_identifier="x", dependency_resolution=False)
    assert refused["error"]["message"].startswith(
        "`dependency_resolution` cannot be `installed` for `update`"
    )
    wrong = await call(client, "install", plugin_source="x", dependency_resolution="yes")
    assert wrong["error"]["message"] == "`dependency_resolution` cannot be 'yes'"


async def test_a_parameter_that_does_not_apply_is_refused_unless_at_its_default(
    client: Client,
) -> None:
    refused = await call(client, "list", timeout=30, auto_update=False)
    assert refused["error"]["message"] == "`timeout` does not apply to `list`"


async def test_create_is_strict_unless_told(client: Client) -> None:
    bare = CORPUS["no-tests-no-descriptions"]
    strict = await call(client, "create", plugin_source=bare)
    assert [(d["code"], d["path"]) for d in strict["error"]["diagnostics"]] == [
        ("missing-description", "$.name"),
        ("missing-description", "$.inputs.n"),
        ("missing-key", "$"),
    ]
    standard = await call(client, "create", plugin_source=bare, validation_level="standard")
    assert standard["success"] is True, standard


# -- item 5: names that just work --------------------------------------------------------

SUM = (
    HEADER
    + """name: sum
description: Add two numbers on the engine's calculator.
permissions: [km_engine_control:calculate]
inputs:
  a: {type: number, description: The first number}
  b: {type: number, description: The second number}
steps:
  - id: calc
    tool: km_engine_control
    with: {operation: calculate, expression: "{{ inputs.a }} + {{ inputs.b }}"}
outputs:
  sum: "{{ steps.calc.result.data.result }}"
tests:
  - name: adds
    inputs: {a: 1, b: 2}
    mocks: {km_engine_control: [{success: true, data: {result: "3"}}]}
    expect: {outputs: {sum: "3"}}
"""
)


async def test_execute_finds_an_action_by_its_short_name(client: Client) -> None:
    created = await call(client, "create", plugin_source=SUM)
    assert created["data"]["message"] == (
        "created `sum` in the plugin `mcp-created` (version 0.0.1); run it with `execute` "
        '(action_name "mcp-created/sum") or its own tool `mcp-created__sum`'
    )
    ran = await call(client, "execute", action_name="sum", parameters={"a": 2, "b": 3})
    assert ran["data"]["outputs"] == {"sum": "5"}
    assert ran["data"]["action"] == "mcp-created/sum"
    await call(client, "create", plugin_source=SUM, plugin_identifier="sums")
    several = await call(client, "execute", action_name="sum", parameters={"a": 2, "b": 3})
    assert (several["error"]["code"], several["error"]["message"], several["error"]["hint"]) == (
        "ambiguous-action",
        "2 installed actions are named `sum`: mcp-created/sum, sums/sum",
        "name the one you mean as plugin/action, e.g. `mcp-created/sum`",
    )
    missing = await call(client, "execute", action_name="smu")
    assert (missing["error"]["message"], missing["error"]["hint"]) == (
        "no installed action is named `smu`",
        "did you mean 'sum'?",
    )


async def test_creating_an_action_again_says_it_replaced_it_and_how_its_inputs_changed(
    client: Client,
) -> None:
    """A second `create` of the same name replaces the action: the answer says so (found
    by a tester: it answered "created `shout`…" while the first one's inputs vanished)."""
    await call(client, "create", plugin_source=SUM)
    other = SUM.replace("name: sum", "name: other")
    added = await call(client, "create", plugin_source=other)
    assert (added["data"]["message"], added["data"]["upgraded"], added["data"]["replaced"]) == (
        "created `other` in the plugin `mcp-created` (version 0.0.1 → 0.0.2); run it with "
        '`execute` (action_name "mcp-created/other") or its own tool `mcp-created__other`',
        {"mcp-created": "0.0.1"},
        None,
    )
    fewer = (
        SUM.replace(
            "  b: {type: number, description: The second number}\n",
            "  c: {type: string, description: A note}\n",
        )
        .replace("{a: 1, b: 2}", "{a: 1, c: x}")
        .replace("inputs.b", "2")
    )
    fewer = fewer.replace("a: {type: number,", "a: {type: integer,")
    replaced = await call(client, "create", plugin_source=fewer)
    assert (replaced["data"]["message"], replaced["data"]["replaced"]) == (
        "replaced the existing action `sum` in the plugin `mcp-created` (version 0.0.2 → "
        "0.0.3; inputs removed: `b`; added: `c`; changed: `a`); run it with `execute` "
        '(action_name "mcp-created/sum") or its own tool `mcp-created__sum`',
        {"inputs_added": ["c"], "inputs_removed": ["b"], "inputs_changed": ["a"]},
    )
    again = await call(client, "create", plugin_source=fewer)
    assert again["data"]["message"].startswith(
        "replaced the existing action `sum` in the plugin `mcp-created` (version 0.0.3 → "
        "0.0.4; same inputs); run it"
    )


async def test_hints_say_what_to_give_not_only_what_it_is(client: Client) -> None:
    """Found by a tester: an input of the wrong type got its description ("The first
    number") as the hint, a parameter of the wrong type the parameter's whole
    description."""
    await call(client, "create", plugin_source=SUM)
    to_give = (
        '`a` takes a number (The first number): give it as `"a": …` in `parameters` (or in '
        "the arguments of the action tool)"
    )
    for given in ({"a": "one", "b": 2}, {"a": None, "b": 2}, {"b": 2}):
        refused = await call(client, "execute", action_name="sum", parameters=given)
        assert refused["error"]["hint"] == to_give, given
    tool = await client.call_tool("mcp-created__sum", {"a": [1], "b": 2})
    assert envelope_of(tool)["error"]["hint"] == to_give
    shapes = [
        (
            {"action_name": 7},
            "`action_name` must be text",
            'e.g. {"action_name": "mcp-created/shout"}',
        ),
        (
            {"action_name": "sum", "parameters": "a=1"},
            "`parameters` must be a mapping (key: value pairs)",
            'e.g. {"parameters": {"text": "hi"}}: the action\'s inputs, by name',
        ),
    ]
    for arguments, message, hint in shapes:
        refused = await call(client, "execute", **arguments)
        assert (refused["error"]["message"], refused["error"]["hint"]) == (message, hint)
    neither = await call(client, "create")
    assert neither["error"]["hint"] == (
        'e.g. {"parameters": {"api_version": "1.1", "kind": "action", "name": "…", …}}: the '
        'manifest; or e.g. {"plugin_source": "api_version: \'1.1\'\\nkind: action\\n…"}: the '
        "manifest"
    )


@pytest.mark.parametrize(
    ("arguments", "code", "message", "hint", "path"),
    [
        pytest.param(
            {"operation": "describe", "action_name": "../../etc/passwd"},
            "invalid-name",
            '`action_name` "../../etc/passwd" is not a valid action name',
            "write plugin/action, or the action's name alone: use lower-case letters, digits "
            "and -, starting with a letter (dots allowed), e.g. 'etc'",
            "$.action_name",
            id="action-name-with-dots",
        ),
        pytest.param(
            {"operation": 5},
            "invalid-parameter",
            "`operation` must be one of: install, uninstall, list, create, execute, configure, "
            "enable, disable, validate, describe, test, search, update, stats",
            'pass operation, e.g. {"operation": "list"}',
            "$.operation",
            id="operation-not-text",
        ),
        pytest.param(
            {"operation": "list", "parameters": {"enabled": "yes"}},
            "invalid-parameter",
            "`parameters.enabled` must be true or false",
            'e.g. {"enabled": true}',
            "$.parameters.enabled",
            id="option-of-the-wrong-kind",
        ),
        pytest.param(
            {"operation": "list", "parameters": {"serch": "x"}},
            "invalid-parameter",
            "`parameters` of `list` cannot hold `serch`",
            "did you mean 'search'?",
            "$.parameters.serch",
            id="unknown-option",
        ),
        pytest.param(
            {"operation": "execute", "action_name": "sum", "timeout": -1},
            "invalid-parameter",
            "`timeout` must be more than 0 and at most 3600 seconds",
            'e.g. {"timeout": 120}',
            "$.timeout",
            id="timeout-out-of-range",
        ),
        pytest.param(
            {"operation": "execute", "action_name": "sum", "timeot": 5},
            "invalid-parameter",
            "unknown parameter `timeot`",
            "did you mean 'timeout'?",
            "$.timeot",
            id="unknown-parameter",
        ),
        pytest.param(
            {"operation": "execute"},
            "invalid-parameter",
            "`execute` needs `action_name`",
            'e.g. {"action_name": "mcp-created/shout"}',
            "$.action_name",
            id="missing",
        ),
        pytest.param(
            {"operation": "stats", "parameters": {"since": "forever"}},
            "invalid-parameter",
            "cannot read 'forever' as a window",
            "give how far back (30m, 1h, 7d, 2w) or since when (2026-05-04 or 2026-05-04T09:30)",
            "$.parameters.since",
            id="since",
        ),
        pytest.param(
            {"operation": "install", "plugin_source": "/nowhere", "security_profile": "none"},
            "permission-denied",
            "the security profile `none` is looser than this server allows (`standard`)",
            "choose the server's profile or a stricter one; the server's own is set with "
            "`km-actions config set security.default_profile …`",
            "$.security_profile",
            id="looser-profile",
        ),
    ],
)
async def test_every_parameter_error_is_at_its_parameter(
    client: Client, arguments: dict[str, Any], code: str, message: str, hint: str, path: str
) -> None:
    """Found by a tester: these answered `path: "$"` (and `action_name` with dots "no
    plugin '..' is installed"), `operation: 5` listed the operations in two orders."""
    result = await client.call_tool(ECOSYSTEM, arguments)
    error = envelope_of(result)["error"]
    assert (error["code"], error["message"], error["hint"], error["path"]) == (
        code,
        message,
        hint,
        path,
    )


async def test_without_a_marketplace_the_hint_says_what_the_user_can_do(client: Client) -> None:
    """Found by a tester: the hint told an MCP caller to "pass --index URL", a flag of
    the command line."""
    hint = (
        "the user can add one with `km-actions marketplace add URL` (MCP callers cannot add "
        "marketplaces); or give `plugin_source` a folder, archive or URL the user allowed"
    )
    for arguments in (
        {"operation": "install", "plugin_source": "clipboard-tools"},
        {"operation": "search", "parameters": {"query": "clip"}},
    ):
        error = envelope_of(await client.call_tool(ECOSYSTEM, arguments))["error"]
        assert (error["code"], error["message"], error["hint"]) == (
            "no-marketplace",
            "no marketplace is configured",
            hint,
        )


async def test_describe_an_action_lists_the_tools_it_calls_and_its_permissions(
    client: Client,
) -> None:
    await call(client, "create", plugin_source=SUM)
    described = await call(client, "describe", action_name="sum")
    assert described["data"] == {
        **described["data"],
        "qualified": "mcp-created/sum",
        "tools": [{"tool": "km_engine_control", "operation": "calculate", "class": "read-only"}],
        "permissions": {
            "declared": ["km_engine_control:calculate"],
            "granted": ["km_engine_control:calculate"],
        },
    }


async def test_resource_templates_are_listed_and_the_guide_is_served(client: Client) -> None:
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["km-actions://plugins/{identifier}/docs"]
    uris = [str(r.uri) for r in (await client.list_resources()).resources]
    assert "km-actions://docs/templates-and-expressions" in uris
    contents = (await client.read_resource("km-actions://docs/reference")).contents
    assert isinstance(contents[0], TextResourceContents)
    assert contents[0].text.startswith("# ")
    assert not re.search(r"\]\([\w-]+\.md", contents[0].text)


async def test_hints_point_to_operations_and_resources(client: Client) -> None:
    missing = await call(client, "execute", action_name="nothing/here")
    assert missing["error"]["hint"] == "see the installed actions with the `list` operation"
