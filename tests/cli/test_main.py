"""``km-actions`` itself: the version, usage errors, Ctrl-C and a closed pipe."""

from __future__ import annotations

import argparse

import pytest

from engine import __version__
from engine.cli import _validate, build_parser
from tests.cli.conftest import Cli


def test_version(cli: Cli) -> None:
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
