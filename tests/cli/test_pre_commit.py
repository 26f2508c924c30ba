"""Our ``.pre-commit-hooks.yaml``, used for real: a fresh git repository lists the hooks
in its ``.pre-commit-config.yaml``, and ``git commit`` runs them through pre-commit.

The hook repository is a git commit of this working tree (the package and the hooks
file), which pre-commit clones and installs as it would from GitHub: ``language:
python``, a virtualenv and ``pip install .`` of our package. Slow (about half a minute:
the virtualenv and its ~40 packages) hence the ``slow`` mark. The third-party wheels come
from a wheelhouse kept in the user's cache folder, built once per set of dependencies
(``pip wheel``, from PyPI), instead of PyPI on every run; our own package is always built
from the commit, as users get it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import action_text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: What `pip install .` of km-actions needs: the package, its data and its build.
PACKAGE = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "engine", "schemas", "docs")

GOOD = action_text(
    "double",
    """\
    inputs:
      n: {type: integer, description: A number.}
    steps:
      - set: {d: "{{ inputs.n * 2 }}"}
    outputs:
      d: "{{ vars.d }}"
    tests:
      - name: doubles
        inputs: {n: 2}
        expect: {outputs: {d: 4}}
    """,
)
BROKEN = GOOD.replace("- set:", "- sett:")
FAILING_TEST = GOOD.replace("{d: 4}", "{d: 5}")


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )


def _git(cwd: Path, *argv: str) -> None:
    done = _run(["git", "-c", "init.defaultBranch=main", *argv], cwd, os.environ.copy())
    assert done.returncode == 0, done.stderr


def _wheelhouse() -> Path:
    """Wheels of our dependencies and build backend, built once per set of them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    needs = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    key = hashlib.sha256("\n".join(sorted(needs)).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    house = cache / "km-actions-tests" / f"wheels-{key}"
    if house.is_dir():
        return house
    building = house.with_name(f"{house.name}.{os.getpid()}")
    done = _run(
        [str(BIN / "python"), "-m", "pip", "wheel", "-q", "-w", str(building), *needs],
        ROOT,
        os.environ.copy(),
    )
    assert done.returncode == 0, f"could not build the wheelhouse:\n{done.stderr}"
    try:
        building.replace(house)
    except OSError:
        # Another process of the suite (an xdist worker running tests/test_wheel.py)
        # built it meanwhile: keep theirs, which holds the same wheels.
        if not house.is_dir():
            raise
        shutil.rmtree(building)
    return house


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A git repository holding this working tree's package: its path and commit."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in PACKAGE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=km", "-c", "user.email=km@example.com", "commit", "-qm", "hooks")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    yield repo, head


@pytest.fixture
def user_repo(tmp_path: Path, hook_repo: tuple[Path, str]) -> tuple[Path, dict[str, str]]:
    """A fresh repository whose commits run our two hooks; its environment."""
    repo, rev = hook_repo
    user = tmp_path / "user"
    user.mkdir()
    _git(user, "init", "-q")
    _git(user, "config", "user.name", "Ann")
    _git(user, "config", "user.email", "ann@example.com")
    (user / ".pre-commit-config.yaml").write_text(
        textwrap.dedent(
            f"""\
            repos:
              - repo: {repo}
                rev: {rev}
                hooks:
                  - id: km-actions-validate
                  - id: km-actions-test
            """
        ),
        "utf-8",
    )
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
        "PIP_FIND_LINKS": str(_wheelhouse()),
        "PIP_NO_INDEX": "1",
    }
    done = _run([str(BIN / "pre-commit"), "install"], user, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return user, env


def _commit(user: Path, env: dict[str, str], name: str, text: str) -> tuple[int, str]:
    (user / name).write_text(text, "utf-8")
    _git(user, "add", "-A")
    done = _run(["git", "commit", "-qm", f"add {name}"], user, env)
    return done.returncode, done.stdout + done.stderr


def _status(output: str) -> dict[str, str]:
    """What pre-commit says of each hook: `km-actions test.....Passed`."""
    found = {}
    for line in output.splitlines():
        name, dots, status = line.partition("...")
        if dots and name.startswith("km-actions"):
            found[name] = status.strip(".")
    return found


def test_a_good_action_is_committed_and_a_broken_one_refused_as_validate_says(
    user_repo: tuple[Path, dict[str, str]],
) -> None:
    user, env = user_repo
    code, output = _commit(user, env, "double.yaml", GOOD)
    assert code == 0, output
    assert _status(output) == {"km-actions validate": "Passed", "km-actions test": "Passed"}

    code, output = _commit(user, env, "broken.yaml", BROKEN)
    validate = _run([str(BIN / "km-actions"), "validate", "broken.yaml"], user, env)
    assert validate.returncode == 1
    assert code == 1
    assert _status(output) == {"km-actions validate": "Failed", "km-actions test": "Failed"}
    assert validate.stdout.startswith(
        "broken.yaml:8:5: error[step-kind-missing]: this step does not say what to do"
    )
    assert validate.stdout in output


def test_a_failing_test_is_refused_with_what_differed(
    user_repo: tuple[Path, dict[str, str]],
) -> None:
    user, env = user_repo
    code, output = _commit(user, env, "double.yaml", FAILING_TEST)
    assert code == 1
    assert _status(output) == {"km-actions validate": "Passed", "km-actions test": "Failed"}
    assert "___ double: doubles (double.yaml:12:5) ___\n  output `d` is 4, expected 5\n" in output


def _documented_local_config() -> str:
    """The `repo: local` configuration docs/testing-actions.md gives."""
    text = (ROOT / "docs" / "testing-actions.md").read_text("utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    (block,) = [b for b in blocks if "repo: local" in b]
    return block


def test_the_documented_local_hooks_run_the_installed_km_actions(tmp_path: Path) -> None:
    """The docs' `repo: local` configuration, as written, runs the km-actions on the PATH:
    a good action under actions/ is committed, a broken one refused."""
    user = tmp_path / "user"
    user.mkdir()
    _git(user, "init", "-q")
    _git(user, "config", "user.name", "Ann")
    _git(user, "config", "user.email", "ann@example.com")
    (user / ".pre-commit-config.yaml").write_text(_documented_local_config(), "utf-8")
    (user / "actions").mkdir()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
    }
    done = _run([str(BIN / "pre-commit"), "install"], user, env)
    assert done.returncode == 0, done.stdout + done.stderr
    code, output = _commit(user, env, "actions/double.yaml", GOOD)
    assert code == 0, output
    assert _status(output) == {"km-actions validate": "Passed", "km-actions test": "Passed"}
    code, output = _commit(user, env, "actions/broken.yaml", BROKEN)
    assert code == 1
    assert _status(output) == {"km-actions validate": "Failed", "km-actions test": "Failed"}
    assert "actions/broken.yaml:8:5: error[step-kind-missing]" in output
