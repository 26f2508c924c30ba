"""Downloads for the marketplace: streamed, bounded in size and time, HTTPS verified.

Only ``https`` is fetched from the network; plain ``http`` only from this machine
(``localhost``, ``127.0.0.0/8``, ``::1``) unless the user allows it, and every
redirect is held to the same rule. A download is streamed into a file (or memory, for
an index) in chunks, hashed as it goes, and stopped as soon as it passes its size
limit (announced by ``Content-Length`` or not) or its deadline. Downloads for an MCP
caller also pass a :class:`~engine.plugins._gate.Gate`: only where the user allowed,
never to this machine or the local network, checked on every hop and address.

>>> check_url("https://plugins.example.org/index.json", DownloadPolicy())
>>> check_url("http://plugins.example.org/index.json", DownloadPolicy())  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
engine.plugins.download.DownloadError: refusing to download over plain http from ...
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import ipaddress
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import IO, Any

from engine import __version__
from engine.errors import PluginError
from engine.plugins._gate import Gate, Refused, WatchedHTTP, WatchedHTTPS, place_of

__all__ = [
    "MB",
    "DownloadError",
    "DownloadPolicy",
    "Gate",
    "check_url",
    "copy_file",
    "download_to",
    "is_loopback",
    "place_of",
    "read_url",
    "too_large",
    "unreachable",
]
from engine.plugins.progress import Progress, format_size

MB = 1024 * 1024
_CHUNK = 64 * 1024
_USER_AGENT = f"km-actions/{__version__}"
_UNREACHABLE_HINT = "check the URL and your network connection, and that the server is up"


class DownloadError(PluginError):
    """A download failed or was refused.

    Codes: ``download-failed`` (the server could not be reached, or answered with an
    error), ``download-timeout``, ``download-too-large``, ``download-insecure``
    (plain http to another machine, or a scheme other than http/https) and
    ``download-refused`` (a download for an MCP caller went where it may not, or could
    not reach its server: the two are not told apart).
    """

    code = "download-failed"


@dataclass(frozen=True, slots=True)
class DownloadPolicy:
    """How long and how large a download may be, and whether plain http is allowed.

    ``timeout`` bounds each network wait (connecting, each read); ``deadline`` the whole
    download. ``allow_http`` permits plain http to other machines (never the default:
    anyone on the path could change what is installed). ``gate``: for a download an MCP
    caller asked for, where it may go (:class:`~engine.plugins._gate.Gate`); then a
    refused place and an unreachable one fail alike (``download-refused``), so the
    answers tell nothing about this machine's network.

    >>> DownloadPolicy().max_bytes // MB, DownloadPolicy(timeout=2).timeout
    (100, 2)
    """

    timeout: float = 30.0
    deadline: float = 600.0
    max_bytes: int = 100 * MB
    allow_http: bool = False
    gate: Gate | None = None


def is_loopback(host: str) -> bool:
    """True for names and addresses of this machine.

    >>> is_loopback("localhost"), is_loopback("127.0.0.1"), is_loopback("::1")
    (True, True, True)
    >>> is_loopback("example.org"), is_loopback("10.0.0.1")
    (False, False)
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, policy: DownloadPolicy) -> None:
    """Raise :class:`DownloadError` (``download-insecure``) unless ``url`` may be fetched."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https":
        return
    if scheme == "http":
        if policy.allow_http or is_loopback(parts.hostname or ""):
            return
        raise DownloadError(
            f"refusing to download over plain http from {parts.hostname or url!r}: anyone "
            "on the way could change what you install",
            code="download-insecure",
            hint="use the https:// address of the marketplace, or pass --allow-http if you "
            "trust every network in between",
        )
    raise DownloadError(
        f"cannot download {url!r}: only https:// (and http:// on this machine) are supported",
        code="download-insecure",
        hint="give an https:// URL, or the path of a file on this machine",
    )


def read_url(url: str, policy: DownloadPolicy, *, what: str) -> bytes:
    """The whole body at ``url`` (at most ``policy.max_bytes``), for small files.

    ``what`` names the file in messages (e.g. ``"the index"``).
    """
    chunks: list[bytes] = []
    _stream(url, policy, chunks.append, limit=policy.max_bytes, what=what, progress=None)
    return b"".join(chunks)


def download_to(
    url: str,
    out: IO[bytes],
    policy: DownloadPolicy,
    *,
    limit: int,
    what: str,
    progress: Progress | None = None,
) -> tuple[int, str]:
    """Stream ``url`` into ``out``; returns ``(bytes written, sha256 hex)``.

    Stops with ``download-too-large`` past ``limit`` bytes, before writing them.
    """
    digest = hashlib.sha256()

    def write(chunk: bytes) -> None:
        digest.update(chunk)
        out.write(chunk)

    size = _stream(url, policy, write, limit=limit, what=what, progress=progress)
    return size, digest.hexdigest()


def copy_file(
    source: IO[bytes],
    out: IO[bytes],
    *,
    limit: int,
    what: str,
    total: int | None,
    progress: Progress | None = None,
) -> tuple[int, str]:
    """Copy a local file like :func:`download_to` copies a download: bounded and hashed."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large(what, limit)
        digest.update(chunk)
        out.write(chunk)
        if progress is not None:
            progress(size, total)
    return size, digest.hexdigest()


