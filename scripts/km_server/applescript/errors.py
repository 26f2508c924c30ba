"""The errors a script can end with, printed the way ``osascript`` prints them."""

from __future__ import annotations


class ScriptSyntaxError(Exception):
    """The script does not compile: ``start:end: syntax error: message (number)``."""

    def __init__(self, message: str, number: int, start: int, end: int) -> None:
        super().__init__(message)
        self.message = message
        self.number = number
        self.start = start
        self.end = end

    def report(self) -> str:
        return f"{self.start}:{self.end}: syntax error: {self.message} ({self.number})"


class ScriptError(Exception):
    """An error while the script runs (``error`` in AppleScript): a number and a message.

    ``app`` is the application that raised it; AppleScript puts "<app> got an error: "
    before such messages. ``start``/``end`` locate the statement, filled in on the way up.
    """

    def __init__(self, number: int, message: str, app: str | None = None) -> None:
        super().__init__(message)
        self.number = number
        self.text = message
        self.app = app
        self.start = 0
        self.end = 0

    @property
    def message(self) -> str:
        return f"{self.app} got an error: {self.text}" if self.app else self.text

    def report(self) -> str:
        return f"{self.start}:{self.end}: execution error: {self.message} ({self.number})"


class Unmodelled(Exception):
    """A form of AppleScript (or an application feature) the stand-in does not model."""

    def __init__(self, what: str, start: int = 0, end: int = 0) -> None:
        super().__init__(what)
        self.what = what
        self.start = start
        self.end = end

    def report(self) -> str:
        return (
            f"km-actions osascript stand-in: unsupported AppleScript form at {self.start}:"
            f"{self.end}: {self.what} (the stand-in models only what the Keyboard Maestro MCP "
            "server sends; see scripts/km_server/README.md)"
        )


def cant_get(spec: str, app: str | None, *, index: bool = False) -> ScriptError:
    """``Can’t get <spec>.`` (-1728), or ``… Invalid index.`` (-1719) for a missing element."""
    if index:
        return ScriptError(-1719, f"Can’t get {spec}. Invalid index.", app)
    return ScriptError(-1728, f"Can’t get {spec}.", app)


def cant_make(shown: str, kind: str) -> ScriptError:
    """``Can’t make <value> into type <kind>.`` (-1700)."""
    return ScriptError(-1700, f"Can’t make {shown} into type {kind}.")


def not_defined(name: str) -> ScriptError:
    return ScriptError(-2753, f"The variable {name} is not defined.")
