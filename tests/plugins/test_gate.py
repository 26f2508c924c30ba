"""Downloads behind a gate (for MCP callers): the resolved address of every connection is
checked, whatever the URL's text says, and connected to as checked."""

from __future__ import annotations

import http.server
import io
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.plugins import download
from engine.plugins._gate import Gate, is_public
from engine.plugins.download import DownloadError, DownloadPolicy, download_to
from engine.plugins.marketplace import MarketplaceIndex
from tests.plugins.test_marketplace import Market

NAME = "plugins.example.org"


@pytest.fixture
def local() -> Iterator[Market]:
    with Market() as running:
        running.files["/a.zip"] = b"archive"
        yield running


def _download(url: str, gate: Gate) -> DownloadError:
    with pytest.raises(DownloadError) as caught:
        download_to(url, io.BytesIO(), DownloadPolicy(timeout=2, gate=gate), limit=100, what="it")
    return caught.value


def test_a_public_name_resolving_to_this_machine_is_refused(
    local: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name the user allowed, whose DNS answer is 127.0.0.1 (or turns into it between
    a check and the connection): refused before any connection."""
    real = socket.getaddrinfo
    port = local.server.server_address[1]

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == NAME else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    error = _download(f"http://{NAME}:{port}/a.zip", Gate(hosts=frozenset({NAME})))
    assert error.code == "download-refused"
    assert local.requests == []


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("[::1]", id="ipv6-loopback"),
        pytest.param("[::ffff:127.0.0.1]", id="ipv4-mapped"),
        pytest.param("127.0.0.1", id="literal"),
    ],
)
def test_any_spelling_of_this_machine_is_refused(local: Market, host: str) -> None:
    port = local.server.server_address[1]
    listed = frozenset({host.strip("[]")})
    error = _download(f"http://{host}:{port}/a.zip", Gate(hosts=listed))
    assert error.code == "download-refused"
    assert local.requests == []


def test_only_the_exact_place_the_user_added_is_trusted(local: Market) -> None:
    port = local.server.server_address[1]
    trusted = Gate(hosts=frozenset(), trusted=frozenset({("http", "127.0.0.1", port)}))
    out = io.BytesIO()
    download_to(local.url("/a.zip"), out, DownloadPolicy(gate=trusted), limit=100, what="it")
    assert out.getvalue() == b"archive"
    assert _download(f"http://localhost:{port}/a.zip", trusted).code == "download-refused"


def test_an_index_redirecting_to_this_machine_is_refused(local: Market) -> None:
    """Indexes loaded for an MCP caller: the index's own place is trusted, a redirect
    from it to another place on this machine is not."""
    with Market() as other:

        def redirect(handler: http.server.BaseHTTPRequestHandler) -> None:
            handler.send_response(302)
            handler.send_header("Location", other.url("/index.json"))
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        local.behaviours["/index.json"] = redirect
        port = local.server.server_address[1]
        gate = Gate(trusted=frozenset({("http", "127.0.0.1", port)}))
        with pytest.raises(DownloadError) as caught:
            MarketplaceIndex.load(local.url("/index.json"), policy=DownloadPolicy(gate=gate))
        assert caught.value.code == "download-refused"
        assert other.requests == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.5", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("::1", False),
        ("fc00::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
        ("224.0.0.1", False),
        ("not an address", False),
    ],
)
def test_what_counts_as_public(address: str, public: bool) -> None:
    assert is_public(address) is public


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Market]:
    """The loopback server over https, with a certificate for 127.0.0.1 that downloads
    trust (as a real one would be)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    running = Market()
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    running.server.socket = server_side.wrap_socket(running.server.socket, server_side=True)
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(download.ssl, "create_default_context", lambda: trusting)
    running.files["/a.zip"] = b"archive"
    with running:
        yield running


def test_https_through_the_gate(tls: Market) -> None:
    """The checked connection is the one TLS runs over (certificates verified as usual)."""
    port = tls.server.server_address[1]
    url = f"https://127.0.0.1:{port}/a.zip"
    out = io.BytesIO()
    trusted = Gate(trusted=frozenset({("https", "127.0.0.1", port)}))
    download_to(url, out, DownloadPolicy(gate=trusted), limit=100, what="it")
    assert out.getvalue() == b"archive"
    assert _download(url, Gate()).code == "download-refused"
    assert tls.requests == ["/a.zip"]
