"""The held-out corpus of beginners' mistakes (tests/cases/beginners/*.yaml): for each
manifest, the first problem a beginner is shown is where the mistake is, and its hint
says how to fix it.

The first problem is the first ``km-actions validate`` prints (errors first, then in
file order); for a file that validates, the error of running its first test (mocked
tools), as ``km-actions test`` shows it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.diagnostics.codes import CODES
from engine.diagnostics.errors import Diagnostic, EngineError, sort_diagnostics
from engine.engine import Engine
from engine.lang.limits import Profile
from engine.load.loader import load_text
from engine.run import FakeClock, run
from engine.tools.bridge.mock import MockBridge
from engine.validate import validate

CORPUS = Path(__file__).parent / "cases" / "beginners"


def _cases() -> Iterator[Any]:
    for path in sorted(CORPUS.glob("*.yaml")):
        for index, case in enumerate(yaml.safe_load(path.read_text("utf-8"))):
            yield pytest.param(case, id=f"{path.stem}:{index}:{case['name']}")


CASES = list(_cases())


def first_problem(manifest: str) -> Diagnostic | None:
    """What a beginner is shown first for ``manifest`` (see the module's docstring)."""
    try:
        document = load_text(manifest, file="case.yaml")
    except EngineError as error:
        return sort_diagnostics(error.diagnostics)[0]
    found = sort_diagnostics(validate(document))
    if found:
        return found[0]
    engine = Engine()
    pipeline = engine.compile(document)
    test: Mapping[str, Any] = (document.data.get("tests") or [{}])[0]
    result = asyncio.run(
        run(
            pipeline,
            test.get("inputs") or {},
            bridge=MockBridge(test.get("mocks") or {}, engine.catalog),
            limits=Profile.STANDARD.limits,
            clock=FakeClock(),
        )
    )
    return result.error.first if result.error is not None else None


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES)
def test_the_first_problem_is_at_the_mistake_and_says_how_to_fix_it(
    case: Mapping[str, Any],
) -> None:
    found = first_problem(case["manifest"])
    assert found is not None, "the mistake went unnoticed"
    top = case["top"]
    where = (found.code, found.span.line if found.span else None)
    where += (found.span.column if found.span else None,)
    assert where == (top["code"], top["line"], top["column"]), str(found)
    assert found.code in CODES or found.code.replace("_", "") != found.code
    assert found.hint and top["hint"] in found.hint, f"{found}\n  hint: {found.hint}"
    assert found.message == case.get("message", found.message)
    for word in ("True", "False", "None"):  # YAML's words, never Python's
        assert word not in f"{found.message} {found.hint}".replace("True/False", "")
