"""Where a download asked for by a stranger (an MCP caller) may go.

A :class:`Gate` holds two things the user decided: the host names a caller may name
(the user's ``security.allowed_hosts`` and the hosts of the marketplaces the user
added), and the exact places (scheme, host, port) of those marketplaces, the only ones
reached even at a loopback or private address. Every hop is checked: the URL asked for
and each redirect by name, and each connection by the addresses the name resolves to,
connecting only to an address that passed (so a name cannot resolve to one address for
the check and another for the connection). Any spelling of this machine or the local
network (``localhost.``, ``127.1``, ``2130706433``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``,
a public name resolving to ``10.0.0.5``) is caught, because the addresses are what is
checked. Proxies from the environment are not used for such downloads.

>>> gate = Gate(hosts=frozenset({"plugins.example.org"}))
>>> gate.check_name("https://plugins.example.org/a.zip")
>>> gate.check_addresses(("https", "plugins.example.org", 443), ["127.0.0.1"])
Traceback (most recent call last):
...
engine.plugins._gate.Refused: plugins.example.org resolves to 127.0.0.1, which is not public
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Place = tuple[str, str, int]
"""(scheme, host, port), the host lower-case without a trailing dot or brackets."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(Exception):
    """The gate refused a URL or an address (said to the caller as "cannot be reached")."""


def place_of(url: str) -> Place | None:
    """Where ``url`` points, normalised; None when it has no host or a bad port.

    >>> place_of("HTTP://LocalHost.:8000/index.json")
    ('http', 'localhost', 8000)
    """
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = normal_host(parts.hostname or "")
    if not host or scheme not in _DEFAULT_PORTS:
        return None
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def normal_host(host: str) -> str:
    """A host name as compared: lower case, no brackets, no trailing dot."""
    return host.strip("[]").lower().rstrip(".")


def is_public(address: str) -> bool:
    """True for an address on the internet; False for this machine, the local network,
    link-local, shared, reserved, multicast and unspecified addresses (IPv4 inside IPv6
    judged as IPv4).

    >>> [is_public(a) for a in ("93.184.215.14", "127.0.0.1", "10.1.2.3", "::ffff:127.0.0.1")]
    [True, False, False, False]
    >>> [is_public(a) for a in ("169.254.169.254", "100.64.0.1", "0.0.0.0", "fe80::1%eth0")]
    [False, False, False, False]
    """
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True, slots=True)
class Gate:
    """Where downloads for an MCP caller may go (see the module docs).

    ``hosts``: the host names a URL may name, on every hop (None: any name, as for the
    archives a marketplace the user added lists); ``trusted``: the places of the
    marketplaces the user added, reached at whatever address they have. ``stranger``:
    the download is an MCP caller's, so a refusal must look like an unreachable server;
    False when the user asked (on the command line), who is told why.
    """

    hosts: frozenset[str] | None = None
    trusted: frozenset[Place] = frozenset()
    stranger: bool = True

    def check_name(self, url: str) -> None:
        """Raise :class:`Refused` unless ``url`` names a host the caller may name."""
        place = place_of(url)
        if place is None:
            raise Refused(f"{url!r} names no host")
        if self.hosts is not None and place not in self.trusted and place[1] not in self.hosts:
            raise Refused(f"{place[1]} is not a host the user allowed")

    def check_addresses(self, place: Place, addresses: Iterable[str]) -> None:
        """Raise :class:`Refused` if ``place`` resolved to an address that is not public
        (unless it is a marketplace the user added)."""
        if place in self.trusted:
            return
        for address in addresses:
            if not is_public(address):
                raise Refused(f"{place[1]} resolves to {address}, which is not public")


Watch = Callable[[socket.socket], None]


def _connect(
    gate: Gate,
    scheme: str,
    address: tuple[str, int],
    timeout: Any = None,
    source_address: Any = None,
) -> socket.socket:
    """``socket.create_connection`` that resolves once, checks every address, and
    connects only to those."""
    host, port = address
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    place = (scheme, normal_host(host), port)
    gate.check_addresses(place, [str(info[4][0]) for info in found])
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in found:
        sock = socket.socket(family, kind, proto)
        try:
            if isinstance(timeout, int | float):
                sock.settimeout(timeout)
            if source_address is not None:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"{host} has no address")


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, gate: Gate | None, watch: Watch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch = watch
        if gate is not None:
            self._create_connection = functools.partial(_connect, gate, "http")

    def connect(self) -> None:
        super().connect()
        self._watch(self.sock)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, gate: Gate | None, watch: Watch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch = watch
        if gate is not None:
            self._create_connection = functools.partial(_connect, gate, "https")

    def connect(self) -> None:
        super().connect()
        self._watch(self.sock)  # the TLS socket: the plain one was handed over to it


class WatchedHTTP(urllib.request.HTTPHandler):
    """Plain http connections, checked by ``gate`` when there is one; each new socket is
    handed to ``watch`` (the download's deadline, which shuts it down)."""

    def __init__(self, gate: Gate | None, watch: Watch) -> None:
        super().__init__()
        self.gate = gate
        self.watch = watch

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        factory = functools.partial(_HTTPConnection, gate=self.gate, watch=self.watch)
        return self.do_open(factory, req)


class WatchedHTTPS(urllib.request.HTTPSHandler):
    """https connections (certificates verified as usual), like :class:`WatchedHTTP`."""

    def __init__(self, gate: Gate | None, watch: Watch, context: Any) -> None:
        super().__init__(context=context)
        self.gate = gate
        self.watch = watch
        self.context = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        factory = functools.partial(_HTTPSConnection, gate=self.gate, watch=self.watch)
        return self.do_open(factory, req, context=self.context)
