"""``km-actions`` itself: the version, usage errors, Ctrl-C and a closed pipe."""

from __future__ import annotations

import argparse
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from engine import __version__
from engine.cli import _validate, build_parser
from tests.cli.conftest import Cli


def test_version(cli: Cli) -> None:
    """The version shown is the project's, as pyproject.toml and the installed metadata
    have it (engine/__init__.py holds a copy that must not drift)."""
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text("utf-8"))
    assert __version__ == pyproject["project"]["version"] == metadata.version("km-actions")
    outcome = cli.usage_error("--version")
    assert (outcome.code, outcome.out) == (0, f"km-actions {__version__}\n")


def test_a_command_is_required(cli: Cli) -> None:
    outcome = cli.usage_error()
    assert outcome.code == 2
    assert outcome.err.endswith(
        "km-actions: error: the following arguments are required: COMMAND\n"
    )


def test_an_unknown_command_is_a_usage_error(cli: Cli) -> None:
    outcome = cli.usage_error("valdate", "a.yaml")
    assert outcome.code == 2
    assert "km-actions: error: argument COMMAND: invalid choice: 'valdate'" in outcome.err


def test_inputs_written_as_words_say_how_inputs_are_given(cli: Cli) -> None:
    """A beginner's `km-actions run a.yaml who=Ann`: the error shows the command to type."""
    outcome = cli.usage_error("run", "a.yaml", "who=Ann", "n=2")
    assert outcome.code == 2
    assert outcome.err.endswith(
        "km-actions: error: unrecognized arguments: who=Ann n=2 (inputs are given with "
        "--input: `--input who=Ann --input n=2`, or -i)\n"
    )
    other = cli.usage_error("validate", "a.yaml", "--bogus")
    assert other.err.endswith("km-actions: error: unrecognized arguments: --bogus\n")


def test_every_command_is_offered() -> None:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert sorted(sub.choices) == sorted(
        [
            "validate", "migrate", "schema", "run", "tools", "test", "serve", "config", "new",
            "certify",
            "docs", "stats",
            "history", "trace",
            "simulator", "install",
            "pack", "uninstall", "configure", "enable", "disable", "list", "describe",
            "verify", "search", "update", "marketplace", "index",
        ]
    )  # fmt: skip


def _raise(error: BaseException) -> object:
    def handler(args: argparse.Namespace) -> int:
        raise error

    return handler


def test_ctrl_c_stops_with_status_130(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_validate, "cmd_validate", _raise(KeyboardInterrupt()))
    outcome = cli("validate", "a.yaml")
    assert (outcome.code, outcome.out, outcome.err) == (130, "", "interrupted\n")


def test_a_closed_pipe_is_status_1_and_silent(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_validate, "cmd_validate", _raise(BrokenPipeError()))
    outcome = cli("validate", "a.yaml")
    assert (outcome.code, outcome.out, outcome.err) == (1, "", "")
