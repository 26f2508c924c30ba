"""`emit: event` with its data under ``with:``: an event sent to the hooks that listen
for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic, ErrorKind, StepError
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


class EmitStep(WithArgs, KindStep):
    """``emit: event`` with its data under ``with:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "emit"

    @property
    def event(self) -> Any:
        return self.data.get("emit")

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        yield from walker.refs.value(self.args, self.at("with"), flow, scope)

    def compile(self, compiler: KindCompiler) -> Body:
        c = compiler
        event = str(self.event)
        subject = f"the data of the event `{event}`"
        args = field_mapping(self, self.args or {}, "with")
        return emit_body(c.runtime, event, c.fields(args, self.at("with"), self.document, subject))


def emit_body(runtime: Runtime, event: str, data: Render) -> Body:
    """Send an event to the hooks that listen for it."""
    emit = runtime.emit

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        payload = data(scope)  # measured there (see Compiler.fields)
        try:
            await emit(frame, event, payload)
        except StepError:
            raise
        except Exception as exc:  # a broken sink must not escape the run as a crash
            raise StepError(
                ErrorKind.FAILED,
                f"the event `{event}` could not be delivered: {type(exc).__name__}: {exc}",
                hint="this is a fault in the hooks that listen for it, not in this action",
                details={"event": event},
            ) from exc
        return {"event": event, "data": payload}

    return body
