"""An MCP caller's local ``plugin_source`` is read only inside the folders the user allowed
(``security.install_paths``, and the folders of the marketplace indexes the user added):
found in the third attack, where `install` read any file the server's user could read and
quoted its values in errors, and told whether any path existed.

The host runs in-process on a store where the user installed ``clipboard-tools`` (see
:mod:`tests.server.test_ownership`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.plugins.installer import install
from engine.plugins.marketplaces import Marketplaces
from engine.plugins.store import Store
from engine.server import sources
from engine.server.store_host import StoreHost
from tests.server.test_ownership import CLIPBOARD_TOOLS, _error, _host, call
from tests.server.test_published_marketplace import publish

pytestmark = pytest.mark.anyio

#: What the name of an action in a file outside the allowed folders says: a value no
#: answer may quote.
PRIVATE = "Private Notes Of Ann"
OUTSIDE = {
    "code": "source-refused",
    "message": "`plugin_source` is a path outside the folders the user lets MCP callers "
    "install from",
    "hint": "only the user can let MCP callers install from a folder, with `km-actions "
    "config set security.install_paths '[\"/path/to/folder\"]'`; or the user can install "
    "it from the command line, with `km-actions install PATH`",
}
NOT_A_PATH = {
    "code": "source-refused",
    "message": "`plugin_source` is neither an absolute path, an http(s) URL nor a marketplace id",
    "hint": "give the absolute path of a plugin folder, archive or action file (in a folder "
    "the user lets MCP callers install from), an https:// URL, or a marketplace id[@range]; "
    + OUTSIDE["hint"],
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """This machine's files: the allowed folder ``allowed/`` (a plugin in it, and a link
    to a file outside it), and ``private/notes.yaml``, whose `name:` is not a valid name."""
    (tmp_path / "allowed").mkdir()
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "notes.yaml").write_text(
        f'api_version: "1.1"\nkind: action\nname: {PRIVATE}\nsteps: [{{set: {{a: 1}}}}]\n',
        "utf-8",
    )
    (tmp_path / "allowed" / "notes.yaml").symlink_to(tmp_path / "private" / "notes.yaml")
    (tmp_path / "allowed" / "up").symlink_to(tmp_path / "private")
    (tmp_path / "allowed" / "hello.yaml").write_text(
        'api_version: "1.1"\nkind: action\nname: hello\ndescription: Hello.\n'
        "steps: [{set: {a: 1}}]\n",
        "utf-8",
    )
    return tmp_path


@pytest.fixture
def host(machine: Path) -> Iterator[StoreHost]:
    """A host on a fresh store, whose user allows MCP installs from ``allowed/`` only."""
    with Store.open(machine / "home") as store:
        install(store, CLIPBOARD_TOOLS)
    opened = _host(machine / "home", install_paths=(machine / "allowed",))
    yield opened
    opened.close()
    opened.store.close()


@pytest.mark.parametrize(
    "named",
    [
        pytest.param("private/notes.yaml", id="a-file"),
        pytest.param("private/missing.yaml", id="a-missing-file"),
        pytest.param("private", id="a-folder"),
        pytest.param("private/missing", id="a-missing-folder"),
        pytest.param("allowed/../private/notes.yaml", id="dot-dot-out-of-an-allowed-folder"),
        pytest.param("allowed/notes.yaml", id="a-link-out-of-an-allowed-folder"),
        pytest.param("allowed/up/notes.yaml", id="through-a-linked-folder"),
        pytest.param("allowed/up/../private/notes.yaml", id="dot-dot-after-a-link"),
        pytest.param("allowedx/notes.yaml", id="a-folder-whose-name-starts-alike"),
    ],
)
async def test_install_reads_nothing_outside_the_allowed_folders(
    host: StoreHost, machine: Path, named: str
) -> None:
    # Before: the file was read as an action, and its `name:` quoted in an invalid-name
    # error; a missing path answered source-not-found, an existing one did not.
    envelope = await call(host, "install", plugin_source=f"{machine}/{named}")
    assert _error(envelope) == OUTSIDE
    (only,) = envelope["error"]["diagnostics"]
    assert (only["code"], only["file"], only["line"]) == ("source-refused", None, None)
    assert PRIVATE not in json.dumps(envelope)
    assert {p.identifier for p in host.store.plugins()} == {"clipboard-tools"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("/dev/zero", OUTSIDE, id="a-device"),
        pytest.param("/etc/passwd", OUTSIDE, id="a-system-file"),
        pytest.param("/", OUTSIDE, id="the-root"),
        pytest.param("~", OUTSIDE, id="home"),
        pytest.param("~/.ssh/id_rsa", OUTSIDE, id="a-file-at-home"),
        pytest.param("/" + "a/" * 5000 + "x.yaml", OUTSIDE, id="a-very-long-path"),
        pytest.param("~root/.profile", NOT_A_PATH, id="another-users-home"),
        pytest.param("notes.yaml", NOT_A_PATH, id="a-relative-file"),
        pytest.param("./private", NOT_A_PATH, id="a-relative-folder"),
        pytest.param("../../etc/passwd", NOT_A_PATH, id="a-relative-dot-dot"),
        pytest.param("file:///etc/passwd", NOT_A_PATH, id="a-file-url"),
        pytest.param("C:\\Users\\ann\\notes.yaml", NOT_A_PATH, id="a-windows-path"),
        pytest.param("\\\\server\\share\\notes.zip", NOT_A_PATH, id="a-windows-share"),
        pytest.param("/etc/passwd\0.yaml", NOT_A_PATH, id="a-nul-byte"),
    ],
)
async def test_a_stranger_s_paths_are_refused_by_their_spelling(
    host: StoreHost, source: str, expected: dict[str, str]
) -> None:
    envelope = await call(host, "install", plugin_source=source)
    assert _error(envelope) == expected


async def test_the_answer_is_the_same_whether_the_path_exists_or_not(
    host: StoreHost, machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: `Path(source).exists()` chose between a marketplace request and a path, so a
    # relative name answered one way when such a file existed and another when not.
    monkeypatch.chdir(machine)
    (machine / "notes").mkdir()
    there = await call(host, "install", plugin_source="notes")
    (machine / "notes").rmdir()
    missing = await call(host, "install", plugin_source="notes")
    assert there == missing
    assert _error(there)["code"] == "no-marketplace"


async def test_what_lies_in_an_allowed_folder_installs(host: StoreHost, machine: Path) -> None:
    envelope = await call(host, "install", plugin_source=f"{machine}/allowed/hello.yaml")
    assert envelope["success"] is True, envelope
    assert envelope["data"]["installed"] == ["hello@0.0.0"]
    spelt = await call(host, "install", plugin_source=f"{machine}/allowed/./x/../hello.yaml")
    assert spelt["success"] is True, spelt


async def test_an_allowed_folder_may_be_named_through_a_link(machine: Path) -> None:
    """The user's folder, named by its real path or through the link the user wrote."""
    (machine / "link").symlink_to(machine / "allowed")
    host = _host(machine / "home", install_paths=(machine / "link",))
    try:
        for source in (f"{machine}/link/hello.yaml", f"{machine}/allowed/hello.yaml"):
            envelope = await call(host, "install", plugin_source=source)
            assert envelope["success"] is True, (source, envelope)
    finally:
        host.close()
        host.store.close()


