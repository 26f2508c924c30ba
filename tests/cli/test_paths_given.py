"""A path named on the command line that cannot even be looked at (a name longer than a
disk allows, a loop of links) is an ``io-error`` that says why and how to fix it, in
every command that takes a path; before, each of them stopped with a traceback
(``OSError: [Errno 36] File name too long``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli

LONG = "a" * 300 + ".yaml"
SHOWN = "a" * 24 + "…" + "a" * 11 + ".yaml"
TOO_LONG = (
    f"cannot read {SHOWN}: the name '{SHOWN}' is 305 bytes long, longer than a file or "
    "folder name can be (255 bytes)"
)
TOO_LONG_HINT = "     = hint: check the path: no file or folder name can be longer than 255 bytes"
LOOP = "cannot read loop/x.yaml: its links lead round in a loop (or through too many links)"
LOOP_HINT = "     = hint: check the symbolic links along the path: one of them leads back to itself"


# (`docs` exits 1 on any error it reports, the others 2 on a path that is not there)
REFUSING = ["install", "run", "migrate", "certify", "pack", "index add", "index build", "docs"]


def _status(command: str) -> int:
    return 1 if command == "docs" else 2


@pytest.mark.parametrize("command", REFUSING)
def test_a_name_too_long_is_refused_with_why(cli: Cli, command: str) -> None:
    outcome = cli(*command.split(), LONG)
    assert (outcome.code, outcome.out) == (_status(command), "")
    assert outcome.err.splitlines() == [f"km-actions {command}: {TOO_LONG}", TOO_LONG_HINT]


@pytest.mark.parametrize(
    ("command", "summary"),
    [("validate", "1 error in 1 file; 0 valid"), ("test", "0 passed, 0 failed, 1 error")],
)
def test_a_name_too_long_is_the_file_s_error(cli: Cli, command: str, summary: str) -> None:
    outcome = cli(command, LONG)
    assert outcome.code == 1
    assert outcome.out.strip().splitlines() == [
        f"{LONG}: error[io-error]: {TOO_LONG}",
        TOO_LONG_HINT,
        "",
        summary,
    ]


@pytest.mark.parametrize("command", ["validate", "test"])
def test_a_loop_of_links_is_the_file_s_error(cli: Cli, tmp_path: Path, command: str) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    outcome = cli(command, "loop/x.yaml")
    assert outcome.code == 1
    assert outcome.out.strip().splitlines()[:2] == [
        f"loop/x.yaml: error[io-error]: {LOOP}",
        LOOP_HINT,
    ]


@pytest.mark.parametrize("command", REFUSING)
def test_a_loop_of_links_is_refused_with_why(cli: Cli, tmp_path: Path, command: str) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    outcome = cli(*command.split(), "loop/x.yaml")
    assert (outcome.code, outcome.out) == (_status(command), "")
    assert outcome.err.splitlines() == [f"km-actions {command}: {LOOP}", LOOP_HINT]


@pytest.mark.parametrize("kind", ["action", "plugin"])
def test_new_in_a_folder_whose_name_is_too_long_says_why(cli: Cli, kind: str) -> None:
    outcome = cli("new", kind, "hello", "--folder", LONG)
    written = "hello.yaml" if kind == "action" else "hello"
    assert (outcome.code, outcome.out) == (2, "")
    assert outcome.err.splitlines() == [
        f"km-actions new: cannot read {SHOWN}/{written}: the name '{SHOWN}' is 305 bytes "
        "long, longer than a file or folder name can be (255 bytes)",
        TOO_LONG_HINT,
    ]
