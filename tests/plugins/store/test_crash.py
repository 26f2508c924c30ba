"""A crash at any moment leaves the old state or the new one, and the next start is clean.

Each case runs an operation in a child process that ends itself (``os._exit``, no cleanup)
at a named crash point (:mod:`engine.plugins.faults`); the parent then opens the store,
which recovers, and checks that it holds exactly the state before or the state after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.plugins.faults import CRASH_ENV, CRASH_EXIT_CODE, CRASH_POINTS
from engine.plugins.installer import install
from engine.plugins.lifecycle import configure, uninstall, verify
from engine.plugins.lock import compute_lock, lock_digest
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from tests.plugins.store.conftest import ROOT, MakePlugin

V1 = {
    "type": "object",
    "properties": {"n": {"type": "integer"}, "token": {"type": "string", "secret": True}},
}
V2 = {
    "type": "object",
    "properties": {
        "n": {"type": "integer", "maximum": 2},
        "token": {"type": "string", "secret": True, "minLength": 10},
    },
}
BEFORE_COMMIT = ("after-stage", "before-rename", "after-rename", "before-commit")
AFTER_COMMIT = ("after-commit", "after-cleanup")


def _crash(home: Path, point: str, operation: Callable[[Store], object]) -> None:
    """Run ``operation`` on a store of its own in a child process that dies at ``point``."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.environ[CRASH_ENV] = point
            with Store.open(home) as store:
                operation(store)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == CRASH_EXIT_CODE, f"{point} was never reached"


def _assert_clean(store: Store) -> None:
    assert list(store.staging_dir.iterdir()) == []
    folders = {f"plugins/{p.parent.name}/{p.name}" for p in store.plugins_dir.glob("*/*")}
    assert folders == {p.folder for p in store.plugins()}
    # The manifest cache of each installed version (and the memo of the tools it was
    # checked against), nothing of another.
    cached = {c.name for c in store.cache_dir.iterdir()}
    pickles = {f"{p.digest}.pickle" for p in store.plugins()}
    assert pickles <= cached <= pickles | {f"{p.digest}.checked" for p in store.plugins()}
    assert all(r.ok for r in verify(store))
    runtime = ServedPlugins.load(store)
    assert runtime.refused == {}


@pytest.fixture
def upgrade_sources(make_plugin: MakePlugin) -> tuple[Path, Path]:
    return (
        make_plugin("demo", configuration_schema=V1),
        make_plugin("demo", "1.1.0", configuration_schema=V2),
    )


def test_every_install_point_is_tested() -> None:
    tested = {*BEFORE_COMMIT, *AFTER_COMMIT, "uninstall-before-commit", "uninstall-after-commit",
              "configure-before-commit", "configure-after-commit"}  # fmt: skip
    assert tested == set(CRASH_POINTS)


@pytest.mark.parametrize("point", [*BEFORE_COMMIT, *AFTER_COMMIT])
def test_upgrade_crash(home: Path, upgrade_sources: tuple[Path, Path], point: str) -> None:
    old, new = upgrade_sources
    with Store.open(home) as store:
        install(store, old)
        configure(store, "demo", {"n": 3, "token": "abc-123"})
    _crash(home, point, lambda store: install(store, new))
    with Store.open(home) as store:
        plugin = store.require("demo")
        if point in BEFORE_COMMIT:
            assert plugin.version == "1.0.0"
            assert (store.settings("demo"), store.secrets("demo")) == (
                {"n": 3},
                {"token": "abc-123"},
            )
        else:
            assert plugin.version == "1.1.0"
            assert (store.settings("demo"), store.secrets("demo")) == ({}, {})
        _assert_clean(store)
        assert sorted(p.name for p in store.secrets_dir.iterdir()) == (
            ["demo.json"] if point in BEFORE_COMMIT else []
        )


@pytest.mark.parametrize("point", ["after-stage", "after-rename", "before-commit", "after-commit"])
def test_first_install_crash(home: Path, make_plugin: MakePlugin, point: str) -> None:
    source = make_plugin("fresh")
    _crash(home, point, lambda store: install(store, source))
    with Store.open(home) as store:
        expected = [] if point in BEFORE_COMMIT else ["fresh"]
        assert [p.identifier for p in store.plugins()] == expected
        _assert_clean(store)


@pytest.mark.parametrize("point", ["uninstall-before-commit", "uninstall-after-commit"])
def test_uninstall_crash(home: Path, upgrade_sources: tuple[Path, Path], point: str) -> None:
    with Store.open(home) as store:
        install(store, upgrade_sources[0])
        configure(store, "demo", {"token": "abc-123"})
    _crash(home, point, lambda store: uninstall(store, "demo"))
    with Store.open(home) as store:
        if point == "uninstall-before-commit":
            assert store.secrets("demo") == {"token": "abc-123"}
        else:
            assert store.plugins() == []
            assert list(store.secrets_dir.iterdir()) == []
        _assert_clean(store)


@pytest.mark.parametrize("point", ["configure-before-commit", "configure-after-commit"])
def test_configure_crash(home: Path, upgrade_sources: tuple[Path, Path], point: str) -> None:
    with Store.open(home) as store:
        install(store, upgrade_sources[0])
        configure(store, "demo", {"n": 1, "token": "first-token"})
    _crash(home, point, lambda store: configure(store, "demo", {"n": 2, "token": "second-token"}))
    with Store.open(home) as store:
        expected = (
            ({"n": 1}, {"token": "first-token"})
            if point == "configure-before-commit"
            else ({"n": 2}, {"token": "second-token"})
        )
        assert (store.settings("demo"), store.secrets("demo")) == expected
        assert sorted(p.name for p in store.secrets_dir.iterdir()) == ["demo.json"]
        _assert_clean(store)


def test_a_real_interpreter_killed_midway(home: Path, upgrade_sources: tuple[Path, Path]) -> None:
    old, new = upgrade_sources
    with Store.open(home) as store:
        install(store, old)
    script = (
        "import sys\nfrom engine.plugins.installer import install\n"
        "from engine.plugins.store import Store\n"
        "install(Store.open(sys.argv[1]), sys.argv[2])\n"
    )
    env = {**os.environ, CRASH_ENV: "after-rename", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(home), str(new)], env=env, cwd=ROOT, check=False
    )
    assert done.returncode == CRASH_EXIT_CODE
    sha8 = lock_digest(compute_lock(new))[:8]
    with Store.open(home) as store:
        staging, orphan = store.recovered
        assert staging.startswith("removed the unfinished install ")
        assert orphan == f"removed plugins/demo/1.1.0-{sha8}, which no installed plugin uses"
        assert store.require("demo").version == "1.0.0"
        _assert_clean(store)
