"""The wheel users install: built from this working tree, installed into a fresh virtual
environment (no site packages of the suite's), and run from there.

What the editable install of the suite cannot show: that the wheel carries the package
data (engine/data/*.json, the catalog template, the schemas) and the console script, and
that its declared dependencies are enough to run an action. Slow (a virtualenv and its
~40 packages, ten seconds or more) hence the ``slow`` mark; the third-party wheels come
from the wheelhouse tests/cli/test_pre_commit.py keeps in the user's cache folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.cli.test_pre_commit import PACKAGE, ROOT, _wheelhouse

pytestmark = pytest.mark.slow

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """The fresh environment's bin folder, a working folder outside the source tree, and
    the environment variables to run it with."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in PACKAGE:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    house = str(_wheelhouse())
    # Neither the suite's engine (PYTHONPATH) nor its coverage hooks reach the new venv.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COV", "KM_"))}
    env |= {"PIP_FIND_LINKS": house, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"),
         str(source)],
        work, env,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = (work / "dist").glob("km_actions-*.whl")
    assert wheel.name == f"km_actions-{VERSION}-py3-none-any.whl"
    venv = work / "venv"
    # Without a pip of its own (seeding one costs seconds): the suite's pip installs into
    # it (--python), as the venv's own would.
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, env)
    assert made.returncode == 0, made.stderr
    bin_folder = venv / "bin"
    added = _run(
        [sys.executable, "-m", "pip", "--python", str(bin_folder / "python"), "install", "-q",
         str(wheel)],
        work, env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    home = work / "home"
    return bin_folder, home.parent, env | {"KM_ACTIONS_HOME": str(home)}


def _km(installed: tuple[Path, Path, dict[str, str]], *argv: str) -> str:
    bin_folder, cwd, env = installed
    done = _run([str(bin_folder / "km-actions"), *argv], cwd, env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_installed_package_is_the_wheel_s(installed: tuple[Path, Path, dict[str, str]]) -> None:
    bin_folder, cwd, env = installed
    where = _run(
        [str(bin_folder / "python"), "-c", "import engine; print(engine.__file__)"], cwd, env
    )
    assert Path(where.stdout.strip()).is_relative_to(bin_folder.parent / "lib")
    assert _km(installed, "--version") == f"km-actions {VERSION}\n"


def test_a_shipped_action_runs_on_the_simulator(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    action = str(ROOT / "actions" / "increment-counter.yaml")
    data = json.loads(
        _km(installed, "run", action, "-i", "variable=Hits", "-i", "by=5", "--fresh", "--json")
    )
    assert (data["status"], data["outputs"], data["backend"]) == (
        "succeeded",
        {"value": 5, "previous": 0},
        "simulator",
    )
    assert (data["steps_run"], data["tool_calls"]) == (3, 2)


def test_the_wheel_carries_the_package_data(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    # engine/data/km_tools.json: the tools actions are checked against.
    shipped = json.loads((ROOT / "engine/data/km_tools.json").read_text("utf-8"))["tools"]
    tools = _km(installed, "tools").splitlines()
    assert [line.split()[0] for line in tools[1:-1]] == [tool["name"] for tool in shipped]
    assert tools[-1] == f"{len(shipped)} tools."
    # The schemas, as published in schemas/.
    for argv, name in [((), "action"), (("--plugin",), "plugin")]:
        published = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text("utf-8"))
        assert json.loads(_km(installed, "schema", *argv)) == published
    # The catalog template (engine/data/catalog.html.j2).
    _km(installed, "docs", "--html", "catalog")
    page = (installed[1] / "catalog" / "index.html").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>")
