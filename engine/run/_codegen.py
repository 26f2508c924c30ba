"""Step lists compiled to Python functions: the only way steps run.

Longer than 400 lines: it writes out every step's bookkeeping around its body, and that
generated code reads best in one place.

Interpreting a step costs a dozen Python calls (the step, its renderers, checkers, the
guard, the bridge); a 10-step action then costs many times the same calls written by
hand. So, like Jinja compiling a template, the action factory turns each list of steps
into one generated ``async def``, and keeps no interpreter beside it. Every step's
bookkeeping (the step count, the pause for other tasks, ``if``, ``timeout``, ``retry``,
``catch``, ``continue_on_error``, the history's timeline and the trace) is written out
around its body; a tool step is written out whole (one call of the function Jinja's
code generator wrote for all its templated arguments, see
:func:`engine.lang.templates.together`; argument type checks ``type(v) in T``), any
other kind calls its body (its kind's, :mod:`engine.steps.kinds`). A trace is recorded
by the same code: it checks ``recording``, as it does for the timeline.

Nothing from a manifest is ever written into the generated source: names, keys, tool
names and values are passed in the function's namespace (``K3``, ``T0``, …) and the
source only refers to them.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NamedTuple

from engine.diagnostics.errors import ErrorKind, StepError
from engine.lang.limits import UNLIMITED, current_limits
from engine.lang.sandbox.sizes import estimate_text_size
from engine.lang.templates import Values, together
from engine.run._sizes import SCALARS, combines_values, data_size, too_big
from engine.run._state import pause
from engine.run._steps import recover, tool_call_limit, tool_failed, trace_entry
from engine.run.model import Located, Site, Step

# A block runs its steps in order; the pipeline's also reports progress after each step
# (``progress``: an async callback ``(done, total, message)``).
Block = Callable[..., Coroutine[Any, Any, None]]
_COUNTER = itertools.count()


class ToolPlan(NamedTuple):
    """What a plain tool step does, in a form code can be generated from: its constant
    arguments, its templated ones (name, renderer, the types its checker lets through,
    checker), the names of all as `with:` writes them, and where `with:` is."""

    tool: str
    constants: dict[str, Any]
    dynamic: tuple[tuple[str, Any, frozenset[type] | None, Any], ...]
    order: tuple[str, ...]
    site: Site | None


class _Source:
    """Generated lines plus the namespace they refer to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.recoveries: dict[int, str] = {}  # a step's _recovery, by id(step)
        self.namespace: dict[str, Any] = {
            "StepError": StepError,
            "_mono": time.monotonic,
            "_bridge_failure": bridge_failure,
            "_deepcopy": copy.deepcopy,
            "_trace": trace_entry,
            "_recover": recover,
            "_timeout": asyncio.timeout,
            "_timed_out": _timed_out,
            "_pause": pause,
            "_SCALARS": SCALARS,
            "_data_size": data_size,
            "_too_big": too_big,
        }

    def name(self, prefix: str, value: Any) -> str:
        key = f"{prefix}{len(self.namespace)}"
        self.namespace[key] = value
        return key

    def add(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)


class _Lazy:
    """Generates its function on first use: compiling an action stays cheap (start-up
    with many installed actions), and only actions that run pay for code generation."""

    __slots__ = ("function", "generate", "items")

    def __init__(self, generate: Callable[[Any], Any], items: Any) -> None:
        self.generate = generate
        self.items = items
        self.function: Any = None

    def __call__(self, *args: Any) -> Any:
        function = self.function
        if function is None:
            function = self.function = self.generate(self.items)
        return function(*args)


def make_block(steps: Sequence[Step], *, progress: bool = False) -> Block:
    """One function that runs ``steps`` in order (see the module docstring), generated
    when it first runs; with ``progress``, it reports after each step to the callback it
    is given."""
    return _Lazy(_generate_block, (tuple(steps), progress))


