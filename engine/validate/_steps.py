"""The step walker: each step's kind, schema, names, tools, actions and data flow.

Longer than 400 lines: one walker checks every step kind in one pass, a short method per
kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path, Severity
from engine.diagnostics.suggestions import closest, did_you_mean, you_mean
from engine.lang.templates import is_template
from engine.load.sourcemap import Document
from engine.tools.answers import AnswerBook
from engine.tools.catalog import Need, ToolSpec
from engine.validate._refs import ROOT_NAMES, Flow, ReferenceChecker, Scope
from engine.validate._results import ActionResult, ToolResult
from engine.validate._tool_args import check_tool_arguments
from engine.validate._words import SYNONYMS
from engine.validate.context import ValidationContext
from engine.validate.schema import ManifestSchemas
from engine.validate.schema_pass import SchemaChecker
from engine.validate.tree import setter_path

RESERVED_NAMES = frozenset(
    {*ROOT_NAMES, "item", "loop", "error", "event", "true", "false", "null", "none"}
)

# Step kinds whose own `steps:` holds the steps they run.
_HOLDS_STEPS = frozenset({"foreach"})

StepHandler = Callable[["StepWalker", Mapping[str, Any], Path, Flow, Scope], Iterator[Diagnostic]]


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
        permissions: tuple[str, ...] | None,
    ) -> None:
        self.document = document
        self.context = context
        self.schemas = schemas
        self.checker = checker
        self.refs = refs
        self.outputs = outputs
        self.permissions = permissions
        # What each tool step needs (its tool's operation, if literal), where it is said:
        # the `operation:` value, or the `tool:` line of a tool without operations.
        self.needs: list[tuple[Need, Path]] = []
        self.calls: list[tuple[str, Path]] = []  # every `action:` target, where it is

    def walk(self, steps: Any, path: Path, flow: Flow, scope: Scope) -> Iterator[Diagnostic]:
        """Check a list of steps; ``flow`` is updated in place to what holds after it."""
        if not isinstance(steps, list):
            return
        stopped_at: Path | None = None
        for index, step in enumerate(steps):
            here = (*path, index)
            if stopped_at is not None:
                yield self.document.diagnostic(
                    "unreachable-step",
                    "this step never runs: the step before it always stops the action",
                    here,
                    severity=Severity.WARNING,
                    hint="remove it, or put the `return`/`fail` under an `if`",
                )
                break
            if not isinstance(step, Mapping):
                continue
            yield from self.step(step, here, flow, scope)
            if (
                ("return" in step or "fail" in step)
                and "if" not in step
                and not step.get("continue_on_error")
                and "catch" not in step
            ):
                stopped_at = here

    def step(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        kinds = self.schemas.kinds_of(step)
        if len(kinds) != 1:
            yield self._kind_problem(step, path, kinds)
            return
        kind = kinds[0]
        yield from self.checker.check_step(kind, step, path)
        if "if" in step:
            yield from self.refs.expression(step["if"], (*path, "if"), flow, scope)
        # A templated timeout or retry number is rendered before the step's body runs.
        yield from self.refs.value(step.get("timeout"), (*path, "timeout"), flow, scope)
        retry = step.get("retry")
        if isinstance(retry, Mapping):
            numbers = {k: v for k, v in retry.items() if k != "on"}
            yield from self.refs.value(numbers, (*path, "retry"), flow, scope)
        yield from _KIND_CHECKS[kind](self, step, path, flow, scope)
        step_id = step.get("id")
        if isinstance(step_id, str):
            flow.ran.add(step_id)
        catch = step.get("catch")
        if isinstance(catch, list):
            inner = flow.copy()
            yield from self.walk(catch, (*path, "catch"), inner, scope.with_names("error"))
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

    def _tool(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        name = step.get("tool")
        args = step.get("with", {})
        yield from self.refs.value(args, (*path, "with"), flow, scope)
        if not isinstance(name, str):
            return
        catalog = self.context.catalog
        tool = catalog.get(name)
        if tool is None:
            message, hint = catalog.missing_tool(name)
            yield self.document.diagnostic("unknown-tool", message, (*path, "tool"), hint=hint)
            return
        self.needs.append(_need(tool, args, path))
        self._answer(step.get("id"), tool, args)
        if not isinstance(args, Mapping) or (
            "with" not in step and any(k not in self.schemas.step_properties for k in step)
        ):
            return  # a misspelt or mistyped `with:` is already reported
        yield from check_tool_arguments(self.document, self.checker, tool, args, (*path, "with"))

    def _answer(self, step_id: Any, tool: ToolSpec, args: Any) -> None:
        """Note what a tool step with an id answers, when the recordings tell (the
        answer of its operation; a tool of another server version is not known)."""
        if not isinstance(step_id, str):
            return
        answers = AnswerBook.builtin().for_tool(tool.name, tool.input_schema)
        answer = answers.pick(args, tool.input_schema) if answers is not None else None
        if answer is not None:
            self.refs.results[step_id] = ToolResult(answer)
        else:
            self.refs.results.pop(step_id, None)

    def _action(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        target = step.get("action")
        args = step.get("with", {})
        yield from self.refs.value(args, (*path, "with"), flow, scope)
        if not isinstance(target, str):
            return
        self.calls.append((target, (*path, "action")))
        if self._is_self(target):
            return  # calling itself is reported as a cycle
        signature = self.context.resolve_action(target)
        if isinstance(step.get("id"), str):
            if signature is not None:
                self.refs.results[step["id"]] = ActionResult(target, signature.outputs)
            else:
                self.refs.results.pop(step["id"], None)
        if signature is None:
            known = list(self.context.actions)
            yield self.document.diagnostic(
                "unknown-action",
                f"no action named `{target}` is available here",
                (*path, "action"),
                hint=did_you_mean(target, known, listing=False)
                or "install the plugin that has it, or put its file in the same folder",
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
                    (*path, "with") if "with" in step else path,
                    at_key=True,
                    hint=f"add `{name}: …` under `with:`",
                )

    def _is_self(self, target: str) -> bool:
        data = self.document.data
        name = data.get("name") if isinstance(data, Mapping) else None
        plugin = self.context.plugin
        return isinstance(name, str) and target in (name, f"{plugin}/{name}" if plugin else name)

    def _set(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        assigned = step.get("set")
        if not isinstance(assigned, Mapping):
            return
        for name, value in assigned.items():
            yield from self.refs.value(value, (*path, "set", name), flow, scope)
            if isinstance(name, str):
                flow.vars.add(name)

    def _foreach(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        source = step.get("foreach")
        if isinstance(source, list):
            yield from self.refs.value(source, (*path, "foreach"), flow, scope)
        else:
            yield from self.refs.expression(source, (*path, "foreach"), flow, scope)
        name = step.get("as", "item")
        if isinstance(name, str) and name in RESERVED_NAMES - {"item"}:
            yield self.document.diagnostic(
                "reserved-name",
                f"`{name}` is a reserved name and cannot name the loop item",
                (*path, "as"),
                hint="choose another name, e.g. `as: entry`",
            )
        inner = flow.copy()
        items = self.refs.item_shape(source, scope)
        inner_scope = scope.with_item(str(name), items)
        yield from self.walk(step.get("steps"), (*path, "steps"), inner, inner_scope)
        self._merge(flow, inner)

    def _parallel(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        branches = step.get("parallel")
        if not isinstance(branches, list):
            return
        results: list[Flow] = []
        setters: dict[str, int] = {}
        for index, branch in enumerate(branches):
            if not isinstance(branch, Mapping):
                continue
            inner = flow.copy()
            bpath = (*path, "parallel", index, "steps")
            yield from self.walk(branch.get("steps"), bpath, inner, scope)
            for name in sorted(inner.vars - flow.vars):
                if name in setters:
                    yield self.document.diagnostic(
                        "parallel-conflict",
                        f"branches {setters[name] + 1} and {index + 1} both set `vars.{name}`, "
                        "so which value wins would depend on timing",
                        setter_path(branch.get("steps"), bpath, name),
                        at_key=True,
                        hint="give each branch its own variable name",
                    )
                else:
                    setters[name] = index
            results.append(inner)
        self._merge(flow, *results)

    def _choose(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        cases = step.get("choose")
        results: list[Flow] = []
        if isinstance(cases, list):
            for index, case in enumerate(cases):
                if not isinstance(case, Mapping):
                    continue
                cpath = (*path, "choose", index)
                yield from self.refs.expression(case.get("when"), (*cpath, "when"), flow, scope)
                inner = flow.copy()
                yield from self.walk(case.get("steps"), (*cpath, "steps"), inner, scope)
                results.append(inner)
        if "otherwise" in step:
            inner = flow.copy()
            yield from self.walk(step.get("otherwise"), (*path, "otherwise"), inner, scope)
            results.append(inner)
        self._merge(flow, *results)

    def _repeat(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        spec = step.get("repeat")
        if not isinstance(spec, Mapping):
            return
        rpath = (*path, "repeat")
        if "until" in spec and "while" in spec:
            yield self.document.diagnostic(
                "step-kind-conflict",
                "a repeat has either `until` or `while`, not both",
                (*rpath, "while"),
                at_key=True,
                hint="keep one of them",
            )
        yield from self.refs.value(spec.get("max"), (*rpath, "max"), flow, scope)
        inner_scope = scope.with_names("loop")
        if "while" in spec:
            yield from self.refs.expression(spec["while"], (*rpath, "while"), flow, inner_scope)
        inner = flow.copy()
        yield from self.walk(spec.get("steps"), (*rpath, "steps"), inner, inner_scope)
        if "until" in spec:
            yield from self.refs.expression(spec["until"], (*rpath, "until"), inner, inner_scope)
        self._merge(flow, inner)

    def _wait(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        # The schema checks numbers and the form of text; text holding a number (as in
        # `wait: "0.5"`) is checked here.
        seconds = step.get("wait")
        if isinstance(seconds, str) and is_template(seconds):
            yield from self.refs.value(seconds, (*path, "wait"), flow, scope)
        elif isinstance(seconds, str) and _is_number(seconds) and not float(seconds) > 0:
            yield self.document.diagnostic(
                "out-of-range",
                f"`wait` must be more than 0 seconds, not {seconds}",
                (*path, "wait"),
                hint="write the number of seconds to pause, e.g. `wait: 0.5`",
            )

    def _emit(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        yield from self.refs.value(step.get("with", {}), (*path, "with"), flow, scope)

    def _fail(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        yield from self.refs.value(step.get("fail"), (*path, "fail"), flow, scope)

    def _return(
        self, step: Mapping[str, Any], path: Path, flow: Flow, scope: Scope
    ) -> Iterator[Diagnostic]:
        values = step.get("return")
        if not isinstance(values, Mapping):
            return
        for name, value in values.items():
            if name not in self.outputs:
                hint = (
                    did_you_mean(str(name), self.outputs)
                    if self.outputs
                    else f"declare it under `outputs:` (e.g. `{name}: null`)"
                )
                yield self.document.diagnostic(
                    "unknown-output",
                    f"`return` gives `{name}`, which is not a declared output",
                    (*path, "return", name),
                    at_key=True,
                    hint=hint,
                )
            yield from self.refs.value(value, (*path, "return", name), flow, scope)

    @staticmethod
    def _merge(flow: Flow, *others: Flow) -> None:
        merged = flow.merge(*others)
        flow.ran, flow.vars = merged.ran, merged.vars


def _need(tool: ToolSpec, args: Any, path: Path) -> tuple[Need, Path]:
    """What a tool step needs, and where that is said (see :attr:`StepWalker.needs`)."""
    given: Mapping[str, Any] = args if isinstance(args, Mapping) else {}
    operations = tool.operations
    if operations is not None and operations.parameter in given:
        return tool.need(given), (*path, "with", operations.parameter)
    return tool.need(given), (*path, "tool")


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
