"""`set: {name: value}`: variables, set in order (each one visible to the next)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic
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


class SetStep(KindStep):
    """``set: {name: value}``: variables."""

    __slots__ = ()

    kind: ClassVar[str | None] = "set"

    @property
    def values(self) -> Mapping[Any, Any] | None:
        """None when `set:` is not a mapping."""
        return self.mapping("set")

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        if self.values is None:
            return
        for name, value in self.values.items():
            yield from walker.refs.value(value, self.at("set", name), flow, scope)
            if isinstance(name, str):
                flow.vars.add(name)

    def compile(self, compiler: KindCompiler) -> Body:
        c = compiler
        doc, values = self.document, field_mapping(self, self.values, "set")
        return set_body(
            c.runtime, [(name, c.value(v, self.at("set", name), doc)) for name, v in values.items()]
        )


def set_body(runtime: Runtime, items: Sequence[tuple[str, Render]]) -> Body:
    """Set variables in order (each one visible to the next)."""
    pairs = tuple(items)
    check_value = runtime.check_value

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        limits = frame.limits
        values = {}
        for name, render in pairs:
            value = render(scope)
            check_value(value, limits, name)
            frame.vars[name] = value
            values[name] = value
        return values

    return body
