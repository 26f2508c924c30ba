"""Running installed actions: grants, settings, calls, integrity, cache, history, metrics."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest

from engine.diagnostics.errors import EngineError, StepError
from engine.plugins import history as history_module
from engine.plugins import serving as serving_module
from engine.plugins.installer import install
from engine.plugins.lifecycle import configure, disable
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from engine.run.model import RunResult
from engine.tools.bridge.mock import MockBridge
from engine.tools.catalog import ToolCatalog
from tests.plugins.store.conftest import CLIPBOARD_TOOLS, MakePlugin, call

CALC = {"success": True, "data": {"expression": "6*7", "result": "42", "result_type": "int"}}
GREET = {
    "inputs": {"name": {"type": "string", "default": "you"}},
    "steps": [
        {"if": "config.loud", "set": {"text": "{{ config.greeting | upper }} {{ inputs.name }}"}},
        {"if": "not config.loud", "set": {"text": "{{ config.greeting }} {{ inputs.name }}"}},
    ],
    "outputs": {"text": "{{ vars.text }}"},
}
SETTINGS = {
    "type": "object",
    "properties": {
        "greeting": {"type": "string", "default": "Hello"},
        "loud": {"type": "boolean", "default": False},
    },
}


def _run(
    runtime: ServedPlugins, name: str, mocks: dict[str, Any] | None = None, **kw: Any
) -> RunResult:
    bridge = MockBridge(mocks or {}, ToolCatalog.builtin())
    return asyncio.run(runtime.run(name, bridge=bridge, **kw))


def test_settings_reach_templates_and_expressions(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("greeter", configuration_schema=SETTINGS, actions={"greet": GREET}))
    runtime = ServedPlugins.load(store)
    assert _run(runtime, "greeter/greet").outputs == {"text": "Hello you"}
    configure(store, "greeter", {"greeting": "hi", "loud": True})
    runtime = ServedPlugins.load(store)
    result = asyncio.run(
        runtime.run("greeter/greet", {"name": "Ann"}, bridge=MockBridge({}, ToolCatalog.builtin()))
    )
    assert result.outputs == {"text": "HI Ann"}


def test_calls_across_plugins_use_the_callee_settings(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("greeter", configuration_schema=SETTINGS, actions={"greet": GREET}))
    caller = {
        "steps": [{"id": "g", **call("greeter/greet", name="Bob")}],
        "outputs": {"said": "{{ steps.g.result.text }}"},
    }
    install(store, make_plugin("app", dependencies={"greeter": "*"}, actions={"use": caller}))
    configure(store, "greeter", {"greeting": "Howdy"})
    runtime = ServedPlugins.load(store)
    assert _run(runtime, "app/use").outputs == {"said": "Howdy Bob"}


def test_a_call_outside_the_grant_is_refused(store: Store, make_plugin: MakePlugin) -> None:
    calc = {"steps": [{"id": "c", "tool": "km_engine_control",
                       "with": {"operation": "calculate", "expression": "6*7"}}],
            "outputs": {"r": "{{ steps.c.result.data.result }}"}}  # fmt: skip
    install(store, make_plugin("calc", permissions=["km_engine_control:calculate"],
                               actions={"c": calc}))  # fmt: skip
    runtime = ServedPlugins.load(store)
    assert _run(runtime, "calc/c", {"km_engine_control": [CALC]}).outputs == {"r": "42"}
    with store.transaction() as conn:  # as if the user had granted less
        conn.execute("DELETE FROM permissions WHERE identifier = 'calc'")
    result = _run(ServedPlugins.load(store), "calc/c", {"km_engine_control": [CALC]})
    assert result.error is not None
    assert result.error.kind.value == "permission-denied"
    assert result.error.message == (
        "the action is not allowed to call km_engine_control:calculate: it is not in its "
        "granted permissions"
    )


def _install_with_bad_tampered(store: Store, make_plugin: MakePlugin) -> None:
    """Install 'good' and 'bad', then change a file of 'bad' behind the store's back."""
    install(store, make_plugin("good"))
    install(store, make_plugin("bad"))
    edited = store.folder(store.require("bad")) / "actions" / "hello.yaml"
    edited.chmod(0o644)
    edited.write_text(edited.read_text().replace("x: 1", "x: 2"))


