"""``km-actions index add/build`` (publishing without editing JSON) and ``install URL``.

The round trip is the one a team follows: pack, add to the index, serve the folder (a
real HTTP server on 127.0.0.1, started and stopped by the test), add the marketplace as
a user does, search, install, publish a new version, update.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Cli, action_text, plugin_text

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class Folder:
    """A folder served over HTTP on 127.0.0.1, as ``python -m http.server`` would."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{path}"

    def __enter__(self) -> Folder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


def source(cli: Cli, version: str, *, said: str = "hello", extra: str = "author: Ann\n") -> Path:
    """The plugin ``greeter`` at ``version``, in a folder of its own."""
    folder = f"src/greeter-{version}"
    cli.write(
        f"{folder}/plugin.yaml",
        plugin_text("greeter", "plugin_type: utility\n" + extra, version=version),
    )
    cli.write(
        f"{folder}/actions/greet.yaml",
        action_text(
            "greet",
            f"""\
            steps:
              - set: {{said: {said}}}
            outputs: {{said: "{{{{ vars.said }}}}"}}
            tests:
              - name: says it
                expect: {{outputs: {{said: {said}}}}}
            """,
        ),
    )
    return cli.folder / folder


def pack(cli: Cli, version: str, **kwargs: Any) -> Path:
    out = cli.folder / "site" / f"greeter-{version}.zip"
    out.parent.mkdir(exist_ok=True)
    done = cli("pack", str(source(cli, version, **kwargs)), "-o", str(out))
    assert done.code == 0, done.err
    return out


def index_of(cli: Cli) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((cli.folder / "site" / "index.json").read_text("utf-8"))
    return data


@pytest.fixture
def site(cli: Cli) -> Iterator[Folder]:
    with Folder(cli.folder / "site") as running:
        yield running


def test_index_add_writes_the_entry_from_the_archive(cli: Cli) -> None:
    archive = pack(cli, "1.0.0", extra="author: Ann\ndependencies: {text-basics: '>=1.0,<2'}\n")
    done = cli("index", "add", str(archive), "--index", "site/index.json")
    assert (done.code, done.err) == (0, "")
    assert done.out == "Added greeter 1.0.0 (greeter-1.0.0.zip) to site/index.json.\n"
    data = index_of(cli)
    release = data["plugins"][0]["versions"][0]
    assert STAMP.match(release.pop("published"))
    assert data == {
        "format_version": 1,
        "plugins": [
            {
                "id": "greeter",
                "name": "Greeter",
                "description": "The greeter plugin.",
                "plugin_type": "utility",
                "author": "Ann",
                "versions": [
                    {
                        "version": "1.0.0",
                        "api_version": "1.1",
                        "archive": "greeter-1.0.0.zip",
                        "sha256": _sha256(archive),
                        "size": archive.stat().st_size,
                        "dependencies": {"text-basics": ">=1.0,<2"},
                    }
                ],
            }
        ],
    }
    assert (cli.folder / "site" / "index.json").stat().st_mode & 0o777 == 0o644  # servable


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_published_version_is_never_changed(cli: Cli) -> None:
    first = pack(cli, "1.0.0")
    assert cli("index", "add", str(first), "--index", "site/index.json").code == 0
    before = (cli.folder / "site" / "index.json").read_bytes()
    again = cli("index", "add", str(first), "--index", "site/index.json")
    assert (again.code, again.out) == (0, "greeter 1.0.0 is listed already with this archive.\n")
    other = cli.folder / "other.zip"
    done = cli("pack", str(source(cli, "1.0.0", said="changed")), "-o", str(other))
    assert done.code == 0
    refused = cli("index", "add", str(other), "--index", "site/index.json")
    assert refused.code == 1
    assert refused.err == (
        f"error[version-published]: site/index.json lists greeter 1.0.0 already, with another "
        f"archive (sha256 {_sha256(first)[:12]}…, {first.stat().st_size} bytes; this one is "
        f"{_sha256(other)[:12]}…, {other.stat().st_size} bytes); a published version is never "
        "changed, and the index was left as it was\n"
        "     = hint: people may have installed 1.0.0: raise `version` in plugin.yaml (e.g. to "
        "the next patch), pack it again and add that archive\n"
    )
    assert (cli.folder / "site" / "index.json").read_bytes() == before


def test_index_build_adds_every_archive_of_a_folder(cli: Cli) -> None:
    pack(cli, "1.0.0", said="one")
    pack(cli, "1.1.0", said="two")
    done = cli("index", "build", "site", "--base-url", "https://plugins.example.org/km")
    assert (done.code, done.err) == (0, "")
    assert done.out == (
        "Added greeter 1.0.0 (https://plugins.example.org/km/greeter-1.0.0.zip) to "
        "site/index.json.\n"
        "Added greeter 1.1.0 (https://plugins.example.org/km/greeter-1.1.0.zip) to "
        "site/index.json.\n"
    )
    versions = index_of(cli)["plugins"][0]["versions"]
    assert [v["version"] for v in versions] == ["1.1.0", "1.0.0"]  # highest first
    again = cli("index", "build", "site", "--json")
    assert again.json() == {
        "ok": True,
        "index": "site/index.json",
        "added": [],
        "unchanged": ["greeter 1.0.0", "greeter 1.1.0"],
    }


