"""What each kind of step does at run time. Bodies are built once, at compile time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.errors import ErrorKind, LimitExceeded, StepError
from engine.limits import Limits, stricter
from engine.runtime._args import Checker, coerce_to
from engine.runtime._codegen import ToolPlan, make_block
from engine.runtime._exec import invoke
from engine.runtime._numbers import StepNumber
from engine.runtime._sizes import check_fields, check_value
from engine.runtime._state import Frame, ReturnSignal
from engine.runtime._steps import Body
from engine.runtime._watchdog import Expired, bounded
from engine.secrets import secret_label

Render = Callable[[Mapping[str, Any]], Any]


Dynamic = tuple[str, Render, "frozenset[type] | None", "Checker | None"]


def tool_plan(tool: str, constants: Mapping[str, Any], dynamic: Sequence[Dynamic]) -> ToolPlan:
    """What a tool step does, as the code generator writes it out (the only tool step
    body there is: see :mod:`engine.runtime._codegen`)."""
    return ToolPlan(tool, dict(constants), tuple(dynamic))


def tool_call_limit(limit: int) -> LimitExceeded:
    """The error for the tool call that goes past the profile's ``max_tool_calls``.

    >>> tool_call_limit(200).message
    'the run made more than 200 tool calls (limit max_tool_calls)'
    """
    return LimitExceeded(
        "max_tool_calls",
        limit,
        f"the run made more than {limit:,} tool calls (limit max_tool_calls)",
        hint="call tools fewer times (e.g. fewer loop rounds), or use a less strict profile",
    )


def tool_failed(tool: str, result: Mapping[str, Any]) -> StepError:
    """The error for a tool that answered ``{"success": false, "error": …}``."""
    error = result.get("error")
    code = suggestion = None
    if isinstance(error, Mapping):
        message = str(error.get("message") or "no message")
        code = error.get("code")
        suggestion = error.get("recovery_suggestion") or error.get("suggestion")
    else:
        message = str(error) if error else "it answered success: false"
    text = f"{tool} failed: {message}" + (f" ({code})" if code else "")
    return StepError(
        ErrorKind.TOOL_FAILED,
        text,
        hint=str(suggestion) if suggestion else None,
        details={
            "tool": tool,
            "code": code,
            "recovery_suggestion": suggestion,
            "result": dict(result),
        },
    )


def action_body(target: str, renderers: Sequence[tuple[str, Render]]) -> Body:
    """Run another action; its outputs are this step's result."""
    items = tuple(renderers)

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
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
        given = {}
        specs = callee.inputs
        for name, render in items:
            value = render(scope)
            spec = specs.get(name)
            # Coerced as tool arguments are: "3" → 3 only where the input is an integer.
            given[name] = coerce_to(spec.type, value) if spec is not None else value
        if len(given) > 1:  # one value is passed on as it was measured when made
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

    return body


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


def set_body(items: Sequence[tuple[str, Render]]) -> Body:
    """Set variables in order (each one visible to the next)."""
    pairs = tuple(items)

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


def foreach_body(source: Render, name: str, steps: Sequence[Any]) -> Body:
    """Run the steps once per item, with the item and `loop` in scope."""
    run_body = make_block(steps)

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        items = source(scope)
        if isinstance(items, Mapping):
            items = [{"key": k, "value": v} for k, v in items.items()]
        elif not isinstance(items, list | tuple):
            raise StepError(
                ErrorKind.EXPRESSION_ERROR,
                f"`foreach` needs a list, but got {type(items).__name__}",
                hint="give a list (e.g. inputs.files), or split text first: "
                "split(inputs.text, ',')",
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


def parallel_body(branches: Sequence[Sequence[Any]]) -> Body:
    """Run branches at the same time; the first failure cancels the others."""
    groups = tuple(make_block(b) for b in branches)

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
            async with asyncio.TaskGroup() as group:
                for branch in groups:
                    group.create_task(branch(frame, scope))
        except BaseExceptionGroup as failures:
            raise _first(failures) from None
        return None

    return body


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    """The error to report from a failed parallel step (a return wins, then step errors)."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        item = stack.pop(0)
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)
        else:
            leaves.append(item)
    for wanted in (ReturnSignal, StepError):
        for leaf in leaves:
            if isinstance(leaf, wanted):
                return leaf
    return leaves[0]


def choose_body(
    cases: Sequence[tuple[Any, Sequence[Any]]], otherwise: Sequence[Any] | None
) -> Body:
    """Run the steps of the first case whose `when` is true, else `otherwise`."""
    options = tuple((when, make_block(steps)) for when, steps in cases)
    fallback = make_block(otherwise) if otherwise is not None else None

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        for when, run_case in options:
            if when.test(scope):
                await run_case(frame, scope)
                return None
        if fallback is not None:
            await fallback(frame, scope)
        return None

    return body


def repeat_body(steps: Sequence[Any], until: Any, while_: Any, most: StepNumber | None) -> Body:
    """Run steps in rounds until/while a condition holds, at most ``most`` times."""
    run_round = make_block(steps)

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


def wait_body(seconds: StepNumber) -> Body:
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


def emit_body(event: str, data: Render) -> Body:
    """Send an event to the hooks that listen for it."""

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        payload = data(scope)  # measured there (see Compiler.fields)
        state = frame.state
        if state.events is not None:
            try:
                await state.events.emit(event, payload, source=frame.pipeline, state=state)
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


def fail_body(message: Render) -> Body:
    """Stop the action with an error of kind `failed`."""

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        text = message(scope)
        raise StepError(ErrorKind.FAILED, str(text))

    return body


def return_body(items: Sequence[tuple[str, Render]]) -> Body:
    """Stop the action now with these outputs."""
    pairs = tuple(items)

    async def body(frame: Frame, scope: dict[str, Any]) -> Any:
        outputs = {name: render(scope) for name, render in pairs}
        if len(outputs) > 1:  # one value is passed on as it was measured when made
            check_fields(outputs, frame.limits.max_template_output, "the outputs")
        raise ReturnSignal(outputs)

    return body
