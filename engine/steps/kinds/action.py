"""`action: name` with its inputs under ``with:``: a call of another action, whose
outputs are the step's result."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic
from engine.diagnostics.suggestions import did_you_mean
from engine.steps.kinds.base import (
    Body,
    F,
    Frame,
    KindCompiler,
    KindStep,
    Render,
    Runtime,
    S,
    Walker,
    field_mapping,
)
from engine.steps.nodes import WithArgs


class ActionStep(WithArgs, KindStep):
    """``action: name`` (another action) with its inputs under ``with:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "action"

    @property
    def target(self) -> Any:
        return self.data.get("action")

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        path, target, args = self.path, self.target, self.args
        yield from walker.refs.value(args, (*path, "with"), flow, scope)
        if not isinstance(target, str):
            return
        walker.action_call(target, (*path, "action"))
        if walker.is_self(target):
            return  # calling itself is reported as a cycle
        signature = walker.resolve_action(target)
        if self.id is not None:
            walker.action_result(self.id, target, signature)
        if signature is None:
            known = walker.known_actions()
            yield walker.document.diagnostic(
                "unknown-action",
                f"no action named `{target}` is available here",
                (*path, "action"),
                hint=did_you_mean(target, known, listing=False) or walker.no_such_action_hint(),
            )
            return
        if not isinstance(args, Mapping):
            return
        for name in args:
            if name not in signature.inputs:
                yield walker.document.diagnostic(
                    "unknown-argument",
                    f"the action `{target}` has no input `{name}`",
                    (*path, "with", name),
                    at_key=True,
                    hint=did_you_mean(str(name), signature.inputs),
                )
        for name, spec in signature.inputs.items():
            if spec.required and name not in args:
                yield walker.document.diagnostic(
                    "missing-argument",
                    f"the action `{target}` needs the input `{name}`",
                    (*path, "with") if self.has_args else path,
                    at_key=True,
                    hint=f"add `{name}: …` under `with:`",
                )

    def compile(self, compiler: KindCompiler) -> Body:
        c = compiler
        target, args = str(self.target), field_mapping(self, self.args or {}, "with")
        # Computed together (one function), measured together, and reported at `with:`
        # when together they hold too much, as a tool step's arguments are.
        subject = f"the inputs given to {target}"
        inputs = c.fields(args, self.at("with"), self.document, subject) if args else None
        return action_body(c.runtime, target, inputs)


def action_body(runtime: Runtime, target: str, inputs: Render | None) -> Body:
    """Run another action; its outputs are this step's result. Calling it is the
    runtime's (resolving it, holding it to its plugin's limits, then computing and
    coercing its inputs: see ``engine.run._services``)."""
    call = runtime.call_action

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        return await call(frame, target, inputs, scope)

    return body
