"""Tests for engine.plugins.marketplace: indexes, search, candidates, downloads, progress.

Indexes and archives are served by a real HTTP server on loopback, started per test.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.diagnostics.errors import EngineError, PluginError
from engine.load.ranges import parse_range
from engine.plugins.download import (
    DownloadError,
    DownloadPolicy,
    check_url,
    download_to,
    is_loopback,
)
from engine.plugins.marketplace import MarketplaceError, MarketplaceIndex, Release, fetch
from engine.plugins.progress import ProgressBar, format_size
from engine.plugins.resolver import resolve

FAST = DownloadPolicy(timeout=0.5)
Behaviour = Callable[[http.server.BaseHTTPRequestHandler], None]


class Market:
    """An HTTP server on 127.0.0.1 (port chosen by the system) serving ``files``;
    ``behaviours`` replace the answer for a path (to misbehave)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.behaviours: dict[str, Behaviour] = {}
        self.requests: list[str] = []
        self.release = threading.Event()  # lets handlers that hang finish at teardown
        market = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                market.requests.append(self.path)
                behaviour = market.behaviours.get(self.path)
                if behaviour is not None:
                    behaviour(self)
                    return
                body = market.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> Market:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def market() -> Iterator[Market]:
    """A running loopback HTTP server, stopped after the test."""
    with Market() as running:
        yield running


def version(
    number: str, archive: bytes, *, name: str | None = None, **extra: Any
) -> dict[str, Any]:
    """An index entry for one version whose archive is ``archive``."""
    return {
        "version": number,
        "api_version": "1.1",
        "archive": name or f"files/demo-{number}.zip",
        "sha256": hashlib.sha256(archive).hexdigest(),
        "size": len(archive),
        **extra,
    }


def plugin(id: str, versions: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": id,
        "name": fields.pop("name", id.replace("-", " ").title()),
        "description": fields.pop("description", f"The {id} plugin."),
        "plugin_type": fields.pop("plugin_type", "utility"),
        "author": "Ann",
        "versions": versions,
    }
    entry.update(fields)
    return entry


def index_bytes(*plugins: dict[str, Any], **top: Any) -> bytes:
    return json.dumps({"format_version": 1, "plugins": list(plugins), **top}, indent=2).encode()


def write_index(folder: Path, *plugins: dict[str, Any]) -> str:
    path = folder / "index.json"
    path.write_bytes(index_bytes(*plugins))
    return str(path)


ARCHIVE = b"PK\x05\x06" + b"\x00" * 18  # an empty zip: content does not matter here


# -- loading ---------------------------------------------------------------------------


def test_a_local_index_resolves_archives_next_to_it(tmp_path: Path) -> None:
    index = MarketplaceIndex.load(
        write_index(tmp_path, plugin("demo", [version("1.0.0", ARCHIVE)]))
    )
    [release] = index.plugins["demo"].releases
    assert release.url == (tmp_path / "files/demo-1.0.0.zip").as_uri()
    assert release.local_path == str(tmp_path / "files/demo-1.0.0.zip")
    assert release.archive_name == "demo-1.0.0.zip"


