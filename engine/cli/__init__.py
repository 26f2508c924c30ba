"""The ``km-actions`` command line: thin adapters over the engine.

Exit status: 0 success, 1 a failure the command reports (invalid manifest, failed run,
failed test), 2 a usage error (unknown option, missing file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine import __version__
from engine.cli import (
    _extras,
    _marketplace,
    _migrate,
    _monitor,
    _plugins,
    _publish,
    _run,
    _sdk,
    _serve,
    _simulator,
    _tools,
    _urls,
    _validate,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="km-actions",
        description="Custom actions for the Keyboard Maestro MCP server.",
    )
    parser.add_argument("--version", action="version", version=f"km-actions {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _validate.add_parsers(sub)
    _migrate.add_parsers(sub)
    _run.add_parsers(sub)
    _tools.add_parsers(sub)
    _serve.add_parsers(sub)
    _sdk.add_parsers(sub)
    _extras.add_parsers(sub)
    _monitor.add_parsers(sub)
    _simulator.add_parsers(sub)
    _plugins.add_parsers(sub)
    _marketplace.add_parsers(sub)  # extends `install`, so after it
    _urls.add_parsers(sub)  # extends `install` again, so after the marketplace
    _publish.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
