"""`wait: seconds`: a pause, bounded by the profile's `max_wait`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic, LimitExceeded
from engine.lang.secrets import secret_label
from engine.lang.templates import is_template
from engine.steps.kinds.base import Body, F, Frame, KindCompiler, KindStep, Number, S, Walker


class WaitStep(KindStep):
    """``wait: seconds``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "wait"

    @property
    def seconds(self) -> Any:
        return self.data.get("wait")

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        # The schema checks numbers and the form of text; text holding a number (as in
        # `wait: "0.5"`) is checked here.
        seconds = self.seconds
        if isinstance(seconds, str) and is_template(seconds):
            yield from walker.refs.value(seconds, self.at("wait"), flow, scope)
        elif isinstance(seconds, str) and _is_number(seconds) and not float(seconds) > 0:
            yield walker.document.diagnostic(
                "out-of-range",
                f"`wait` must be more than 0 seconds, not {seconds}",
                self.at("wait"),
                hint="write the number of seconds to pause, e.g. `wait: 0.5`",
            )

    def compile(self, compiler: KindCompiler) -> Body:
        return wait_body(compiler.number(self.seconds, self.at("wait"), self.document))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def wait_body(seconds: Number) -> Body:
    """Pause for a number of seconds (bounded by the profile's max_wait)."""

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        given, delay = seconds.given(scope)
        limit = frame.limits.max_wait
        if delay > limit:
            asked = secret_label(given) or f"{delay:g} s"
            raise LimitExceeded(
                "max_wait", limit, f"the step waits {asked} (limit max_wait: {limit:g} s)"
            )
        await frame.state.clock.sleep(delay)
        return None

    return body
