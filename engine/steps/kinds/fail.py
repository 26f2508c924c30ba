"""`fail: message`: the action stops with an error of kind `failed`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic, ErrorKind, StepError
from engine.steps.kinds.base import Body, F, Frame, KindCompiler, KindStep, Render, S, Walker


class FailStep(KindStep):
    """``fail: message``: the action fails."""

    __slots__ = ()

    kind: ClassVar[str | None] = "fail"

    @property
    def message(self) -> Any:
        return self.data.get("fail")

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        yield from walker.refs.value(self.message, self.at("fail"), flow, scope)

    def compile(self, compiler: KindCompiler) -> Body:
        return fail_body(compiler.value(self.message, self.at("fail"), self.document))


def fail_body(message: Render) -> Body:
    """Stop the action with an error of kind `failed`."""

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        text = message(scope)
        raise StepError(ErrorKind.FAILED, str(text))

    return body
