"""Adding a step kind is its rule in the schema and one module of engine/steps/kinds/
(with its line in KINDS): each kind's module holds its node class, its check, its compile
and the body its steps run, and every table of kinds is derived from the one registry
(TESTING.md, "Adding a case": "A step kind")."""

from __future__ import annotations

import pkgutil

import engine.steps.kinds as kinds_package
from engine.compile.compiler import Compiler
from engine.load.loader import load_text
from engine.run.model import Step
from engine.steps.build import build_node
from engine.steps.kinds import KINDS, STEP_NODES, KindStep
from engine.validate.schema import ManifestSchemas

# Modules of the package that are not a kind: the Protocols and base class.
SHARED = {"base"}


def _module_of(kind: str) -> str:
    """The module a kind is in: named for it (``return_``: `return` is a keyword)."""
    return f"engine.steps.kinds.{kind}_" if kind == "return" else f"engine.steps.kinds.{kind}"


def test_every_schema_kind_has_one_module_and_one_registered_class_in_schema_order() -> None:
    kinds = list(ManifestSchemas.load().step_kinds)
    modules = {
        f"engine.steps.kinds.{info.name}"
        for info in pkgutil.iter_modules(kinds_package.__path__)
        if info.name not in SHARED
    }
    assert sorted(modules) == sorted(_module_of(kind) for kind in kinds)
    assert [(cls.kind, cls.__module__) for cls in KINDS] == [
        (kind, _module_of(kind)) for kind in kinds
    ]


def test_the_builder_makes_each_kinds_node_of_its_registered_class() -> None:
    """The validator and the compiler then dispatch through the node's methods: the
    registry is the one table of kinds."""
    doc = load_text("steps: []\n")
    for kind, cls in STEP_NODES.items():
        node = build_node({kind: None}, ("steps", 0), doc)
        assert type(node) is cls


def test_each_kind_defines_its_own_check_and_compile() -> None:
    for cls in KINDS:
        for stage in ("check", "compile"):
            method = getattr(cls, stage)
            assert method is not getattr(KindStep, stage), f"{cls.__name__} has no {stage}"
            assert method.__module__ == cls.__module__, (cls.__name__, stage)


ALL_KINDS = """api_version: "1.1"
kind: action
name: every-kind
outputs: {n: null}
steps:
  - tool: km_list_macros
  - action: other
    with: {x: 1}
  - set: {n: 1}
  - foreach: [1, 2]
    steps: [{set: {m: 2}}]
  - parallel:
      - steps: [{wait: 0.1}]
  - choose:
      - when: "true"
        steps: [{set: {k: 3}}]
  - repeat: {max: 2, steps: [{set: {r: 1}}]}
  - wait: 0.1
  - emit: done
    with: {n: 1}
  - if: "false"
    fail: no
  - return: {n: 1}
"""


def test_what_a_step_runs_is_its_kinds_module() -> None:
    """A tool step's body is the plan the code generator writes out whole; any other
    kind's body is a function of its own module."""
    steps: tuple[Step, ...] = Compiler().compile(load_text(ALL_KINDS)).steps
    assert [step.kind for step in steps] == list(STEP_NODES)
    tool, *others = steps
    assert tool.body is None and tool.plan is not None
    assert [(step.kind, step.body.__module__ if step.body else None) for step in others] == [
        (step.kind, _module_of(step.kind)) for step in others
    ]


NESTED_EVERYWHERE = """
steps:
  - id: outer
    foreach: "{{ [1] }}"
    as: n
    steps:
      - {id: in-foreach, action: a1}
    catch:
      - {id: in-catch, action: a2}
  - id: branch
    choose:
      - when: "true"
        steps:
          - {id: in-when, action: a3}
    otherwise:
      - {id: in-otherwise, action: a4}
  - id: loop
    repeat: {until: "true", max: 2, steps: [{id: in-repeat, action: a5}]}
  - id: both
    parallel:
      - steps: [{id: in-branch, action: a6}]
"""


def test_the_builder_the_validator_and_the_calls_find_nested_steps_in_one_order() -> None:
    """Where steps nest is written once (engine.steps.nodes.nested_lists): the step
    builder's nodes, the validator's walk of the mappings and the actions a manifest
    calls see every nested list, in the same (document) order."""
    from engine.steps.build import step_tree
    from engine.steps.nodes import iter_nodes
    from engine.validate.context import ActionSignature
    from engine.validate.tree import iter_steps

    document = load_text(NESTED_EVERYWHERE)
    data = document.data
    walked = [path for _, path in iter_steps(data["steps"], ("steps",))]
    built = [node.path for node in iter_nodes(step_tree(document).steps)]
    assert walked == built
    ids = [step.get("id") for step, _ in iter_steps(data["steps"], ("steps",))]
    assert ids == [
        "outer",
        "in-foreach",
        "in-catch",
        "branch",
        "in-otherwise",
        "in-when",
        "loop",
        "in-repeat",
        "both",
        "in-branch",
    ]
    calls = ActionSignature.from_manifest(data).calls
    assert calls == ("a1", "a2", "a4", "a3", "a5", "a6")
