"""The layout of engine/ is checked, not hoped for: each import-linter contract in
pyproject.toml holds (the core never imports plugins, the server or the CLI; the layers;
a step kind's module imports none of the stages it serves; nobody imports another
package's private module; no import cycles at any depth), and no module grows past 400
lines without saying why."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import unmeasured_env

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
CONTRACTS = ["core", "layers", "kinds", "private", "acyclic"]
# In a child process: import-linter configures logging with dictConfig, which would
# disable every logger this process already has (and the tests that read their records).
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename=sys.argv[1], limit_to_contracts=(sys.argv[2],), "
    "cache_dir=sys.argv[3], no_logo=True))"
)


def test_the_contracts_are_the_ones_checked_here() -> None:
    config = tomllib.loads(PYPROJECT.read_text("utf-8"))["tool"]["importlinter"]
    assert [contract["id"] for contract in config["contracts"]] == CONTRACTS


@pytest.fixture(scope="module")
def graph_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One import graph for all the contracts (import-linter keys it by the files)."""
    return str(tmp_path_factory.mktemp("import-linter"))


@pytest.mark.parametrize("contract", CONTRACTS)
def test_contract_is_kept(contract: str, graph_cache: str) -> None:
    linted = subprocess.run(
        [sys.executable, "-c", LINT, str(PYPROJECT), contract, graph_cache],
        cwd=ROOT,
        env=unmeasured_env(),  # import-linter reads engine's imports, never runs them
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


LONG = 400
REASON = "Longer than 400 lines: "


def test_a_module_past_400_lines_says_why_in_its_docstring() -> None:
    """A long module is kept long on purpose: its docstring gives the reason."""
    unexplained = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        text = path.read_text("utf-8")
        if text.count("\n") > LONG and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(str(path.relative_to(ROOT)))
    assert unexplained == [], f"past {LONG} lines, and the docstring says not why (add a line "
    f"starting {REASON!r}, or split the module): {unexplained}"