def test_a_tampered_plugin_is_refused_and_the_others_load(
    store: Store, make_plugin: MakePlugin
) -> None:
    _install_with_bad_tampered(store, make_plugin)
    runtime = ServedPlugins.load(store)
    assert runtime.names() == ["good/hello"]
    refused = runtime.refused["bad"]
    assert refused.code == "plugin-tampered"
    assert (
        refused.message
        == "'bad' 1.0.0 is refused: actions/hello.yaml: changed since it was installed"
    )
    assert [d.file for d in refused.diagnostics] == ["actions/hello.yaml"]
    with pytest.raises(EngineError) as caught:
        runtime.pipeline("bad/hello")
    assert caught.value is refused


def test_a_call_into_a_refused_plugin_says_why(store: Store, make_plugin: MakePlugin) -> None:
    """An `action:` step into a refused plugin is worded as every action that cannot
    run is (it said "`bad/hello` cannot run: …" here, "the action `…` cannot run: …"
    in a folder)."""
    _install_with_bad_tampered(store, make_plugin)
    runtime = ServedPlugins.load(store)
    with pytest.raises(StepError) as caught:
        runtime.resolve("bad/hello", runtime.pipeline("good/hello"))
    assert (caught.value.message, caught.value.hint) == (
        "the action `bad/hello` cannot run: 'bad' 1.0.0 is refused: actions/hello.yaml: "
        "changed since it was installed",
        runtime.refused["bad"].hint,
    )
    assert caught.value.__cause__ is runtime.refused["bad"]


def test_unknown_and_disabled_actions(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("demo"))
    install(store, make_plugin("off"))
    disable(store, "off")
    runtime = ServedPlugins.load(store)
    with pytest.raises(StepError) as caught:
        runtime.pipeline("demo/helo")
    assert caught.value.hint == "did you mean 'demo/hello'?"
    with pytest.raises(StepError) as caught:
        runtime.pipeline("off/hello")
    assert (caught.value.message, caught.value.hint) == (
        "the plugin 'off' is disabled",
        "enable it with `km-actions enable off`",
    )


def test_start_up_parses_no_yaml(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    install(store, CLIPBOARD_TOOLS)

    def no_yaml(*args: object, **kwargs: object) -> None:
        raise AssertionError("the manifest cache should have been used")

    monkeypatch.setattr(serving_module, "load_bytes", no_yaml)
    runtime = ServedPlugins.load(store)
    assert len(runtime.names()) == 4


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.unlink(), id="missing"),
        pytest.param(lambda path: path.write_bytes(b"garbage"), id="damaged"),
        pytest.param(lambda path: path.write_bytes(pickle.dumps(print)), id="planted-global"),
    ],
)
def test_a_bad_manifest_cache_is_rebuilt(store: Store, damage: Any) -> None:
    plugin = install(store, CLIPBOARD_TOOLS).plugin
    cache = store.cache_file(plugin)
    damage(cache)
    runtime = ServedPlugins.load(store)
    assert runtime.refused == {} and len(runtime.names()) == 4
    assert cache.exists()
    assert store.require("clipboard-tools").cache is not None
    again = ServedPlugins.load(store)  # the rebuilt cache is used as it is
    assert len(again.names()) == 4


def test_a_planted_pickle_never_runs(store: Store) -> None:
    class Boom:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (exec, ("raise SystemExit('the cache ran code')",))

    plugin = install(store, CLIPBOARD_TOOLS).plugin
    cache = store.cache_file(plugin)
    cache.write_bytes(pickle.dumps(Boom()))
    with store.transaction() as conn:  # even if its digest were recorded
        from engine.plugins._cache import digest

        conn.execute("UPDATE versions SET cache = ?", (digest(cache.read_bytes()),))
    assert len(ServedPlugins.load(store).names()) == 4


