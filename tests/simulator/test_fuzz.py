"""Random arguments for random tools only ever give an answer or a StepError.

An answer is the tool's JSON object (``success`` true or false) or, for arguments the
tool's schema refuses or for a tool it does not have, an MCP error result. A StepError
is only for arguments MCP cannot carry (NaN, non-objects).
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.diagnostics.errors import ErrorKind, StepError
from engine.simulator import Simulator
from engine.tools.catalog import ToolCatalog

from .conftest import FakeClock

CATALOG = ToolCatalog.builtin()
NAMES = sorted(CATALOG)
WORDS = [
    "Hello World",
    "Examples",
    "Global Macro Group",
    "a",
    "",
    " ",
    "%Variable%x%",
    "1 + 2",
    "$..name",
    "users.0",
    "<dict/>",
    "0053494D-0000-4000-8000-000000000003",
    "%SystemClipboard%",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(WORDS),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def plausible(schema: Any) -> st.SearchStrategy[Any]:
    """Values a schema's author had in mind (enums, pattern alternatives), plus anything."""
    key = json.dumps(schema, sort_keys=True)
    if key not in _PLAUSIBLE:
        _PLAUSIBLE[key] = _plausible(schema)
    return _PLAUSIBLE[key]


# One strategy a schema, made once: Hypothesis works out what a strategy can draw the
# first time it draws from it, which for a fresh one on every draw was most of the time
# this module took. The same strategies, the same examples.
_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {}


def _plausible(schema: Any) -> st.SearchStrategy[Any]:
    choices: list[Any] = []
    for branch in [schema, *schema.get("anyOf", [])] if isinstance(schema, dict) else []:
        choices.extend(branch.get("enum", []))
        if match := re.match(r"^\^\(([\w|]+)\)\$$", branch.get("pattern", "")):
            choices.extend(match.group(1).split("|"))
    known = st.sampled_from(choices) if choices else st.nothing()
    return known | st.sampled_from(WORDS) | json_values


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(NAMES) | st.text(max_size=10))
    if name not in CATALOG:
        return name, draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3))
    properties = dict(CATALOG[name].properties)
    arguments: dict[str, Any] = {}
    for key in (
        draw(st.lists(st.sampled_from(sorted(properties)), max_size=6)) if properties else []
    ):
        arguments[key] = draw(plausible(properties[key]))
    for key in CATALOG[name].required:
        if key not in arguments and draw(st.booleans()):
            arguments[key] = draw(plausible(properties.get(key, {})))
    if draw(st.integers(0, 9)) == 0:
        arguments[draw(st.text(max_size=6))] = draw(json_values)
    return name, arguments


def check(sim: Simulator, name: str, arguments: Any) -> None:
    try:
        result = sim.result(name, arguments)
    except StepError as error:
        assert error.kind is ErrorKind.INVALID_ARGUMENTS, error
        return
    if result.is_error:
        assert result.structured is None
        if name not in CATALOG:  # the server's words for a tool it does not have
            assert result.text == f"Unknown tool: {name!r}"
        else:
            assert result.text.split("\n")[0].endswith(f"for call[{name}]")
        return
    answer = result.structured
    assert isinstance(answer, dict)
    assert json.loads(result.text) == answer
    assert isinstance(answer["success"], bool)
    if not answer["success"] and name != "km_dismiss_notifications":
        assert answer["error"]  # dismissing an unknown id fails without an error object


@given(st.lists(tool_calls(), min_size=1, max_size=8))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_calls_answer_or_raise_step_error(calls: list[tuple[str, Any]]) -> None:
    sim = Simulator(clock=FakeClock())
    for name, arguments in calls:
        check(sim, name, arguments)


@given(st.sampled_from(NAMES), json_values)
@settings(max_examples=200, deadline=None)
def test_arguments_of_any_shape(name: str, arguments: Any) -> None:
    check(Simulator(clock=FakeClock()), name, arguments)