async def test_by_default_only_the_folders_of_the_user_s_marketplaces(machine: Path) -> None:
    site = machine / "site"
    site.mkdir()
    archive = publish(site, "1.0.0", "hello")
    host = _host(machine / "home", install_paths=())
    try:
        refused = await call(host, "install", plugin_source=str(archive))
        assert _error(refused) == OUTSIDE
        Marketplaces(host.store.root).add(str(site / "index.json"))
        installed = await call(host, "install", plugin_source=str(archive))
        assert installed["success"] is True, installed
        assert installed["data"]["installed"] == ["greeter@1.0.0"]
        hello = await call(host, "install", plugin_source=f"{machine}/allowed/hello.yaml")
        assert _error(hello) == OUTSIDE
    finally:
        host.close()
        host.store.close()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("pipe.yaml", "plugin-unsafe-file"),
        ("pipe.zip", "archive-unreadable"),
        ("pipe", "source-not-found"),
    ],
)
async def test_a_fifo_in_an_allowed_folder_is_refused_without_blocking(
    host: StoreHost, machine: Path, name: str, code: str
) -> None:
    os.mkfifo(machine / "allowed" / name)
    envelope = await call(host, "install", plugin_source=f"{machine}/allowed/{name}")
    assert _error(envelope)["code"] == code


