"""Store paths are built in one place and never leave the store, links included."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine.diagnostics.errors import PluginError
from engine.plugins.layout import Layout, file_name, inside
from engine.plugins.lock import FileProblem, IntegrityProblem, LockEntry, check_files

DIGEST = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("relative", "why"),
    [
        ("../x", "would leave the plugin store"),
        ("plugins/../../x", "would leave the plugin store"),
        ("/etc/passwd", "would leave the plugin store"),
        ("plugins//x", "would leave the plugin store"),
        ("plugins/x/", "would leave the plugin store"),
        ("", "would leave the plugin store"),
        ("a\\..\\b", "would leave the plugin store"),
    ],
)
def test_paths_that_leave_the_folder_are_refused(tmp_path: Path, relative: str, why: str) -> None:
    with pytest.raises(PluginError) as caught:
        inside(tmp_path, relative)
    assert caught.value.code == "store-unsafe-path"
    assert caught.value.message == f"the path {relative!r} {why}"


def test_a_link_on_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "root" / "plugins").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "root" / "plugins" / "demo").symlink_to(tmp_path / "outside")
    with pytest.raises(PluginError) as caught:
        inside(tmp_path / "root", "plugins/demo/1.0.0-01234567")
    assert caught.value.message == (
        "the path 'plugins/demo/1.0.0-01234567' passes through a symbolic link"
    )


def test_a_path_below_a_missing_folder_is_fine(tmp_path: Path) -> None:
    assert inside(tmp_path, "plugins/demo/x") == tmp_path / "plugins" / "demo" / "x"


def test_the_root_itself_may_be_a_link(tmp_path: Path) -> None:
    (tmp_path / "real" / "plugins").mkdir(parents=True)
    (tmp_path / "home").symlink_to(tmp_path / "real")
    assert inside(tmp_path / "home", "plugins") == tmp_path / "home" / "plugins"


def test_version_folders_come_from_checked_names(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    assert layout.version_folder("demo", "1.0.0", DIGEST) == "plugins/demo/1.0.0-01234567"
    with pytest.raises(PluginError, match="is not a content digest"):
        layout.version_folder("demo", "1.0.0", "../..")
    with pytest.raises(PluginError, match="would leave the plugin store"):
        layout.version_folder("demo", "1.0.0/../../x", DIGEST)
    with pytest.raises(PluginError, match="is not a content digest"):
        layout.cache_file("../state.db")
    assert layout.cache_file(DIGEST) == tmp_path / "cache" / f"{DIGEST}.pickle"


def test_file_names_fit_a_folder() -> None:
    assert file_name("1.0.0-01234567") == "1.0.0-01234567"
    with pytest.raises(PluginError, match="longer than a file name may be"):
        file_name("a" * 256)
    with pytest.raises(PluginError, match="is not text a file name can hold"):
        file_name("\udcff")


def test_a_lock_entry_naming_a_path_outside_is_never_read(tmp_path: Path) -> None:
    (tmp_path / "plugin").mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    entry = LockEntry("../secret.txt", hashlib.sha256(b"x").hexdigest(), 1)
    assert check_files(tmp_path / "plugin", [entry], extras=False) == [
        IntegrityProblem("../secret.txt", FileProblem.CHANGED)
    ]


def test_a_file_where_a_folder_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plugins").write_text("not a folder")
    with pytest.raises(PluginError) as caught:
        inside(tmp_path, "plugins/demo")
    assert caught.value.message == "the path 'plugins/demo' cannot be reached (Not a directory)"


def test_names_of_any_language_fit() -> None:
    assert file_name("café") == "café"