def _generate_block(spec: tuple[tuple[Step, ...], bool]) -> Block:
    steps, progress = spec
    src = _Source()
    src.add(0, "async def block(frame, scope, progress=None):")
    src.add(1, "state = frame.state")
    src.add(1, "limits = frame.limits")
    src.add(1, "floor = frame.floor")
    src.add(1, "max_calls = limits.max_tool_calls")
    src.add(1, "max_text = limits.max_template_output")  # also the bound of arguments' data
    # The history's timeline (engine.run.model.StepTime) and the trace: one clock reading
    # before and after each step, only when one of them is kept.
    src.add(1, "timeline = state.timeline")
    src.add(1, "trace = state.trace")
    src.add(1, "recording = trace is not None or timeline is not None")
    src.add(1, "tick = state.clock.monotonic")
    if any(step.plan is not None for step in steps):
        src.add(1, "direct = frame.bridge.direct")
    for index, step in enumerate(steps):
        _step(src, step)
        if progress:
            done = f"step {index + 1} of {len(steps)} done ({step.label})"
            src.add(1, "if progress is not None:")
            src.add(2, f"await progress({index + 1}, {len(steps)}, {src.name('M', done)})")
    block: Block = _build(src, "block")
    return block


def _step(src: _Source, step: Step) -> None:
    """The code of one step: its bookkeeping, its ``if``, and its attempts."""
    site = src.name("SITE", step.site)
    sid = src.name("ID", step.id)
    this = src.name("STEP", step)
    src.add(1, "state.steps_left -= 1")
    src.add(1, "state.step_started = now = _mono()")
    src.add(1, f"state.step_site = {site}")
    src.add(1, "if state.steps_left < floor:")
    src.add(2, f"raise {site}.locate(frame.step_limit(), {sid})")
    src.add(1, "if now > state.pause_at:")
    src.add(2, "await _pause(state)")
    src.add(1, "started = tick() if recording else 0.0")
    indent = 1
    if step.condition is not None:
        _condition(src, step, site, sid, this)
        src.add(1, "if go is None:")  # its `if:` failed, and the step recovered
        src.add(2, "pass")
        src.add(1, "elif not go:")
        if step.id is not None:
            src.add(
                2, f"frame.steps[{sid}] = {{'result': None, 'status': 'skipped', 'error': None}}"
            )
        _record(src, 2, this, "skipped", "None", "None", "1")
        src.add(1, "else:")
        indent = 2
    if step.retry is None and step.retry_numbers is None and not _recovers(step):
        _once(src, indent, step, site, sid, this)
    else:
        _tries(src, indent, step, site, sid, this)


def _condition(src: _Source, step: Step, site: str, sid: str, this: str) -> None:
    """Code that sets ``go`` to the step's ``if:`` (None: it failed). Its failure is the
    step's: recorded, and recovered as its ``catch`` or ``continue_on_error`` says (never
    retried: the condition would fail again)."""
    src.add(1, "try:")
    src.add(2, f"go = {src.name('IF', step.condition)}.test(scope)")
    src.add(1, "except StepError as error:")
    src.add(2, f"{site}.locate(error, {sid})")
    _record(src, 2, this, "failed", "None", "error", "1")
    if not _recovers(step):
        src.add(2, "raise")
        return
    src.add(2, _recovery(src, step, sid))
    src.add(2, "go = None")


def _recovery(src: _Source, step: Step, sid: str) -> str:
    """The statement recording the step's failure and running its ``catch``: one block
    per step, shared by its ``if:`` and its attempts."""
    call = src.recoveries.get(id(step))
    if call is None:
        catch = src.name("CATCH", make_block(step.catch) if step.catch is not None else None)
        keep_going = src.name("KEEP", step.continue_on_error)
        call = f"await _recover(frame, scope, error, {sid}, {catch}, {keep_going})"
        src.recoveries[id(step)] = call
    return call


def _recovers(step: Step) -> bool:
    return step.catch is not None or step.continue_on_error


def _once(src: _Source, indent: int, step: Step, site: str, sid: str, this: str) -> None:
    """A step tried once, whose failure ends the block."""
    src.add(indent, "try:")
    _attempt(src, indent + 1, step)
    src.add(indent, "except StepError as error:")
    src.add(indent + 1, f"{site}.locate(error, {sid})")
    _record(src, indent + 1, this, "failed", "None", "error", "1")
    src.add(indent + 1, "raise")
    _succeeded(src, indent, step, sid, this, "1")


