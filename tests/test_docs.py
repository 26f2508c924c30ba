"""The user documentation stays true: every code is documented, every example is valid.

``docs/diagnostics.md`` must list exactly the codes of :mod:`engine.diagnostics.codes`, grouped as
there: its n-th ``## `` section holds the codes of the n-th table of codes.py (loading,
structure, meaning, run time, …), so a new code or group cannot be added without its
documentation. Every code ``engine/`` raises (given as ``code=``, made into a
diagnostic, an error kind, or the default of an error class raised without one) is in
codes.py, spelt one way (kebab-case). Every complete action (a ```yaml block with
``kind: action``) in the guide and the reference must validate without errors, and the
tests written in it must pass.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import engine.diagnostics.codes
from engine.diagnostics.codes import CODES
from engine.diagnostics.errors import EngineError, ErrorKind, StepError
from engine.engine import Engine
from engine.load.loader import load_text
from engine.run.testing import run_tests
from engine.validate import validate

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLE_DOCS = ("writing-actions.md", "reference.md")
_FENCE = re.compile(r"^```yaml\n(.*?)^```", re.DOTALL | re.MULTILINE)
_CODE_HEADING = re.compile(r"^### `([a-z_-]+)`\s*$", re.MULTILINE)


# The code tables of codes.py, in the order they are defined (`_LOADER`, `_SCHEMA`, …).
GROUPS = [
    table
    for name, table in vars(engine.diagnostics.codes).items()
    if name.startswith("_") and isinstance(table, dict) and table and set(table) <= set(CODES)
]
GROUP_OF = {code: index for index, table in enumerate(GROUPS) for code in table}


def _sections(text: str) -> list[str]:
    """The text of each `## ` section, in order (the introduction before them dropped)."""
    return re.split(r"^## ", text, flags=re.MULTILINE)[1:]


def _documented_codes() -> list[tuple[str, int]]:
    text = (DOCS / "diagnostics.md").read_text("utf-8")
    return [
        (code, index)
        for index, section in enumerate(_sections(text))
        for code in _CODE_HEADING.findall(section)
    ]


def test_diagnostics_lists_exactly_the_codes() -> None:
    documented = [code for code, _ in _documented_codes()]
    assert sorted(set(documented)) == sorted(documented), "a code is documented twice"
    missing = sorted(set(CODES) - set(documented))
    extra = sorted(set(documented) - set(CODES))
    assert (missing, extra) == ([], []), (
        f"docs/diagnostics.md lacks {missing} "
        f"and has codes engine/diagnostics/codes.py lacks: {extra}"
    )


ENGINE = Path(__file__).resolve().parent.parent / "engine"
#: Calls whose first argument is a code (``document.diagnostic("unknown-key", …)``).
_MAKERS = frozenset(
    {"Diagnostic", "diagnostic", "Finding", "Problem", "problem", "_problem", "_diag", "_error"}
)
_CODE = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")  # not the real server's KM_… codes


def _error_classes() -> dict[str, str]:
    """Each error class of engine/ by name, with its default code."""
    # The modules that define error classes, imported so that their classes are found.
    import engine.cli
    import engine.plugins.archives
    import engine.plugins.download
    import engine.plugins.marketplace
    import engine.plugins.resolver
    import engine.server.ecosystem
    import engine.simulator  # noqa: F401

    found: dict[str, str] = {}
    todo: list[type[EngineError]] = [EngineError]
    while todo:
        cls = todo.pop()
        if not issubclass(cls, StepError):  # its code is its kind (ErrorKind), always
            found[cls.__name__] = cls.code
        todo.extend(cls.__subclasses__())
    return found


def _values(node: ast.expr | None) -> list[object]:
    """The constants an expression can take: ``"a"``, or both sides of ``"a" if … else "b"``."""
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _values(node.body) + _values(node.orelse)
    return []


def _codes_in_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[object]:
    """Codes a function gives its own way: a ``code`` parameter's default, ``code = "…"``."""
    arguments = node.args
    positional = arguments.posonlyargs + arguments.args
    defaults = list(
        zip(
            positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True
        )
    )
    defaults += list(zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
    codes = [value for arg, default in defaults if arg.arg == "code" for value in _values(default)]
    for inner in ast.walk(node):
        if isinstance(inner, ast.Assign | ast.AnnAssign):
            targets = inner.targets if isinstance(inner, ast.Assign) else [inner.target]
            if any(isinstance(target, ast.Name) and target.id == "code" for target in targets):
                codes += _values(inner.value)
    return codes


def _codes_of(node: ast.AST, classes: dict[str, str]) -> list[object]:
    """The codes one node of engine/'s code raises or hands on."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return _codes_in_function(node)
    if not isinstance(node, ast.Call):
        return []
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    codes = [value for k in node.keywords if k.arg == "code" for value in _values(k.value)]
    if name in _MAKERS and node.args:
        codes += _values(node.args[0])
    if name in classes and not any(k.arg in ("code", None) for k in node.keywords):
        codes.append(classes[name])
    return codes


def _raised_codes() -> dict[str, str]:
    """Every code engine/ can raise, with the first place it is raised."""
    classes = _error_classes()
    found: dict[str, str] = {
        kind.value: "engine/diagnostics/errors.py (ErrorKind)" for kind in ErrorKind
    }
    for path in sorted(ENGINE.rglob("*.py")):
        file = path.relative_to(ENGINE.parent)
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            for code in _codes_of(node, classes):
                if isinstance(code, str) and _CODE.match(code):
                    found.setdefault(code, f"{file}:{getattr(node, 'lineno', 0)}")
    return found


def test_every_code_raised_anywhere_is_registered_documented_and_spelt_one_way() -> None:
    raised = _raised_codes()
    assert len(raised) > 130  # the scan finds them (diagnostics, errors, kinds)
    unregistered = {code: where for code, where in raised.items() if code not in CODES}
    assert unregistered == {}
    documented = {code for code, _ in _documented_codes()}
    undocumented = {code: where for code, where in raised.items() if code not in documented}
    assert undocumented == {}, "docs/diagnostics.md needs a `### code` heading for each"
    assert [code for code in CODES if "_" in code or code != code.lower()] == []


def test_diagnostics_groups_codes_as_codes_py() -> None:
    misplaced = [
        f"{code} is in section {index + 1}, but in group {GROUP_OF[code] + 1} of codes.py"
        for code, index in _documented_codes()
        if code in GROUP_OF and index != GROUP_OF[code]
    ]
    assert misplaced == []


def _examples() -> Iterator[tuple[str, int, str]]:
    """Each complete action in a ```yaml block: the doc, the block's first line, the text."""
    for name in EXAMPLE_DOCS:
        text = (DOCS / name).read_text("utf-8")
        for match in _FENCE.finditer(text):
            block = match.group(1)
            if re.search(r"^kind: action\s*$", block, re.MULTILINE):
                yield name, text.count("\n", 0, match.start()) + 2, block


FOUND = list(_examples())
EXAMPLES = [pytest.param(*found, id=f"{found[0]}:{found[1]}") for found in FOUND]


def test_docs_have_examples() -> None:
    assert {doc for doc, _, _ in FOUND} == set(EXAMPLE_DOCS)


@pytest.mark.parametrize(("doc", "line", "block"), EXAMPLES)
def test_example_is_valid(doc: str, line: int, block: str) -> None:
    document = load_text(block, file=f"{doc}:{line}")
    errors = [str(d) for d in validate(document) if d.is_error]
    assert errors == []


@pytest.mark.parametrize(("doc", "line", "block"), EXAMPLES)
def test_example_tests_pass(doc: str, line: int, block: str) -> None:
    engine = Engine()
    pipeline = engine.compile(load_text(block, file=f"{doc}:{line}"))
    outcomes = asyncio.run(run_tests(pipeline, catalog=engine.catalog))
    failures = [f"{o.name}: {f}" for o in outcomes for f in o.failures]
    assert failures == []


# Where a page tells users to get km-actions from: a pre-commit `repo:`, a pip command.
_REPO_LINE = re.compile(r"^\s*-?\s*repo:\s*(\S+)", re.MULTILINE)
_FROM_A_REGISTRY = re.compile(r"pip install (-U |--upgrade )?km-actions\b")


def _user_pages() -> list[Path]:
    return [*sorted(DOCS.glob("*.md")), DOCS.parent / "README.md"]


def test_the_docs_send_users_to_no_made_up_address_of_km_actions() -> None:
    """km-actions has no public address: a page tells users to use their checkout of it
    (its path) or the installed package (`repo: local`), never a placeholder URL to copy
    or a registry that does not have it (as an engine hint, quoted in diagnostics.md)."""
    found = []
    for page in _user_pages():
        text = page.read_text("utf-8")
        for block in _FENCE.findall(text):
            for repo in _REPO_LINE.findall(block):
                if repo != "local" and not repo.startswith("/"):
                    found.append(f"{page.name}: repo: {repo}")
        found.extend(f"{page.name}: {m.group()}" for m in _FROM_A_REGISTRY.finditer(text))
    for path in sorted(ENGINE.rglob("*.py")):
        text = path.read_text("utf-8")
        found.extend(f"{path.name}: {m.group()}" for m in _FROM_A_REGISTRY.finditer(text))
    assert found == []
    pre_commit = (DOCS / "testing-actions.md").read_text("utf-8")
    assert "repo: /path/to/km-actions" in pre_commit and "repo: local" in pre_commit


#: A path of the machine the docs were written on (its checkout, its temporary files, a
#: Linux home): the user guide, also served over MCP (``km-actions://docs/…``), shows
#: neutral example paths instead (``/Users/ann/…``, ``~/km-plugins``).
_MACHINE_PATH = re.compile(r"(?<![\w.~/-])/(?:work|tmp|home|root|private/tmp)/[^\s`'\")\]]*")


def test_the_docs_show_no_path_of_the_machine_they_were_written_on() -> None:
    # Before: keyboard-maestro.md showed `/work/kmserver/venv/bin/python`.
    found = [
        f"{page.name}:{number}: {match.group()}"
        for page in _user_pages()
        for number, line in enumerate(page.read_text("utf-8").splitlines(), 1)
        for match in _MACHINE_PATH.finditer(line)
    ]
    assert found == []
