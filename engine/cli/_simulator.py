"""``km-actions simulator``: the Keyboard Maestro simulator served over MCP (stdio or HTTP)."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

from engine.cli._say import say
from engine.simulator import Simulator, SimulatorStateError, SimulatorStateWarning


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "simulator",
        help="serve the Keyboard Maestro simulator over MCP",
        description="Serve the km_* tools, answered by the built-in simulator (not Keyboard "
        "Maestro), as an MCP server: on stdin/stdout by default, or over streamable HTTP on "
        "127.0.0.1 with --http. Point km-actions (or any MCP client) at it to try actions "
        "without a Mac. Exit status: 0 stopped normally, 1 it could not start, 2 usage error.",
    )
    p.add_argument(
        "--http",
        metavar="PORT",
        type=_port,
        help="serve over streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio "
        "(0 picks a free port; the URL is printed on stderr)",
    )
    p.add_argument(
        "--state",
        metavar="FILE",
        type=Path,
        help="keep the simulator's state (clipboard, variables, macros, …) in this file "
        "between runs (default: start from the example state every time, keep nothing)",
    )
    p.set_defaults(handler=cmd_simulator)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def cmd_simulator(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="km-actions simulator: %(levelname)s: %(message)s",
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SimulatorStateWarning)
            simulator = Simulator(state_path=args.state)
    except SimulatorStateError as problem:
        _say(f"error: {problem.message}", problem.hint)
        return 1
    for warning in caught:
        _say(f"warning: {warning.message}")

    from engine.simulator.server import serve  # imports mcp (about a second): only here

    try:
        serve(simulator, http_port=args.http)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how a server is stopped
    except OSError as problem:
        port = args.http
        _say(
            f"error: cannot serve on 127.0.0.1:{port}: {problem.strerror or problem}",
            "choose another port, or --http 0 for a free one",
        )
        return 1
    return 0


def _say(message: str, hint: str | None = None) -> None:
    say("simulator", message, hint)