def test_an_index_over_http_resolves_archives_against_its_url(market: Market) -> None:
    market.files["/km/index.json"] = index_bytes(
        plugin("demo", [version("1.0.0", ARCHIVE), version("1.1.0", ARCHIVE, name="/abs.zip")]),
        name="Test market",
    )
    index = MarketplaceIndex.load(market.url("/km/index.json"), timeout=2)
    assert index.name == "Test market"
    assert [r.url for r in index.plugins["demo"].releases] == [
        market.url("/abs.zip"),
        market.url("/km/files/demo-1.0.0.zip"),
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(
            {"format_version": 1, "plugins": [plugin("Demo", [version("1.0.0", ARCHIVE)])]},
            ("invalid-name", "$.plugins[0].id", 5, 13),
            id="bad-id",
        ),
        pytest.param(
            {"format_version": 1, "plugins": [plugin("d", [version("1.0", ARCHIVE)])]},
            ("invalid-version", "$.plugins[0].versions[0].version", 12, 22),
            id="bad-version",
        ),
        pytest.param(
            {
                "format_version": 1,
                "plugins": [plugin("d", [{**version("1.0.0", ARCHIVE), "sha256": "abc"}])],
            },
            ("invalid-format", "$.plugins[0].versions[0].sha256", 15, 21),
            id="bad-sha256",
        ),
        pytest.param(
            {
                "format_version": 1,
                "plugins": [plugin("d", [version("1.0.0", ARCHIVE, dependencies={"lib": "^^1"})])],
            },
            ("invalid-range", "$.plugins[0].versions[0].dependencies.lib", 18, 20),
            id="bad-range",
        ),
        pytest.param(
            {
                "format_version": 1,
                "plugins": [
                    plugin("d", [version("1.0.0", ARCHIVE)]),
                    plugin("d", [version("2.0.0", ARCHIVE)]),
                ],
            },
            ("duplicate-item", "$.plugins[1].id", 21, 13),
            id="duplicate-plugin",
        ),
        pytest.param(
            {"format_version": 1, "plugins": [plugin("d", [version("1.0.0", ARCHIVE)], tagz=[])]},
            ("unknown-key", "$.plugins[0].tagz", 19, 7),
            id="unknown-key",
        ),
        pytest.param(
            {
                "format_version": 1,
                "plugins": [plugin("d", [version("1.0.0", ARCHIVE)], author="A\ud800")],
            },
            ("encoding", "$.plugins[0].author", 9, 17),
            id="lone-surrogate",
        ),
        pytest.param(
            {
                "format_version": 1,
                "plugins": [plugin("d", [version("1.0.0", ARCHIVE, size=int("9" * 1001))])],
            },
            ("invalid-number", "$.plugins[0].versions[0].size", 16, 19),
            id="long-whole-number",
        ),
    ],
)
def test_an_invalid_index_is_refused_with_located_problems(
    tmp_path: Path, document: dict[str, Any], expected: tuple[str, str, int, int]
) -> None:
    path = tmp_path / "index.json"
    path.write_text(json.dumps(document, indent=2))
    with pytest.raises(MarketplaceError) as caught:
        MarketplaceIndex.load(str(path))
    assert caught.value.code == "index-invalid"
    first = caught.value.first
    assert first.span is not None
    assert (first.code, first.json_path, first.span.line, first.span.column) == expected
    assert first.file == str(path)
    assert caught.value.message.startswith(f"the index {path} is not valid: {path}:")
    assert caught.value.message.endswith("nothing was installed")


def test_json_syntax_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_text('{"format_version": 1,\n "plugins": [,]}')
    with pytest.raises(MarketplaceError) as caught:
        MarketplaceIndex.load(str(path))
    assert caught.value.code == "index-invalid"
    assert caught.value.first.code == "syntax"
    assert str(caught.value.first).startswith(f"{path}:2:")


