"""Step kinds that call things or hold data: tool, action, set, foreach and parallel
(each in its module of engine/steps/kinds/)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.lang.limits import Limits
from engine.run.model import Pipeline

from .conftest import Tools, failure, where

# -- tool -------------------------------------------------------------------------------


def test_tool_step_passes_rendered_arguments_and_exposes_the_envelope(tools: Tools) -> None:
    result = tools.run(
        """
        inputs: {who: {type: string}}
        steps:
          - id: hello
            tool: km_echo
            with: {text: "hi {{ inputs.who }}"}
        outputs:
          envelope: "{{ steps.hello.result }}"
          status: "{{ steps.hello.status }}"
          error: "{{ steps.hello.error }}"
        """,
        {"who": "Ann"},
    )
    assert result.outputs == {
        "envelope": {"success": True, "data": {"text": "hi Ann"}},
        "status": "succeeded",
        "error": None,
    }
    assert tools.calls == [("km_echo", {"text": "hi Ann"})]
    assert (result.steps_run, result.tool_calls, result.trace) == (1, 1, None)


# -- action -----------------------------------------------------------------------------

INNER = """
inputs: {x: {type: integer}}
steps:
  - id: e
    tool: km_echo
    with: {text: "{{ inputs.x }}"}
outputs:
  doubled: "{{ inputs.x * 2 }}"
  echo: "{{ steps.e.result.data }}"
"""


def test_action_step_result_is_the_called_actions_outputs(tools: Tools) -> None:
    library = tools.library(inner=INNER)
    pipeline = tools.compile(
        """
        steps:
          - id: call
            action: inner
            with: {x: "{{ 21 }}"}
        outputs:
          doubled: "{{ steps.call.result.doubled }}"
          nested: "{{ steps.call.result.echo.text }}"
        """,
        library=library,
    )
    result = tools.run(pipeline, resolver=library)
    assert result.outputs == {"doubled": 42, "nested": "21"}
    assert tools.calls == [("km_echo", {"text": "21"})]


def test_action_steps_nest_and_outputs_flow_back_up(tools: Tools) -> None:
    library = tools.library(
        inner=INNER,
        middle="""
        inputs: {x: {type: integer}}
        steps:
          - id: deeper
            action: inner
            with: {x: "{{ inputs.x + 1 }}"}
        outputs: {both: "{{ [inputs.x, steps.deeper.result.doubled] }}"}
        """,
    )
    pipeline = tools.compile(
        """
        steps:
          - id: m
            action: middle
            with: {x: 4}
        outputs: {got: "{{ steps.m.result }}"}
        """,
        library=library,
    )
    assert tools.run(pipeline, resolver=library).outputs == {"got": {"both": [4, 10]}}


def test_an_unknown_action_is_not_found_with_a_hint(tools: Tools) -> None:
    library = tools.library(inner=INNER)
    pipeline = tools.compile("steps:\n  - id: call\n    action: nothing-like-it\n", check=False)
    error = failure(tools.run(pipeline, resolver=library))
    assert where(error) == ("not-found", "call", "t.yaml:5:5", "$.steps[0]")
    assert error.message == "no action named `nothing-like-it` is available"
    assert error.hint == (
        "put the action's file in the same folder (or install its plugin), and check its `name:`"
    )


def test_a_misspelt_action_gets_a_did_you_mean(tools: Tools) -> None:
    library = tools.library(inner=INNER)
    pipeline = tools.compile("steps:\n  - action: inenr\n", check=False)
    error = failure(tools.run(pipeline, resolver=library))
    assert (error.message, error.hint) == (
        "no action named `inenr` is available",
        "did you mean 'inner'?",
    )


def test_an_action_step_without_a_library_is_not_found(tools: Tools) -> None:
    pipeline = tools.compile("steps:\n  - id: call\n    action: inner\n", check=False)
    error = failure(tools.run(pipeline))
    assert where(error) == ("not-found", "call", "t.yaml:5:5", "$.steps[0]")
    assert error.message == "cannot run the action `inner`: no other actions are available"


def _chain(tools: Tools, length: int) -> tuple[Pipeline, Any]:
    """Actions c1 → c2 → … → c<length>; the last sets d = 1; each passes d back up."""
    actions = {}
    for i in range(1, length):
        actions[f"c{i}"] = (
            f"steps:\n  - id: n\n    action: c{i + 1}\n"
            'outputs: {d: "{{ steps.n.result.d }}"}\n'
        )
    actions[f"c{length}"] = 'steps:\n  - set: {d: 1}\noutputs: {d: "{{ vars.d }}"}\n'
    library = tools.library(**actions)
    return library.pipeline("c1"), library


@pytest.mark.parametrize(
    ("depth", "ok"),
    [
        pytest.param(3, True, id="four-calls-deep-within-3"),
        pytest.param(2, False, id="four-calls-deep-past-2"),
    ],
)
def test_call_depth_limit(tools: Tools, depth: int, ok: bool) -> None:
    pipeline, library = _chain(tools, 4)  # c1 (depth 0) → c2 (1) → c3 (2) → c4 (3)
    result = tools.run(pipeline, resolver=library, limits=Limits(max_call_depth=depth))
    if ok:
        assert result.outputs == {"d": 1}
        return
    error = failure(result)
    assert where(error) == ("limit-exceeded", "n", "c3.yaml:5:5", "$.steps[0]")
    assert error.message == "actions call each other more than 2 deep (limit max_call_depth)"
    assert error.details == {"limit": "max_call_depth", "value": 2}


def test_a_failure_inside_a_called_action_points_into_that_action(tools: Tools) -> None:
    library = tools.library(broken="steps:\n  - id: boom\n    fail: inner trouble\n")
    pipeline = tools.compile("steps:\n  - id: call\n    action: broken\n", library=library)
    error = failure(tools.run(pipeline, resolver=library))
    assert where(error) == ("failed", "boom", "broken.yaml:5:5", "$.steps[0]")
    assert error.message == "inner trouble"


# -- set --------------------------------------------------------------------------------


def test_set_values_are_visible_in_order_and_to_later_steps(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - set: {a: 1, b: "{{ vars.a + 1 }}", c: "{{ [vars.a, vars.b] }}"}
          - set: {a: "{{ vars.c | sum }}"}
        outputs: {a: "{{ vars.a }}", b: "{{ vars.b }}", c: "{{ vars.c }}"}
        """
    )
    assert result.outputs == {"a": 3, "b": 2, "c": [1, 2]}


