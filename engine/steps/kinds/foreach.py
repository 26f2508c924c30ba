"""`foreach:` a list (an expression or written out), `as:` a name, `steps:`: the steps
run once per item, with the item and `loop` in scope."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic, ErrorKind, LimitExceeded, StepError
from engine.diagnostics.words import describe_value
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
)
from engine.steps.nodes import Block


class ForeachStep(KindStep):
    """``foreach:`` a list (an expression or written out), ``as:`` a name, ``steps:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "foreach"

    @property
    def source(self) -> Any:
        return self.data.get("foreach")

    @property
    def item_name(self) -> Any:
        return self.data.get("as", "item")

    @property
    def body(self) -> Block:
        return self.block("steps")

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        source, where = self.source, self.at("foreach")
        if isinstance(source, list):
            yield from walker.refs.value(source, where, flow, scope)
        else:
            yield from walker.refs.expression(source, where, flow, scope)
        name = self.item_name
        if isinstance(name, str) and name != "item" and name in walker.reserved_names:
            yield walker.document.diagnostic(
                "reserved-name",
                f"`{name}` is a reserved name and cannot name the loop item",
                self.at("as"),
                hint="choose another name, e.g. `as: entry`",
            )
        inner = flow.copy()
        items = walker.refs.item_shape(source, scope)
        inner_scope = scope.with_item(str(name), items)
        yield from walker.walk(self.body, inner, inner_scope)
        walker.merge(flow, inner)

    def compile(self, compiler: KindCompiler) -> Body:
        c = compiler
        source = c.source(self.source, self.at("foreach"), self.document)
        return foreach_body(c.runtime, source, str(self.item_name), c.steps(self.body))


def foreach_body(runtime: Runtime, source: Render, name: str, steps: Sequence[Any]) -> Body:
    """Run the steps once per item, with the item and `loop` in scope."""
    run_body = runtime.block(steps)

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        items = source(scope)
        if isinstance(items, Mapping):
            items = [{"key": k, "value": v} for k, v in items.items()]
        elif not isinstance(items, list | tuple):
            raise StepError(
                ErrorKind.EXPRESSION_ERROR,
                f"`foreach` needs a list, but got {describe_value(items)}",
                hint="give a list (e.g. inputs.files), or split text first: "
                "split(inputs.text, ','); for a value that may be null: default(x, [])",
            )
        count = len(items)
        limit = frame.limits.max_loop_iterations
        if count > limit:
            raise LimitExceeded(
                "max_loop_iterations",
                limit,
                f"the foreach has {count:,} items (limit max_loop_iterations: {limit:,})",
            )
        for index, item in enumerate(items):
            loop = {
                "index": index + 1,
                "index0": index,
                "first": index == 0,
                "last": index == count - 1,
                "length": count,
            }
            await run_body(frame, {**scope, name: item, "loop": loop})
        return None

    return body
