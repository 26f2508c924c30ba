"""The step kinds: one module per kind, holding all that kind is.

Each module (``tool``, ``action``, ``set``, …; ``return_`` for `return`) holds its kind's
node class, a :class:`~engine.steps.kinds.base.KindStep` with the kind's two stages as
methods: ``check(walker, flow, scope)`` (what validation says beyond the schema) and
``compile(compiler)`` (what the step runs); and the runtime body ``compile`` builds (a
tool step's body is the one the code generator writes out whole, from the plan its
``compile`` gives).

The modules sit here, below the validator, the compiler and the runtime, because the
step builder (:mod:`engine.steps.build`) and the validator make nodes of their classes;
so they import none of those stages. Each stage hands a kind what it needs, typed by the
small Protocols of :mod:`engine.steps.kinds.base`: the validator's step walker
(:class:`~engine.steps.kinds.base.Walker`), the compiler
(:class:`~engine.steps.kinds.base.KindCompiler`) and, through it, the runtime
(:class:`~engine.steps.kinds.base.Runtime`: running nested steps, size checks, calling
another action, delivering an event). The import-linter contracts `kinds` and `layers`
(pyproject.toml) keep it so, with no function-level imports.

:data:`STEP_NODES` is the one table of kinds: the step builder, the validator and the
compiler all dispatch through it (to the node's class, then its methods). Adding a kind
is its rule in the schema, its module here, and its line in :data:`KINDS`
(tests/steps/test_kinds.py checks that the three agree).

>>> list(STEP_NODES)[:4]
['tool', 'action', 'set', 'foreach']
"""

from __future__ import annotations

from engine.steps.kinds.action import ActionStep
from engine.steps.kinds.base import KindStep
from engine.steps.kinds.choose import ChooseStep
from engine.steps.kinds.emit import EmitStep
from engine.steps.kinds.fail import FailStep
from engine.steps.kinds.foreach import ForeachStep
from engine.steps.kinds.parallel import ParallelStep
from engine.steps.kinds.repeat import RepeatStep
from engine.steps.kinds.return_ import ReturnStep
from engine.steps.kinds.set import SetStep
from engine.steps.kinds.tool import ToolStep
from engine.steps.kinds.wait import WaitStep

# Each kind's node class, in the order of the schema's step rules (a test keeps them the
# same): the one place a new kind is registered.
KINDS: tuple[type[KindStep], ...] = (
    ToolStep,
    ActionStep,
    SetStep,
    ForeachStep,
    ParallelStep,
    ChooseStep,
    RepeatStep,
    WaitStep,
    EmitStep,
    FailStep,
    ReturnStep,
)

STEP_NODES: dict[str, type[KindStep]] = {cls.kind: cls for cls in KINDS if cls.kind is not None}
"""Each kind's node class, by manifest keyword, in the schema's order."""

__all__ = [
    "KINDS",
    "STEP_NODES",
    "ActionStep",
    "ChooseStep",
    "EmitStep",
    "FailStep",
    "ForeachStep",
    "KindStep",
    "ParallelStep",
    "RepeatStep",
    "ReturnStep",
    "SetStep",
    "ToolStep",
    "WaitStep",
]