def test_set_inside_a_loop_is_visible_after_it(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - set: {total: 0}
          - foreach: [1, 2, 3]
            steps:
              - set: {total: "{{ vars.total + item }}", last: "{{ item }}"}
        outputs: {total: "{{ vars.total }}", last: "{{ vars.last }}"}
        """
    )
    assert result.outputs == {"total": 6, "last": 3}


SMALL = Limits(max_string_length=5, max_collection_size=3)


@pytest.mark.parametrize(
    ("value", "message", "limit"),
    [
        pytest.param(
            "abcdef",
            "this would make text of 6 characters; the limit (max_string_length) is 5",
            ("max_string_length", 5),
            id="string",
        ),
        pytest.param(
            [1, 2, 3, 4],
            "this would make a list or mapping of 4 items; the limit (max_collection_size) is 3",
            ("max_collection_size", 3),
            id="list",
        ),
        pytest.param(
            dict.fromkeys("abcd", 1),
            "this would make a list or mapping of 4 items; the limit (max_collection_size) is 3",
            ("max_collection_size", 3),
            id="mapping",
        ),
    ],
)
def test_set_refuses_values_past_the_size_limits(
    tools: Tools, value: Any, message: str, limit: tuple[str, int]
) -> None:
    body = 'inputs: {v: {type: any}}\nsteps:\n  - id: big\n    set: {v: "{{ inputs.v }}"}\n'
    error = failure(tools.run(body, {"v": value}, limits=SMALL))
    # Every template's value is measured as it renders, a plain reference too.
    assert where(error) == ("limit-exceeded", "big", "t.yaml:7:14", "$.steps[0].set.v")
    assert error.message == message
    assert error.details == {"limit": limit[0], "value": limit[1]}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param(
            "'abc' ~ 'def'",
            "this would make text of 6 characters; the limit (max_string_length) is 5",
            id="string",
        ),
        pytest.param(
            "[1, 2] + [3, 4]",
            "this would make a list or mapping of 4 items; the limit (max_collection_size) is 3",
            id="list",
        ),
    ],
)
def test_set_values_computed_past_the_size_limits_fail_where_computed(
    tools: Tools, template: str, message: str
) -> None:
    body = f'steps:\n  - id: big\n    set: {{v: "{{{{ {template} }}}}"}}\n'
    error = failure(tools.run(body, limits=SMALL))
    assert where(error) == ("limit-exceeded", "big", "t.yaml:6:14", "$.steps[0].set.v")
    assert error.message == message


def test_set_values_exactly_at_the_size_limits_pass(tools: Tools) -> None:
    result = tools.run(
        'steps:\n  - set: {s: abcde, l: "{{ [1, 2, 3] }}"}\noutputs: {s: "{{ vars.s }}"}\n',
        limits=Limits(max_string_length=5, max_collection_size=3),
    )
    assert result.outputs == {"s": "abcde"}


@pytest.mark.parametrize("trace", [False, True], ids=["generated-code", "traced"])
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ vars }}", {"a": 1}, id="vars"),
        pytest.param("{{ steps }}", {}, id="steps"),
        pytest.param("{{ [vars] }}", [{"a": 1}], id="inside-a-list"),
        pytest.param("{{ {'all': steps} }}", {"all": {}}, id="inside-an-object"),
        pytest.param("{{ vars if true else 0 }}", {"a": 1}, id="conditional"),
    ],
)
def test_a_value_that_takes_vars_or_steps_whole_takes_a_copy(
    tools: Tools, trace: bool, template: str, expected: Any
) -> None:
    # Found by the fuzz tests once they ran the generated code: `set: {v: "{{ steps }}"}`
    # on a step with an id made `steps` hold itself, and the run's result could not be
    # written as JSON.
    body = (
        f'steps:\n  - set: {{a: 1}}\n  - id: s\n    set: {{v: "{template}"}}\n'
        '  - set: {a: 2}\noutputs: {v: "{{ vars.v }}", s: "{{ steps.s.result }}"}\n'
    )
    result = tools.run(body, trace=trace)
    assert result.outputs == {"v": expected, "s": {"v": expected}}, result.error
    json.dumps(result.to_dict())  # nothing holds itself


@pytest.mark.parametrize("trace", [False, True], ids=["generated-code", "traced"])
def test_a_loop_over_vars_itself_loops_over_a_copy(tools: Tools, trace: bool) -> None:
    body = (
        'steps:\n  - set: {a: 1}\n  - foreach: "[vars]"\n    steps: [{set: {v: "{{ item }}"}}]\n'
        '  - set: {a: 2}\noutputs: {v: "{{ vars.v }}"}\n'
    )
    result = tools.run(body, trace=trace)
    assert result.outputs == {"v": {"a": 1}}, result.error
    json.dumps(result.to_dict())


# -- foreach ----------------------------------------------------------------------------


def test_foreach_over_a_list_with_loop_variables(tools: Tools) -> None:
    result = tools.run(
        """
        inputs: {names: {type: array}}
        steps:
          - set: {seen: "{{ [] }}"}
          - foreach: inputs.names
            steps:
              - tool: km_echo
                with: {text: "{{ item }}"}
              - set:
                  seen: >-
                    {{ vars.seen + [[item, loop.index, loop.index0, loop.first,
                    loop.last, loop.length]] }}
        outputs: {seen: "{{ vars.seen }}"}
        """,
        {"names": ["a", "b", "c"]},
    )
    assert result.outputs == {
        "seen": [
            ["a", 1, 0, True, False, 3],
            ["b", 2, 1, False, False, 3],
            ["c", 3, 2, False, True, 3],
        ]
    }
    assert tools.calls == [("km_echo", {"text": t}) for t in "abc"]


def test_foreach_over_a_mapping_gives_key_and_value_with_as(tools: Tools) -> None:
    result = tools.run(
        """
        inputs: {ages: {type: object}}
        steps:
          - set: {seen: "{{ [] }}"}
          - foreach: inputs.ages
            as: pair
            steps:
              - set: {seen: "{{ vars.seen + [pair.key ~ '=' ~ pair.value] }}"}
        outputs: {seen: "{{ vars.seen }}"}
        """,
        {"ages": {"ann": 31, "bo": 4}},
    )
    assert result.outputs == {"seen": ["ann=31", "bo=4"]}


def test_foreach_over_a_literal_templated_list(tools: Tools) -> None:
    result = tools.run(
        """
        inputs: {x: {type: integer}}
        steps:
          - set: {seen: "{{ [] }}"}
          - foreach: ["{{ inputs.x }}", b]
            steps:
              - set: {seen: "{{ vars.seen + [item] }}"}
        outputs: {seen: "{{ vars.seen }}"}
        """,
        {"x": 7},
    )
    assert result.outputs == {"seen": [7, "b"]}


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        pytest.param(3, "a whole number", id="number"),
        pytest.param("a,b", "text", id="text"),
        pytest.param(None, "null", id="null"),
    ],
)
def test_foreach_needs_a_list(tools: Tools, value: Any, type_name: str) -> None:
    error = failure(
        tools.run(
            """
            inputs: {v: {type: any, required: false}}
            steps:
              - id: loop
                foreach: inputs.v
                steps:
                  - set: {x: 1}
            """,
            {"v": value},
        )
    )
    assert where(error) == ("expression-error", "loop", "t.yaml:7:5", "$.steps[0]")
    assert error.message == f"`foreach` needs a list, but got {type_name}"
    assert error.hint == (
        "give a list (e.g. inputs.files), or split text first: split(inputs.text, ','); for "
        "a value that may be null: default(x, [])"
    )


def test_foreach_iteration_limit(tools: Tools) -> None:
    body = "steps:\n  - id: loop\n    foreach: [1, 2, 3, 4]\n    steps:\n      - set: {x: 1}\n"
    error = failure(tools.run(body, limits=Limits(max_loop_iterations=3)))
    assert where(error) == ("limit-exceeded", "loop", "t.yaml:5:5", "$.steps[0]")
    assert error.message == "the foreach has 4 items (limit max_loop_iterations: 3)"
    assert tools.run(body, limits=Limits(max_loop_iterations=4)).ok


# -- parallel ---------------------------------------------------------------------------


def test_parallel_branches_really_run_at_the_same_time(tools: Tools) -> None:
    # Each branch waits for the other to have started: run one after the other, the
    # first would wait forever (the action's timeout turns that into a failure).
    result = tools.run(
        """
        timeout: 10
        steps:
          - parallel:
              - steps:
                  - id: a
                    tool: km_gate
                    with: {name: a, wait_for: b}
                  - set: {from_a: 1}
              - steps:
                  - id: b
                    tool: km_gate
                    with: {name: b, wait_for: a}
                  - set: {from_b: 2}
        outputs:
          a: "{{ steps.a.result.data.name }}"
          b: "{{ steps.b.result.data.name }}"
          sum: "{{ vars.from_a + vars.from_b }}"
        """
    )
    assert result.outputs == {"a": "a", "b": "b", "sum": 3}
    assert sorted(tools.calls, key=lambda call: call[1]["name"]) == [
        ("km_gate", {"name": "a", "wait_for": "b"}),
        ("km_gate", {"name": "b", "wait_for": "a"}),
    ]


def test_the_first_failing_branch_cancels_the_others(tools: Tools) -> None:
    result = tools.run(
        """
        steps:
          - id: both
            parallel:
              - steps:
                  - tool: km_gate
                    with: {name: waiting, wait_for: never}
              - steps:
                  - id: broken
                    tool: km_fail
          - set: {after: true}
        outputs: {after: "{{ vars.after }}"}
        """
    )
    error = failure(result)
    assert where(error) == (
        "tool-failed",
        "broken",
        "t.yaml:12:13",
        "$.steps[0].parallel[1].steps[0]",
    )
    assert tools.cancelled == ["waiting"]


def test_parallel_branch_limit(tools: Tools) -> None:
    body = "steps:\n  - id: fan\n    parallel:\n" + "".join(
        f"      - steps: [{{set: {{v{i}: {i}}}}}]\n" for i in range(3)
    )
    error = failure(tools.run(body, limits=Limits(max_parallel_branches=2)))
    assert where(error) == ("limit-exceeded", "fan", "t.yaml:5:5", "$.steps[0]")
    assert error.message == "the parallel step has 3 branches (limit max_parallel_branches: 2)"
    assert tools.run(body, limits=Limits(max_parallel_branches=3)).ok
