"""The step walker: each step's kind, schema, names, tools, actions and data flow.

It walks the step nodes (:mod:`engine.steps`), built once per manifest; the schema check
of a step still reads the mapping the node was built from. What is checked of each kind is
in its module (:mod:`engine.steps.kinds`): the walker calls its node's ``check``, handing
it itself (what :class:`engine.steps.kinds.base.Walker` says a walker offers).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path, Severity
from engine.diagnostics.suggestions import closest, you_mean
from engine.load.sourcemap import Document
from engine.steps.kinds import KindStep
from engine.steps.kinds.base import Signature
from engine.steps.nodes import Block, StepNode
from engine.tools.answers import AnswerBook
from engine.tools.catalog import Need, ToolCatalog, ToolSpec
from engine.validate._permissions import call_need
from engine.validate._refs import ROOT_NAMES, Flow, ReferenceChecker, Scope
from engine.validate._results import ActionResult, ToolResult
from engine.validate._tool_args import check_tool_arguments
from engine.validate._words import SYNONYMS
from engine.validate.context import ActionSignature, ValidationContext
from engine.validate.schema import ManifestSchemas
from engine.validate.schema_pass import SchemaChecker

RESERVED_NAMES = frozenset(
    {*ROOT_NAMES, "item", "loop", "error", "event", "true", "false", "null", "none"}
)

# Step kinds whose own `steps:` holds the steps they run.
_HOLDS_STEPS = frozenset({"foreach"})


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
        step_schemas: Mapping[Path, list[Diagnostic]],
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
        # Each step's schema problems, checked before the walk (a step of a kind always has
        # an entry: its kind's validator ran on it).
        self.step_schemas = step_schemas

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
        if kind is None or not isinstance(node, KindStep):
            yield self._kind_problem(node.data, node.path, list(node.kinds))
            return
        path = node.path
        yield from self.step_schemas[path]
        if node.condition is not None:
            yield from self.refs.expression(node.condition.value, node.condition.path, flow, scope)
        # A templated timeout or retry number is rendered before the step's body runs.
        if node.timeout is not None:
            yield from self.refs.value(node.timeout.value, node.timeout.path, flow, scope)
        retry = node.retry.value if node.retry is not None else None
        if isinstance(retry, Mapping):
            numbers = {k: v for k, v in retry.items() if k != "on"}
            yield from self.refs.value(numbers, (*path, "retry"), flow, scope)
        yield from node.check(self, flow, scope)
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

    # -- what a kind's check is handed (engine.steps.kinds.base.Walker) -----------------

    @property
    def catalog(self) -> ToolCatalog:
        return self.context.catalog

    @property
    def step_properties(self) -> Collection[str]:
        return self.schemas.step_properties

    @property
    def reserved_names(self) -> Collection[str]:
        return RESERVED_NAMES

    def merge(self, flow: Flow, *others: Flow) -> None:
        """Make ``flow`` what holds after any of ``others`` (each a copy of it) ran."""
        merged = flow.merge(*others)
        flow.ran, flow.vars = merged.ran, merged.vars

    def tool_call(self, tool: ToolSpec, args: Any, path: Path, step_id: str | None) -> None:
        """Note what a tool step needs (its tool's operation, if literal), and what it
        answers when it has an id and the recordings tell (the answer of its operation; a
        tool of another server version is not known)."""
        self.needs.append(call_need(tool, args, path))
        if step_id is None:
            return
        answers = AnswerBook.builtin().for_tool(tool.name, tool.input_schema)
        answer = answers.pick(args, tool.input_schema) if answers is not None else None
        if answer is not None:
            self.refs.results[step_id] = ToolResult(answer)
        else:
            self.refs.results.pop(step_id, None)

    def tool_arguments(
        self, tool: ToolSpec, args: Mapping[Any, Any], path: Path
    ) -> Iterator[Diagnostic]:
        return check_tool_arguments(self.document, self.checker, tool, args, path)

    def action_call(self, target: str, path: Path) -> None:
        self.calls.append((target, path))

    def resolve_action(self, target: str) -> ActionSignature | None:
        return self.context.resolve_action(target)

    def known_actions(self) -> list[str]:
        return list(self.context.actions)

    def action_result(self, step_id: str, target: str, signature: Signature | None) -> None:
        if signature is not None:
            self.refs.results[step_id] = ActionResult(target, signature.outputs)
        else:
            self.refs.results.pop(step_id, None)

    def no_such_action_hint(self) -> str:
        """What makes a missing action available: for an MCP caller (whose manifest is
        held to a ceiling), creating it or installing its plugin; for a file, also a file
        of it beside this one."""
        if self.context.ceiling is not None:
            return "`create` that action first, or `install` the plugin that has it"
        return "install the plugin that has it, or put its file in the same folder"

    def is_self(self, target: str) -> bool:
        data = self.document.data
        name = data.get("name") if isinstance(data, Mapping) else None
        plugin = self.context.plugin
        return isinstance(name, str) and target in (name, f"{plugin}/{name}" if plugin else name)
