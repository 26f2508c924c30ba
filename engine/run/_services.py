"""What the runtime offers the step kinds (:mod:`engine.steps.kinds`): :data:`RUNTIME`,
handed to each kind's ``compile`` by the compiler (typed there by
:class:`engine.steps.kinds.base.Runtime`). A kind's body runs nested steps through it,
checks the size of what it makes, calls another action, delivers an event; a tool step's
plan is made here for the code generator to write out whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.diagnostics.errors import ErrorKind, LimitExceeded, StepError
from engine.lang.limits import Limits, stricter
from engine.run._args import Checker, coerce_to
from engine.run._codegen import ToolPlan, make_block
from engine.run._exec import invoke
from engine.run._sizes import check_fields, check_value
from engine.run._state import Frame, ReturnSignal
from engine.run._watchdog import Expired, bounded
from engine.run.model import Site

Render = Callable[[Mapping[str, Any]], Any]


Dynamic = tuple[str, Render, "frozenset[type] | None", "Checker | None"]


def tool_plan(
    tool: str,
    constants: Mapping[str, Any],
    dynamic: Sequence[Dynamic],
    order: Sequence[str],
    site: Site | None = None,
) -> ToolPlan:
    """What a tool step does, as the code generator writes it out (the only tool step
    body there is: see :mod:`engine.run._codegen`): ``order`` is the arguments' names as
    `with:` writes them, ``site`` where `with:` is (its arguments too big together are
    reported there)."""
    return ToolPlan(tool, dict(constants), tuple(dynamic), tuple(order), site)


async def call_action(
    frame: Frame, target: str, inputs: Render | None, scope: dict[str, Any]
) -> Any:
    """Run another action, its inputs computed by ``inputs`` in ``scope`` (together, and
    measured together: see ``make_fields``); its outputs (what an `action` step gives)."""
    state = frame.state
    if state.resolver is None:
        raise StepError(
            ErrorKind.NOT_FOUND,
            f"cannot run the action `{target}`: no other actions are available",
            hint="install the plugin that has it, or run from its folder",
        )
    callee, grant, settings = state.resolver.resolve(target, frame.pipeline)
    if settings.secret:
        state.secrets.note_settings(settings.values, settings.secret, callee.plugin)
    # The callee runs under the stricter of the caller's limits and its own plugin's
    # (its profile's, tightened by its resource_limits).
    limits = frame.limits
    if grant.limits is not None:
        limits = stricter(limits, grant.limits)
    depth = frame.depth + 1
    if depth > limits.max_call_depth:
        raise LimitExceeded(
            "max_call_depth",
            limits.max_call_depth,
            f"actions call each other more than "
            f"{limits.max_call_depth} deep (limit max_call_depth)",
        )
    given: dict[str, Any] = inputs(scope) if inputs is not None else {}
    specs = callee.inputs
    for name, value in given.items():
        spec = specs.get(name)
        if spec is not None:  # coerced as tool arguments are: "3" → 3 where it is an integer
            given[name] = coerce_to(spec.type, value)
    if len(given) > 1 and limits.max_template_output < frame.limits.max_template_output:
        # Measured against the caller's limits as they were made; the callee's are stricter.
        check_fields(given, limits.max_template_output, f"the inputs given to {target}")
    work = invoke(callee, given, state, grant, depth, settings.values, limits=limits)
    outer = frame.limits
    if not (
        _sooner(limits.run_timeout, outer.run_timeout)
        or _sooner(limits.step_timeout, outer.step_timeout)
    ):
        return await work
    try:
        return await bounded(work, state, limits.run_timeout, limits.step_timeout)
    except Expired as expired:
        raise _expired(target, limits, expired.which) from None


def _sooner(limit: float | None, than: float | None) -> bool:
    """True when ``limit`` is a bound tighter than ``than`` (None: no bound)."""
    return limit is not None and (than is None or limit < than)


def _expired(target: str, limits: Limits, which: str) -> StepError:
    """The timeout of an action called under its plugin's stricter limits."""
    name = f"{which}_timeout"
    seconds = limits.run_timeout if which == "run" else limits.step_timeout
    doing = f"`{target}` took" if which == "run" else f"a step of `{target}` ran"
    return StepError(
        ErrorKind.TIMEOUT,
        f"{doing} longer than {seconds:g} s, the {which} timeout its plugin runs under (its "
        "profile's, or its own resource_limits)",
        hint="make the called action do less, or install its plugin under a less strict "
        "profile if you trust it",
        details={"limit": name, "value": seconds},
    )


async def emit(frame: Frame, event: str, data: Any) -> None:
    """Send an event to the hooks that listen for it (none when the run has no sink)."""
    state = frame.state
    if state.events is not None:
        await state.events.emit(event, data, source=frame.pipeline, state=state)


class KindRuntime:
    """What the runtime offers the step kinds' bodies (the Protocol
    :class:`engine.steps.kinds.base.Runtime`): one, :data:`RUNTIME`."""

    __slots__ = ()

    return_signal = ReturnSignal
    block = staticmethod(make_block)
    check_value = staticmethod(check_value)
    check_fields = staticmethod(check_fields)
    call_action = staticmethod(call_action)
    emit = staticmethod(emit)
    task_group = asyncio.TaskGroup


RUNTIME = KindRuntime()
