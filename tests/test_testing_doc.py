"""TESTING.md stays true: every file and folder it names exists (a bare file name, said
of the folder named before it, somewhere under tests/, engine/ or scripts/), every glob
matches, and each test selection its commands make selects tests."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import unmeasured_env

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "TESTING.md").read_text("utf-8")
CODE = re.findall(r"`([^`\n]+)`", DOC)
COMMANDS = [c for c in CODE if c.startswith(".venv/bin/python ")]
_PATH = re.compile(r"^\.?[\w.-]+(/[\w.*<>-]*)+$|^[\w-]+\.(py|md|toml|yaml|json)$")


def _named_paths() -> list[str]:
    words = [w for text in CODE for w in shlex.split(text) if not w.startswith("-")]
    return sorted(
        {
            w
            for w in words
            if _PATH.match(w) and "<" not in w and not w.startswith(".venv/")  # made at set-up
        }
    )


def test_the_page_names_paths_and_commands() -> None:
    assert len(_named_paths()) > 40 and len(COMMANDS) > 5


@pytest.mark.parametrize("name", _named_paths())
def test_every_path_named_exists(name: str) -> None:
    if "*" in name:
        assert list(ROOT.glob(name)), f"{name} matches nothing"
    elif "/" not in name and name not in {"README.md", "pyproject.toml"}:
        found = [
            p for folder in ("tests", "engine", "scripts") for p in (ROOT / folder).rglob(name)
        ]
        assert found, f"no {name} under tests/, engine/ or scripts/"
    else:
        assert (ROOT / name.rstrip("/")).exists(), f"{name} does not exist"


@pytest.mark.parametrize("command", sorted({c for c in COMMANDS if " -k " in c}))
def test_every_selection_selects_tests(command: str) -> None:
    argv = shlex.split(command)[1:]  # after the interpreter
    found = subprocess.run(
        [sys.executable, *argv, "--collect-only", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=unmeasured_env(),  # collecting runs no engine code other tests do not
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert found.returncode == 0, found.stdout[-2000:] + found.stderr[-2000:]
    assert re.search(r"[1-9]\d*(/\d+)? tests? (collected|selected)", found.stdout), found.stdout
