"""The code generator of templates: Jinja's, writing a set of values as one function.

Every template runs as code Jinja's code generator wrote (as in Jinja, no interpreter
beside it). :func:`values_tree` puts the templates of a set of values (a step's
arguments, an action's outputs; one template is the one-value case) in one tree, and
:class:`ValuesCodeGenerator` writes it as one function computing all of them from a
scope, each checked as it is made; a plain object's key is read by the generated code
itself (see :mod:`engine.lang._template_values` for what the function refers to).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import StringIO
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.idtracking import VAR_LOAD_RESOLVE


def values_tree(leaves: Sequence[nodes.Node], result: str) -> nodes.Template:
    """The tree of a set of values computed by one function (see
    :class:`engine.lang.templates.Values`): ``leaves`` are the templates, in order, each
    a native template's expression or a text template's :class:`~jinja2.nodes.Output`;
    ``result`` is the Python expression of what the function returns, built of the
    names ``v0``, ``v1``, … of the leaves' values and of constants the function's
    namespace holds (never of manifest text). Jinja allows no new node types: the
    template node carries ``result``, which :class:`ValuesCodeGenerator` reads."""
    body = [
        leaf if isinstance(leaf, nodes.Output) else nodes.ExprStmt(leaf, lineno=1)
        for leaf in leaves
    ]
    template = nodes.Template(body, lineno=1)
    template.values_result = result  # type: ignore[attr-defined]  # see the docstring
    return template


# The nodes of code that only reads and joins: it calls nothing that checks the evaluation
# clock (filters, calls, operators, tests do), and its cost is bounded by the size
# limits, so a set of values made of these alone is not timed (see ``timed``).
_READS: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.ExprStmt,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Getattr,
    nodes.Getitem,
)

# What a values function may use, set up when its code names it (see leave_frame).
_PREAMBLE = (
    ("scope_get", "scope_get = scope.get"),
    ("context", "context = _Context(scope)"),
    ("limits", "limits = _limits()"),
    ("max_string", "max_string = limits.max_string_length"),
    ("limit", "limit = limits.max_template_output"),
    ("undefined", "undefined = environment.undefined"),
    ("cond_expr_undefined", "cond_expr_undefined = Undefined"),
)


class ValuesCodeGenerator(CodeGenerator):
    """Jinja's code generator, writing a :func:`values_tree` as one function that
    computes every value from a scope and returns them (any other tree as Jinja writes
    it). Jinja creates an ExprStmt for ``{% do %}`` only, an extension the sandbox does
    not enable (and templates hold no statements): here it is a native value."""

    values: str | None = None  # values_tree's result: the root computes values from a scope
    outer: Any = None  # the stream write_commons set aside, and the one it wrote to
    aside: StringIO
    leaf = 0  # the index of the value being written
    # Whether the values function runs under the evaluation clock: only code that can
    # check it (engine.lang.sandbox.budget) starts it; two clock readings and two calls
    # are a third of what computing a plain reference costs.
    timed = True

    # The NodeVisitor protocol names these methods.
    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        self.values = getattr(node, "values_result", None)
        self.timed = not all(isinstance(child, _READS) for child in node.find_all(nodes.Node))
        super().visit_Template(node, frame)

    def enter_frame(self, frame: Frame) -> None:
        """The names a values function reads: from the scope, else from the engine's
        globals (as the render context's ``resolve_or_missing`` reads them)."""
        if self.values is None or not frame.rootlevel:
            super().enter_frame(frame)
            return
        for target, (action, name) in frame.symbols.loads.items():
            # A values template holds expressions only (no `set`, `for`, macro): Jinja's
            # symbol tracking can only have resolved each name it reads.
            assert action == VAR_LOAD_RESOLVE, f"load {action} in a values function"
            self.writeline(f"{target} = scope_get({name!r}, missing)")
            self.writeline(f"if {target} is missing:")
            self.indent()
            self.writeline(f"{target} = environment.globals.get({name!r}, missing)")
            self.outdent()

    def visit_ExprStmt(self, node: nodes.ExprStmt, frame: Frame) -> None:
        if self.values is None:  # pragma: no cover - `{% do %}` is not enabled
            super().visit_ExprStmt(node, frame)
            return
        # A native value: a string within max_string_length, a whole number that can be
        # shown, a float, a boolean or None is what it is; anything else is checked by
        # `_native` (sizes, JSON-like data), which refuses what the test here lets through.
        value = f"v{self._next_value()}"
        self.writeline(f"{value} = ", node)
        self.visit(node.node, frame)
        self.writeline(
            f"if not (type({value}) is str and len({value}) <= max_string"
            f" or type({value}) is int and {value}.bit_length() <= _max_bits"
            f" or type({value}) is bool or {value} is None or type({value}) is float):"
        )
        self.indent()
        self.writeline(f"{value} = _native({value}, scope)")
        self.outdent()

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        if self.values is None:
            super().visit_Output(node, frame)
            return
        self._text(node, f"v{self._next_value()}", frame)

    def _next_value(self) -> int:
        """``at`` names the value being computed (:func:`values_tree`): when it fails,
        ``_fail`` turns what was raised into that value's StepError."""
        index = self.leaf
        self.leaf += 1
        self.writeline(f"at = {index}")
        return index

    def leave_frame(self, frame: Frame, with_python_scope: bool = False) -> None:
        super().leave_frame(frame, with_python_scope)
        if self.values is None or not frame.rootlevel:
            return
        # The end of what write_commons began: every value computed, under one clock.
        self.writeline(f"return {self.values}")
        self.outdent()
        self.writeline("except Exception as exc:")
        self.indent()
        self.writeline("_fail(exc, at, scope)")
        self.outdent()
        if self.timed:
            self.writeline("finally:")
            self.indent()
            self.writeline("_end(clock)")
            self.outdent()
        body, self.stream = self.aside.getvalue(), self.outer
        # Jinja's preamble, as far as the code uses it (a constant's text holding a name
        # sets it up for nothing), without `resolve` (names are read in enter_frame) and
        # `if 0: yield None`, which makes every root a generator.
        used, lines = body, []
        for name, line in reversed(_PREAMBLE):  # a line may use one set up before it
            if name in used:
                lines.append(line)
                used += line
        for line in reversed(lines):
            self.writeline(line)
        self.stream.write(body)

    piece = ""  # the name of the text piece being written (see _output_child_pre)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        """A piece of text: a string is itself (as ``environment.finalize`` and ``str``
        would leave it), anything else goes through both."""
        if self.values is None:  # pragma: no cover - every template is a values tree
            super()._output_child_pre(node, frame, finalize)
            return
        self.piece = self.temporary_identifier()
        self.write(f"({self.piece} if type({self.piece} := ")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if self.values is None:  # pragma: no cover - every template is a values tree
            super()._output_child_post(node, frame, finalize)
            return
        self.write(f") is str else str(environment.finalize({self.piece})))")

    def _text(self, node: nodes.Output, target: str, frame: Frame) -> None:
        """A text template's pieces, grouped and finalized as Jinja's ``visit_Output``
        groups them, each measured against ``max_template_output`` as it is made."""
        finalize = self._make_finalize()
        body: list[list[Any] | nodes.Expr] = []
        for child in node.nodes:  # constants folded as visit_Output folds them
            try:
                if not (finalize.const or isinstance(child, nodes.TemplateData)):
                    raise nodes.Impossible()
                const = self._output_child_to_const(child, frame, finalize)
            except Exception:  # not constant (Impossible), or fails when it runs
                body.append(child)
                continue
            if body and isinstance(body[-1], list):
                body[-1].append(const)
            else:
                body.append([const])
        pieces: list[str] = []
        self.writeline("size = 0")
        for item in body:
            if isinstance(item, list):
                pieces.append(self._output_const_repr(item))
                self.writeline(f"size += {len(''.join(map(str, item)))}")
            else:
                piece = self.temporary_identifier()
                pieces.append(piece)
                self.writeline(f"{piece} = ", item)
                self._output_child_pre(item, frame, finalize)
                self.visit(item, frame)
                self._output_child_post(item, frame, finalize)
                self.writeline(f"size += len({piece})")
            self.writeline("if size > limit:")
            self.indent()
            self.writeline("_check_size(size, 'max_template_output')")
            self.outdent()
        if not pieces:  # only comments
            self.writeline(f"{target} = ''")
        elif len(pieces) == 1:
            self.writeline(f"{target} = {pieces[0]}")
        else:
            self.writeline(f"{target} = ''.join(({', '.join(pieces)},))")

    callee: nodes.Node | None = None  # the `x.name` of the call being written

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        """A call: Jinja writes its callee first, which :meth:`visit_Getattr` then looks
        up as a method (an object's methods are found only when called)."""
        self.callee = node.node
        super().visit_Call(node, frame, forward_caller=forward_caller)

    @optimizeconst
    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        """``x.key``: a plain object's key is read by the compiled code itself, as
        :meth:`Sandbox.getattr` reads it first; anything else (another type, a missing
        key) calls that method (:meth:`Sandbox.getmethod` for ``x.name(…)``). Most of a
        template's work is such reads."""
        if node.attr[:1] == "_":  # never a key read: the sandbox decides
            super().visit_Getattr(node, frame)
            return
        method = "getmethod" if node is self.callee else "getattr"
        self._key_read(node.node, repr(node.attr), method, frame)

    @optimizeconst
    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        """``x['key']`` and ``x[0]`` with a constant key: as :meth:`visit_Getattr`."""
        key = node.arg
        if not isinstance(key, nodes.Const) or type(key.value) not in (str, int):
            super().visit_Getitem(node, frame)
            return
        self._key_read(node.node, repr(key.value), "getitem", frame)

    def _key_read(self, target: nodes.Node, key: str, method: str, frame: Frame) -> None:
        """``(v[key] if type(v := target) is dict and key in v else environment.method(v,
        key))``: the value is named once (``v`` is a fresh identifier), so the target is
        computed once; a dict's key never raises here (``in`` was checked first)."""
        value = self.temporary_identifier()
        self.write(f"({value}[{key}] if type({value} := ")
        self.visit(target, frame)
        self.write(f") is dict and {key} in {value} else environment.{method}({value}, {key}))")

    def write_commons(self) -> None:
        if self.values is None:
            super().write_commons()
            return
        # Called with the scope. Each value is checked as it is made (see visit_ExprStmt
        # and _text); one evaluation clock for all of them. What the code may use (the
        # render context, reading the scope in place; the limits; Jinja's names for
        # undefined values) is set up only when it does: the code is written aside until
        # that is known (see leave_frame).
        self.writeline("scope = context")
        self.outer = self.stream
        self.aside = self.stream = StringIO()
        self.writeline("at = 0")
        if self.timed:
            self.writeline("clock = _begin()")
        self.writeline("try:")
        self.indent()
