"""A plugin folder run as it is (engine.plugins.local): its `action:` steps reach its own
actions, with its grant and its settings' defaults, and nothing of another plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.diagnostics.errors import ErrorKind, StepError
from engine.engine import Engine
from engine.plugins.local import LocalPlugin
from engine.validate import ActionSignature
from tests.cli.conftest import DEMO_PLUGIN, HELLO, action_text

CALLS_OTHER = action_text("borrow", "steps:\n  - action: other/x\n")


@pytest.fixture
def plugin(tmp_path: Path) -> LocalPlugin:
    (tmp_path / "plugin.yaml").write_text(DEMO_PLUGIN + 'dependencies: {other: "*"}\n')
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "hello.yaml").write_text(HELLO)
    (tmp_path / "actions" / "borrow.yaml").write_text(CALLS_OTHER)
    engine = Engine()
    other = engine.load('api_version: "1.1"\nkind: action\nname: x\nsteps: []\n').data
    others = {"other/x": ActionSignature.from_manifest(other, plugin="other")}
    return LocalPlugin.read(tmp_path, engine=engine, others=others)


def test_a_sibling_runs_with_the_plugin_grant_and_defaults(plugin: LocalPlugin) -> None:
    caller = plugin.pipeline("borrow")
    for target in ("hello", "demo/hello"):
        pipeline, grant, settings = plugin.resolver().resolve(target, caller)
        assert (pipeline.name, pipeline.plugin, grant, settings.values) == (
            "hello",
            "demo",
            plugin.grant,
            {"greeting": "Hello"},
        )


def test_a_call_into_another_plugin_is_not_available_here(plugin: LocalPlugin) -> None:
    with pytest.raises(StepError) as caught:
        plugin.resolver().resolve("other/x", plugin.pipeline("borrow"))
    assert (caught.value.kind, caught.value.message, caught.value.hint) == (
        ErrorKind.NOT_FOUND,
        "`other/x` belongs to another plugin, which is not available here",
        "install both plugins, then run the installed action (km-actions run demo/borrow)",
    )
    assert caught.value.details == {"action": "other/x"}


@pytest.mark.parametrize(
    ("target", "hint"),
    [
        pytest.param("helo", "did you mean 'hello'?", id="misspelt"),
        pytest.param("zzz", "expected one of: borrow, hello", id="unknown"),
    ],
)
def test_an_action_the_plugin_does_not_have(plugin: LocalPlugin, target: str, hint: str) -> None:
    with pytest.raises(StepError) as by_name:
        plugin.pipeline(target)
    with pytest.raises(StepError) as called:
        plugin.resolver().resolve(target, plugin.pipeline("borrow"))
    for caught in (by_name, called):
        assert (caught.value.kind, caught.value.message, caught.value.hint) == (
            ErrorKind.NOT_FOUND,
            f"the plugin 'demo' has no action `{target}`",
            hint,
        )