def _tries(src: _Source, indent: int, step: Step, site: str, sid: str, this: str) -> None:
    """A step tried again as its retry says, and recovered as its catch or
    continue_on_error says."""
    src.add(indent, "tries = 0")
    src.add(indent, f"policy = {src.name('RETRY', step.retry)}")
    recovers = _recovers(step)
    if recovers:
        src.add(indent, "failed = False")
    src.add(indent, "while True:")
    src.add(indent + 1, "tries += 1")
    src.add(indent + 1, "try:")
    if step.retry_numbers is not None:  # a bad number fails the step, unretried
        src.add(indent + 2, "if tries == 1:")
        src.add(indent + 3, f"policy = {src.name('POLICY', step.retry_numbers)}(scope)")
    _attempt(src, indent + 2, step)
    src.add(indent + 2, "break")
    src.add(indent + 1, "except StepError as error:")
    at = indent + 2
    src.add(at, f"{site}.locate(error, {sid})")
    src.add(
        at, "if policy is not None and tries < policy.max_attempts and error.kind in policy.on:"
    )
    src.add(at + 1, "if trace is not None:")  # the timeline keeps only how a step ended
    src.add(at + 2, f"_trace(frame, {this}, 'retrying', started, None, error, tries)")
    src.add(at + 1, "await state.clock.sleep(policy.delay(tries, state.clock.random()))")
    src.add(at + 1, "continue")
    src.add(at, "if tries > 1:")
    src.add(at + 1, "error.details['attempts'] = tries")
    _record(src, at, this, "failed", "None", "error", "tries")
    if not recovers:
        src.add(at, "raise")
        _succeeded(src, indent, step, sid, this, "tries")
        return
    src.add(at, _recovery(src, step, sid))
    src.add(at, "failed = True")
    src.add(at, "break")
    src.add(indent, "if not failed:")
    _succeeded(src, indent + 1, step, sid, this, "tries")


def _succeeded(src: _Source, indent: int, step: Step, sid: str, this: str, tries: str) -> None:
    if step.id is not None:
        src.add(
            indent,
            f"frame.steps[{sid}] = {{'result': result, 'status': 'succeeded', 'error': None}}",
        )
    _record(src, indent, this, "succeeded", "result", "None", tries)


def _record(
    src: _Source, indent: int, this: str, status: str, result: str, error: str, tries: str
) -> None:
    """Code that adds the step to the run's timeline (when kept) and its trace (when
    asked for)."""
    src.add(indent, "if timeline is not None:")
    entry = f"(frame.pipeline, {this}, started, tick(), '{status}', {tries}, {error})"
    src.add(indent + 1, f"timeline.append({entry})")
    src.add(indent, "if trace is not None:")
    src.add(indent + 1, f"_trace(frame, {this}, '{status}', started, {result}, {error}, {tries})")


def _attempt(src: _Source, indent: int, step: Step) -> None:
    """Code that sets ``result`` to what one attempt of the step gives, within its
    timeout."""
    if step.timeout is None:
        _body(src, indent, step)
        return
    src.add(indent, f"seconds = {src.name('TIMEOUT', step.timeout)}.value(scope)")
    src.add(indent, "if limits.step_timeout is not None:")
    src.add(indent + 1, "seconds = min(seconds, limits.step_timeout)")
    src.add(indent, "try:")
    src.add(indent + 1, "async with _timeout(seconds):")
    _body(src, indent + 2, step)
    src.add(indent, "except TimeoutError:")
    src.add(indent + 1, "raise _timed_out(seconds) from None")


