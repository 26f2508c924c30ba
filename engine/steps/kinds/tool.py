"""`tool: km_…` with its arguments under ``with:``: a call of one tool.

Its body is the one the code generator writes out whole (:mod:`engine.run._codegen`):
``compile`` gives the plan it is written from (made by the compiler's ``tool_call``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from engine.diagnostics.errors import Diagnostic
from engine.steps.kinds.base import (
    F,
    KindCompiler,
    KindStep,
    S,
    Walker,
    field_mapping,
)
from engine.steps.nodes import WithArgs


class ToolStep(WithArgs, KindStep):
    """``tool: km_…`` with its arguments under ``with:``."""

    __slots__ = ()

    kind: ClassVar[str | None] = "tool"

    @property
    def tool(self) -> Any:
        """The tool's name, if text (anything else is a schema error)."""
        return self.data.get("tool")

    def check(self, walker: Walker[F, S], flow: F, scope: S) -> Iterator[Diagnostic]:
        path, name, args = self.path, self.tool, self.args
        yield from walker.refs.value(args, (*path, "with"), flow, scope)
        if not isinstance(name, str):
            return
        catalog = walker.catalog
        tool = catalog.get(name)
        if tool is None:
            message, hint = catalog.missing_tool(name)
            yield walker.document.diagnostic("unknown-tool", message, (*path, "tool"), hint=hint)
            return
        walker.tool_call(tool, args, path, self.id)
        if not isinstance(args, Mapping) or (
            not self.has_args and any(k not in walker.step_properties for k in self.data)
        ):
            return  # a misspelt or mistyped `with:` is already reported
        yield from walker.tool_arguments(tool, args, (*path, "with"))

    def compile(self, compiler: KindCompiler) -> Any:
        c = compiler
        tool = str(self.tool)
        args = field_mapping(self, self.args or {}, "with")
        return c.tool_call(tool, args, self.at("with"), self.document)
