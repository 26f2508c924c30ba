"""What the compiler builds runnable steps from: the runtime it hands each step kind
(:data:`RUNTIME`: running nested steps, size checks, action calls, events, the tool plan
the code generator writes out), the generated blocks and fields, numbers and argument
checks.

The compiler binds every step to these once; the modules behind them stay private to the
runtime, which may change how a body runs without changing what the compiler calls.
"""

from __future__ import annotations

from engine.run._args import compile_checker, fast_types
from engine.run._codegen import ToolPlan, make_block, make_fields
from engine.run._numbers import Bounds, StepNumber
from engine.run._services import RUNTIME, Dynamic, KindRuntime, tool_plan
from engine.run._steps import Body

__all__ = [
    "RUNTIME",
    "Body",
    "Bounds",
    "Dynamic",
    "KindRuntime",
    "StepNumber",
    "ToolPlan",
    "compile_checker",
    "fast_types",
    "make_block",
    "make_fields",
    "tool_plan",
]
