"""engine.plugins.publish: the index entry written from plugin archives, and its refusals."""

from __future__ import annotations

import contextlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from engine.diagnostics.errors import PluginError
from engine.plugins import publish
from engine.plugins._index import MarketplaceError
from engine.plugins.packing import create_archive
from engine.plugins.publish import add_archives


def archive(tmp_path: Path, version: str, *, extra: str = "", fmt: str = "zip") -> Path:
    source = tmp_path / f"src-{version}"
    source.mkdir()
    (source / "plugin.yaml").write_text(
        f'api_version: "1.0"\nidentifier: demo\nname: Demo {version}\nversion: {version}\n'
        f"author: Ann\ndescription: Version {version}.\n{extra}"
    )
    suffix = "zip" if fmt == "zip" else "tar.gz"
    out = tmp_path / "site" / f"demo-{version}.{suffix}"
    out.parent.mkdir(exist_ok=True)
    create_archive(source, out, fmt=fmt)
    return out


def test_the_newest_version_describes_the_plugin_and_tags_are_kept(tmp_path: Path) -> None:
    index = tmp_path / "site" / "index.json"
    newer = archive(tmp_path, "2.0.0", extra="homepage: https://example.org/demo\n")
    add_archives(index, [newer], now="2026-05-01")
    data = json.loads(index.read_text())
    data["plugins"][0]["tags"] = ["text"]  # a maintainer's addition
    index.write_text(json.dumps(data))
    older = archive(tmp_path, "1.0.0", fmt="tar.gz")
    add_archives(index, [older], now="2026-05-02")
    entry = json.loads(index.read_text())["plugins"][0]
    assert {k: v for k, v in entry.items() if k != "versions"} == {
        "id": "demo",
        "name": "Demo 2.0.0",
        "description": "Version 2.0.0.",
        "plugin_type": "action",
        "author": "Ann",
        "homepage": "https://example.org/demo",
        "tags": ["text"],
    }
    assert [(v["version"], v["archive"], v["published"]) for v in entry["versions"]] == [
        ("2.0.0", "demo-2.0.0.zip", "2026-05-01"),
        ("1.0.0", "demo-1.0.0.tar.gz", "2026-05-02"),
    ]


def test_an_index_with_a_problem_is_not_changed(tmp_path: Path) -> None:
    index = tmp_path / "site" / "index.json"
    new = archive(tmp_path, "1.0.0")
    index.write_text('{"format_version": 1, "plugins": [{"id": "x"}]}')
    with pytest.raises(MarketplaceError) as raised:
        add_archives(index, [new])
    assert raised.value.code == "index-invalid"
    assert index.read_text() == '{"format_version": 1, "plugins": [{"id": "x"}]}'


def test_an_index_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(PluginError) as raised:
        add_archives(tmp_path / "folder.json", [archive(tmp_path, "1.0.0")])
    assert (raised.value.code, raised.value.message) == (
        "index-unreadable",
        f"cannot read the index {tmp_path / 'folder.json'}: Is a directory",
    )


def test_only_archives_are_published(tmp_path: Path) -> None:
    action = tmp_path / "hello.yaml"
    action.write_text('api_version: "1.0"\nkind: action\nname: hello\nsteps: [{set: {x: 1}}]\n')
    with pytest.raises(PluginError) as raised:
        add_archives(tmp_path / "index.json", [action])
    assert (raised.value.code, raised.value.message, raised.value.hint) == (
        "invalid-value",
        f"{action} is not a plugin archive",
        "give a .zip or .tar.gz made by `km-actions pack`",
    )


def test_two_adds_at_once_both_land_in_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `index add` at once: each reads the index, adds its version and writes it. Each
    waits, after reading, for the other to have read too (up to a second): without a
    lock both read the same index and the second write drops the first version; with it,
    the second waits for the first to finish, and reads the index with its version."""
    index = tmp_path / "site" / "index.json"
    archives = [archive(tmp_path, "1.0.0"), archive(tmp_path, "2.0.0")]
    both_read = threading.Barrier(2, timeout=1.0)
    events: list[str] = []
    real_read = publish._read

    def read_then_wait(path: Path) -> dict[str, Any]:
        data = real_read(path)
        events.append(f"read {len(data['plugins'])}")
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()  # only one gets here while the other holds the lock
        return data

    monkeypatch.setattr(publish, "_read", read_then_wait)
    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(add_archives, index, [a], now="2026-05-01") for a in archives]
        reports = [future.result(timeout=30) for future in done]
    assert [len(r.added) for r in reports] == [1, 1]
    (entry,) = json.loads(index.read_text())["plugins"]
    assert sorted(v["version"] for v in entry["versions"]) == ["1.0.0", "2.0.0"]
    assert sorted(events) == ["read 0", "read 1"]  # the second read the first's version