def test_a_plugin_without_author_is_refused_with_the_fix(cli: Cli) -> None:
    archive = pack(cli, "1.0.0", extra="")
    done = cli("index", "add", str(archive), "--index", "site/index.json")
    assert done.code == 1
    assert done.err == (
        "error[missing-key]: greeter-1.0.0.zip: the plugin 'greeter' names no author, and a "
        "marketplace index lists one for every plugin\n"
        "     = hint: add `author: Your Name` to its plugin.yaml, then pack it again\n"
    )
    assert not (cli.folder / "site" / "index.json").exists()


def test_index_usage_errors(cli: Cli) -> None:
    assert (
        cli("index", "add", "nothing.zip").err
        == "km-actions index add: no such file: nothing.zip\n"
    )
    assert cli("index", "build", "nowhere").code == 2
    (cli.folder / "empty").mkdir()
    empty = cli("index", "build", "empty")
    assert (empty.code, empty.err) == (
        1,
        "km-actions index build: empty holds no .zip or .tar.gz archive (make them with "
        "`km-actions pack`)\n",
    )


def test_publish_install_and_update_through_a_served_folder(cli: Cli, site: Folder) -> None:
    """Nobody touches index.json: pack → index add → serve → search → install →
    publish a new version → update."""
    assert cli("index", "add", str(pack(cli, "1.0.0")), "--index", "site/index.json").code == 0
    added = cli("marketplace", "add", site.url("index.json"))
    assert added.out == f"Added {site.url('index.json')}: 1 plugin.\n"
    found = cli("search", "greeter")
    assert found.out.splitlines()[0] == "greeter 1.0.0  [utility]  Greeter"
    installed = cli("install", "greeter", "--yes")
    assert (installed.code, installed.out) == (0, "Installed greeter 1.0.0.\n")
    assert cli("run", "greeter/greet", "--json").json()["outputs"] == {"said": "hello"}

    assert cli("index", "add", str(pack(cli, "1.1.0", said="hi")), "--index", "site/index.json")
    updated = cli("update", "greeter", "--yes")
    assert (updated.code, updated.out) == (0, "Upgraded greeter 1.0.0 → 1.1.0.\n")
    assert cli("run", "greeter/greet", "--json").json()["outputs"] == {"said": "hi"}


def test_install_a_url_of_a_marketplace_the_user_added(cli: Cli, site: Folder) -> None:
    archive = pack(cli, "1.0.0")
    url = site.url(archive.name)
    refused = cli("install", url, "--yes")
    assert (refused.code, refused.err) == (
        1,
        f"error[download-refused]: refusing to download the plugin archive from {url}: "
        "127.0.0.1 resolves to 127.0.0.1, which is not public\n"
        "     = hint: install over https from a public host; this machine and the local "
        "network are reached only at a marketplace you added (`km-actions marketplace add "
        "URL`)\n",
    )
    assert cli("index", "add", str(archive), "--index", "site/index.json").code == 0
    assert cli("marketplace", "add", site.url("index.json")).code == 0
    done = cli("install", url, "--yes", "--json")
    assert done.json()["installed"] == [{"identifier": "greeter", "version": "1.0.0"}]
    source = cli("describe", "greeter", "--json").json()["source"]
    assert (source["kind"], source["ref"]) == ("url", url)


def test_install_url_refuses_plain_http_elsewhere_and_ids_options(cli: Cli) -> None:
    url = "http://plugins.example.org/greeter-1.0.0.zip"
    done = cli("install", url, "--yes")
    assert done.code == 1
    assert done.err == (
        "error[download-insecure]: refusing to download over plain http from "
        "'plugins.example.org': anyone on the way could change what you install\n"
        "     = hint: use the https:// address of the marketplace, or pass --allow-http if "
        "you trust every network in between\n"
    )
    unknown = cli("install", "https://no-such-host.invalid/greeter.zip", "--yes")
    assert (unknown.code, unknown.err) == (
        1,
        "error[download-failed]: cannot download the plugin archive: the host "
        "'no-such-host.invalid' cannot be found (https://no-such-host.invalid/greeter.zip)\n"
        "     = hint: check the spelling of the URL and your network connection\n",
    )
    options = cli("install", "https://plugins.example.org/g.zip", "--index", "x.json")
    assert (options.code, options.err) == (
        2,
        "km-actions install: --index and --auto-update apply to plugin ids, not to a URL\n",
    )
