"""Which calls of an action a test's mocked answer answers, as far as its steps tell: the
operations (or modes) of the tool that answer is compared with (:mod:`engine.validate._mocks`).

A test runs its action against :class:`engine.tools.bridge.mock.MockBridge`: a list of
answers gives one answer per call of the tool, in the order the calls are made (the
action's own and those of the actions it calls), and a ``match`` rule answers the calls
whose arguments contain its ``with:``. Read from the steps, that order is known up to the
first step that may call the tool other than exactly once: a step under ``if:`` or
``retry:``, one nested in a loop, a branch, a ``catch`` or a ``parallel``, or an
``action:`` step (the action it calls may call the tool too). Up to there the n-th answer
answers the n-th step calling the tool (a ``return`` or a failure before it only ends the
run sooner, leaving the answer unused); past there, any of the steps from there on. An
operation a template gives (or that nothing gives, without a default) may be any. A
``match`` rule naming no operation answers the steps whose arguments may contain its
``with:`` (as the mock bridge compares them; a template may give anything).

>>> from engine.load.loader import load_text
>>> from engine.steps.build import step_tree
>>> from engine.tools.answers import AnswerBook
>>> doc = load_text(
...     "steps:\\n  - tool: km_variable_manager\\n    with: {operation: get, name: A}\\n"
...     "  - tool: km_variable_manager\\n    with: {operation: set, name: A, value: b}\\n"
...     "    retry: {max_attempts: 2}\\n"
... )
>>> calls = tool_calls(step_tree(doc).steps, "km_variable_manager",
...                    AnswerBook.builtin()["km_variable_manager"], {})
>>> calls.first, sorted(calls.rest or ())
(('get',), ['set'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.lang.templates import is_template
from engine.steps.build import iter_nodes
from engine.steps.kinds import ActionStep, ToolStep
from engine.steps.nodes import Block, StepNode
from engine.tools.answers import ToolAnswers
from engine.tools.bridge.mock import contains

#: Operations: keys of :attr:`ToolAnswers.answers`; None stands for any of them.
Keys = frozenset[str] | None


@dataclass(frozen=True, slots=True)
class ToolCalls:
    """The operations of the calls an action makes to one tool: ``first`` those of its
    first calls, in the order they are made (None: any operation); ``rest`` those any
    later call may have; ``steps`` each calling step's operation and arguments (None:
    not known, as for an `action:` step)."""

    first: tuple[str | None, ...]
    rest: Keys
    steps: tuple[tuple[str | None, Any], ...] = ()

    def of_answer(self, index: int) -> Keys:
        """The operations of the call the answer at ``index`` of a list of answers
        answers."""
        if index < len(self.first):
            key = self.first[index]
            return None if key is None else frozenset({key})
        return self.rest

    def of_rule(self, answers: ToolAnswers, arguments: Any) -> Keys:
        """The operations of the calls a ``match`` rule with these arguments (None: the
        ``otherwise`` answer) answers: the one it names, else those of the steps whose
        arguments may contain the rule's (any step's, for ``otherwise``)."""
        if answers.selector is None:
            return frozenset({""})
        if isinstance(arguments, Mapping) and answers.selector in arguments:
            # the operation the rule names (its default is no rule: it matches any)
            key = answers.key_of(arguments, {})
            return None if key is None else frozenset({key})
        every = [key for key, _ in self.steps]
        if isinstance(arguments, Mapping):  # a rule: the steps whose calls it may answer
            keys = [k for k, given in self.steps if given is None or _may_hold(given, arguments)]
            every = keys or every  # a rule no call can match answers none: compare with all
        if not every or None in every:
            return None
        return frozenset(k for k in every if k is not None)


def tool_calls(
    steps: Block, tool: str, answers: ToolAnswers, input_schema: Mapping[str, Any]
) -> ToolCalls:
    """The calls the action whose steps are ``steps`` makes to ``tool`` (whose answers
    are ``answers`` and arguments ``input_schema``)."""
    first: list[str | None] = []
    later: list[str | None] = []
    made: list[tuple[str | None, Any]] = []
    for node in iter_nodes(steps):
        if isinstance(node, ActionStep):
            key: str | None = None  # what the action it calls calls is not known here
            made.append((None, None))
        elif isinstance(node, ToolStep) and node.tool == tool:
            key = answers.key_of(node.args, input_schema)
            made.append((key, node.args))
        else:
            continue
        if not later and _runs_once(node):
            first.append(key)
        else:
            later.append(key)
    if not first and not later:
        return ToolCalls((), None)  # the action never calls it: any operation
    # an answer past the calls made is never used: compared with any call's operation
    rest = later or first
    return ToolCalls(
        tuple(first),
        None if None in rest else frozenset(k for k in rest if k is not None),
        tuple(made),
    )


def _may_hold(given: Any, expected: Any) -> bool:
    """Whether a step's arguments as written (``given``) may hold everything a rule's
    ``with:`` (``expected``) has when the call is made: as the mock bridge's
    :func:`~engine.tools.bridge.mock.contains`, a template standing for any value.

    >>> _may_hold({"name": "{{ inputs.n }}", "scope": "global"}, {"name": "A"})
    True
    >>> _may_hold({"name": "B"}, {"name": "A"}), _may_hold({}, {"name": "A"})
    (False, False)
    """
    if isinstance(given, str) and is_template(given):
        return True
    if isinstance(expected, Mapping):
        return isinstance(given, Mapping) and all(
            key in given and _may_hold(given[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(given, list)
            and len(given) == len(expected)
            and all(_may_hold(g, e) for g, e in zip(given, expected, strict=True))
        )
    return contains(given, expected)


def _runs_once(node: StepNode) -> bool:
    """Whether a step calling the tool calls it exactly once each run that reaches it:
    a top-level `tool` step with neither `if:` nor `retry:`."""
    return (
        isinstance(node, ToolStep)
        and len(node.path) == 2
        and "if" not in node.data
        and "retry" not in node.data
    )
