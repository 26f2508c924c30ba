"""Invoking a pipeline: inputs checked, a frame set up, steps run, outputs projected."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.suggestions import did_you_mean
from engine.lang.limits import Limits, reset_limits, set_limits
from engine.run._state import Frame, ReturnSignal, RunState
from engine.run.model import Pipeline
from engine.validate.inputs import InputSpec

_ABSENT: Any = object()


def prepare_inputs(
    pipeline: Pipeline, given: Mapping[str, Any] | None, state: RunState, *, located: bool = True
) -> dict[str, Any]:
    """The inputs a run sees: given values checked, defaults applied, secrets noted.

    A value that does not fit is reported at ``$.inputs.<name>``, the input's declaration
    in the action's file (``located``; an action called by an `action` step is not: its
    caller's step is where the value was given)."""
    given = given or {}
    specs = pipeline.inputs
    for name in given:
        if name not in specs:
            hint = did_you_mean(str(name), specs) if specs else "this action takes no inputs"
            raise _refused(
                pipeline,
                str(name),
                f"{pipeline.qualified_name} has no input `{name}`",
                hint,
                located,
            )
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        value = given.get(name, _ABSENT)
        if value is None and not spec.required:
            # null for an optional input means "not given" (as JSON callers mean it, and
            # as `with: {x: "{{ inputs.x }}"}` passes on an optional input left out).
            value = _ABSENT
        if value is not _ABSENT:
            if spec.secret:
                # Noted before it is checked: even a value that does not fit is secret.
                state.secrets.note(value, f"the secret input `{name}`")
            if type(value) in spec.plain_types:
                values[name] = value
                continue
            problems = spec.problems(value)
            if problems:
                raise _refused(
                    pipeline,
                    name,
                    f"input `{name}` of {pipeline.qualified_name} {problems[0]}",
                    _how_to_give(pipeline, spec, located),
                    located,
                )
            values[name] = spec.normalize(value)
            continue
        if spec.has_default:
            value = (
                copy.deepcopy(spec.default)
                if isinstance(spec.default, list | dict)
                else spec.default
            )
            if spec.secret:
                state.secrets.note(value, f"the secret input `{name}`")
        elif spec.required:
            raise _refused(
                pipeline,
                name,
                f"{pipeline.qualified_name} needs the input `{name}`",
                _how_to_give(pipeline, spec, located),
                located,
            )
        else:
            value = None
        values[name] = value
    return values


def _how_to_give(pipeline: Pipeline, spec: InputSpec, located: bool) -> str:
    """The hint for an input not given, or given a value that does not fit: what it
    takes (its description too), and where to give it (``located``: by whoever runs the
    action; else in the `action:` step calling it)."""
    if located:
        return spec.how_to_give(f"give it as --input {spec.name}=…")
    # The error is at the call: say where the input is declared when nothing describes it.
    return spec.how_to_give(
        f"give it under `with:` in the step that calls {pipeline.qualified_name}",
        about=f" (see `inputs:` in {pipeline.file or pipeline.qualified_name})",
    )


def _refused(
    pipeline: Pipeline, name: str, message: str, hint: str | None, located: bool
) -> StepError:
    """The error for the input ``name``, at its site when ``located``."""
    error = StepError(ErrorKind.INVALID_INPUT, message, hint=hint, details={"input": name})
    return pipeline.input_site(name).locate(error, None) if located else error


async def invoke(
    pipeline: Pipeline,
    given: Mapping[str, Any] | None,
    state: RunState,
    grant: Any,
    depth: int,
    config: Mapping[str, Any],
    bridge: Any = None,
    progress: Any = None,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """Run ``pipeline`` as one action invocation and return its outputs (``bridge``: the
    guarded bridge for ``grant``, when the caller already has it; ``progress``: an async
    callback ``(done, total, message)`` after each top-level step; ``limits``: stricter
    ones than the run's, for an action of a plugin installed under a stricter profile)."""
    inputs = prepare_inputs(pipeline, given, state, located=depth == 0)
    token = None
    if limits is None or limits is state.limits:
        frame = Frame(state, pipeline, bridge or state.make_bridge(pipeline, grant), depth)
    else:
        # Its own guard (the tool classes its limits allow) and its limits inside
        # templates and expressions too (its outputs' included).
        guard = state.make_bridge.with_limits(limits)(pipeline, grant)
        frame = Frame(state, pipeline, guard, depth, limits)
        token = set_limits(limits)
    # The names its templates and expressions see.
    scope = {"inputs": inputs, "vars": frame.vars, "steps": frame.steps, "config": config}
    block = pipeline.block
    assert block is not None  # every compiled pipeline has one (only hooks' anchor has not)
    try:
        await block(frame, scope, progress)
        if pipeline.outputs is None:
            return {}
        outputs: dict[str, Any] = pipeline.outputs(scope)  # measured there, as check_fields does
        return outputs
    except ReturnSignal as signal:
        return (
            {name: signal.outputs.get(name) for name in pipeline.output_names}
            if pipeline.output_names
            else dict(signal.outputs)
        )
    finally:
        if token is not None:
            reset_limits(token)
