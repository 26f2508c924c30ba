"""`repeat: {steps, until | while, max}`: the steps run in rounds until (or while) a
condition holds, at most `max` times."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic, LimitExceeded
from engine.steps.kinds.base import (
    Body,
    Condition,
    F,
    Frame,
    KindCompiler,
    KindStep,
    Number,
    Runtime,
    S,
    Walker,
    refused,
)
from engine.steps.nodes import Block, Field


class RepeatStep(KindStep):
    """``repeat: {steps, until | while, max}``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "repeat"

    @property
    def spec(self) -> Mapping[str, Any] | None:
        """The `repeat:` mapping; None when it is not one."""
        return self.mapping("repeat")

    def _part(self, key: str) -> Field | None:
        spec = self.spec
        return Field(spec[key], self.at("repeat", key)) if spec and key in spec else None

    @property
    def max(self) -> Field | None:
        return self._part("max")

    @property
    def until(self) -> Field | None:
        return self._part("until")

    @property
    def while_(self) -> Field | None:
        return self._part("while")

    @property
    def body(self) -> Block:
        return self.block("repeat", "steps")

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        if self.spec is None:
            return
        until, while_ = self.until, self.while_
        if until is not None and while_ is not None:
            yield walker.document.diagnostic(
                "step-kind-conflict",
                "a repeat has either `until` or `while`, not both",
                while_.path,
                at_key=True,
                hint="keep one of them",
            )
        if self.max is not None:
            yield from walker.refs.value(self.max.value, self.max.path, flow, scope)
        inner_scope = scope.with_names("loop")
        if while_ is not None:
            yield from walker.refs.expression(while_.value, while_.path, flow, inner_scope)
        inner = flow.copy()
        yield from walker.walk(self.body, inner, inner_scope)
        if until is not None:
            yield from walker.refs.expression(until.value, until.path, inner, inner_scope)
        walker.merge(flow, inner)

    def compile(self, compiler: KindCompiler) -> Body:
        c = compiler
        if self.spec is None:
            raise refused(self, "repeat")
        doc, until, while_, rounds = self.document, self.until, self.while_, self.max
        return repeat_body(
            c.runtime,
            c.steps(self.body),
            c.condition(until.value, until.path, doc) if until is not None else None,
            c.condition(while_.value, while_.path, doc) if while_ is not None else None,
            c.number(rounds.value, rounds.path, doc) if rounds is not None else None,
        )


def repeat_body(
    runtime: Runtime,
    steps: Sequence[Any],
    until: Condition | None,
    while_: Condition | None,
    most: Number | None,
) -> Body:
    """Run steps in rounds until/while a condition holds, at most ``most`` times."""
    run_round = runtime.block(steps)

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        limit = frame.limits.max_loop_iterations
        rounds = most.value(scope) if most is not None else None
        done = 0
        while True:
            loop = {"index": done + 1, "index0": done, "first": done == 0}
            inner = {**scope, "loop": loop}
            if while_ is not None and not while_.test(inner):
                return None
            if rounds is not None and done >= rounds:
                return None
            if done >= limit:
                raise LimitExceeded(
                    "max_loop_iterations",
                    limit,
                    f"the repeat ran {limit:,} rounds without ending (limit max_loop_iterations)",
                    hint="check the `until`/`while` condition, or set `max:`",
                )
            done += 1
            await run_round(frame, inner)
            if until is not None and until.test(inner):
                return None

    return body
