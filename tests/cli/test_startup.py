"""A quick start: ``km-actions`` imports only the module of the command given.

Timing is for benchmarks/bench_startup.py; here, what a command does NOT import, checked
in a fresh process (the structure that keeps it quick), and the table of commands
``--help`` lists without importing their modules, kept in step with the modules.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]

#: What a quick command must not load: the MCP SDK, jsonschema, the plugin store, the
#: simulator, the runtime, asyncio (~20 ms).
HEAVY = ("mcp", "jsonschema", "engine.plugins", "engine.simulator", "engine.run", "asyncio")

_PROBE = """
import json, sys
from engine.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = {heavy!r}
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
print(json.dumps(loaded), file=sys.stderr)
"""


def _heavy_modules_loaded(*argv: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=heavy), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT / "actions",
        check=False,
        timeout=60,
    )
    loaded: list[str] = json.loads(done.stderr.splitlines()[-1])
    return loaded


@pytest.mark.parametrize("argv", [["--version"], ["--help"], []], ids=["version", "help", "none"])
def test_version_and_help_load_nothing_heavy(argv: list[str]) -> None:
    assert _heavy_modules_loaded(*argv) == []


def test_validate_loads_neither_the_sdk_nor_the_store() -> None:
    heavy = tuple(h for h in HEAVY if h != "jsonschema")  # it explains invalid manifests
    assert _heavy_modules_loaded("validate", "save-note.yaml", heavy=heavy) == []


def test_help_lists_every_command_as_its_module_says() -> None:
    """COMMANDS (what --help lists without importing) says what the modules add."""
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    added = [(a.dest, a.help) for a in sub._choices_actions]
    assert added == [command for _, commands in COMMANDS for command in commands]


def test_help_of_one_command_is_complete(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main

    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    out = capsys.readouterr().out
    assert "--level {" in out and "FILE_OR_DIR" in out


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("command", [name for _, cs in COMMANDS for name, _ in cs])
def test_each_command_alone_parses_as_with_every_module(command: str) -> None:
    """Built for one command (the modules it needs, and those extending it), its parser
    is the one of the full command line: `search` needs `install` extended too."""
    alone = _subparsers(build_parser(command))[command]
    assert alone.format_help() == _subparsers(build_parser())[command].format_help()
