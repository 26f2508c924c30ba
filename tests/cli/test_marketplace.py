"""``km-actions marketplace add/remove/list``, ``search``, ``update`` and ``install ID@RANGE``,
with marketplace indexes kept as files on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.plugins.packing import create_archive
from tests.cli.conftest import Cli, action_text, plugin_text


class Market:
    """A marketplace index file, with the archives it lists next to it."""

    def __init__(self, folder: Path, name: str | None = "Test market") -> None:
        self.folder = folder
        self.name = name
        self.index = folder / "index.json"
        self.plugins: dict[str, dict[str, Any]] = {}
        folder.mkdir(parents=True, exist_ok=True)
        self.write()

    def publish(
        self,
        identifier: str,
        version: str,
        *,
        depends: dict[str, str] | None = None,
        tags: list[str] | None = None,
        tamper: bool = False,
    ) -> None:
        """Pack a one-action plugin and list it (``tamper``: list a wrong sha256)."""
        source = self.folder / "src" / f"{identifier}-{version}"
        (source / "actions").mkdir(parents=True)
        deps = f"dependencies: {json.dumps(depends)}\n" if depends else ""
        (source / "plugin.yaml").write_text(
            plugin_text(identifier, "plugin_type: utility\n" + deps, version=version)
        )
        (source / "actions" / "hello.yaml").write_text(
            action_text(
                "hello",
                f'steps:\n  - set: {{said: "{identifier} {version}"}}\n'
                'outputs: {said: "{{ vars.said }}"}\n',
            )
        )
        archive = self.folder / f"{identifier}-{version}.zip"
        digest = create_archive(source, archive, fmt="zip")
        entry = self.plugins.setdefault(
            identifier,
            {"id": identifier, "name": identifier.title(),
             "description": f"The {identifier} plugin.", "plugin_type": "utility",
             "author": "Ann", "versions": []},
        )  # fmt: skip
        if tags is not None:
            entry["tags"] = tags
        entry["versions"].append(
            {"version": version, "api_version": "1.1", "archive": archive.name,
             "sha256": "0" * 64 if tamper else digest, "size": archive.stat().st_size,
             "dependencies": depends or {}}
        )  # fmt: skip
        self.write()

    def write(self) -> None:
        data: dict[str, Any] = {"format_version": 1, "plugins": list(self.plugins.values())}
        if self.name:
            data["name"] = self.name
        self.index.write_text(json.dumps(data))


@pytest.fixture
def market(tmp_path: Path) -> Market:
    """``lib`` 1.0.0 and 2.0.0 (tagged), ``app`` 1.0.0 (needs lib ^1, no tags)."""
    market = Market(tmp_path / "market")
    market.publish("lib", "1.0.0", tags=["text", "tools"])
    market.publish("lib", "2.0.0", tags=["text", "tools"])
    market.publish("app", "1.0.0", depends={"lib": ">=1.0,<2"})
    return market


def test_add_list_and_remove_a_marketplace(cli: Cli, market: Market) -> None:
    added = cli("marketplace", "add", "market/index.json")
    assert (added.code, added.out) == (0, f"Added {market.index} (Test market): 2 plugins.\n")
    assert cli("marketplace", "list").out == f"{market.index}\n"
    assert cli("marketplace", "list", "--json").json() == [
        {"location": str(market.index), "allow_http": False}
    ]
    removed = cli("marketplace", "remove", str(market.index))
    assert (removed.code, removed.out) == (0, f"Removed {market.index}.\n")
    assert cli("marketplace", "list").out == (
        "No marketplace is configured (add one with `km-actions marketplace add URL`).\n"
    )


def test_add_a_marketplace_with_one_plugin_and_no_name(cli: Cli, tmp_path: Path) -> None:
    market = Market(tmp_path / "small", name=None)
    market.publish("solo", "1.0.0")
    assert cli("marketplace", "add", str(market.index)).out == f"Added {market.index}: 1 plugin.\n"


def test_add_an_index_that_is_not_valid(cli: Cli) -> None:
    cli.write("bad.json", '{"format_version": 1, "plugins": [{"id": "x"}]}')
    outcome = cli("marketplace", "add", "bad.json")
    assert outcome.code == 1
    assert f"{cli.folder / 'bad.json'}:1:" in outcome.err
    assert "error[missing-key]" in outcome.err
    assert cli("marketplace", "list", "--json").json() == []


def test_remove_a_marketplace_that_is_not_there(cli: Cli) -> None:
    outcome = cli("marketplace", "remove", "https://example.org/index.json")
    assert outcome.code == 1
    assert outcome.err.startswith("error[marketplace-unknown]: ")


def test_marketplace_needs_an_action(cli: Cli) -> None:
    outcome = cli.usage_error("marketplace")
    assert outcome.code == 2
    assert "the following arguments are required: ACTION" in outcome.err


def test_search(cli: Cli, market: Market) -> None:
    cli("marketplace", "add", str(market.index))
    assert cli("search").out == (
        "app 1.0.0  [utility]  App\n"
        "    The app plugin.\n"
        "lib 2.0.0  [utility]  Lib\n"
        "    The lib plugin.\n"
        "    tags: text, tools\n"
    )
    assert cli("search", "tools").out.splitlines()[0] == "lib 2.0.0  [utility]  Lib"
    assert cli("search", "nothing-like-it").out == "No plugin matches.\n"
    assert cli("search", "--type", "trigger").out == "The marketplaces list no plugins.\n"
    [found] = cli("search", "app", "--json").json()
    assert found == {
        "id": "app",
        "name": "App",
        "description": "The app plugin.",
        "plugin_type": "utility",
        "author": "Ann",
        "tags": [],
        "homepage": None,
        "latest": "1.0.0",
        "versions": ["1.0.0"],
        "index": str(market.index),
        "installed": None,
    }


def test_search_without_a_marketplace(cli: Cli) -> None:
    outcome = cli("search", "x")
    assert outcome.code == 1
    assert outcome.err.startswith("error[no-marketplace]: ")


def test_a_broken_configured_index_is_skipped_with_a_warning(
    cli: Cli, market: Market, tmp_path: Path
) -> None:
    other = Market(tmp_path / "other", name="Other")
    other.publish("extra", "1.0.0")
    cli("marketplace", "add", str(market.index))
    cli("marketplace", "add", str(other.index))
    other.index.write_text("{not json")
    outcome = cli("search", "--json")
    assert [p["id"] for p in outcome.json()] == ["app", "lib"]
    assert outcome.err.startswith("warning: ")
    assert outcome.err.endswith(" (skipped)\n")


def test_install_from_the_marketplace_with_dependencies(cli: Cli, market: Market) -> None:
    outcome = cli("install", "app@>=1,<2", "--index", str(market.index), "--yes")
    assert (outcome.code, outcome.out) == (
        0,
        "Installed lib 1.0.0 (a dependency).\nInstalled app 1.0.0.\n",
    )
    found = cli("search", "lib", "--index", str(market.index))
    assert found.out.splitlines()[0] == "lib 2.0.0  [utility]  Lib  (installed: 1.0.0)"


def test_install_from_the_marketplace_as_json(cli: Cli, market: Market) -> None:
    cli("marketplace", "add", str(market.index))
    data = cli("install", "lib@1.0.0", "--yes", "--auto-update", "--json").json()
    assert (data["ok"], data["plugin"], data["installed"]) == (
        True,
        "lib",
        [{"identifier": "lib", "version": "1.0.0"}],
    )


def test_install_options_for_ids_only(cli: Cli, market: Market) -> None:
    cli.write("folder/plugin.yaml", plugin_text("folder"))
    outcome = cli("install", "folder", "--auto-update")
    assert (outcome.code, outcome.err) == (
        2,
        "km-actions install: --index and --auto-update apply to plugin ids, and 'folder' is "
        "not one\n",
    )


def test_install_an_id_no_index_lists(cli: Cli, market: Market) -> None:
    outcome = cli("install", "ghost", "--index", str(market.index), "--yes", "--json")
    assert (outcome.code, outcome.json()["error"]["code"]) == (1, "not-in-index")


def test_update(cli: Cli, market: Market) -> None:
    index = ["--index", str(market.index)]
    cli("install", "lib@1.0.0", *index, "--yes")
    nothing = cli("update", *index)
    assert (nothing.code, nothing.out) == (
        0,
        "Nothing to update (no plugin has auto_update on; use --all, or "
        "`km-actions update ID --auto-update on`).\n",
    )
    updated = cli("update", "--all", *index, "--yes")
    assert (updated.code, updated.out) == (0, "Upgraded lib 1.0.0 → 2.0.0.\n")
    current = cli("update", "lib", *index, "--auto-update", "on")
    assert current.out == "lib 2.0.0 is up to date.\nauto_update of lib is on.\n"
    again = cli("update", "--all", *index)
    assert again.out == "lib 2.0.0 is up to date.\n"
    data = cli("update", *index, "--json").json()
    assert data == {
        "ok": True,
        "updated": [],
        "current": [{"identifier": "lib", "version": "2.0.0"}],
        "skipped": [],
        "failed": [],
    }


def test_update_with_nothing_installed(cli: Cli, market: Market) -> None:
    outcome = cli("update", "--all", "--index", str(market.index))
    assert (outcome.code, outcome.out) == (0, "Nothing to update.\n")


def test_a_failed_update(cli: Cli, market: Market) -> None:
    index = ["--index", str(market.index)]
    cli("install", "lib@1.0.0", *index, "--yes")
    market.publish("lib", "3.0.0", tamper=True)
    outcome = cli("update", "--all", *index, "--yes")
    assert (outcome.code, outcome.out) == (1, "")
    first, hint = outcome.err.splitlines()
    assert first.startswith(
        "lib: not updated: the archive of lib 3.0.0 does not match the index: its sha256 is "
    )
    assert hint.startswith("     = hint: the file was changed after the index was written")
    data = cli("update", "--all", *index, "--yes", "--json").json()
    assert (data["ok"], data["failed"][0]["identifier"]) == (False, "lib")
    assert data["failed"][0]["error"]["code"] == "integrity-mismatch"
    named = cli("update", "lib", *index, "--yes")
    assert (named.code, named.err.splitlines()[0][:60]) == (
        1,
        "error[integrity-mismatch]: the archive of lib 3.0.0 does not",
    )


def test_update_usage_errors(cli: Cli, market: Market) -> None:
    no_id = cli("update", "--auto-update", "on")
    assert (no_id.code, no_id.err) == (2, "km-actions update: --auto-update needs a plugin ID\n")
    unknown = cli("update", "ghost", "--index", str(market.index))
    assert (unknown.code, unknown.err.splitlines()[0]) == (
        1,
        "error[not-found]: no plugin 'ghost' is installed",
    )