def _body(src: _Source, indent: int, step: Step) -> None:
    if step.plan is None:
        src.add(indent, f"result = await {src.name('BODY', step.body)}(frame, scope)")
        return
    plan: ToolPlan = step.plan
    tool = src.name("T", plan.tool)
    _arguments(src, indent, plan)
    src.add(indent, "if trace is not None:")
    src.add(indent + 1, f"frame.traced_args[{src.name('PATH', step.site.path)}] = dict(args)")
    # The permission gate first: a call it refuses is not made, so it is not counted (the
    # count, and max_tool_calls, are of the calls a run makes). A tool in `direct` passed it.
    src.add(indent, f"function = direct.get({tool})")
    src.add(indent, "if function is None:")
    src.add(indent + 1, f"frame.bridge.admit({tool}, args, frame.pipeline)")
    src.add(indent, "state.tool_calls += 1")
    src.add(indent, "if state.tool_calls > max_calls:")
    src.add(indent + 1, f"raise {src.name('LIMIT', tool_call_limit)}(max_calls)")
    src.add(indent, "try:")
    src.add(indent + 1, "if function is None:")
    src.add(indent + 2, f"result = await frame.bridge.call_tool_unchecked({tool}, args)")
    src.add(indent + 1, "else:")
    src.add(indent + 2, "result = await function(**args)")
    src.add(indent, "except StepError:")
    src.add(indent + 1, "raise")
    src.add(indent, "except Exception as exc:")
    src.add(indent + 1, f"raise _bridge_failure({tool}, exc) from exc")
    src.add(indent, "if type(result) is dict and result.get('success') is False:")
    src.add(indent + 1, f"raise {src.name('FAILED', tool_failed)}({tool}, result)")


def _timed_out(seconds: float) -> StepError:
    return StepError(
        ErrorKind.TIMEOUT,
        f"the step took longer than its timeout of {seconds:g} s",
        hint="raise `timeout:` on the step, or find out why the tool is slow",
        details={"timeout": seconds},
    )


def bridge_failure(tool: str, exc: Exception) -> StepError:
    """What a backend raised (a bug or a broken tool), as a step error."""
    if isinstance(exc, TypeError):
        return StepError(
            ErrorKind.INVALID_ARGUMENTS,
            f"{tool} rejected its arguments: {exc}",
            details={"tool": tool},
        )
    return StepError(
        ErrorKind.TOOL_FAILED,
        f"{tool} raised {type(exc).__name__}: {exc}",
        hint="this is a fault in the tool or its server, not in the action",
        details={"tool": tool},
    )


def _arguments(src: _Source, indent: int, plan: ToolPlan) -> None:
    """Code that builds ``args`` in the order `with:` writes them (the order the tool
    and the trace see), and refuses them when they hold too much data together (as
    :func:`~engine.run._sizes.check_fields` measures, inline), at `with:`."""
    written = {name: _literal(src, value) for name, value in plan.constants.items()}
    if plan.dynamic:
        _templated_arguments(src, indent, plan, written)
    items = [f"{src.name('N', name)}: {written[name]}" for name in plan.order]
    src.add(indent, "args = {" + ", ".join(items) + "}")


def _templated_arguments(
    src: _Source, indent: int, plan: ToolPlan, written: dict[str, str]
) -> None:
    """Code that computes the templated arguments into locals (``written``: the Python
    expression of each argument, by name, gets theirs), checked and measured."""
    # One function Jinja's code generator wrote computes all the templated values (one
    # call, one render context, one evaluation clock: the time they compute together is
    # what the budget bounds), each failure located at its own value.
    values = together([_located(render) for _name, render, _exact, _check in plan.dynamic])
    names = [f"a{index}" for index in range(len(plan.dynamic))]
    src.add(indent, f"{', '.join(names)}, = {src.name('V', values.compiled())}(scope)")
    measured = combines_values(plan.dynamic)
    if measured:
        src.add(indent, f"size = {src.name('Z', _constant_size(dict(plan.constants)))}")
    for local, (name, _render, exact, check) in zip(names, plan.dynamic, strict=True):
        written[name] = local
        if check is not None:
            checker = src.name("C", check)
            if exact is None:
                src.add(indent, f"{local} = {checker}({local})")
            else:
                src.add(indent, f"if type({local}) not in {src.name('E', exact)}:")
                src.add(indent + 1, f"{local} = {checker}({local})")
        if measured:
            _measure(src, indent, exact if check is not None else None, "max_text", local)
    if measured:
        src.add(indent, "if size > max_text:")
        too_big_ = f"_too_big({src.name('W', f'the arguments of {plan.tool}')}, size, max_text)"
        if plan.site is not None:  # no single argument is at fault: the error is at `with:`
            too_big_ = f"{src.name('SITE', plan.site)}.locate({too_big_}, None)"
        src.add(indent + 1, f"raise {too_big_}")


