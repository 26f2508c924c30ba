"""The code-quality gates run with the suite: ruff (lint and format) on the code, the tests
and the benchmarks, mypy --strict on ``engine/``, and deptry: every third-party package
``engine/`` imports is declared in pyproject.toml, and every one declared is imported
(their settings are in pyproject.toml).
Coverage of ``engine/`` (at least 95 %) is gated by the suite command, ``pytest --cov``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import unmeasured_env

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("engine", "tests", "benchmarks")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        env=unmeasured_env(),  # the gates read engine's code, never run it
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("ruff", "check", *CHECKED), id="ruff-lint"),
        pytest.param(("ruff", "format", "--check", *CHECKED), id="ruff-format"),
        pytest.param(("mypy",), id="mypy-strict"),
        pytest.param(("deptry", "engine"), id="deptry"),
    ],
)
def test_the_code_passes(command: tuple[str, ...]) -> None:
    done = _run(*command)
    assert done.returncode == 0, f"{' '.join(command)} found problems:\n{done.stdout}{done.stderr}"