def test_a_newer_index_format_is_refused_plainly(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_text(json.dumps({"format_version": 2, "plugins": [], "new": True}))
    with pytest.raises(MarketplaceError) as caught:
        MarketplaceIndex.load(str(path))
    assert caught.value.code == "index-unsupported"
    assert caught.value.message == (
        f"the index {path} has format_version 2; this km-actions reads format_version 1 and older"
    )
    assert caught.value.hint == "update km-actions to use this marketplace"


def test_a_remote_index_may_not_point_at_local_files(market: Market) -> None:
    entry = version("1.0.0", ARCHIVE, name="file:///etc/passwd")
    market.files["/index.json"] = index_bytes(plugin("demo", [entry]))
    with pytest.raises(MarketplaceError) as caught:
        MarketplaceIndex.load(market.url("/index.json"))
    assert caught.value.first.message == (
        "`archive` 'file:///etc/passwd' is not an address an index on the network may point to"
    )


def test_a_missing_local_index(tmp_path: Path) -> None:
    with pytest.raises(MarketplaceError) as caught:
        MarketplaceIndex.load(str(tmp_path / "nope.json"))
    assert caught.value.code == "index-unreadable"
    assert caught.value.message == (
        f"cannot read the index {tmp_path / 'nope.json'}: No such file or directory"
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ["format_version", "plugins", "id", "versions", "version", "archive", "x"]
                ),
                inner,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_any_json_is_either_an_index_or_a_clear_error(document: Any) -> None:
    from engine.plugins._index import parse_index

    try:
        parse_index(json.dumps(document).encode(), location="/tmp/index.json")
    except EngineError as error:
        assert error.message and error.diagnostics


# -- search and candidates -------------------------------------------------------------


@pytest.fixture
def catalogue(tmp_path: Path) -> MarketplaceIndex:
    """Five plugins: the word `clip` sits in an id, a name, a tag and a description."""
    plugins = [
        plugin("clipboard-tools", [version("1.0.0", ARCHIVE)], tags=["text"]),
        plugin("notes", [version("1.0.0", ARCHIVE)], name="Clip Notes", plugin_type="action"),
        plugin("snippets", [version("2.0.0", ARCHIVE)], tags=["clipping"]),
        plugin("windows", [version("1.0.0", ARCHIVE)], description="Clip windows to a grid."),
        plugin("clip", [version("0.1.0", ARCHIVE)]),
    ]
    return MarketplaceIndex.load(write_index(tmp_path, *plugins))


@pytest.mark.parametrize(
    ("text", "plugin_type", "expected"),
    [
        pytest.param(
            "clip",
            None,
            ["clip", "clipboard-tools", "notes", "snippets", "windows"],
            id="id-name-tags-description",
        ),
        pytest.param("CLIP grid", None, ["windows"], id="all-words-case-folded"),
        pytest.param("clip", "action", ["notes"], id="type-filter"),
        pytest.param("", "utility", ["clip", "clipboard-tools", "snippets", "windows"], id="all"),
        pytest.param("nothing-like-it", None, [], id="no-match"),
    ],
)
def test_search_ranks_ids_and_names_first(
    catalogue: MarketplaceIndex, text: str, plugin_type: str | None, expected: list[str]
) -> None:
    assert [p.id for p in catalogue.search(text, plugin_type=plugin_type)] == expected


def test_search_refuses_an_unknown_type(catalogue: MarketplaceIndex) -> None:
    with pytest.raises(PluginError) as caught:
        catalogue.search("x", plugin_type="utilty")
    assert (caught.value.code, caught.value.hint) == ("invalid-value", "did you mean 'utility'?")


def test_listing_names_a_close_plugin(catalogue: MarketplaceIndex) -> None:
    with pytest.raises(MarketplaceError) as caught:
        catalogue.listing("snipets")
    assert caught.value.code == "not-in-index"
    assert caught.value.hint == "did you mean 'snippets'?"


def test_the_index_is_a_candidate_provider_for_the_resolver(tmp_path: Path) -> None:
    app = plugin(
        "app",
        [
            version("1.0.0", ARCHIVE, dependencies={"lib": ">=1.0,<2"}),
            version("2.0.0", ARCHIVE, dependencies={"lib": ">=2.0,<3"}),
        ],
    )
    lib = plugin("lib", [version(v, ARCHIVE) for v in ("1.0.0", "1.4.0", "2.0.0", "3.0.0-beta.1")])
    index = MarketplaceIndex.load(write_index(tmp_path, app, lib))
    result = resolve({"app": parse_range(">=1,<2")}, index, api_versions=("1.1",))
    assert result.order == ["lib", "app"]
    chosen = {id: c.source for id, c in result.selected.items()}
    assert all(isinstance(r, Release) for r in chosen.values())
    assert {id: str(r) for id, r in chosen.items()} == {"app": "app 1.0.0", "lib": "lib 1.4.0"}
    assert index.plugins["lib"].latest.version_text == "2.0.0"
    assert index.candidates("nothing") == []


def test_combined_indexes_offer_every_version_the_first_winning(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = MarketplaceIndex.load(
        write_index(tmp_path / "a", plugin("demo", [version("1.0.0", ARCHIVE)], name="First"))
    )
    second = MarketplaceIndex.load(
        write_index(
            tmp_path / "b",
            plugin("demo", [version("1.0.0", b"other"), version("2.0.0", ARCHIVE)]),
            plugin("extra", [version("1.0.0", ARCHIVE)]),
        )
    )
    both = MarketplaceIndex.combine([first, second])
    assert sorted(both.plugins) == ["demo", "extra"]
    demo = both.plugins["demo"]
    assert demo.name == "First"
    assert [(r.version_text, r.index) for r in demo.releases] == [
        ("2.0.0", second.location),
        ("1.0.0", first.location),
    ]


# -- fetch -----------------------------------------------------------------------------


def served(market: Market, body: bytes, *, declared: bytes | None = None) -> Release:
    """Serve ``body`` as demo 1.0.0's archive; the index describes ``declared``."""
    market.files["/files/demo-1.0.0.zip"] = body
    market.files["/index.json"] = index_bytes(
        plugin("demo", [version("1.0.0", declared if declared is not None else body)])
    )
    index = MarketplaceIndex.load(market.url("/index.json"), policy=FAST)
    return index.plugins["demo"].releases[0]


def test_fetch_downloads_and_checks_the_archive(market: Market, tmp_path: Path) -> None:
    body = b"archive bytes " * 10_000
    release = served(market, body)
    seen: list[tuple[int, int | None]] = []
    path = fetch(
        release,
        tmp_path / "dl",
        progress=lambda done, total: seen.append((done, total)),
        policy=FAST,
    )
    assert path == tmp_path / "dl" / "demo-1.0.0.zip"
    assert path.read_bytes() == body
    assert seen[-1] == (len(body), len(body))
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["demo-1.0.0.zip"]


def test_a_tampered_archive_is_deleted_and_named(market: Market, tmp_path: Path) -> None:
    release = served(market, b"evil bytes", declared=b"good bytes")
    with pytest.raises(MarketplaceError) as caught:
        fetch(release, tmp_path / "dl", policy=FAST)
    actual = hashlib.sha256(b"evil bytes").hexdigest()
    assert caught.value.code == "integrity-mismatch"
    assert caught.value.message == (
        f"the archive of demo 1.0.0 does not match the index: its sha256 is {actual}, the "
        f"index expects {release.sha256}; it was deleted and nothing was installed"
    )
    assert list((tmp_path / "dl").iterdir()) == []


def test_a_truncated_archive_says_how_short_it_is(market: Market, tmp_path: Path) -> None:
    release = served(market, b"x" * 10, declared=b"x" * 2048)
    with pytest.raises(MarketplaceError) as caught:
        fetch(release, tmp_path, policy=FAST)
    assert "(and it is 10 B, not the 2.0 KB the index gives)" in caught.value.message


def endless(announce: int | None) -> Behaviour:
    """Send chunks until the client goes away (announcing ``announce`` bytes, if set)."""

    def behave(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        if announce is not None:
            handler.send_header("Content-Length", str(announce))
        handler.end_headers()
        chunk = b"A" * 65536
        try:
            for _ in range(2000):  # at most 128 MB, if the client never stopped
                handler.wfile.write(chunk)
        except OSError:
            return

    return behave


@pytest.mark.parametrize(
    ("announce", "expected"),
    [
        pytest.param(
            None,
            "the archive of demo 1.0.0 is larger than the 1000 B allowed; the download was "
            "stopped and nothing was kept",
            id="streamed",
        ),
        pytest.param(
            10 * 1024**3,
            "the archive of demo 1.0.0 is larger than the 1000 B allowed (the server "
            "announced 10.0 GB); the download was stopped and nothing was kept",
            id="announced",
        ),
    ],
)
def test_a_huge_download_is_cut_off_at_the_size_the_index_gives(
    market: Market, tmp_path: Path, announce: int | None, expected: str
) -> None:
    release = served(market, b"", declared=b"x" * 1000)
    market.behaviours["/files/demo-1.0.0.zip"] = endless(announce)
    with pytest.raises(DownloadError) as caught:
        fetch(release, tmp_path, policy=FAST)
    assert caught.value.code == "download-too-large"
    assert caught.value.message == expected
    assert list(tmp_path.iterdir()) == []


def test_an_archive_larger_than_the_policy_is_not_even_requested(
    market: Market, tmp_path: Path
) -> None:
    release = served(market, b"x" * 5000)
    with pytest.raises(DownloadError) as caught:
        fetch(release, tmp_path, policy=DownloadPolicy(max_bytes=4096))
    assert caught.value.code == "download-too-large"
    assert market.requests == ["/index.json"]


def test_a_missing_archive_is_a_404(market: Market, tmp_path: Path) -> None:
    release = served(market, ARCHIVE)
    del market.files["/files/demo-1.0.0.zip"]
    with pytest.raises(DownloadError) as caught:
        fetch(release, tmp_path, policy=FAST)
    assert caught.value.code == "download-failed"
    assert caught.value.message == (
        f"cannot download the archive of demo 1.0.0: {release.url} answered 404 Not Found"
    )
    assert caught.value.hint is not None and "out of date" in caught.value.hint
    assert list(tmp_path.iterdir()) == []


def test_a_dead_server_refuses_the_connection(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/index.json"
    with pytest.raises(DownloadError) as caught:
        MarketplaceIndex.load(url, timeout=2)
    assert caught.value.code == "download-failed"
    assert caught.value.message == (
        f"cannot download the index {url}: 127.0.0.1:{port} refused the connection ({url})"
    )


def test_a_server_that_never_answers_times_out(market: Market, tmp_path: Path) -> None:
    def hang(handler: http.server.BaseHTTPRequestHandler) -> None:
        market.release.wait()

    market.behaviours["/index.json"] = hang
    url = market.url("/index.json")
    with pytest.raises(DownloadError) as caught:
        MarketplaceIndex.load(url, timeout=0.2)
    assert caught.value.code == "download-timeout"
    assert caught.value.message == f"cannot download the index {url}: {url} got no answer for 0.2 s"


def test_fetch_reads_local_archives_through_the_same_checks(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "demo-1.0.0.zip").write_bytes(ARCHIVE)
    index = MarketplaceIndex.load(
        write_index(tmp_path, plugin("demo", [version("1.0.0", ARCHIVE)]))
    )
    path = fetch(index.plugins["demo"].releases[0], tmp_path / "dl", progress=lambda d, t: None)
    assert path.read_bytes() == ARCHIVE
    (tmp_path / "files" / "demo-1.0.0.zip").unlink()
    with pytest.raises(DownloadError) as caught:
        fetch(index.plugins["demo"].releases[0], tmp_path / "dl2", progress=lambda d, t: None)
    assert "No such file or directory" in caught.value.message


# -- transport rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "policy", "allowed"),
    [
        pytest.param("https://example.org/i.json", DownloadPolicy(), True, id="https"),
        pytest.param("http://127.0.0.1:8000/i.json", DownloadPolicy(), True, id="loopback"),
        pytest.param("http://localhost/i.json", DownloadPolicy(), True, id="localhost"),
        pytest.param("http://[::1]/i.json", DownloadPolicy(), True, id="ipv6-loopback"),
        pytest.param("http://example.org/i.json", DownloadPolicy(), False, id="plain-http"),
        pytest.param(
            "http://example.org/i.json", DownloadPolicy(allow_http=True), True, id="allowed"
        ),
        pytest.param("ftp://example.org/i.json", DownloadPolicy(allow_http=True), False, id="ftp"),
    ],
)
def test_which_urls_may_be_fetched(url: str, policy: DownloadPolicy, allowed: bool) -> None:
    if allowed:
        check_url(url, policy)
    else:
        with pytest.raises(DownloadError) as caught:
            check_url(url, policy)
        assert caught.value.code == "download-insecure"


def test_a_redirect_to_plain_http_elsewhere_is_refused(market: Market) -> None:
    def redirect(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "http://plugins.example.org/index.json")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    market.behaviours["/index.json"] = redirect
    with pytest.raises(DownloadError) as caught:
        MarketplaceIndex.load(market.url("/index.json"), timeout=2)
    assert caught.value.code == "download-insecure"


def test_loopback_names() -> None:
    assert [is_loopback(h) for h in ("LOCALHOST", "app.localhost", "127.8.0.1", "8.8.8.8")] == [
        True,
        True,
        True,
        False,
    ]


# -- progress ----------------------------------------------------------------------------


class Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("tty", "elapsed", "drawn"),
    [
        pytest.param(True, 0.5, False, id="quick"),
        pytest.param(True, 1.5, True, id="slow-terminal"),
        pytest.param(False, 5.0, False, id="not-a-terminal"),
    ],
)
def test_the_progress_bar_shows_only_slow_work_on_terminals(
    tty: bool, elapsed: float, drawn: bool
) -> None:
    clock, out = Clock(), Terminal(tty)
    bar = ProgressBar("downloading demo 1.0.0", stream=out, clock=clock)
    clock.now += elapsed
    bar(3 * 1024 * 1024, None)
    bar.finish()
    expected = "\rdownloading demo 1.0.0  3.0 MB\n" if drawn else ""
    assert out.getvalue() == expected


def test_the_progress_bar_throttles_but_always_draws_the_end() -> None:
    clock, out = Clock(), Terminal(True)
    bar = ProgressBar("installing", stream=out, clock=clock, unit="files")
    clock.now += 2
    bar(1, 4)
    bar(2, 4)  # too soon after the last draw
    bar(4, 4)  # the end is always drawn
    bar.finish()
    lines = out.getvalue().split("\r")[1:]
    assert [line.rstrip("\n") for line in lines] == [
        "installing [#####---------------]  25%  1 files of 4 files",
        "installing [####################] 100%  4 files of 4 files",
    ]


def test_sizes_read_naturally() -> None:
    assert [format_size(n) for n in (0, 1023, 1024, 5 * 1024**3, 3 * 1024**4)] == [
        "0 B",
        "1023 B",
        "1.0 KB",
        "5.0 GB",
        "3072.0 GB",
    ]


# -- more ways a download goes wrong -------------------------------------------------------


def answer(status: int) -> Behaviour:
    def behave(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_error(status)

    return behave


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        pytest.param(
            403, "the server refuses access: check the URL, or ask its maintainer", id="403"
        ),
        pytest.param(503, "the server has a problem: try again later", id="503"),
        pytest.param(
            418,
            "check the URL and your network connection, and that the server is up",
            id="other",
        ),
    ],
)
def test_error_statuses_get_their_own_hint(market: Market, status: int, hint: str) -> None:
    market.behaviours["/index.json"] = answer(status)
    with pytest.raises(DownloadError) as caught:
        MarketplaceIndex.load(market.url("/index.json"), timeout=2)
    assert caught.value.message.endswith(f"answered {status} {http.HTTPStatus(status).phrase}")
    assert caught.value.hint == hint


def test_a_server_that_hangs_up_is_a_failed_download(market: Market) -> None:
    def hang_up(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)

    market.behaviours["/index.json"] = hang_up
    url = market.url("/index.json")
    with pytest.raises(DownloadError) as caught:
        MarketplaceIndex.load(url, timeout=2)
    assert caught.value.code == "download-failed"
    assert caught.value.message.startswith(f"cannot download the index {url} from {url}: ")


def test_an_unknown_host_is_named() -> None:
    url = "https://plugins.example.invalid/index.json"
    with pytest.raises(DownloadError) as caught:
        MarketplaceIndex.load(url, timeout=2)
    assert caught.value.message == (
        f"cannot download the index {url}: the host 'plugins.example.invalid' cannot be "
        f"found ({url})"
    )


def test_the_whole_download_has_a_deadline(market: Market, tmp_path: Path) -> None:
    release = served(market, ARCHIVE)
    with pytest.raises(DownloadError) as caught:
        fetch(release, tmp_path, policy=DownloadPolicy(deadline=-1))
    assert caught.value.code == "download-timeout"
    assert caught.value.message.endswith("took longer than -1 s")


def _trickle(market: Market, head: bytes, body: bytes) -> Behaviour:
    """An answer written one byte every 0.3 s: ``head`` (status line and headers), then
    ``body``; it stops when the client hangs up or the test ends."""

    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        for byte in head + body:
            if market.release.wait(0.3):
                return
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                return

    return answer


CLOSE = b"Connection: close\r\n\r\n"


@pytest.mark.parametrize(
    ("head", "body"),
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n" + CLOSE, b"x" * 64, id="body"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n" + CLOSE, b"", id="headers"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + CLOSE,
            b"40\r\n" + b"x" * 64 + b"\r\n0\r\n\r\n",
            id="chunked",
        ),
    ],
)
def test_the_deadline_holds_against_a_server_that_trickles(
    market: Market, tmp_path: Path, head: bytes, body: bytes
) -> None:
    """Each read used to wait for a whole 64 KiB chunk, checking the deadline only
    between chunks: a server sending a byte every 0.3 s held a 1 s download for ever."""
    if body == b"":  # the headers themselves trickle
        head, body = head[:20], head[20:]
    market.behaviours["/slow.zip"] = _trickle(market, head, body)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught, open(tmp_path / "out", "wb") as out:
        download_to(
            market.url("/slow.zip"),
            out,
            DownloadPolicy(timeout=30, deadline=1),
            limit=1000,
            what="the archive",
        )
    elapsed = time.monotonic() - started
    assert caught.value.code == "download-timeout"
    assert caught.value.message == (
        f"cannot download the archive: {market.url('/slow.zip')} took longer than 1 s"
    )
    assert 1 <= elapsed < 1.5, elapsed


