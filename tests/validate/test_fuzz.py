"""Random documents and random mutations of valid manifests only ever give diagnostics.

Whatever the input, validation returns diagnostics (registered codes, each with a
hint) and never raises; a mutated manifest that validates clean also compiles.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compile.compiler import Compiler
from engine.diagnostics.codes import CODES
from engine.diagnostics.errors import EngineError
from engine.load.loader import load_text
from engine.load.sourcemap import Document
from engine.validate import validate

ROOT = Path(__file__).parents[2]
SEEDS = [
    yaml.safe_load(path.read_text("utf-8")) for path in sorted((ROOT / "actions").glob("*.yaml"))
] + [
    yaml.safe_load(case["manifest"])
    for case in yaml.safe_load((ROOT / "tests/cases/valid.yaml").read_text("utf-8"))
]

_KEYS = st.sampled_from(
    [
        "tool",
        "with",
        "set",
        "steps",
        "id",
        "if",
        "foreach",
        "as",
        "retry",
        "catch",
        "name",
        "inputs",
        "outputs",
        "type",
        "default",
        "parallel",
        "choose",
        "when",
        "repeat",
        "until",
        "max",
        "wait",
        "fail",
        "return",
        "emit",
        "action",
        "timeout",
        "continue_on_error",
        "wiht",
        "stpes",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "",
            "x",
            "{{ inputs.x }}",
            "{{ vars.a | upper }}",
            "{% for %}",
            "inputs.x > 1",
            "steps.a.result",
            "{{ steps.zz.result }}",
            "km_list_macros",
            "km_nope",
            "1.0",
            "yes",
            "len(x) |",
            "{{",
        ]
    )
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


def _mutate(data: Any, draw: Any) -> Any:
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "rename", "insert"]))
        if action == "replace":
            parent[last] = draw(_VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(_KEYS)] = parent.pop(last)
        elif action == "insert" and isinstance(parent[last], dict):
            parent[last][draw(_KEYS)] = draw(_VALUES)
    return data


def _check(diagnostics: list[Any]) -> None:
    for d in diagnostics:
        assert d.code in CODES, d
        assert d.hint, d


@st.composite
def _mutants(draw: Any) -> Any:
    return _mutate(draw(st.sampled_from(SEEDS)), draw)


@given(_mutants())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_manifests_only_give_diagnostics(data: Any) -> None:
    diagnostics = validate(Document.from_data(data, file="m.json"))
    _check(diagnostics)
    if not any(d.is_error for d in diagnostics):
        Compiler().compile(Document.from_data(data, file="m.json"))


@given(_mutants(), st.sampled_from(["yaml", "json"]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_manifest_text_only_gives_diagnostics(data: Any, form: str) -> None:
    text = json.dumps(data) if form == "json" else yaml.safe_dump(data, sort_keys=False)
    try:
        document = load_text(text, file=f"m.{form}")
    except EngineError as error:
        _check(error.diagnostics)
        return
    _check(validate(document))


@given(_VALUES)
@settings(max_examples=200, deadline=None)
def test_random_documents_only_give_diagnostics(data: Any) -> None:
    _check(validate(Document.from_data(data)))
