"""Conformance cases as data (tests/cases/*.yaml): each manifest and exactly what it gives.

A case file is a list of cases::

    - name: misspelt key in a tool step
      file: demo.yaml            # optional: the file name (".json" makes it JSON)
      manifest: |
        api_version: "1.1"
        ...
      errors:                    # every error, in order: code, JSON path, line, column
        - {code: unknown-key, path: "$.steps[0].wiht", line: 6, column: 5}
      warnings: [...]            # optional: the warnings, same form (checked when given)

A case with ``errors: []`` is a valid manifest; valid manifests with ``tests:`` also
run those tests (the same harness as ``km-actions test``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.codes import CODES
from engine.engine import Engine
from engine.errors import Diagnostic, EngineError
from engine.loader import load_text
from engine.testing import run_tests
from engine.validate import ValidationContext, ValidationLevel, validate

CASES = Path(__file__).parent / "cases"


def _cases() -> Iterator[Any]:
    for path in sorted(CASES.glob("*.yaml")):
        for index, case in enumerate(yaml.safe_load(path.read_text("utf-8"))):
            yield pytest.param(case, id=f"{path.stem}:{index}:{case['name']}")


ALL = list(_cases())


def _as_dict(d: Diagnostic) -> dict[str, Any]:
    return {
        "code": d.code,
        "path": d.json_path,
        "line": d.span.line if d.span else None,
        "column": d.span.column if d.span else None,
    }


def _diagnose(case: Mapping[str, Any]) -> list[Diagnostic]:
    file = case.get("file", "case.yaml")
    try:
        document = load_text(case["manifest"], file=file)
    except EngineError as error:
        return list(error.diagnostics)
    level = ValidationLevel(case.get("level", "standard"))
    return validate(document, ValidationContext(level=level))


@pytest.mark.parametrize("case", ALL)
def test_case(case: Mapping[str, Any]) -> None:
    found = _diagnose(case)
    errors = [_as_dict(d) for d in found if d.is_error]
    assert errors == case["errors"], "\n".join(str(d) for d in found)
    if "warnings" in case:
        warnings = [_as_dict(d) for d in found if not d.is_error]
        assert warnings == case["warnings"], "\n".join(str(d) for d in found)
    for d in found:
        assert d.code in CODES, f"undocumented code {d.code}"
        assert d.hint, f"no hint for {d}"
        assert d.file == case.get("file", "case.yaml")


def test_enough_cases() -> None:
    invalid = [c for c in ALL if c.values[0]["errors"]]
    valid = [c for c in ALL if not c.values[0]["errors"]]
    assert len(invalid) >= 60
    assert len(valid) >= 15


VALID_WITH_TESTS = [
    c for c in ALL if not c.values[0]["errors"] and "tests:" in c.values[0]["manifest"]
]


@pytest.mark.parametrize("case", VALID_WITH_TESTS)
def test_valid_case_tests_pass(case: Mapping[str, Any]) -> None:
    document = load_text(case["manifest"], file=case.get("file", "case.yaml"))
    engine = Engine()
    pipeline = engine.compile(document)
    outcomes = asyncio.run(run_tests(pipeline, catalog=engine.catalog))
    assert outcomes, "a manifest with tests: ran none"
    failed = {o.name: o.failures for o in outcomes if not o.passed}
    assert not failed
