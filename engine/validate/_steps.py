"""The step walker: each step's kind, schema, names, tools, actions and data flow.

It walks the step nodes (:mod:`engine.steps`), built once per manifest; the schema check
of a step still reads the mapping the node was built from.

Longer than 400 lines: one walker checks every step kind in one pass, a short method per
kind, kept by manifest keyword in :data:`_KIND_CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path, Severity
from engine.diagnostics.suggestions import closest, did_you_mean, you_mean
from engine.lang.templates import is_template
from engine.load.sourcemap import Document
from engine.steps.build import setter_path
from engine.steps.nodes import (
    ActionStep,
    Block,
    ChooseStep,
    EmitStep,
    FailStep,
    ForeachStep,
    ParallelStep,
    RepeatStep,
    ReturnStep,
    SetStep,
    StepNode,
    ToolStep,
    WaitStep,
)
from engine.tools.answers import AnswerBook
from engine.tools.catalog import Need, ToolSpec
from engine.validate._permissions import call_need
from engine.validate._refs import ROOT_NAMES, Flow, ReferenceChecker, Scope
from engine.validate._results import ActionResult, ToolResult
from engine.validate._tool_args import check_tool_arguments
from engine.validate._words import SYNONYMS
from engine.validate.context import ValidationContext
from engine.validate.schema import ManifestSchemas
from engine.validate.schema_pass import SchemaChecker

RESERVED_NAMES = frozenset(
    {*ROOT_NAMES, "item", "loop", "error", "event", "true", "false", "null", "none"}
)

# Step kinds whose own `steps:` holds the steps they run.
_HOLDS_STEPS = frozenset({"foreach"})

StepHandler = Callable[["StepWalker", StepNode, Flow, Scope], Iterator[Diagnostic]]


class StepWalker:
    """Walks the steps in run order, carrying what has run and what is set."""

    def __init__(
        self,
        document: Document,
        context: ValidationContext,
        schemas: ManifestSchemas,
        checker: SchemaChecker,
        refs: ReferenceChecker,
        outputs: list[str],
    ) -> None:
        self.document = document
        self.context = context
        self.schemas = schemas
        self.checker = checker
        self.refs = refs
        self.outputs = outputs
        # What each tool step needs (its tool's operation, if literal), where it is said:
        # the `operation:` value, or the `tool:` line of a tool without operations.
        self.needs: list[tuple[Need, Path]] = []
        self.calls: list[tuple[str, Path]] = []  # every `action:` target, where it is

    def walk(self, block: Block | None, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        """Check a list of steps; ``flow`` is updated in place to what holds after it."""
        if block is None or not block.is_list:
            return
        stopped_at: Path | None = None
        for node in block.items:
            if stopped_at is not None:
                yield self.document.diagnostic(
                    "unreachable-step",
                    "this step never runs: the step before it always stops the action",
                    node.path,
                    severity=Severity.WARNING,
                    hint="remove it, or put the `return`/`fail` under an `if`",
                )
                break
            if not node.is_mapping:
                continue
            yield from self.step(node, flow, scope)
            if node.stops:
                stopped_at = node.path

    def step(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        kind = node.kind
        if kind is None:
            yield self._kind_problem(node.data, node.path, list(node.kinds))
            return
        path = node.path
        yield from self.checker.check_step(kind, node.data, path)
        if node.condition is not None:
            yield from self.refs.expression(node.condition.value, node.condition.path, flow, scope)
        # A templated timeout or retry number is rendered before the step's body runs.
        if node.timeout is not None:
            yield from self.refs.value(node.timeout.value, node.timeout.path, flow, scope)
        retry = node.retry.value if node.retry is not None else None
        if isinstance(retry, Mapping):
            numbers = {k: v for k, v in retry.items() if k != "on"}
            yield from self.refs.value(numbers, (*path, "retry"), flow, scope)
        yield from _KIND_CHECKS[kind](self, node, flow, scope)
        if node.id is not None:
            flow.ran.add(node.id)
        if node.catch is not None and node.catch.is_list:
            inner = flow.copy()
            yield from self.walk(node.catch, inner, scope.with_names("error"))
            merged = flow.merge(inner)
            flow.ran, flow.vars = merged.ran, merged.vars

    def _kind_problem(self, step: Mapping[str, Any], path: Path, kinds: list[str]) -> Diagnostic:
        all_kinds = list(self.schemas.step_kinds)
        if kinds:
            shown = ", ".join(f"`{k}`" for k in kinds)
            holder = next((k for k in kinds if k in _HOLDS_STEPS), None)
            other = next((k for k in kinds if k != holder), "")
            hint = (
                f"the steps a `{holder}` runs go under its `steps:`, each starting with '- ' "
                f"(`- {other}: …`)"
                if holder is not None and "steps" not in step
                else "split it into one step per thing it does"
            )
            return self.document.diagnostic(
                "step-kind-conflict",
                f"a step does one thing, but this one has {shown}",
                path,
                hint=hint,
            )
        guesses = [
            SYNONYMS[k] if SYNONYMS.get(k) in all_kinds else closest(str(k), all_kinds)
            for k in step
            if k not in self.schemas.step_properties
        ]
        guess = next((g for g in guesses if g), None)
        hint = you_mean(guess) if guess else "add one of: " + ", ".join(all_kinds)
        if guess is None and "with" in step:
            hint = "add the tool it calls above `with:` (`tool: km_…`), or the action (`action: …`)"
        return self.document.diagnostic(
            "step-kind-missing",
            "this step does not say what to do (no " + "/".join(all_kinds[:4]) + "/… key)",
            path,
            hint=hint,
        )

    # -- kinds -----------------------------------------------------------------------

    def _tool(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, ToolStep)
        path, name, args = node.path, node.tool, node.args
        yield from self.refs.value(args, (*path, "with"), flow, scope)
        if not isinstance(name, str):
            return
        catalog = self.context.catalog
        tool = catalog.get(name)
        if tool is None:
            message, hint = catalog.missing_tool(name)
            yield self.document.diagnostic("unknown-tool", message, (*path, "tool"), hint=hint)
            return
        self.needs.append(call_need(tool, args, path))
        self._answer(node.id, tool, args)
        if not isinstance(args, Mapping) or (
            not node.has_args and any(k not in self.schemas.step_properties for k in node.data)
        ):
            return  # a misspelt or mistyped `with:` is already reported
        yield from check_tool_arguments(self.document, self.checker, tool, args, (*path, "with"))

    def _answer(self, step_id: str | None, tool: ToolSpec, args: Any) -> None:
        """Note what a tool step with an id answers, when the recordings tell (the
        answer of its operation; a tool of another server version is not known)."""
        if step_id is None:
            return
        answers = AnswerBook.builtin().for_tool(tool.name, tool.input_schema)
        answer = answers.pick(args, tool.input_schema) if answers is not None else None
        if answer is not None:
            self.refs.results[step_id] = ToolResult(answer)
        else:
            self.refs.results.pop(step_id, None)

    def _action(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, ActionStep)
        path, target, args = node.path, node.target, node.args
        yield from self.refs.value(args, (*path, "with"), flow, scope)
        if not isinstance(target, str):
            return
        self.calls.append((target, (*path, "action")))
        if self._is_self(target):
            return  # calling itself is reported as a cycle
        signature = self.context.resolve_action(target)
        if node.id is not None:
            if signature is not None:
                self.refs.results[node.id] = ActionResult(target, signature.outputs)
            else:
                self.refs.results.pop(node.id, None)
        if signature is None:
            known = list(self.context.actions)
            yield self.document.diagnostic(
                "unknown-action",
                f"no action named `{target}` is available here",
                (*path, "action"),
                hint=did_you_mean(target, known, listing=False) or self._no_such_action_hint(),
            )
            return
        if not isinstance(args, Mapping):
            return
        for name in args:
            if name not in signature.inputs:
                yield self.document.diagnostic(
                    "unknown-argument",
                    f"the action `{target}` has no input `{name}`",
                    (*path, "with", name),
                    at_key=True,
                    hint=did_you_mean(str(name), signature.inputs),
                )
        for name, spec in signature.inputs.items():
            if spec.required and name not in args:
                yield self.document.diagnostic(
                    "missing-argument",
                    f"the action `{target}` needs the input `{name}`",
                    (*path, "with") if node.has_args else path,
                    at_key=True,
                    hint=f"add `{name}: …` under `with:`",
                )

    def _no_such_action_hint(self) -> str:
        """What makes a missing action available: for an MCP caller (whose manifest is
        held to a ceiling), creating it or installing its plugin; for a file, also a file
        of it beside this one."""
        if self.context.ceiling is not None:
            return "`create` that action first, or `install` the plugin that has it"
        return "install the plugin that has it, or put its file in the same folder"

    def _is_self(self, target: str) -> bool:
        data = self.document.data
        name = data.get("name") if isinstance(data, Mapping) else None
        plugin = self.context.plugin
        return isinstance(name, str) and target in (name, f"{plugin}/{name}" if plugin else name)

    def _set(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, SetStep)
        if node.values is None:
            return
        for name, value in node.values.items():
            yield from self.refs.value(value, node.at("set", name), flow, scope)
            if isinstance(name, str):
                flow.vars.add(name)

    def _foreach(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, ForeachStep)
        source, where = node.source, node.at("foreach")
        if isinstance(source, list):
            yield from self.refs.value(source, where, flow, scope)
        else:
            yield from self.refs.expression(source, where, flow, scope)
        name = node.item_name
        if isinstance(name, str) and name in RESERVED_NAMES - {"item"}:
            yield self.document.diagnostic(
                "reserved-name",
                f"`{name}` is a reserved name and cannot name the loop item",
                node.at("as"),
                hint="choose another name, e.g. `as: entry`",
            )
        inner = flow.copy()
        items = self.refs.item_shape(source, scope)
        inner_scope = scope.with_item(str(name), items)
        yield from self.walk(node.body, inner, inner_scope)
        self._merge(flow, inner)

    def _parallel(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, ParallelStep)
        if node.branches is None:
            return
        results: list[Flow] = []
        setters: dict[str, int] = {}
        for branch in node.branches:
            inner = flow.copy()
            yield from self.walk(branch.body, inner, scope)
            for name in sorted(inner.vars - flow.vars):
                if name in setters:
                    yield self.document.diagnostic(
                        "parallel-conflict",
                        f"branches {setters[name] + 1} and {branch.index + 1} both set "
                        f"`vars.{name}`, so which value wins would depend on timing",
                        setter_path(branch.body, name),
                        at_key=True,
                        hint="give each branch its own variable name",
                    )
                else:
                    setters[name] = branch.index
            results.append(inner)
        self._merge(flow, *results)

    def _choose(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, ChooseStep)
        results: list[Flow] = []
        for case in node.cases:
            yield from self.refs.expression(case.when, (*case.path, "when"), flow, scope)
            inner = flow.copy()
            yield from self.walk(case.body, inner, scope)
            results.append(inner)
        if node.otherwise is not None:
            inner = flow.copy()
            yield from self.walk(node.otherwise, inner, scope)
            results.append(inner)
        self._merge(flow, *results)

    def _repeat(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, RepeatStep)
        if node.spec is None:
            return
        until, while_ = node.until, node.while_
        if until is not None and while_ is not None:
            yield self.document.diagnostic(
                "step-kind-conflict",
                "a repeat has either `until` or `while`, not both",
                while_.path,
                at_key=True,
                hint="keep one of them",
            )
        if node.max is not None:
            yield from self.refs.value(node.max.value, node.max.path, flow, scope)
        inner_scope = scope.with_names("loop")
        if while_ is not None:
            yield from self.refs.expression(while_.value, while_.path, flow, inner_scope)
        inner = flow.copy()
        yield from self.walk(node.body, inner, inner_scope)
        if until is not None:
            yield from self.refs.expression(until.value, until.path, inner, inner_scope)
        self._merge(flow, inner)

    def _wait(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, WaitStep)
        # The schema checks numbers and the form of text; text holding a number (as in
        # `wait: "0.5"`) is checked here.
        seconds = node.seconds
        if isinstance(seconds, str) and is_template(seconds):
            yield from self.refs.value(seconds, node.at("wait"), flow, scope)
        elif isinstance(seconds, str) and _is_number(seconds) and not float(seconds) > 0:
            yield self.document.diagnostic(
                "out-of-range",
                f"`wait` must be more than 0 seconds, not {seconds}",
                node.at("wait"),
                hint="write the number of seconds to pause, e.g. `wait: 0.5`",
            )

    def _emit(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, EmitStep)
        yield from self.refs.value(node.args, node.at("with"), flow, scope)

    def _fail(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, FailStep)
        yield from self.refs.value(node.message, node.at("fail"), flow, scope)

    def _return(self, node: StepNode, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        assert isinstance(node, ReturnStep)
        if node.values is None:
            return
        for name, value in node.values.items():
            if name not in self.outputs:
                hint = (
                    did_you_mean(str(name), self.outputs)
                    if self.outputs
                    else f"declare it under `outputs:` (e.g. `{name}: null`)"
                )
                yield self.document.diagnostic(
                    "unknown-output",
                    f"`return` gives `{name}`, which is not a declared output",
                    node.at("return", name),
                    at_key=True,
                    hint=hint,
                )
            yield from self.refs.value(value, node.at("return", name), flow, scope)

    @staticmethod
    def _merge(flow: Flow, *others: Flow) -> None:
        merged = flow.merge(*others)
        flow.ran, flow.vars = merged.ran, merged.vars


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_KIND_CHECKS: dict[str, StepHandler] = {
    "tool": StepWalker._tool,
    "action": StepWalker._action,
    "set": StepWalker._set,
    "foreach": StepWalker._foreach,
    "parallel": StepWalker._parallel,
    "choose": StepWalker._choose,
    "repeat": StepWalker._repeat,
    "wait": StepWalker._wait,
    "emit": StepWalker._emit,
    "fail": StepWalker._fail,
    "return": StepWalker._return,
}