async def test_the_store_reached_by_another_spelling_is_refused_too(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a case-insensitive disk (macOS), `/users/ann/…/km-actions` is the store that
    `/Users/ann/…` names, and following links does not make the two spellings the same:
    the store is recognised as the folder it is. Here the other spelling is a link that
    link resolution is made to keep, as macOS keeps a spelling's case."""
    (machine / "allowed" / "Home").symlink_to(machine / "home")
    with Store.open(machine / "home") as store:
        install(store, CLIPBOARD_TOOLS)
    host = _host(machine / "home", install_paths=(machine / "allowed",))
    monkeypatch.setattr(sources.os.path, "realpath", lambda path: os.path.normpath(path))
    try:
        envelope = await call(host, "install", plugin_source=f"{machine}/allowed/Home/plugins")
        assert _error(envelope) == OUTSIDE
    finally:
        host.close()
        host.store.close()


@pytest.mark.parametrize("inside", ["nonexistent", "state.db", "plugins", ""])
async def test_the_store_in_an_allowed_folder_answers_as_a_path_outside(
    machine: Path, inside: str
) -> None:
    """The store at ``allowed/store``, ``allowed/`` allowed: a path in the store, there or
    not, answers exactly as a path outside the allowed folders does (before: "is a file of
    km-actions' own store" for it, `source-not-found` for a missing sibling, so a caller
    could find the store's absolute path, which every other answer hides)."""
    home = machine / "allowed" / "store"
    with Store.open(home) as store:
        install(store, CLIPBOARD_TOOLS)
    host = _host(home, install_paths=(machine / "allowed",))
    try:
        in_store = await call(host, "install", plugin_source=f"{home}/{inside}".rstrip("/"))
        outside = await call(host, "install", plugin_source=f"{machine}/private/{inside}")
        sibling = await call(host, "install", plugin_source=f"{machine}/allowed/nonexistent")
    finally:
        host.close()
        host.store.close()
    assert _error(in_store) == _error(outside) == OUTSIDE
    assert _error(sibling)["code"] == "source-not-found"  # the allowed folder itself: read


HARD_LINK_HINT = (
    "copy the file into the folder instead of linking it (`cp`, not `ln`); or the user can "
    "install it from the command line, with `km-actions install PATH`"
)


@pytest.mark.parametrize(
    ("named", "shown"),
    [
        pytest.param("hard.yaml", "hard.yaml", id="an-action-file"),
        pytest.param("hard.zip", "hard.zip", id="an-archive"),
        pytest.param("plugin", "actions/hard.yaml", id="a-file-in-a-plugin-folder"),
    ],
)
async def test_a_hard_link_in_an_allowed_folder_is_not_read(
    host: StoreHost, machine: Path, named: str, shown: str
) -> None:
    """A hard link names the file outside as much as its first name does, and no link
    resolution tells: before, `allowed/hard.yaml` linked to `private/notes.yaml` was read,
    and its `name:` quoted in an invalid-name error."""
    (machine / "private" / "notes.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (machine / "allowed" / "plugin" / "actions").mkdir(parents=True)
    outside = machine / "private" / ("notes.zip" if named.endswith(".zip") else "notes.yaml")
    os.link(
        outside, machine / "allowed" / ("plugin/actions/hard.yaml" if named == "plugin" else named)
    )
    envelope = await call(host, "install", plugin_source=f"{machine}/allowed/{named}")
    assert _error(envelope) == {
        "code": "plugin-unsafe-file",
        "message": f"cannot install: '{shown}' is a hard link (the same file as 1 other name "
        "on the disk, perhaps outside the folders MCP callers may install from)",
        "hint": HARD_LINK_HINT,
    }
    assert PRIVATE not in json.dumps(envelope)
    assert {p.identifier for p in host.store.plugins()} == {"clipboard-tools"}


def test_the_user_installs_a_hard_link_from_the_command_line(machine: Path) -> None:
    # The refusal is the MCP caller's: `km-actions install PATH` installs from anywhere.
    os.link(machine / "allowed" / "hello.yaml", machine / "hard-hello.yaml")
    with Store.open(machine / "home") as store:
        result = install(store, machine / "hard-hello.yaml")
    assert result.identifier == "hello"
