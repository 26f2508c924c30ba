"""`choose:` cases (`when:` and `steps:`): the steps of the first case whose `when`
holds run, else those of `otherwise:`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic, Path
from engine.steps.kinds.base import (
    Body,
    Condition,
    F,
    Frame,
    KindCompiler,
    KindStep,
    Runtime,
    S,
    Walker,
    refused,
)
from engine.steps.nodes import Block


@dataclass(frozen=True, slots=True)
class Case:
    """One case of a `choose` step: ``when:`` and its ``steps:``."""

    index: int
    path: Path
    when: Any
    body: Block


class ChooseStep(KindStep):
    """``choose:`` cases, the first whose ``when`` holds runs; else ``otherwise:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "choose"

    @property
    def cases(self) -> tuple[Case, ...]:
        listed = self.data.get("choose")
        if not isinstance(listed, list):
            return ()
        return tuple(
            Case(
                index,
                self.at("choose", index),
                case.get("when"),
                self.block("choose", index, "steps"),
            )
            for index, case in enumerate(listed)
            if isinstance(case, Mapping)
        )

    @property
    def otherwise(self) -> Block | None:
        return self.block("otherwise") if "otherwise" in self.data else None

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        results: list[F] = []
        for case in self.cases:
            yield from walker.refs.expression(case.when, (*case.path, "when"), flow, scope)
            inner = flow.copy()
            yield from walker.walk(case.body, inner, scope)
            results.append(inner)
        if self.otherwise is not None:
            inner = flow.copy()
            yield from walker.walk(self.otherwise, inner, scope)
            results.append(inner)
        walker.merge(flow, *results)

    def compile(self, compiler: KindCompiler) -> Body:
        c = compiler
        if not isinstance(self.data.get("choose"), list):
            raise refused(self, "choose")
        doc = self.document
        cases = [
            (c.condition(case.when, (*case.path, "when"), doc), c.steps(case.body))
            for case in self.cases
        ]
        otherwise = c.steps(self.otherwise) if self.otherwise is not None else None
        return choose_body(c.runtime, cases, otherwise)


def choose_body(
    runtime: Runtime,
    cases: Sequence[tuple[Condition, Sequence[Any]]],
    otherwise: Sequence[Any] | None,
) -> Body:
    """Run the steps of the first case whose `when` is true, else `otherwise`."""
    options = tuple((when, runtime.block(steps)) for when, steps in cases)
    fallback = runtime.block(otherwise) if otherwise is not None else None

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        for when, run_case in options:
            if when.test(scope):
                await run_case(frame, scope)
                return None
        if fallback is not None:
            await fallback(frame, scope)
        return None

    return body
