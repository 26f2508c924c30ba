"""`parallel:` branches, each with its `steps:`, run at the same time; the first failure
cancels the others."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic, LimitExceeded, Path, StepError
from engine.steps.kinds.base import (
    Body,
    F,
    Frame,
    KindCompiler,
    KindStep,
    Runtime,
    S,
    Walker,
    refused,
)
from engine.steps.nodes import Block, setter_path


@dataclass(frozen=True, slots=True)
class Branch:
    """One of a `parallel` step's branches (a mapping in its list)."""

    index: int
    path: Path
    body: Block


class ParallelStep(KindStep):
    """``parallel:`` a list of branches, each with its ``steps:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "parallel"

    @property
    def branches(self) -> tuple[Branch, ...] | None:
        """None when `parallel:` is not a list."""
        listed = self.data.get("parallel")
        if not isinstance(listed, list):
            return None
        return tuple(
            Branch(index, self.at("parallel", index), self.block("parallel", index, "steps"))
            for index, branch in enumerate(listed)
            if isinstance(branch, Mapping)
        )

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        if self.branches is None:
            return
        results: list[F] = []
        setters: dict[str, int] = {}
        for branch in self.branches:
            inner = flow.copy()
            yield from walker.walk(branch.body, inner, scope)
            for name in sorted(inner.vars - flow.vars):
                if name in setters:
                    yield walker.document.diagnostic(
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
        walker.merge(flow, *results)

    def compile(self, compiler: KindCompiler) -> Body:
        c = compiler
        if self.branches is None:
            raise refused(self, "parallel")
        return parallel_body(c.runtime, [c.steps(branch.body) for branch in self.branches])


def parallel_body(runtime: Runtime, branches: Sequence[Sequence[Any]]) -> Body:
    """Run branches at the same time; the first failure cancels the others."""
    groups = tuple(runtime.block(b) for b in branches)
    returned = runtime.return_signal

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        limit = frame.limits.max_parallel_branches
        if len(groups) > limit:
            raise LimitExceeded(
                "max_parallel_branches",
                limit,
                f"the parallel step has {len(groups)} branches "
                f"(limit max_parallel_branches: {limit})",
            )
        try:
            async with runtime.task_group() as group:
                for branch in groups:
                    group.create_task(branch(frame, scope))
        except BaseExceptionGroup as failures:
            raise _first(failures, returned) from None
        return None

    return body


def _first(group: BaseExceptionGroup[Any], returned: type[Exception]) -> BaseException:
    """The error to report from a failed parallel step (a return wins, then step errors)."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        item = stack.pop(0)
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)
        else:
            leaves.append(item)
    for wanted in (returned, StepError):
        for leaf in leaves:
            if isinstance(leaf, wanted):
                return leaf
    return leaves[0]