@pytest.mark.parametrize("write_behind", [False, True], ids=["in-line", "write-behind"])
def test_history_and_metrics(
    store: Store, make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch, write_behind: bool
) -> None:
    monkeypatch.setattr(history_module, "SUCCESSES_KEPT", 1)
    monkeypatch.setattr(history_module, "FAILURES_KEPT", 2)
    monkeypatch.setattr(history_module, "_TRIM_EVERY", 1)
    fail = {"steps": [{"fail": "no"}]}
    install(store, make_plugin("demo", actions={"ok": GREET | {"steps": [{"set": {"text": "x"}}]},
                                                "bad": fail}))  # fmt: skip
    runs = history_module.RunHistory(store, write_behind=write_behind)
    runtime = ServedPlugins.load(store, runs=runs)
    for name in ("demo/ok", "demo/ok", "demo/bad", "demo/ok", "demo/bad"):
        _run(runtime, name)
    history = runtime.history()
    assert [(h["action"], h["status"], h["error_kind"]) for h in history] == [
        ("bad", "failed", "failed"),
        ("ok", "succeeded", None),
        ("bad", "failed", "failed"),
    ]
    stats = runtime.stats()
    # The window starts after the successes no longer kept (the first two runs)...
    assert stats["window"]["shortened"] is True
    by_action = {s["action"]: s for s in stats["actions"]}
    assert (by_action["demo/ok"]["runs"], by_action["demo/ok"]["failures"]) == (1, 0)
    assert (
        by_action["demo/bad"]["runs"],
        by_action["demo/bad"]["failures"],
        by_action["demo/bad"]["last_status"],
    ) == (2, 2, "failed")
    # ...and the metrics count every run ever made.
    assert by_action["demo/ok"]["all_time"]["runs"] == 3
    assert by_action["demo/bad"]["all_time"]["failures"] == 2
    runtime.close()


@pytest.mark.parametrize("write_behind", [False, True], ids=["in-line", "write-behind"])
def test_a_run_the_history_cannot_record_still_stands(
    store: Store, make_plugin: MakePlugin, write_behind: bool, caplog: pytest.LogCaptureFixture
) -> None:
    install(store, make_plugin("demo", actions={"ok": {"steps": [{"set": {"x": 1}}]}}))
    runs = history_module.RunHistory(store, write_behind=write_behind)
    runtime = ServedPlugins.load(store, runs=runs)
    locker = store.conn  # another writer holds the store's write lock
    runs._history_conn().execute("PRAGMA busy_timeout = 0")
    locker.execute("BEGIN IMMEDIATE")
    try:
        result = _run(runtime, "demo/ok")
        runs.stats()  # with write-behind: waits for the queued write
    finally:
        locker.execute("ROLLBACK")
    assert result.error is None
    assert [r.getMessage().split(" at ")[0] for r in caplog.records] == ["the run of demo/ok"]
    assert "was not recorded in the history: database is locked" in caplog.text
    assert runtime.stats()["actions"] == []
    runtime.close()


def test_installed_tests_run_with_their_own_settings(store: Store) -> None:
    install(store, CLIPBOARD_TOOLS)
    configure(store, "clipboard-tools", {"share_token": "the-users-token", "signature": "-- Me"})
    runtime = ServedPlugins.load(store, compile=False)
    for name in runtime.names():
        outcomes = asyncio.run(runtime.run_tests(name))
        assert outcomes and all(o.passed for o in outcomes), [o.failures for o in outcomes]
    assert runtime.stats()["actions"] == []  # tests are not runs


def test_a_missing_setting_is_pointed_at(store: Store) -> None:
    install(store, CLIPBOARD_TOOLS)
    runtime = ServedPlugins.load(store)
    mocks = {"km_engine_control": [{"success": True, "data": {"processed": "a"}}]}
    result = _run(runtime, "clipboard-tools/share-clipboard", mocks)
    assert result.error is not None
    assert result.error.hint == (
        "'clipboard-tools' has settings that are not set yet (share_token): set them with "
        "`km-actions configure clipboard-tools share_token=…`"
    )


def test_lazy_loading_compiles_on_first_use(store: Store) -> None:
    install(store, CLIPBOARD_TOOLS)
    runtime = ServedPlugins.load(store, compile=False)
    loaded = runtime.plugins["clipboard-tools"]
    assert not any(type(a).__name__ == "Pipeline" for a in loaded.actions.values())
    pipeline = runtime.pipeline("clipboard-tools/sign-clipboard")
    assert runtime.pipeline("clipboard-tools/sign-clipboard") is pipeline
    assert pipeline.file == "clipboard-tools/actions/sign-clipboard.yaml"