def too_large(what: str, limit: int, announced: int | None = None) -> DownloadError:
    """The error for a download that is (or says it is) larger than allowed."""
    said = f" (the server announced {format_size(announced)})" if announced else ""
    return DownloadError(
        f"{what} is larger than the {format_size(limit)} allowed{said}; the download was "
        "stopped and nothing was kept",
        code="download-too-large",
        hint="the file on the server is not the one the index describes: tell the "
        "marketplace's maintainer, or check the index URL",
    )


def _stream(
    url: str,
    policy: DownloadPolicy,
    sink: Callable[[bytes], Any],
    *,
    limit: int,
    what: str,
    progress: Progress | None,
) -> int:
    if policy.gate is not None:
        try:
            check_url(url, policy)
            policy.gate.check_name(url)
            return _fetch(url, policy, sink, limit=limit, what=what, progress=progress)
        except Refused as refused:
            if not policy.gate.stranger:
                raise _refused(url, what, str(refused)) from None
            raise unreachable(url, what) from None
        except DownloadError as error:
            if not policy.gate.stranger:
                raise
            answered = isinstance(error, _StatusError)  # by a place the gate let through
            if not answered and error.code in _UNREACHABLE:
                raise unreachable(url, what) from None
            raise
    check_url(url, policy)
    return _fetch(url, policy, sink, limit=limit, what=what, progress=progress)


def unreachable(url: str, what: str) -> DownloadError:
    """The one error of a gated download that was refused or could not reach its server
    (the same for both: see :class:`DownloadPolicy`)."""
    return DownloadError(
        f"cannot download {what} from {url}: it is not a place this server may download "
        "from for MCP callers, or it cannot be reached",
        code="download-refused",
        hint="MCP callers may install over https from the marketplaces the user added "
        "(`km-actions marketplace add URL`) and from the hosts in security.allowed_hosts "
        "(`km-actions config set security.allowed_hosts '[\"plugins.example.org\"]'`), "
        "never from this machine or the local network",
    )


def _refused(url: str, what: str, reason: str) -> DownloadError:
    """The user's own download refused by the gate: why, and what to do instead."""
    return DownloadError(
        f"refusing to download {what} from {url}: {reason}",
        code="download-refused",
        hint="install over https from a public host; this machine and the local network "
        "are reached only at a marketplace you added (`km-actions marketplace add URL`)",
    )


def _fetch(
    url: str,
    policy: DownloadPolicy,
    sink: Callable[[bytes], Any],
    *,
    limit: int,
    what: str,
    progress: Progress | None,
) -> int:
    request = urllib.request.Request(
        url, headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    )
    with _Deadline(policy.deadline) as deadline:
        try:
            return _transfer(
                request, policy, deadline, sink, limit=limit, what=what, progress=progress
            )
        except DownloadError:
            raise
        except urllib.error.HTTPError as exc:
            raise _status_error(url, what, exc) from None
        except (OSError, http.client.HTTPException) as exc:
            if deadline.expired:  # the deadline cut the connection: that is why it failed
                raise _timeout(url, what, policy.deadline, whole=True) from None
            if isinstance(exc, urllib.error.URLError):
                raise _network_error(url, what, exc.reason, policy) from None
            raise _network_error(url, what, exc, policy) from None


