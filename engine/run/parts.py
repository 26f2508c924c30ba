"""What the compiler builds runnable steps from: each kind's body, the tool plan the code
generator writes out, the generated blocks and fields, numbers and argument checks.

The compiler binds every step to these once; the modules behind them stay private to the
runtime, which may change how a body runs without changing what the compiler calls.
"""

from __future__ import annotations

from engine.run._args import compile_checker, fast_types
from engine.run._codegen import ToolPlan, make_block, make_fields
from engine.run._kinds import (
    Dynamic,
    action_body,
    choose_body,
    emit_body,
    fail_body,
    foreach_body,
    parallel_body,
    repeat_body,
    return_body,
    set_body,
    tool_plan,
    wait_body,
)
from engine.run._numbers import Bounds, StepNumber
from engine.run._steps import Body

__all__ = [
    "Body",
    "Bounds",
    "Dynamic",
    "StepNumber",
    "ToolPlan",
    "action_body",
    "choose_body",
    "compile_checker",
    "emit_body",
    "fail_body",
    "fast_types",
    "foreach_body",
    "make_block",
    "make_fields",
    "parallel_body",
    "repeat_body",
    "return_body",
    "set_body",
    "tool_plan",
    "wait_body",
]
