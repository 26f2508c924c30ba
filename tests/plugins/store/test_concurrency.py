"""Two processes installing at once lose nothing.

sqlite's write lock serializes the commits, and each process stages in a folder of its own.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from engine.plugins import installer
from engine.plugins.installer import install
from engine.plugins.lifecycle import configure, verify
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from tests.plugins.store.conftest import MakePlugin, call

LIB = {"x": {"steps": [{"set": {"x": 1}}], "outputs": {"x": "{{ vars.x }}"}}}


def _in_children(home: Path, jobs: list[list[Path]]) -> list[int]:
    """Run each job (plugins to install, in order) in its own process, all released at
    the same moment; return their exit codes."""
    start_read, start_write = os.pipe()
    pids = []
    for sources in jobs:
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                os.close(start_write)
                os.read(start_read, 1)  # wait for the start signal
                with Store.open(home) as store:
                    for source in sources:
                        install(store, source)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    os.close(start_read)
    os.write(start_write, b"x" * len(jobs))
    os.close(start_write)
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]


def test_two_processes_installing_at_once(home: Path, make_plugin: MakePlugin) -> None:
    with Store.open(home) as store:
        install(store, make_plugin("lib", actions=LIB))
    first = [make_plugin(f"a{i}", dependencies={"lib": "*"},
                         actions={"y": {"steps": [call("lib/x")]}}) for i in range(4)]  # fmt: skip
    second = [make_plugin(f"b{i}", dependencies={"lib": ">=1,<2"}) for i in range(4)]
    assert _in_children(home, [first, second]) == [0, 0]
    with Store.open(home) as store:
        names = [p.identifier for p in store.plugins()]
        assert names == ["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3", "lib"]
        assert sorted(store.dependents("lib")) == names[:-1]
        assert all(r.ok for r in verify(store))
        assert list(store.staging_dir.iterdir()) == []
        assert len(ServedPlugins.load(store).names()) == 9


def test_two_processes_installing_the_same_plugin(home: Path, make_plugin: MakePlugin) -> None:
    source = make_plugin("same")
    newer = make_plugin("same", "2.0.0")
    assert _in_children(home, [[source, newer], [source, newer]]) == [0, 0]
    with Store.open(home) as store:
        plugin = store.require("same")
        assert plugin.version == "2.0.0"
        assert [p.name for p in (store.plugins_dir / "same").iterdir()] == [
            plugin.folder.rsplit("/", 1)[1]
        ]
        assert all(r.ok for r in verify(store))


def test_settings_changed_during_an_upgrade_are_not_lost(
    home: Path, make_plugin: MakePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    with Store.open(home) as store:
        install(store, make_plugin("demo", configuration_schema=schema))
    real = installer._settings_state
    reads: list[str] = []

    def configured_meanwhile(conn: sqlite3.Connection, identifier: str) -> tuple[str, str | None]:
        state = real(conn, identifier)
        reads.append(identifier)
        if len(reads) == 1:  # right after the upgrade read them, another process changes them
            with Store.open(home) as other:
                configure(other, "demo", {"n": 7})
        return state

    monkeypatch.setattr(installer, "_settings_state", configured_meanwhile)
    with Store.open(home) as store:
        install(store, make_plugin("demo", "2.0.0", configuration_schema=schema))
        assert store.settings("demo") == {"n": 7}
    assert len(reads) > 2, "the install started over"
