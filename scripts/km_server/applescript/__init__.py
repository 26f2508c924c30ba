"""A small AppleScript interpreter for the forms the Keyboard Maestro MCP server sends.

:func:`run_osascript` behaves like ``osascript -e SCRIPT``: it compiles the script, runs
it against the Keyboard Maestro model (``engine.simulator.km``) and answers what
``osascript`` would print and its exit status.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.simulator.km.state import KMState

from .errors import ScriptError, ScriptSyntaxError, Unmodelled
from .interp import Interpreter
from .parser import parse
from .values import NOTHING, human_text

__all__ = ["Outcome", "run_osascript"]


@dataclass(frozen=True)
class Outcome:
    """What ``osascript`` prints and returns; ``unmodelled`` says why the stand-in gave up."""

    stdout: str
    stderr: str
    status: int
    unmodelled: str | None = None


def run_osascript(source: str, state: KMState) -> Outcome:
    """Compile and run ``source`` against ``state`` (which it changes)."""
    try:
        body = parse(source)
        result = Interpreter(state).run(body)
    except (ScriptSyntaxError, ScriptError) as problem:
        return Outcome("", problem.report() + "\n", 1)
    except Unmodelled as problem:
        return Outcome("", problem.report() + "\n", 2, problem.what)
    if result is NOTHING:
        return Outcome("", "", 0)
    return Outcome(human_text(result) + "\n", "", 0)
