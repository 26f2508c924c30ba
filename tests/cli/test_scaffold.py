"""Scaffolds (engine/cli/_scaffold.py): every template and every new plugin validates strictly,
passes its tests and is certified, exactly as written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from engine.cli._scaffold import SHAPES, Template, action_text, plugin_files, yaml_text
from engine.engine import Engine
from engine.plugins.certify import certify_folder
from engine.run.testing import run_tests
from engine.validate import ValidationContext, ValidationLevel, validate

TEMPLATES = [pytest.param(t, id=t.value) for t in Template]


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_is_valid_strictly_and_its_tests_pass(template: Template) -> None:
    engine = Engine()
    text = action_text("shape", "A shape.", template, "schemas/action.schema.json")
    document = engine.load(text, file="shape.yaml")
    context = ValidationContext(level=ValidationLevel.STRICT)
    assert validate(document, context) == []
    outcomes = asyncio.run(run_tests(engine.compile(document), catalog=engine.catalog))
    assert outcomes and [o.failures for o in outcomes] == [[] for _ in outcomes]
    # The permissions it declares are the tools it calls, and no more.
    data = yaml.safe_load(text)
    assert tuple(data["permissions"]) == SHAPES[template].permissions


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_new_plugin_is_certified(tmp_path: Path, template: Template) -> None:
    root = tmp_path / "demo"
    for relative, text in plugin_files(
        "demo", "A demo.", template, schemas=("p.json", "a.json")
    ).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, "utf-8")
    report = certify_folder(root)
    assert report.certified, report.to_dict()
    assert [p for c in report.checks for p in c.problems] == []


@pytest.mark.parametrize(
    ("text", "written"),
    [
        pytest.param("plain words", "plain words", id="plain"),
        pytest.param("no", '"no"', id="yaml-false"),
        pytest.param("12", '"12"', id="number"),
        pytest.param("a: b", '"a: b"', id="colon"),
        pytest.param("[x]", '"[x]"', id="flow"),
        pytest.param("it's", "it's", id="apostrophe"),
    ],
)
def test_texts_read_back_as_written(text: str, written: str) -> None:
    assert yaml_text(text) == written
    assert yaml.safe_load(f"v: {written}\n") == {"v": text}