def _transfer(
    request: urllib.request.Request,
    policy: DownloadPolicy,
    deadline: _Deadline,
    sink: Callable[[bytes], Any],
    *,
    limit: int,
    what: str,
    progress: Progress | None,
) -> int:
    url = request.full_url
    with _opener(policy, deadline).open(request, timeout=policy.timeout) as response:
        total = _content_length(response.headers)
        if total is not None and total > limit:
            raise too_large(what, limit, total)
        size = 0
        while True:
            chunk = response.read(_CHUNK)
            if deadline.expired:  # a cut connection reads as a short or an empty chunk
                raise _timeout(url, what, policy.deadline, whole=True)
            if not chunk:
                return size
            size += len(chunk)
            if size > limit:
                raise too_large(what, limit)
            sink(chunk)
            if progress is not None:
                progress(size, total)


class _Deadline:
    """Ends a download at its deadline, whatever the server does.

    A read waits for a whole chunk, and each wait on the network lasts up to
    ``timeout``: a server sending a byte now and then would hold a download for ever if
    the deadline were only checked between reads. At the deadline every connection of
    the download is shut down, which ends any read (of headers or body) at once.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (at once, if it has passed)."""
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, for TLS too: it ends the connection under the reading
    # thread without touching the TLS state that thread is using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _StatusError(DownloadError):
    """A server answered with an error status."""


_UNREACHABLE = frozenset({"download-failed", "download-timeout", "download-insecure"})


def _status_error(url: str, what: str, exc: urllib.error.HTTPError) -> DownloadError:
    exc.close()  # it holds the error page's open connection
    return _StatusError(
        f"cannot download {what}: {url} answered {exc.code} {exc.reason}",
        hint=_status_hint(exc.code),
    )


def _opener(policy: DownloadPolicy, deadline: _Deadline) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context()  # verifies certificates and host names
    handlers: list[urllib.request.BaseHandler] = [
        WatchedHTTP(policy.gate, deadline.watch),
        WatchedHTTPS(policy.gate, deadline.watch, context),
        _CheckedRedirects(policy),
    ]
    if policy.gate is not None:  # no proxy: the connection must go where the gate checked
        handlers.insert(0, urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to URLs the policy allows (no https → http downgrade)."""

    max_redirections = 5

    def __init__(self, policy: DownloadPolicy) -> None:
        super().__init__()
        self.policy = policy

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        try:
            check_url(newurl, self.policy)
            if self.policy.gate is not None:
                self.policy.gate.check_name(newurl)
        except (DownloadError, Refused):
            fp.close()  # urllib closes the redirect's body only when it follows it
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _content_length(headers: Message) -> int | None:
    raw = headers.get("Content-Length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _status_hint(status: int) -> str:
    if status == 404:
        return (
            "the file is not there (any more): check the URL, or tell the marketplace's "
            "maintainer that the index is out of date"
        )
    if status in (401, 403):
        return "the server refuses access: check the URL, or ask its maintainer"
    if status >= 500:
        return "the server has a problem: try again later"
    return _UNREACHABLE_HINT


def _network_error(url: str, what: str, reason: object, policy: DownloadPolicy) -> DownloadError:
    host = urllib.parse.urlsplit(url).netloc
    if isinstance(reason, TimeoutError | socket.timeout):
        return _timeout(url, what, policy.timeout, whole=False)
    if isinstance(reason, ConnectionRefusedError):
        return DownloadError(
            f"cannot download {what}: {host} refused the connection ({url})",
            hint="the server is not running or not listening there: " + _UNREACHABLE_HINT,
        )
    if isinstance(reason, socket.gaierror):
        return DownloadError(
            f"cannot download {what}: the host {host!r} cannot be found ({url})",
            hint="check the spelling of the URL and your network connection",
        )
    if isinstance(reason, ssl.SSLCertVerificationError):
        return DownloadError(
            f"cannot download {what}: the certificate of {host} cannot be verified "
            f"({reason.verify_message})",
            code="download-insecure",
            hint="the connection may be intercepted; check the URL, the system's "
            "certificates and the clock",
        )
    text = str(getattr(reason, "strerror", None) or reason) or type(reason).__name__
    return DownloadError(f"cannot download {what} from {url}: {text}", hint=_UNREACHABLE_HINT)


def _timeout(url: str, what: str, seconds: float, *, whole: bool) -> DownloadError:
    doing = "took longer than" if whole else "got no answer for"
    return DownloadError(
        f"cannot download {what}: {url} {doing} {seconds:g} s",
        code="download-timeout",
        hint="the server is slow or unreachable: try again later, or raise --timeout",
    )