def _located(render: Any) -> tuple[Any, Site | None]:
    """A compiled template value and where it was written (None: not known)."""
    if type(render) is Located:
        return render.renderer, render.site
    return render, None


def _measure(
    src: _Source, indent: int, kinds: frozenset[type] | None, cap: str, value: str = "value"
) -> None:
    """Code that adds the data the local ``value`` holds to ``size`` (as check_fields
    counts it); ``kinds``: the types the argument's checker lets through, when known."""
    if kinds is not None and kinds <= SCALARS:
        return
    if kinds == frozenset({str}):
        src.add(indent, f"size += len({value})")
        return
    src.add(indent, f"if type({value}) is str:")
    src.add(indent + 1, f"size += len({value})")
    src.add(indent, f"elif type({value}) not in _SCALARS:")
    src.add(indent + 1, f"size += _data_size({value}, {cap})")


def _constant_size(constants: dict[str, Any]) -> int:
    """What the constant arguments count towards the data bound (see check_fields)."""
    size = 0
    for value in constants.values():
        if type(value) is str:
            size += len(value)
        elif type(value) not in SCALARS:
            size += estimate_text_size(value, UNLIMITED)
    return size


def _literal(src: _Source, value: Any) -> str:
    literal = src.name("K", value)
    return f"_deepcopy({literal})" if isinstance(value, list | dict) else literal


def make_fields(
    items: Sequence[tuple[str, Any]], subject: str = "the outputs", site: Site | None = None
) -> Callable[[Any], dict[str, Any]]:
    """One function rendering named values (an action's outputs, an event's data) into a
    new mapping, generated when it first runs; ``subject`` names them when together they
    hold too much data, an error located at ``site`` (their key: ``outputs:``) if given."""
    return _Lazy(_generate_fields, (tuple(items), subject, site))


def _generate_fields(
    spec: tuple[tuple[tuple[str, Any], ...], str, Site | None],
) -> Callable[[Any], dict[str, Any]]:
    items, subject, site = spec
    src = _Source()
    src.add(0, "def fields(scope):")
    # The templated values are computed together, by one function Jinja's code
    # generator wrote (see _arguments); constant ones are copied as they were written.
    templated = {index for index, (_name, render) in enumerate(items) if _templated(render)}
    if templated:
        values = together([_located(items[index][1]) for index in sorted(templated)])
        locals_ = ", ".join(f"a{index}" for index in sorted(templated))
        src.add(1, f"{locals_}, = {src.name('V', values.compiled())}(scope)")
    src.add(1, "out = {}")
    measured = len(items) > 1  # one value is passed on as it was measured when made
    if measured:
        src.add(1, "cap = _template_cap()")
        src.add(1, "size = 0")
    for index, (name, render) in enumerate(items):
        if index in templated:
            src.add(1, f"value = a{index}")
        else:
            src.add(1, f"value = {src.name('R', render)}(scope)")
        if measured:
            _measure(src, 1, None, "cap")
        src.add(1, f"out[{src.name('N', name)}] = value")
    if measured:
        src.add(1, "if size > cap:")
        too_big_ = f"_too_big({src.name('W', subject)}, size, cap)"
        if site is not None:  # no single value is at fault: the error is at their key
            too_big_ = f"{src.name('SITE', site)}.locate({too_big_}, None)"
        src.add(2, f"raise {too_big_}")
    src.add(1, "return out")
    src.namespace["_template_cap"] = _template_cap
    return _build(src, "fields")  # type: ignore[no-any-return]


def _templated(render: Any) -> bool:
    """True for a compiled value holding templates (one :class:`Values`), located or not."""
    return isinstance(_located(render)[0], Values)


def _template_cap() -> int:
    return current_limits().max_template_output


_CODE: dict[str, Any] = {}


def _build(src: _Source, name: str) -> Any:
    """Compile (once per distinct source: actions alike in shape share it) and bind to
    this block's namespace."""
    source = "\n".join(src.lines)
    code = _CODE.get(source)
    if code is None:
        code = compile(source, f"<km-actions {name} {next(_COUNTER)}>", "exec")
        if len(_CODE) > 4096:
            _CODE.clear()
        _CODE[source] = code
    exec(code, src.namespace)  # our own generated source; see the module docstring
    return src.namespace[name]
