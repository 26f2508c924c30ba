"""What each tool answers (engine/tools/answers.py, engine/data/km_answers.json): generated from
the real server's recordings and kept identical to them, every recorded answer fits its
shape, and a call picks the answer of its operation or mode."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from engine.tools.answers import AnswerBook
from engine.tools.catalog import CatalogTools, ToolCatalog
from engine.tools.shapes import compact, find_miss, merge, schema_hash, schema_of

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "tests" / "data" / "km_server"
BOOK = AnswerBook.builtin()
CATALOG = ToolCatalog.builtin()


def _generator() -> ModuleType:
    path = ROOT / "scripts" / "km_server" / "answer_shapes.py"
    spec = importlib.util.spec_from_file_location("answer_shapes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["answer_shapes"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["engine/data/km_answers.json", "docs/tools.md"])
def test_the_generated_files_are_what_the_recordings_give(name: str) -> None:
    generated = {
        path.relative_to(ROOT).as_posix(): text for path, text in _generator().render().items()
    }
    assert generated[name] == (ROOT / name).read_text("utf-8"), (
        f"{name} is stale: run .venv/bin/python scripts/km_server/answer_shapes.py"
    )


def test_every_recorded_tool_and_operation_has_its_answer() -> None:
    listed = json.loads((RECORDINGS / "tools.json").read_text("utf-8"))
    meta = json.loads((RECORDINGS / "meta.json").read_text("utf-8"))
    assert sorted(BOOK) == sorted(t["name"] for t in listed["tools"])
    assert BOOK.server_commit == meta["server"]["commit"]
    for name, answers in BOOK.items():
        spec = CATALOG[name]
        assert answers.input_hash == schema_hash(spec.input_schema)
        if spec.operations is not None:
            assert answers.selector == spec.operations.parameter
            assert list(answers.answers) == list(spec.operations.classes)


def test_an_operation_that_never_succeeds_says_so() -> None:
    (answer,) = [BOOK["km_trigger_manager"].answers["set_enabled"]]
    assert answer.schema is None
    assert (answer.successes, answer.failures, answer.failure_codes) == (0, 1, ("TOGGLE_FAILED",))
    assert answer.note == (
        "no successful answer was recorded: the server never succeeds here: Keyboard Maestro "
        "11 stores no enabled state per trigger, so it always answers TOGGLE_FAILED (enable "
        "or disable the macro with km_macro_editor set_enabled instead)"
    )
    known = [a for t in BOOK.values() for a in t.entries() if a.schema is not None]
    assert all(a.example is not None and a.call is not None for a in known)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _recorded_successes() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for file in sorted((RECORDINGS / "scenarios").glob("*.json")):
        for call in json.loads(file.read_text("utf-8"))["calls"]:
            answer = call["result"].get("structured_content")
            if isinstance(answer, dict) and answer.get("success") is True:
                yield call["tool"], call["arguments"], answer


def test_every_recorded_answer_fits_its_shape() -> None:
    checked = 0
    for tool, arguments, answer in _recorded_successes():
        spec = CATALOG[tool]
        found = BOOK[tool].pick(arguments, spec.input_schema)
        if found is None:  # an operation the tool does not have, answered by mistake
            continue
        assert found.schema is not None
        for path in _paths(answer):
            assert find_miss(found.schema, path) is None, (tool, arguments, path)
        checked += 1
    assert checked == sum(a.successes for t in BOOK.values() for a in t.entries())


def test_a_call_picks_the_answer_of_its_operation_or_mode() -> None:
    variables = BOOK["km_variable_manager"]
    schema = CATALOG["km_variable_manager"].input_schema
    assert variables.pick({"operation": "list"}, schema).label == "km_variable_manager list"
    assert variables.pick({"operation": "rename"}, schema) is None
    union = variables.pick({"operation": "{{ inputs.op }}"}, schema)
    assert union is not None and union.label == "km_variable_manager (any operation)"
    assert find_miss(union.schema, ("data", "variables")) is None  # list's
    assert find_miss(union.schema, ("data", "value")) is None  # get's
    assert find_miss(union.schema, ("data", "valu")) is not None
    tokens = BOOK["km_token_processor"]
    token_schema = CATALOG["km_token_processor"].input_schema
    assert tokens.pick({"text": "x"}, token_schema).label == (
        "km_token_processor with preview_only: false"  # the schema's default
    )
    assert tokens.pick({"preview_only": True}, token_schema).label == (
        "km_token_processor with preview_only: true"
    )
    # An operation never recorded succeeding leaves the union unknown.
    triggers = BOOK["km_trigger_manager"]
    assert (
        triggers.pick({"operation": "{{ x }}"}, CATALOG["km_trigger_manager"].input_schema) is None
    )
    assert BOOK["km_list_macros"].pick({}, {}).label == "km_list_macros"


def test_a_tool_is_known_only_as_the_recorded_server_publishes_it() -> None:
    spec = CATALOG["km_variable_manager"]
    assert BOOK.for_tool("km_variable_manager", spec.input_schema) is BOOK["km_variable_manager"]
    other = {**spec.input_schema, "required": ["operation", "name"]}
    assert BOOK.for_tool("km_variable_manager", other) is None
    older = ToolCatalog.builtin(CatalogTools.WITH_2025)["km_calculator"]
    assert BOOK.for_tool("km_calculator", older.input_schema) is None


def test_shapes_merge_and_read_as_one_line() -> None:
    first = schema_of({"data": {"n": 1, "items": [{"a": "x"}]}})
    second = schema_of({"data": {"n": 2.5, "items": [], "extra": None}})
    merged = merge(first, second)
    assert compact(merged) == "{data: {n: number, items: [{a: string}], extra?: null}}"
    assert find_miss(merged, ("data", "extra", "deeper")) is None  # only ever null: unknown
    miss = find_miss(merged, ("data", "items", 0, "b"))
    assert miss is not None and (miss.index, miss.keys) == (3, ("a",))
    assert compact(schema_of({"a": {}})) == "{a: {…}}"
    assert compact(None) == "unknown"
    assert compact({}) == "any"
