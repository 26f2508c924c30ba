"""Plugins written for api_version 1.0: installed and run as they meant, and the grants
a store recorded in 1.0's words upgraded with it."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

import pytest

from engine import __version__
from engine.lang.limits import Profile
from engine.load.loader import load_text
from engine.load.versions import groups_1_0
from engine.plugins import _cache
from engine.plugins._db import MIGRATIONS, connect, migrate
from engine.plugins.installer import install
from engine.plugins.serving import ServedPlugins
from engine.plugins.store import Store
from engine.tools.bridge.mock import MockBridge
from engine.tools.catalog import ToolCatalog
from engine.tools.older_tools import CatalogTools

PLUGIN_1_0 = """\
api_version: "1.0"
identifier: vars
name: Vars
version: 1.0.0
permissions: [destructive]
"""

ACTION_1_0 = """\
api_version: "1.0"
kind: action
name: keep
permissions: [destructive]
steps:
  - tool: km_variable_manager
    with: {operation: set, name: Kept, value: "yes"}
    retry: {max_attempts: 2, interval: 0, on: [tool_failed]}
outputs:
  ok: "{{ steps[0] is defined }}"
"""


def still_there(group: str) -> list[str]:
    """The tools a 1.0 class group covered that the shipped catalog still has."""
    catalog = ToolCatalog.builtin()
    return [tool for tool in groups_1_0()[group] if tool in catalog]


def _write_plugin(root: Path) -> Path:
    (root / "actions").mkdir(parents=True)
    (root / "plugin.yaml").write_text(PLUGIN_1_0, "utf-8")
    (root / "actions" / "keep.yaml").write_text(
        ACTION_1_0.replace('  ok: "{{ steps[0] is defined }}"\n', '  ok: "done"\n'), "utf-8"
    )
    return root


def test_a_1_0_plugin_installs_with_the_tools_its_groups_covered_and_runs(
    store: Store, tmp_path: Path
) -> None:
    # In 1.1 `destructive` covers km_variable_manager:delete only; in 1.0 it covered the
    # whole tool (a destructive tool), so `set` stays allowed.
    result = install(store, _write_plugin(tmp_path / "vars"), profile=Profile.NONE)
    grant = [g.entry for g in store.grant("vars")]
    assert sorted(grant) == sorted(still_there("destructive"))
    assert "km_variable_manager" in grant
    assert result.plugin.api_version == "1.1"
    failed = {"success": False, "error": {"code": "X", "message": "busy"}}
    answers = {"km_variable_manager": [failed, {"success": True, "data": {}}]}
    served = ServedPlugins.load(store)
    run = asyncio.run(served.run("vars/keep", bridge=MockBridge(answers, ToolCatalog.builtin())))
    assert (run.error, run.outputs) == (None, {"ok": "done"})  # retried on tool-failed


def test_a_store_s_1_0_grants_become_the_tools_their_groups_covered(home: Path) -> None:
    home.mkdir()
    conn = connect(home / "state.db")
    migrate(conn, MIGRATIONS[:5])
    for identifier, api in (("old", "1.0"), ("new", "1.1")):
        conn.execute(
            "INSERT INTO versions VALUES (?, '1.0.0', ?, 'd', ?, 'action', 'X', '', '{}', NULL, "
            "'then')",
            (identifier, f"plugins/{identifier}", api),
        )
        conn.execute(
            "INSERT INTO plugins VALUES (?, '1.0.0', 1, 'folder', '/x', '{}', 'file', 0, "
            "'standard', 'then', 'then')",
            (identifier,),
        )
        conn.executemany(
            "INSERT INTO permissions VALUES (?, ?, ?)",
            [(identifier, "km_notifications", 1), (identifier, "read-only", 0)],
        )
    conn.commit()
    conn.close()
    with Store.open(home, recover=False) as store:
        old = {g.entry: g.explicit for g in store.grant("old")}
        new = {g.entry: g.explicit for g in store.grant("new")}
    assert old == {"km_notifications": True} | {t: True for t in still_there("read-only")}
    assert new == {"km_notifications": True, "read-only": False}


def _store_of_1_0_grants(home: Path) -> None:
    """A store at schema 5 with one 1.0 plugin granted `read-only`."""
    home.mkdir()
    conn = connect(home / "state.db")
    migrate(conn, MIGRATIONS[:5])
    conn.execute(
        "INSERT INTO versions VALUES ('old', '1.0.0', 'plugins/old', 'd', '1.0', 'action', "
        "'X', '', '{}', NULL, 'then')"
    )
    conn.execute(
        "INSERT INTO plugins VALUES ('old', '1.0.0', 1, 'folder', '/x', '{}', 'file', 0, "
        "'standard', 'then', 'then')"
    )
    conn.execute("INSERT INTO permissions VALUES ('old', 'read-only', 1)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("tools", "configured"),
    [
        pytest.param(CatalogTools.CURRENT, False, id="current"),
        pytest.param(CatalogTools.WITH_2025, False, id="2025-given"),
        pytest.param(CatalogTools.WITH_2025, True, id="2025-configured"),
    ],
)
def test_a_store_s_1_0_grants_become_the_tools_of_the_catalog_in_use(
    home: Path, tools: CatalogTools, configured: bool
) -> None:
    """A user who chose the 2025 server's tools (given to Store.open, or in config.toml,
    which a store opened by any command reads) keeps those of them a 1.0 grant covered."""
    _store_of_1_0_grants(home)
    catalog = ToolCatalog.builtin(tools)
    if configured:
        (home / "config.toml").write_text('[catalog]\ntools = "2025"\n', "utf-8")
    given = {} if configured else {"catalog": catalog}  # configured: as any command opens it
    with Store.open(home, recover=False, **given) as store:
        granted = [g.entry for g in store.grant("old")]
    assert granted == [t for t in groups_1_0()["read-only"] if t in catalog]
    assert ("km_calculator" in granted) is (tools is CatalogTools.WITH_2025)


def test_a_cache_of_a_1_0_file_is_read_for_the_tools_it_was_upgraded_for() -> None:
    """Cached documents of a 1.0 file hold its groups expanded for one catalog: read for
    another, the cache is not used (the files are read again, for that one)."""
    current, older = ToolCatalog.builtin(), ToolCatalog.builtin(CatalogTools.WITH_2025)
    text = ACTION_1_0.replace("[destructive]", "[read-only]")
    blob = _cache.dump_documents({"a.yaml": load_text(text, catalog=older)}, older)
    cached = _cache.load_documents(blob, older)
    assert cached is not None and "km_calculator" in cached["a.yaml"].data["permissions"]
    assert _cache.load_documents(blob, current) is None
    plain = _cache.dump_documents({"b.yaml": load_text(text.replace('"1.0"', '"1.1"'))})
    assert _cache.load_documents(plain, older) is not None  # nothing upgraded: any tools


def test_a_cache_written_before_1_1_is_read_again(store: Store, tmp_path: Path) -> None:
    # A cache of format 1 may hold a 1.0 file's data as written (`tool_failed`, the group
    # `destructive`); it is parsed again, and upgraded, instead of run as it is.
    plugin = install(store, _write_plugin(tmp_path / "vars"), profile=Profile.NONE).plugin
    written = {
        path: load_text(store.file(plugin, path).read_text(), upgrade=False)
        for path in ("actions/keep.yaml",)
    }
    body = {path: _cache._compact(doc) for path, doc in written.items()}
    blob = pickle.dumps((("km-actions manifest cache", 1, __version__), body))
    store.cache_file(plugin).write_bytes(blob)
    with store.conn:
        store.conn.execute(
            "UPDATE versions SET cache = ? WHERE identifier = 'vars'", (_cache.digest(blob),)
        )
    failed = {"success": False, "error": {"code": "X", "message": "busy"}}
    answers = {"km_variable_manager": [failed, {"success": True, "data": {}}]}
    served = ServedPlugins.load(store)
    run = asyncio.run(served.run("vars/keep", bridge=MockBridge(answers, ToolCatalog.builtin())))
    assert (run.error, run.outputs) == (None, {"ok": "done"})
    cached = _cache.load_documents(store.cache_file(plugin).read_bytes())
    assert cached is not None
    assert cached["actions/keep.yaml"].data["api_version"] == "1.1"
