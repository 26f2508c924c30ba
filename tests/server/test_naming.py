"""MCP tool names of actions: one per action, never shared, stable, within MCP's rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.bridge.mock import MockBridge
from engine.catalog import ToolCatalog
from engine.config import Settings
from engine.plugins.installer import install
from engine.plugins.store import Store
from engine.server.naming import action_tool_name
from engine.server.store_host import StoreHost

#: What the strictest MCP clients accept as a tool name.
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

#: Plugin identifiers and action names as the manifest schemas allow them.
plugins = st.from_regex(r"[a-z][a-z0-9_.-]{0,63}", fullmatch=True)
actions = st.from_regex(r"[a-z][a-z0-9_-]{0,63}", fullmatch=True)


def _plugin(folder: Path, identifier: str, action: str) -> Path:
    (folder / "actions").mkdir(parents=True)
    (folder / "plugin.yaml").write_text(
        f'api_version: "1.1"\nkind: plugin\nidentifier: {identifier}\nname: Demo\n'
        "version: 1.0.0\ndescription: Demo.\nauthor: Ann\nplugin_type: action\n"
        "permissions: []\nactions: [actions/*.yaml]\n",
        "utf-8",
    )
    (folder / "actions" / f"{action}.yaml").write_text(
        f'api_version: "1.1"\nkind: action\nname: {action}\ndescription: Echo.\n'
        'steps:\n  - set: {said: hi}\noutputs: {said: "{{ vars.said }}"}\n',
        "utf-8",
    )
    return folder


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "home") as opened:
        yield opened


def test_an_action_cannot_take_the_name_a_dotted_plugin_s_action_has(
    store: Store, tmp_path: Path
) -> None:
    """The finding: `com.example.tools/title-case` and a plugin `com-example-tools` with an
    action named like the first one's tool (its hash part, as action names are written)
    were both offered as one tool name, and only one could be called."""
    dotted = action_tool_name("com.example.tools", "title-case")
    lookalike = dotted.removeprefix("com-example-tools__").lower()
    install(store, _plugin(tmp_path / "a", "com.example.tools", "title-case"))
    install(store, _plugin(tmp_path / "b", "com-example-tools", lookalike))
    host = StoreHost(store, MockBridge({}, ToolCatalog.builtin()), Settings())
    try:
        names = {t.tool_name: t.qualified for t in host.action_tools()}
    finally:
        host.close()
    assert names == {
        "com-example-tools__title-case_HEG45RHTQ4F477": "com.example.tools/title-case",
        "com-example-tools__title-case_heg45rhtq4f477": (
            "com-example-tools/title-case_heg45rhtq4f477"
        ),
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("a__b", "c"), ("a", "b__c"), id="the separator inside a plugin"),
        pytest.param(("a.b", "c"), ("a-b", "c"), id="a dot and a dash"),
        pytest.param(("a_b", "c"), ("a-b", "c"), id="an underscore and a dash"),
        pytest.param(("p" * 40, "x" * 30), ("p" * 40, "x" * 31), id="cut to 64"),
    ],
)
def test_names_that_read_alike_stay_apart(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert action_tool_name(*first) != action_tool_name(*second)


@given(plugins, actions, plugins, actions)
def test_two_actions_never_share_a_tool_name(p1: str, a1: str, p2: str, a2: str) -> None:
    if (p1, a1) != (p2, a2):
        assert action_tool_name(p1, a1) != action_tool_name(p2, a2)


@given(plugins, actions)
def test_every_tool_name_fits_mcp_and_is_the_same_each_time(plugin: str, action: str) -> None:
    name = action_tool_name(plugin, action)
    assert TOOL_NAME.fullmatch(name), name
    assert action_tool_name(plugin, action) == name  # depends on nothing else
