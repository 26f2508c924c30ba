"""How a command says what went wrong, in one form for every command (on stderr):

    km-actions COMMAND: what is wrong
         = hint: how to fix it

The hint line is the one located diagnostics end with (see :mod:`engine.diagnostics.report`).
"""

from __future__ import annotations

import sys

from engine.diagnostics.errors import EngineError

#: What starts a hint line.
HINT = "     = hint: "


def say(command: str, message: str, hint: str | None = None) -> None:
    """Print ``message`` as a problem of ``km-actions command``, then ``hint`` if any."""
    print(f"km-actions {command}: {message}", file=sys.stderr)
    if hint:
        print(f"{HINT}{hint}", file=sys.stderr)


def failed(command: str, error: EngineError, status: int = 1) -> int:
    """Print ``error`` as a problem of ``km-actions command``; the exit status."""
    say(command, error.message, error.hint)
    return status
