"""Dependencies at install: resolution, conflicts with their chain, diamonds, dependents."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.plugins.installer import InstallSource, install
from engine.plugins.manifest import read_manifest
from engine.plugins.resolver import Candidate, DependencyError
from engine.plugins.store import Store
from tests.plugins.store.conftest import MakePlugin, call

LIB_X = {"x": {"steps": [{"set": {"x": 1}}], "outputs": {"x": "{{ vars.x }}"}}}


class Folders:
    """A marketplace stand-in: plugin folders offered as candidates, fetched by path."""

    def __init__(self, *folders: Path) -> None:
        self.manifests = [read_manifest(f) for f in folders]
        self.fetched: list[str] = []

    def candidates(self, id: str) -> list[Candidate]:
        return [
            Candidate(m.identifier, m.semver, m.ranges, m.api_version, m.root)
            for m in self.manifests
            if m.identifier == id
        ]

    def fetch(self, candidate: Candidate, scratch: Path) -> InstallSource:
        assert scratch.is_dir()
        self.fetched.append(f"{candidate.id} {candidate.version}")
        assert isinstance(candidate.source, Path)
        return InstallSource.of(candidate.source)


def test_a_missing_dependency_is_named(store: Store, make_plugin: MakePlugin) -> None:
    with pytest.raises(DependencyError) as caught:
        install(store, make_plugin("app", dependencies={"lib": ">=1.0,<2"}))
    assert caught.value.code == "dependency-missing"
    assert caught.value.message == (
        "cannot install 'app' 1.0.0: 'app' 1.0.0 needs 'lib', which is not available from "
        "any source"
    )
    assert store.plugins() == []


def test_an_installed_dependency_is_used(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("lib", "1.2.0", actions=LIB_X))
    app = make_plugin(
        "app", dependencies={"lib": ">=1.0,<2"}, actions={"y": {"steps": [call("lib/x")]}}
    )
    assert [p.identifier for p in install(store, app).installed] == ["app"]
    assert store.dependents("lib") == ["app"]


def test_a_conflict_shows_the_chain(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("lib", "1.2.0", actions=LIB_X))
    install(store, make_plugin("mid", dependencies={"lib": ">=1.0,<2"}))
    install(store, make_plugin("top", dependencies={"mid": "*"}))
    with pytest.raises(DependencyError) as caught:
        install(store, make_plugin("lib", "2.0.0", actions=LIB_X))
    assert caught.value.code == "dependency-conflict"
    assert caught.value.message == (
        "cannot install 'lib' ==2.0.0 together with 'top' 1.0.0: you asked for 'lib' "
        "==2.0.0, but 'mid' 1.0.0 (needed by 'top' 1.0.0) needs 'lib' >=1.0,<2"
    )
    assert store.require("lib").version == "1.2.0"


def test_a_1_0_plugin_s_npm_ranges_are_read_as_their_pep_440_spelling(
    store: Store, make_plugin: MakePlugin
) -> None:
    # api_version 1.0 read npm ranges: they still mean what they meant, and are shown
    # in the one syntax.
    install(store, make_plugin("lib", "1.2.0", actions=LIB_X))
    install(store, make_plugin("mid", api_version="1.0", dependencies={"lib": "^1.0"}))
    with pytest.raises(DependencyError) as caught:
        install(store, make_plugin("lib", "2.0.0", actions=LIB_X))
    assert caught.value.message == (
        "cannot install 'lib' ==2.0.0 together with 'mid' 1.0.0: you asked for 'lib' "
        "==2.0.0, but 'mid' 1.0.0 needs 'lib' >=1.0,<2"
    )


def test_a_diamond_resolves_to_one_version(store: Store, make_plugin: MakePlugin) -> None:
    offered = Folders(
        make_plugin("base", "1.0.0", actions=LIB_X),
        make_plugin("base", "1.4.0", actions=LIB_X),
        make_plugin("base", "2.0.0", actions=LIB_X),
        make_plugin("left", dependencies={"base": ">=1.2,<3"}),
        make_plugin("right", dependencies={"base": ">=1.4.0,<1.5"}),
    )
    app = make_plugin("app", dependencies={"left": "*", "right": "*"})
    result = install(store, app, provider=offered, fetch=offered.fetch)
    assert [(p.identifier, p.version) for p in result.installed] == [
        ("base", "1.4.0"),
        ("left", "1.0.0"),
        ("right", "1.0.0"),
        ("app", "1.0.0"),
    ]
    assert sorted(offered.fetched) == ["base 1.4.0", "left 1.0.0", "right 1.0.0"]
    assert {p.identifier: p.origin for p in store.plugins()} == {
        "app": "file",
        "base": "dependency",
        "left": "dependency",
        "right": "dependency",
    }
    assert list(store.staging_dir.iterdir()) == []


def test_without_a_way_to_fetch_a_chosen_dependency(store: Store, make_plugin: MakePlugin) -> None:
    offered = Folders(make_plugin("lib", actions=LIB_X))
    with pytest.raises(Exception) as caught:
        install(store, make_plugin("app", dependencies={"lib": "*"}), provider=offered)
    assert getattr(caught.value, "code", None) == "dependency-unavailable"
    assert store.plugins() == []


def test_a_fetched_plugin_must_be_what_was_chosen(store: Store, make_plugin: MakePlugin) -> None:
    offered = Folders(make_plugin("lib", "1.0.0", actions=LIB_X))
    impostor = make_plugin("lib", "9.9.9", actions=LIB_X)

    def fetch(candidate: Candidate, scratch: Path) -> InstallSource:
        return InstallSource.of(impostor)

    with pytest.raises(Exception) as caught:
        install(store, make_plugin("app", dependencies={"lib": "*"}), provider=offered, fetch=fetch)
    assert getattr(caught.value, "code", None) == "source-mismatch"
    assert store.plugins() == []


def test_an_upgrade_may_not_drop_an_action_a_dependent_calls(
    store: Store, make_plugin: MakePlugin
) -> None:
    install(store, make_plugin("lib", actions=LIB_X))
    install(
        store,
        make_plugin(
            "app", dependencies={"lib": ">=1,<2"}, actions={"y": {"steps": [call("lib/x")]}}
        ),
    )
    with pytest.raises(Exception) as caught:
        install(store, make_plugin("lib", "1.1.0", actions={"z": {"steps": [{"set": {"z": 1}}]}}))
    assert getattr(caught.value, "code", None) == "dependent-broken"
    assert str(caught.value) == (
        "'lib' 1.1.0 has no action `x`, which the installed 'app' calls (`lib/x` in its action `y`)"
    )


def test_calls_into_a_dependency_are_checked(store: Store, make_plugin: MakePlugin) -> None:
    install(store, make_plugin("lib", actions=LIB_X))
    app = make_plugin(
        "app", dependencies={"lib": "*"}, actions={"y": {"steps": [call("lib/nope")]}}
    )
    with pytest.raises(Exception) as caught:
        install(store, app)
    assert [d.code for d in getattr(caught.value, "diagnostics", [])] == ["unknown-action"]


def test_plugins_depending_on_each_other(store: Store, make_plugin: MakePlugin) -> None:
    offered = Folders(make_plugin("ping", dependencies={"pong": "*"}, actions=LIB_X))
    pong = make_plugin(
        "pong", dependencies={"ping": "*"}, actions={"y": {"steps": [call("ping/x")]}}
    )
    result = install(store, pong, provider=offered, fetch=offered.fetch)
    assert sorted(p.identifier for p in result.installed) == ["ping", "pong"]
