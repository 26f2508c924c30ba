"""`return: {output: value}`: the action stops now with these outputs (the module is
named ``return_``: ``return`` is a Python keyword)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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


class ReturnStep(KindStep):
    """``return: {output: value}``: the action ends with these outputs."""

    __slots__ = ()

    kind: ClassVar[str | None] = "return"

    @property
    def values(self) -> Mapping[Any, Any] | None:
        """None when `return:` is not a mapping."""
        return self.mapping("return")

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        if self.values is None:
            return
        outputs = walker.outputs
        for name, value in self.values.items():
            if name not in outputs:
                hint = (
                    did_you_mean(str(name), outputs)
                    if outputs
                    else f"declare it under `outputs:` (e.g. `{name}: null`)"
                )
                yield walker.document.diagnostic(
                    "unknown-output",
                    f"`return` gives `{name}`, which is not a declared output",
                    self.at("return", name),
                    at_key=True,
                    hint=hint,
                )
            yield from walker.refs.value(value, self.at("return", name), flow, scope)

    def compile(self, compiler: KindCompiler) -> Body:
        c = compiler
        doc, values = self.document, field_mapping(self, self.values, "return")
        return return_body(
            c.runtime,
            [(name, c.value(v, self.at("return", name), doc)) for name, v in values.items()],
        )


def return_body(runtime: Runtime, items: Sequence[tuple[str, Render]]) -> Body:
    """Stop the action now with these outputs."""
    pairs = tuple(items)
    check_fields, returned = runtime.check_fields, runtime.return_signal

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        outputs = {name: render(scope) for name, render in pairs}
        if len(outputs) > 1:  # one value is passed on as it was measured when made
            check_fields(outputs, frame.limits.max_template_output, "the outputs")
        raise returned(outputs)

    return body
