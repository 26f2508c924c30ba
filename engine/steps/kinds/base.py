"""What a kind module is written against: :class:`KindStep` (the node every kind's class
derives from, with the two methods a kind defines) and the small Protocols of what the
stages above hand over to it.

The kind modules sit low, beside the nodes (the step builder and the validator read
their classes), so they import nothing of ``engine.validate``, ``engine.compile`` or
``engine.run``. Each of those stages hands a kind what it needs instead, typed here:

- :class:`Walker`: what the validator's step walker offers a kind's ``check``
  (``engine.validate._steps.StepWalker``);
- :class:`KindCompiler`: what the action factory offers a kind's ``compile``
  (``engine.compile.compiler.Compiler``);
- :class:`Runtime`: what the runtime offers the bodies a kind builds
  (``engine.run.parts.RUNTIME``, handed over as ``KindCompiler.runtime``);
- :class:`Frame`: what a body sees of the action invocation it runs in
  (``engine.run._state.Frame``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

from engine.diagnostics.errors import CompileError, Diagnostic, Path
from engine.lang.limits import Limits
from engine.load.sourcemap import Document
from engine.steps.nodes import Block, StepNode
from engine.tools.catalog import ToolCatalog, ToolSpec

if TYPE_CHECKING:
    from asyncio import TaskGroup

Render = Callable[[Mapping[str, Any]], Any]
"""A compiled value: what it gives in a scope."""


# -- validation --------------------------------------------------------------------------


class Flow(Protocol):
    """What has happened before a point of the action (``engine.validate._refs.Flow``)."""

    ran: set[str]
    vars: set[str]

    def copy(self) -> Self: ...


class Scope(Protocol):
    """The names that exist only in some places (``engine.validate._refs.Scope``)."""

    def with_names(self, *names: str) -> Self: ...

    def with_item(self, name: str, shape: Any) -> Self: ...


F = TypeVar("F", bound=Flow)
S = TypeVar("S", bound=Scope)
_F = TypeVar("_F", contravariant=True)
_S = TypeVar("_S", contravariant=True)


class References(Protocol[_F, _S]):
    """What the reference checker says of the templates and expressions of a step."""

    def value(self, value: Any, path: Path, flow: _F, scope: _S) -> Iterator[Diagnostic]: ...

    def expression(self, value: Any, path: Path, flow: _F, scope: _S) -> Iterator[Diagnostic]: ...

    def item_shape(self, source: Any, scope: _S) -> Any: ...


class InputLike(Protocol):
    """An input of another action, as a caller sees it."""

    @property
    def required(self) -> bool: ...


class Signature(Protocol):
    """Another action, as a caller sees it (``engine.validate.context.ActionSignature``)."""

    @property
    def inputs(self) -> Mapping[str, InputLike]: ...

    @property
    def outputs(self) -> tuple[str, ...]: ...


class Walker(Protocol[_F, _S]):
    """What the validator's step walker offers a kind's ``check``: the document (for its
    diagnostics), the reference checker, the steps nested in a step, and what the walker
    keeps for the checks after the walk (permissions, calls, known results)."""

    @property
    def document(self) -> Document: ...

    @property
    def refs(self) -> References[_F, _S]: ...

    @property
    def catalog(self) -> ToolCatalog: ...

    @property
    def outputs(self) -> Sequence[str]: ...

    @property
    def step_properties(self) -> Collection[str]:
        """The keys a step may have (the schema's)."""

    @property
    def reserved_names(self) -> Collection[str]:
        """Names a manifest may not give a variable or loop item."""

    def walk(self, block: Block | None, flow: _F, scope: _S) -> Iterator[Diagnostic]:
        """Check a list of steps; ``flow`` is updated in place to what holds after it."""

    def merge(self, flow: _F, *others: _F) -> None:
        """Make ``flow`` what holds after any of ``others`` (each a copy of it) ran."""

    def tool_call(self, tool: ToolSpec, args: Any, path: Path, step_id: str | None) -> None:
        """Note a call of ``tool`` (what it needs, and what it answers for ``step_id``)."""

    def tool_arguments(
        self, tool: ToolSpec, args: Mapping[Any, Any], path: Path
    ) -> Iterator[Diagnostic]:
        """Check a call's arguments against the tool's inputSchema."""

    def action_call(self, target: str, path: Path) -> None:
        """Note a call of another action (for the check of cycles)."""

    def is_self(self, target: str) -> bool:
        """Whether ``target`` names the action being checked."""

    def resolve_action(self, target: str) -> Signature | None: ...

    def known_actions(self) -> list[str]: ...

    def no_such_action_hint(self) -> str: ...

    def action_result(self, step_id: str, target: str, signature: Signature | None) -> None:
        """Note what the step ``step_id`` (calling ``target``) gives as its result."""


# -- compiling and running ---------------------------------------------------------------


class Condition(Protocol):
    """A compiled expression (``if``, ``when``, ``until``, ``while``)."""

    def test(self, scope: Mapping[str, Any]) -> bool: ...

    def evaluate(self, scope: Mapping[str, Any]) -> Any: ...


class Number(Protocol):
    """One of a step's numbers, as written or rendered when the step runs
    (``engine.run.parts.StepNumber``)."""

    def value(self, scope: Mapping[str, Any]) -> int | float: ...

    def given(self, scope: Mapping[str, Any]) -> tuple[Any, int | float]:
        """What was given (for messages) and the number."""


class Clock(Protocol):
    async def sleep(self, seconds: float) -> None: ...


class RunState(Protocol):
    @property
    def clock(self) -> Clock: ...


class Frame(Protocol):
    """What a body sees of the action invocation it runs in."""

    @property
    def limits(self) -> Limits: ...

    @property
    def vars(self) -> dict[str, Any]: ...

    @property
    def state(self) -> RunState: ...


Body = Callable[[Frame, dict[str, Any]], Awaitable[Any]]
"""What a step of a kind other than `tool` runs: ``await body(frame, scope)`` gives its
result (the generated code calls it)."""

RunSteps = Callable[[Any, dict[str, Any]], Coroutine[Any, Any, None]]
"""A list of steps made runnable: ``await steps(frame, scope)``."""


class Runtime(Protocol):
    """What the runtime offers the bodies a kind builds: running nested steps, the size
    checks of what a step makes, and the services a body calls."""

    @property
    def return_signal(self) -> type[Exception]:
        """What a `return` raises with its outputs (caught where its action ends)."""

    def block(self, steps: Sequence[Any]) -> RunSteps:
        """Compiled steps, runnable in order (generated code)."""

    def check_value(self, value: Any, limits: Limits, name: str) -> None:
        """Refuse a value holding more data than ``max_template_output``."""

    def check_fields(self, values: dict[str, Any], limit: int, subject: str) -> None:
        """Refuse values holding more data together than ``limit``."""

    async def call_action(
        self,
        frame: Any,
        target: str,
        inputs: Render | None,
        scope: dict[str, Any],
    ) -> Any:
        """Run the action ``target`` with ``inputs`` (a mapping's renderer, None for no
        inputs) computed in ``scope``; its outputs."""

    async def emit(self, frame: Any, event: str, data: Any) -> None:
        """Send an event to the hooks listening for it, if any."""

    def task_group(self) -> TaskGroup:
        """A new ``asyncio.TaskGroup`` (handed over: checking a manifest, which imports
        the kinds, never loads asyncio)."""


class KindCompiler(Protocol):
    """What the action factory offers a kind's ``compile``: compiled values, numbers,
    conditions and nested steps, each located at its path, and the runtime."""

    @property
    def runtime(self) -> Runtime: ...

    def value(self, value: Any, path: Path, document: Document) -> Render: ...

    def fields(
        self, values: Mapping[str, Any], path: Path, document: Document, subject: str = ...
    ) -> Render: ...

    def number(self, value: Any, path: Path, document: Document) -> Number: ...

    def condition(self, value: Any, path: Path, document: Document) -> Condition: ...

    def source(self, value: Any, path: Path, document: Document) -> Render: ...

    def steps(self, block: Block | None) -> tuple[Any, ...]: ...

    def tool_call(self, tool: str, args: Mapping[str, Any], path: Path, document: Document) -> Any:
        """What a tool step does (its arguments ``args``, written at ``path``: the
        constant ones, how to render the others, in the order written), in the form the
        code generator writes out whole."""


# -- the node of a kind ------------------------------------------------------------------


class KindStep(StepNode):
    """A step of one kind: its class in its kind module, with the kind's two stages.

    ``check`` says what is wrong with the step beyond its schema (its references, the
    tools and actions it names, the steps in it); ``compile`` gives what it runs: a
    body (see :data:`Body`), or for `tool` the plan the code generator writes out.
    """

    __slots__ = ()

    kind: ClassVar[str | None]

    @abstractmethod
    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        """What is wrong with this step; ``flow`` is updated to what holds after it."""

    @abstractmethod
    def compile(self, compiler: KindCompiler) -> Any:
        """What this step runs (a :data:`Body`, or a tool step's plan)."""


def field_mapping(node: StepNode, value: Any, key: str) -> Mapping[Any, Any]:
    """A step's field that must be a mapping (see :func:`refused`)."""
    if isinstance(value, Mapping):
        return value
    raise refused(node, key)


def refused(node: StepNode, key: str) -> CompileError:
    """A step's field is not of its form. Validation says so, but does not check the steps
    after one that always stops the action (it warns that they never run)."""
    path = node.at(key)
    return CompileError(
        "only a valid action manifest can be compiled",
        hint="run `km-actions validate` on it first",
        path=path,
        span=node.document.span(path),
        file=node.document.file,
    )