def test_a_local_archive_larger_than_the_index_says(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "demo-1.0.0.zip").write_bytes(ARCHIVE + b"more")
    index = MarketplaceIndex.load(
        write_index(tmp_path, plugin("demo", [version("1.0.0", ARCHIVE)]))
    )
    with pytest.raises(DownloadError) as caught:
        fetch(index.plugins["demo"].releases[0], tmp_path / "dl", progress=lambda d, t: None)
    assert caught.value.code == "download-too-large"
    assert list((tmp_path / "dl").iterdir()) == []


@pytest.fixture
def tls_market(tmp_path: Path) -> Iterator[Market]:
    """The loopback server, speaking https with a self-signed certificate nobody trusts."""
    import ssl
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    running = Market()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    running.server.socket = context.wrap_socket(running.server.socket, server_side=True)
    with running:
        yield running


def test_https_certificates_are_verified(tls_market: Market) -> None:
    tls_market.files["/index.json"] = index_bytes()
    url = tls_market.url("/index.json").replace("http://", "https://")
    with pytest.raises(DownloadError) as caught:
        MarketplaceIndex.load(url, timeout=2)
    assert caught.value.code == "download-insecure"
    assert caught.value.message.startswith(
        f"cannot download the index {url}: the certificate of 127.0.0.1:"
    )


def test_the_deadline_holds_over_https_too(
    tls_market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))  # trusted, this once
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n" + CLOSE
    tls_market.behaviours["/slow.zip"] = _trickle(tls_market, head, b"x" * 64)
    tls_market.files["/quick.zip"] = b"x" * 64
    url = tls_market.url("/slow.zip").replace("http://", "https://")
    policy = DownloadPolicy(timeout=30, deadline=1)
    with open(tmp_path / "out", "wb") as out:
        quick = url.replace("slow", "quick")
        assert download_to(quick, out, policy, limit=1000, what="the archive")[0] == 64
        started = time.monotonic()
        with pytest.raises(DownloadError) as caught:
            download_to(url, out, policy, limit=1000, what="the archive")
    assert caught.value.code == "download-timeout"
    assert 1 <= time.monotonic() - started < 1.5
