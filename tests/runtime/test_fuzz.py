"""Hypothesis: random inputs and random template/expression text only ever end in a
RunResult (an EngineError at worst), and never reach Python internals, files or the
environment.

Every example runs twice, without a trace and with one: both on the generated code
production runs (:mod:`engine.runtime._codegen`, the only way steps run), and both must
end the same way."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError, StepError
from engine.limits import Profile
from engine.model import Pipeline, RunResult, RunStatus
from engine.runtime import FakeClock, run

from .conftest import Tools

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)

PLAIN_TYPES = (str, int, float, bool, type(None))


def assert_plain(value: Any) -> None:
    """Only JSON data: no Python object, and no text that is the repr of one."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), key
            assert_plain(item)
    elif isinstance(value, list):
        for item in value:
            assert_plain(item)
    else:
        assert isinstance(value, PLAIN_TYPES), type(value)
        if isinstance(value, str):
            assert " object at 0x" not in value, value
            assert "<class " not in value and "<function " not in value, value
            assert "<module " not in value and "<built-in " not in value, value


def run_both_ways(pipeline: Pipeline, inputs: dict[str, Any], **options: Any) -> RunResult:
    """Run without a trace and with one; the two must agree on the
    status, the outputs and the error, and neither may change the caller's inputs. The
    traced result (with its trace) is returned."""
    results = []
    for trace in (False, True):
        given = copy.deepcopy(inputs)
        results.append(asyncio.run(run(pipeline, given, clock=FakeClock(), trace=trace, **options)))
        assert given == inputs  # the caller's data never changes
    plain, traced = results
    assert plain.status is traced.status, (plain.error, traced.error)
    assert plain.outputs == traced.outputs
    if plain.error is not None and traced.error is not None:
        assert (plain.error.kind, plain.error.message) == (traced.error.kind, traced.error.message)
    return traced


def assert_result(result: RunResult) -> None:
    """A run ended in a result: succeeded with plain outputs, or failed with a StepError."""
    assert isinstance(result, RunResult)
    if result.status is RunStatus.SUCCEEDED:
        assert result.error is None
        assert_plain(result.outputs)
    else:
        assert isinstance(result.error, StepError)
        assert isinstance(result.error, EngineError)
        assert result.error.message and result.error.kind is not None
        json.dumps(result.to_dict(), default=str)


# -- random inputs to valid pipelines ----------------------------------------------------

PIPELINES = {
    "text": """
inputs: {name: {type: string}, times: {type: integer, default: 1, minimum: 0, maximum: 3}}
steps:
  - id: e
    tool: km_echo
    with: {text: "hi {{ inputs.name }}"}
  - repeat:
      max: 3
      while: loop.index <= inputs.times
      steps: [{set: {said: "{{ steps.e.result.data.text ~ '!' }}"}}]
outputs: {said: "{{ vars.said }}", length: "{{ inputs.name | length }}"}
""",
    "numbers": """
inputs: {a: {type: integer}, b: {type: number, required: false}}
steps:
  - id: add
    tool: km_add
    with: {a: "{{ inputs.a }}", b: "{{ inputs.b }}"}
    continue_on_error: true
  - choose:
      - when: steps.add.status == 'succeeded'
        steps: [{set: {sum: "{{ steps.add.result.data.sum }}"}}]
    otherwise:
      - set: {sum: "{{ steps.add.error.kind }}"}
outputs: {sum: "{{ vars.sum }}"}
""",
    "lists": """
inputs: {items: {type: array}, flag: {type: boolean, default: false}}
steps:
  - set: {seen: "{{ [] }}"}
  - foreach: inputs.items
    steps:
      - if: inputs.flag
        tool: km_free
        with: {value: "{{ item }}", index: "{{ loop.index }}"}
      - set: {seen: "{{ vars.seen + [item] }}"}
outputs: {seen: "{{ vars.seen }}", count: "{{ vars.seen | length }}"}
""",
    "anything": """
inputs: {value: {type: any, required: false}, secret: {type: any, secret: true, required: false}}
steps:
  - id: sent
    tool: km_note
    with: {text: "{{ inputs.value }}"}
    catch: [{set: {caught: "{{ error.kind }}"}}]
  - wait: 0.5
  - emit: seen
    with: {value: "{{ inputs.value }}", secret: "{{ inputs.secret }}"}
outputs:
  value: "{{ inputs.value }}"
  caught: "{{ vars.caught if vars.caught is defined else none }}"
  secret: "{{ inputs.secret }}"
""",
}


@pytest.fixture(scope="module")
def fuzz_tools() -> Tools:
    """One set of tools (and compiled pipelines) shared by every example of this module."""
    return Tools()


@pytest.fixture(scope="module")
def compiled(fuzz_tools: Tools) -> dict[str, Pipeline]:
    return {name: fuzz_tools.compile(body) for name, body in PIPELINES.items()}


