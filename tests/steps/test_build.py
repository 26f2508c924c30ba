"""The step nodes: their paths and spans, the nodes of malformed steps, and one build per
document (the table of kinds: tests/steps/test_kinds.py)."""

from __future__ import annotations

from engine.compile.compiler import Compiler
from engine.engine import Engine
from engine.load.loader import load_text
from engine.steps.build import iter_nodes, setter_path, step_tree
from engine.steps.kinds import ChooseStep, RepeatStep, ToolStep
from engine.steps.nodes import NotAStep, StepNode

MANIFEST = """api_version: "1.1"
kind: action
name: nested
steps:
  - id: pick
    choose:
      - when: "true"
        steps:
          - set: {a: 1}
    otherwise:
      - repeat:
          max: 2
          until: loop.index > 1
          steps:
            - tool: km_list_macros
    catch:
      - fail: no
"""


def test_nested_steps_are_nodes_with_their_paths_and_spans() -> None:
    tree = step_tree(load_text(MANIFEST, file="nested.yaml"))
    nodes = list(iter_nodes(tree.steps))
    assert [(n.kind, n.path) for n in nodes] == [
        ("choose", ("steps", 0)),
        ("fail", ("steps", 0, "catch", 0)),
        ("repeat", ("steps", 0, "otherwise", 0)),
        ("tool", ("steps", 0, "otherwise", 0, "repeat", "steps", 0)),
        ("set", ("steps", 0, "choose", 0, "steps", 0)),
    ]
    choose = nodes[0]
    assert isinstance(choose, ChooseStep) and choose.id == "pick"
    assert [(c.index, c.when, c.body.path) for c in choose.cases] == [
        (0, "true", ("steps", 0, "choose", 0, "steps"))
    ]
    repeat = nodes[2]
    assert isinstance(repeat, RepeatStep) and repeat.max is not None
    assert (repeat.max.value, repeat.max.path) == (2, ("steps", 0, "otherwise", 0, "repeat", "max"))
    span = repeat.span("repeat", "max")
    assert span is not None and (span.line, span.column) == (12, 16)
    assert setter_path(tree.steps, "a") == ("steps", 0, "choose", 0, "steps", 0, "set", "a")


def test_a_step_of_no_single_kind_is_a_plain_node_listing_its_kinds() -> None:
    doc = load_text("steps:\n  - {set: {a: 1}, tool: km_x}\n  - {with: {}}\n  - just text\n")
    nodes = step_tree(doc).steps.items
    assert [(type(n), n.kind, n.kinds, n.is_mapping) for n in nodes] == [
        (StepNode, None, ("tool", "set"), True),
        (StepNode, None, (), True),
        (NotAStep, None, (), False),
    ]


def test_validating_then_compiling_a_document_builds_its_nodes_once() -> None:
    doc = load_text(MANIFEST.replace("fail: no", "fail: stop"), file="nested.yaml")
    engine = Engine()
    assert [d for d in engine.validate(doc) if d.is_error] == []
    tree = step_tree(doc)
    engine.compile(doc)
    assert step_tree(doc) is tree
    other = load_text(MANIFEST, file="nested.yaml")
    assert step_tree(other) is not tree
    pipeline = Compiler().compile(other)
    assert pipeline.tools == frozenset({"km_list_macros"})
    step = step_tree(other).steps.items[0]
    assert isinstance(step, ChooseStep)
    tool = next(n for n in iter_nodes(step_tree(other).steps) if isinstance(n, ToolStep))
    assert tool.tool == "km_list_macros" and not tool.has_args and tool.args == {}
