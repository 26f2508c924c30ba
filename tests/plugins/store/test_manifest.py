"""Reading plugin manifests: plugin.yaml, action files, lone actions, api_version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.diagnostics.errors import EngineError, PluginError
from engine.load.loader import load_text
from engine.load.versions import groups_1_0
from engine.plugins.manifest import (
    PluginType,
    read_action_file,
    read_manifest,
    read_plugin,
)
from engine.tools.catalog import ToolCatalog
from engine.validate import validate
from tests.plugins.store.conftest import CLIPBOARD_TOOLS, SIMPLE_ACTION, MakePlugin, call


def _where(error: EngineError) -> list[tuple[str, str | None, int | None, int | None]]:
    return [
        (d.code, d.file, d.span.line if d.span else None, d.span.column if d.span else None)
        for d in error.diagnostics
    ]


def test_reads_the_bundled_plugin() -> None:
    plugin = read_plugin(CLIPBOARD_TOOLS)
    assert (plugin.identifier, plugin.version, plugin.plugin_type) == (
        "clipboard-tools",
        "1.0.0",
        PluginType.TRANSFORMATION,
    )
    assert [a.name for a in plugin.actions] == [
        "clean-clipboard",
        "preview-clipboard",
        "share-clipboard",
        "sign-clipboard",
    ]
    assert plugin.configuration_schema is not None
    assert plugin.warnings == ()


@pytest.mark.parametrize(
    "filename",
    [pytest.param("plugin.yml", id="yml"), pytest.param("plugin.json", id="json")],
)
def test_other_manifest_names(make_plugin: MakePlugin, filename: str) -> None:
    root = make_plugin("demo")
    data = yaml.safe_load((root / "plugin.yaml").read_text())
    (root / "plugin.yaml").unlink()
    (root / filename).write_text(json.dumps(data))
    assert read_plugin(root).manifest_file == filename


def test_plugin_yaml_problems_are_located(make_plugin: MakePlugin) -> None:
    root = make_plugin("demo", descripton="typo")
    with pytest.raises(PluginError) as caught:
        read_manifest(root, label="demo")
    assert caught.value.code == "invalid-plugin"
    assert _where(caught.value) == [("unknown-key", "demo/plugin.yaml", 5, 1)]
    assert caught.value.first.hint == "did you mean 'description'?"


def test_every_problem_of_every_action_is_listed(make_plugin: MakePlugin) -> None:
    bad_tool = {"steps": [{"tool": "km_list_macros", "wiht": {"limit": 1}}]}
    bad_ref = {"steps": [{"set": {"x": "{{ inputs.nope }}"}}]}
    root = make_plugin(
        "demo", permissions=["km_list_macros"], actions={"a": bad_tool, "b": bad_ref, "c": {}}
    )
    with pytest.raises(PluginError) as caught:
        read_plugin(root, label="demo")
    assert caught.value.code == "invalid-plugin"
    assert sorted(_where(caught.value)) == [
        ("missing-key", "demo/actions/c.yaml", 1, 1),
        ("unknown-input", "demo/actions/b.yaml", 6, 12),
        ("unknown-key", "demo/actions/a.yaml", 6, 3),
    ]
    assert str(caught.value).startswith("demo: the plugin 'demo' is not valid: demo/actions/")


def test_actions_see_the_plugin_context(make_plugin: MakePlugin) -> None:
    uses_config = {"steps": [{"set": {"x": "{{ config.greeting }}"}}]}
    root = make_plugin(
        "demo",
        configuration_schema={"type": "object", "properties": {"greeting": {"type": "string"}}},
        actions={"greet": uses_config, "twice": {"steps": [call("greet"), call("demo/greet")]}},
    )
    assert [a.name for a in read_plugin(root).actions] == ["greet", "twice"]


def test_unknown_setting_is_refused(make_plugin: MakePlugin) -> None:
    root = make_plugin("demo", actions={"greet": {"steps": [{"set": {"x": "{{ config.nope }}"}}]}})
    with pytest.raises(PluginError) as caught:
        read_plugin(root, label="demo")
    assert [d.code for d in caught.value.diagnostics] == ["unknown-config"]


@pytest.mark.parametrize(
    ("fields", "actions", "code"),
    [
        pytest.param(
            {}, {"a": {"steps": [call("other/x")]}}, "dependency-undeclared", id="undeclared"
        ),
        pytest.param({"patterns": ["scripts/*.yaml"]}, None, "plugin-no-actions", id="no-match"),
        pytest.param({"patterns": ["../*.yaml"]}, None, "invalid-format", id="escapes"),
        pytest.param({"dependencies": {"lib": "^^1"}}, None, "invalid-range", id="bad-range"),
        pytest.param({"version": "1.0.0-gamma"}, None, "invalid-version", id="bad-prerelease"),
    ],
)
def test_refusals(
    make_plugin: MakePlugin,
    fields: dict[str, object],
    actions: dict[str, dict[str, object]] | None,
    code: str,
) -> None:
    root = make_plugin("demo", actions=actions, **fields)
    with pytest.raises(PluginError) as caught:
        read_plugin(root, label="demo")
    assert code in [d.code for d in caught.value.diagnostics]
    assert all(d.hint for d in caught.value.diagnostics)


def test_two_actions_with_one_name(make_plugin: MakePlugin) -> None:
    root = make_plugin("demo")
    (root / "actions" / "again.yaml").write_text(
        (root / "actions" / "hello.yaml").read_text(), "utf-8"
    )
    with pytest.raises(PluginError) as caught:
        read_plugin(root, label="demo")
    assert _where(caught.value) == [("duplicate-action", "demo/actions/hello.yaml", 3, 7)]


def test_a_plugin_manifest_among_the_actions(make_plugin: MakePlugin) -> None:
    root = make_plugin("demo")
    (root / "actions" / "nested.yaml").write_text((root / "plugin.yaml").read_text(), "utf-8")
    with pytest.raises(PluginError) as caught:
        read_plugin(root, label="demo")
    assert "an action file holds a plugin manifest" in [d.message for d in caught.value.diagnostics]


def test_no_manifest(tmp_path: Path) -> None:
    with pytest.raises(PluginError) as caught:
        read_manifest(tmp_path, label="stuff")
    assert caught.value.code == "plugin-manifest-missing"
    assert caught.value.hint == (
        "add a plugin.yaml (see docs/plugins.md), or install a single action file"
    )


def test_newer_api_version_names_the_engine_needed(make_plugin: MakePlugin) -> None:
    root = make_plugin("demo")
    text = (root / "plugin.yaml").read_text().replace("api_version: '1.1'", "api_version: '2.1'")
    (root / "plugin.yaml").write_text(text)
    with pytest.raises(PluginError) as caught:
        read_manifest(root, label="demo")
    assert caught.value.code == "unsupported-api-version"
    assert caught.value.message == (
        "demo: the plugin 'demo' is written for api_version 2.1, which needs a km-actions "
        "newer than 0.1.0 (this one reads api_version 1.0, 1.1)"
    )
    assert _where(caught.value) == [("unsupported-api-version", "demo/plugin.yaml", 1, 14)]


def test_unknown_older_api_version(make_plugin: MakePlugin) -> None:
    # Older than any km-actions read: not "upgrade km-actions", but what to change.
    root = make_plugin("demo")
    text = (root / "plugin.yaml").read_text().replace("api_version: '1.1'", "api_version: '0.9'")
    (root / "plugin.yaml").write_text(text)
    with pytest.raises(PluginError) as caught:
        read_manifest(root, label="demo")
    assert caught.value.message == (
        "demo: the plugin 'demo' is written for api_version 0.9, which is older than the "
        "manifest language km-actions knows (1.0 is the first; this km-actions reads 1.0, 1.1), "
        "so it cannot be upgraded by itself"
    )
    assert caught.value.hint == (
        'write api_version: "1.1" and run `km-actions validate FILE`: it names every key to change'
    )


def test_a_1_0_plugin_manifest_is_upgraded_with_a_note(make_plugin: MakePlugin) -> None:
    root = make_plugin("demo", permissions=["read-only"])
    text = (root / "plugin.yaml").read_text().replace("api_version: '1.1'", "api_version: '1.0'")
    (root / "plugin.yaml").write_text(text)
    plugin = read_manifest(root, label="demo")
    catalog = ToolCatalog.builtin()
    still_there = tuple(tool for tool in groups_1_0()["read-only"] if tool in catalog)
    assert (plugin.api_version, plugin.permissions) == ("1.1", still_there)
    assert "km_list_macros" in still_there
    assert [(w.code, w.severity.value) for w in plugin.warnings] == [
        ("api-version-upgraded", "note")
    ]


def test_lone_action_file(tmp_path: Path) -> None:
    path = tmp_path / "tidy_up.yaml"
    action = {
        "api_version": "1.1",
        "kind": "action",
        "name": "tidy_up",
        "steps": [
            {"tool": "km_engine_control", "with": {"operation": "calculate", "expression": "1+1"}},
            call("lib/helper"),
        ],
    }
    path.write_text(yaml.safe_dump(action), "utf-8")
    plugin = read_action_file(path)
    assert (plugin.identifier, plugin.name, plugin.version) == ("tidy-up", "tidy_up", "0.0.0")
    assert plugin.permissions == ("km_engine_control:calculate",)
    assert plugin.dependencies == {"lib": "*"}
    assert plugin.is_lone_action


def test_lone_action_keeps_its_version_and_permissions(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    body = {"api_version": "1.1", "kind": "action", "name": "x", "version": "2.3.4",
            "permissions": ["tokens"], **SIMPLE_ACTION}  # fmt: skip
    path.write_text(yaml.safe_dump(body), "utf-8")
    plugin = read_plugin(path)
    assert (plugin.version, plugin.permissions) == ("2.3.4", ("tokens",))
    assert [a.name for a in plugin.actions] == ["x"]


def test_a_plugin_manifest_is_not_a_lone_action(tmp_path: Path, make_plugin: MakePlugin) -> None:
    root = make_plugin("demo")
    with pytest.raises(PluginError) as caught:
        read_action_file(root / "plugin.yaml")
    assert caught.value.first.message == (
        "a single file installs only if it is an action (`kind: action`)"
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_any_plugin_yaml_gives_a_clear_error_or_a_plugin(tmp_path: Path, text: str) -> None:
    root = tmp_path / "fuzz"
    root.mkdir(exist_ok=True)
    (root / "plugin.yaml").write_text(text, "utf-8")
    try:
        read_manifest(root, label="fuzz")
    except EngineError as error:
        assert error.code and error.message


def test_validate_reports_a_range_as_install_would_with_the_fix() -> None:
    doc = load_text(
        'api_version: "1.1"\nidentifier: demo\nname: Demo\nversion: 1.0.0\n'
        "dependencies:\n  lib: ^1.2\n",
        file="plugin.yaml",
    )
    [found] = [d for d in validate(doc) if d.is_error]
    assert (found.code, found.message, found.hint) == (
        "invalid-range",
        "the range '^1.2' is written the npm way; ranges are PEP 440 version specifiers",
        "write '>=1.2,<2'",
    )
    assert (found.span.line, found.span.column) == (6, 8)