def _inputs(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from([*names, "unknown", "Name"])
    return st.dictionaries(keys, JSON_VALUES, max_size=len(names) + 1)


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_random_inputs_only_ever_give_a_run_result(
    fuzz_tools: Tools, compiled: dict[str, Pipeline], name: str
) -> None:
    pipeline = compiled[name]

    @SETTINGS
    @given(inputs=_inputs(list(pipeline.inputs)))
    def check(inputs: dict[str, Any]) -> None:
        result = run_both_ways(pipeline, inputs, bridge=fuzz_tools.bridge)
        assert_result(result)

    check()


# -- random template and expression text ---------------------------------------------------

NAMES = st.sampled_from(
    [
        "inputs",
        "inputs.x",
        "vars",
        "steps",
        "config",
        "item",
        "loop",
        "range",
        "now",
        "lipsum",
        "cycler",
        "namespace",
        "self",
        "os",
        "sys",
        "open",
        "__builtins__",
        "x",
    ]
)
ATTRIBUTES = st.sampled_from(
    [
        "__class__",
        "__mro__",
        "__subclasses__",
        "__globals__",
        "__init__",
        "__dict__",
        "__builtins__",
        "__getitem__",
        "_private",
        "mro",
        "gi_frame",
        "f_back",
        "func_globals",
        "items",
        "keys",
        "values",
        "update",
        "pop",
        "clear",
        "setdefault",
        "append",
        "ljust",
        "center",
        "zfill",
        "format",
        "format_map",
        "join",
        "replace",
        "upper",
        "split",
        "copy",
        "a",
        "x",
        "data",
        "result",
        "environ",
        "system",
        "popen",
        "read",
        "open",
        "modules",
    ]
)
LITERALS = st.sampled_from(
    [
        "0",
        "1",
        "-1",
        "2",
        "10",
        "2.5",
        "'a'",
        "''",
        "'__class__'",
        "'_x'",
        "[]",
        "[1, 2]",
        "{}",
        "{'a': 1}",
        "none",
        "true",
        "false",
        "9 ** 9",
        "'ab' * 3",
    ]
)
FILTERS = st.sampled_from(
    [
        "upper",
        "length",
        "first",
        "list",
        "string",
        "int",
        "tojson",
        "items",
        "dictsort",
        "sum",
        "join",
        "attr('__class__')",
        "attr('_x')",
        "map(attribute='__class__')",
        "format('%s')",
        "center(10)",
        "replace('a', 'b')",
        "default(1)",
        "batch(2)",
        "selectattr('__class__')",
        "pprint",
        "safe",
        "e",
        "xmlattr",
        "truncate(3)",
        "reverse",
        "sort",
        "unique",
        "min",
        "max",
        "abs",
        "round",
        "indent",
        "wordwrap(3)",
    ]
)
OPERATORS = st.sampled_from(
    ["+", "-", "*", "/", "//", "%", "**", "~", "==", "<", "and", "or", "in"]
)


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, ATTRIBUTES).map(lambda t: f"{t[0]}.{t[1]}"),
        st.tuples(inner, LITERALS).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(inner, st.lists(inner, max_size=2)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(inner, FILTERS).map(lambda t: f"{t[0]} | {t[1]}"),
        st.tuples(inner, OPERATORS, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"not {e}"),
    )


# Mostly well-formed expressions built from the names, attributes and filters that
# sandbox escapes use; some free text too.
EXPRESSIONS = st.recursive(NAMES | LITERALS, _grow, max_leaves=6) | st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="<"), max_size=30
)

SENTINEL = "KM_ACTIONS_FUZZ_SENTINEL"


def _manifest(text: str, place: str) -> str:
    """A manifest with ``text`` as a template, a condition, or a loop source."""
    template = "{{ " + text + " }}"
    steps: list[dict[str, Any]]
    if place == "template":
        steps = [
            {"id": "s", "set": {"v": template, "w": "text " + template}},
            {"tool": "km_free", "with": {"arg": template}},
            {"tool": "km_free", "with": {"arg": template, "text": "text " + template}},
            {"emit": "fuzzed", "with": {"data": template}},
        ]
    elif place == "condition":
        steps = [
            {"if": text, "set": {"v": 1}},
            {"repeat": {"max": 2, "until": text, "steps": [{"set": {"r": 1}}]}},
            {"choose": [{"when": text, "steps": [{"set": {"c": 1}}]}]},
        ]
    else:
        steps = [{"foreach": text, "steps": [{"set": {"v": "{{ item }}"}}]}]
    data = {
        "api_version": "1.1",
        "kind": "action",
        "name": "fuzz",
        "inputs": {"x": {"type": "any", "required": False}},
        "steps": steps,
        "outputs": (
            {"v": "{{ vars.v }}", "text": "text {{ vars.v }}"}
            if place != "condition"
            else {"out": template}
        ),
    }
    return json.dumps(data)


def test_random_template_and_expression_text_stays_in_the_sandbox(fuzz_tools: Tools) -> None:
    engine = fuzz_tools.engine
    bridge = fuzz_tools.bridge
    limits = Profile.SANDBOX.limits.with_overrides(
        allowed_classes=Profile.STANDARD.limits.allowed_classes
    )
    outcomes: dict[str, int] = {}

    @settings(
        max_examples=int(os.environ.get("KM_FUZZ_EXAMPLES", 300)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        text=EXPRESSIONS,
        place=st.sampled_from(["template", "condition", "foreach"]),
        x=JSON_VALUES,
    )
    def check(text: str, place: str, x: Any) -> None:
        document = engine.load(_manifest(text, place), file="fuzz.json")
        try:
            pipeline = engine.compile(document)
        except EngineError:
            outcomes["refused"] = outcomes.get("refused", 0) + 1
            return  # refused before running: what the validator is for
        inputs = {"x": x}
        environ = dict(os.environ)
        with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
            result = run_both_ways(pipeline, inputs, bridge=bridge, limits=limits)
            assert list(Path(folder).iterdir()) == []
        assert dict(os.environ) == environ
        assert_result(result)
        assert result.trace is not None
        assert_plain(json.loads(json.dumps(result.trace, default=repr)))
        outcomes[result.status.value] = outcomes.get(result.status.value, 0) + 1

    os.environ[SENTINEL] = "unchanged"
    try:
        check()
        assert os.environ[SENTINEL] == "unchanged"
    finally:
        del os.environ[SENTINEL]
    # The generator must reach the runtime, not only the validator.
    assert outcomes.get("succeeded", 0) >= 10 and outcomes.get("failed", 0) >= 10, outcomes
