"""What a tool handler gets: its checked arguments, the state, the clock, and osascript.

The real server reaches Keyboard Maestro only by running AppleScript with ``osascript``.
A handler here changes the model (``engine.simulator.km``) directly, but through
:meth:`ToolContext.osascript`, which does what running the server's script does around
that change: the server's own checks of the script text, osascript's absence on a
machine without it, the Apple event waking the application, and Keyboard Maestro's
errors reported as osascript reports them (``46:68: execution error: … (-1728)``).

>>> from engine.simulator._state import SimulatorState
>>> from datetime import UTC, datetime
>>> ctx = ToolContext("km_x", {}, SimulatorState.seeded(), datetime(2026, 5, 4, tzinfo=UTC))
>>> script = 'tell application "Keyboard Maestro Engine" to delete variable "Nope"'
>>> def missing() -> str:
...     raise AppleEventError(-1728, 'Can’t get variable "Nope".', KME)
>>> ctx.osascript(script, missing, statement='delete variable "Nope"')
Traceback (most recent call last):
...
engine.simulator.tools.context.ScriptFailure: AppleScript failed: 46:68: execution error: \
Keyboard Maestro Engine got an error: Can’t get variable "Nope". (-1728)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.simulator._state import ServerMemory, SimulatorState
from engine.simulator.km import system
from engine.simulator.km.state import EDITOR_NAME, ENGINE_PROCESS, KMState

KM = EDITOR_NAME
KME = ENGINE_PROCESS
SE = "System Events"

Answer = dict[str, Any]
SERVER_VERSION = "1.0.0"  # what the server's metadata says it is
Handler = Callable[["ToolContext"], Answer]
_NO_DETAILS: Any = object()


def engine_unreachable(code: str = "KM_CONNECTION_FAILED") -> Answer:
    """The answer of the server's ``_check_kme_alive`` (the engine check of its editor
    tools) when the Engine is not running."""
    return failure(
        code,
        "Cannot connect to Keyboard Maestro Engine.",
        "Start Keyboard Maestro and ensure the Engine is running.",
    )


def failure(
    code: str, message: str, suggestion: str, *, details: Any = _NO_DETAILS, **more: Any
) -> Answer:
    """The server's failure answer: ``{"success": false, "error": {code, message,
    [details], recovery_suggestion, …more}}`` (keys in the order the server writes them).

    >>> failure("NOT_FOUND", "No such macro", "List them.", field="macro_id")["error"]["field"]
    'macro_id'
    """
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not _NO_DETAILS:
        error["details"] = details
    return {"success": False, "error": {**error, "recovery_suggestion": suggestion, **more}}


# What the server's execute_applescript_async refuses to run (the whole script is searched,
# ignoring case).
DANGEROUS_CONTENT = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"do shell script.*rm\s+-rf",
        r"do shell script.*sudo",
        r"do shell script.*curl.*\|\s*sh",
        r"set\s+\w+\s+to\s+password\s+of",
        r"keychain",
        r"security\s+",
        r"\/System\/",
        r"\/usr\/bin\/",
        r"\/etc\/",
    )
)
# How long one osascript run takes in the simulator's time (about what it takes on a Mac).
OSASCRIPT_SECONDS = 0.1
NO_OSASCRIPT = "[Errno 2] No such file or directory: 'osascript'"
NO_USR_BIN_OSASCRIPT = "[Errno 2] No such file or directory: '/usr/bin/osascript'"


def invalid(field_name: str, value: Any, constraint: str) -> str:
    """The server's validation message (its ``ValidationError(field, value, constraint)``).

    >>> invalid("name", None, "Variable name is required")
    "Validation failed for field 'name': Variable name is required. Got: None"
    """
    return f"Validation failed for field '{field_name}': {constraint}. Got: {value}"


def quoted(text: str) -> str:
    """``text`` as an AppleScript string literal, escaped as the server escapes it.

    >>> print(quoted('say "hi" \\\\ bye'))
    "say \\"hi\\" \\\\ bye"
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AppleEventError(Exception):
    """An error an application (or AppleScript itself) raises while a script runs.

    ``syntax`` errors happen when the script compiles (an application that is not
    installed, a form that does not parse); ``span`` locates them in the script.
    """

    def __init__(
        self,
        number: int,
        text: str,
        app: str | None = None,
        *,
        syntax: bool = False,
        span: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(text)
        self.number = number
        self.text = text
        self.app = app
        self.syntax = syntax
        self.span = span

    @property
    def message(self) -> str:
        """The text AppleScript reports (``<App> got an error: <text>``)."""
        return f"{self.app} got an error: {self.text}" if self.app else self.text

    def stderr(self, span: tuple[int, int]) -> str:
        """What osascript prints for it (without the final line break)."""
        kind = "syntax error" if self.syntax else "execution error"
        start, end = self.span or span
        return f"{start}:{end}: {kind}: {self.message} ({self.number})"


def cant_get(spec: str, app: str | None, *, index: bool = False) -> AppleEventError:
    """``Can’t get <spec>.`` (-1728), or ``… Invalid index.`` (-1719) for a missing element."""
    if index:
        return AppleEventError(-1719, f"Can’t get {spec}. Invalid index.", app)
    return AppleEventError(-1728, f"Can’t get {spec}.", app)


class Via(enum.Enum):
    """How the server ran a script; each way reports failures in its own words."""

    ASYNC = "execute_applescript_async"  # KMClient.execute_applescript_async
    SYNC = "subprocess"  # subprocess.run(["/usr/bin/osascript", "-e", script])
    UNCHECKED = "asyncio"  # the window and application controllers' own runner: no checks


class Failed(enum.Enum):
    DANGEROUS = "dangerous"
    MISSING = "missing"  # no osascript on the machine
    SCRIPT = "script"  # osascript ran and failed (exit status 1)


class ScriptFailure(Exception):
    """A script that did not give a result, described as the server saw it.

    ``message`` is the server's text for it (per :class:`Via`); ``stderr`` osascript's
    error output (empty unless ``kind`` is ``SCRIPT``); ``error`` the application error.
    """

    def __init__(
        self,
        kind: Failed,
        message: str,
        *,
        stderr: str = "",
        error: AppleEventError | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.stderr = stderr
        self.error = error

    @property
    def code(self) -> str:
        """The code of the KMError the server's KMClient builds for it."""
        return "SECURITY_ERROR" if self.kind is Failed.DANGEROUS else "EXECUTION_ERROR"


class ServerCrash(Exception):
    """An exception the real server's tool code does not catch (a ``TypeError`` of plistlib,
    an ``AttributeError`` on an argument of the wrong kind): FastMCP answers it as an MCP
    error result, ``Error calling tool 'km_x': <the exception's text>``."""


def is_dangerous(script: str) -> bool:
    """Whether the server refuses to run ``script`` (``DANGEROUS_CONTENT``)."""
    return any(p.search(script) for p in DANGEROUS_CONTENT)


@dataclass
class ToolContext:
    """One tool call: its checked arguments, the state it may change, and the server's time.

    Time passes inside a call as the server spends it, without waiting: each osascript run
    takes ``OSASCRIPT_SECONDS`` and :meth:`sleep` what it is given. So what depends on
    time (caches that last 2 seconds, polling until a deadline, durations in answers)
    happens as on the real server, deterministically.
    """

    tool: str
    args: dict[str, Any]
    state: SimulatorState
    started: datetime
    elapsed: float = 0.0

    @property
    def now(self) -> datetime:
        """The server's time now (the call's start plus the time spent in it)."""
        return self.started + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        """``await asyncio.sleep(seconds)`` in the server: time passes, nothing waits."""
        self.elapsed += max(seconds, 0.0)

    @property
    def km(self) -> KMState:
        """The model of Keyboard Maestro and the Mac."""
        return self.state.km

    @property
    def server(self) -> ServerMemory:
        """What the server process remembers."""
        return self.state.server

    # -- the server's clock and ids ---------------------------------------------------

    def utc_timestamp(self) -> str:
        """``datetime.now(timezone.utc).isoformat()`` at this call."""
        return self.now.astimezone(UTC).isoformat()

    def local_timestamp(self) -> str:
        """``datetime.now().isoformat()`` (naive local time) at this call."""
        return self.now.astimezone().replace(tzinfo=None).isoformat()

    def epoch(self) -> float:
        """``time.time()`` at this call."""
        return self.now.timestamp()

    def uuid4(self) -> str:
        """A fresh id as the server's ``str(uuid.uuid4())`` (from a counter: reproducible)."""
        return self.server.uuid4()

    # -- Keyboard Maestro, as the server reaches it -------------------------------------

    def has_osascript(self) -> bool:
        """False on a machine without osascript (a seed may say so: ``system.osascript``)."""
        return self.km.system.get("osascript", True) is not False

    def engine_running(self) -> bool:
        """The server's connection check: does System Events see the Engine's process?
        (Without osascript the check fails too.)"""
        return self.has_osascript() and system.process_named(self.km, KME) is not None

    def osascript(
        self,
        script: str,
        action: Callable[[], str],
        *,
        via: Via = Via.ASYNC,
        apps: tuple[str, ...] = (),
        statement: str | None = None,
    ) -> str:
        """Run ``action`` (the script's effect on the model) as running ``script`` would.

        The server's checks of ``script`` come first (per ``via``), then osascript must
        exist; the Apple events to ``apps`` wake them; an :class:`AppleEventError` from
        ``action`` is reported at ``statement`` (the failing statement's text in the
        script; the whole script when not given). The result is what osascript prints,
        without surrounding white space for the asynchronous ways (they strip it).
        """
        self._check(script, via)
        self.elapsed += OSASCRIPT_SECONDS
        for app in apps:
            system.receive_event(self.km, app)
        try:
            text = action()
        except AppleEventError as error:
            start = script.find(statement) if statement else -1
            span = (start, start + len(statement or "")) if start >= 0 else (0, len(script))
            stderr = error.stderr(span)
            raise ScriptFailure(
                Failed.SCRIPT, f"AppleScript failed: {stderr}", stderr=stderr, error=error
            ) from None
        return text if via is Via.SYNC else text.strip()

    def _check(self, script: str, via: Via) -> None:
        if via is Via.ASYNC and is_dangerous(script):
            raise ScriptFailure(Failed.DANGEROUS, "Dangerous AppleScript content detected")
        if not self.has_osascript():
            raise ScriptFailure(Failed.MISSING, _MISSING[via])


_MISSING: Mapping[Via, str] = {
    Via.ASYNC: f"AppleScript execution error: {NO_OSASCRIPT}",
    Via.UNCHECKED: f"AppleScript execution error: {NO_OSASCRIPT}",
    Via.SYNC: NO_USR_BIN_OSASCRIPT,
}
