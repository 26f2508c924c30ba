"""Static analysis of a parsed expression: every problem and every name it reads."""

from __future__ import annotations

import ast
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Final

from engine.diagnostics.suggestions import did_you_mean, you_mean
from engine.lang._expression_hints import (
    FILTER_FORMS,
    TEST_NAMES,
    filter_name,
    filter_suggestion,
    jinja_test_suggestion,
)
from engine.lang._expression_syntax import (
    BITWISE,
    CONSTANT_NAMES,
    JINJA,
    SYNTAX,
    SYNTAX_HINT,
    Source,
    chain_links,
)
from engine.lang.sandbox.functions import SPECIAL_FORMS
from engine.lang.sandbox.lookups import ALLOWED_METHODS, method_hint
from engine.lang.sandbox.references import (
    PathPart,
    Problem,
    Reference,
    format_reference,
    private_key_hint,
)
from engine.lang.sandbox.sizes import MAX_INT_BITS, number_too_long

_MAX_DEPTH: Final = 100
# The node types `visit` tells apart, built once: `isinstance(x, A | B)` builds the union
# anew each time it runs (~0.2 us), and it runs for every node of every expression.
_CHAIN: Final = (ast.Name, ast.Attribute, ast.Subscript)
_WALKED: Final = (ast.UnaryOp, ast.BoolOp, ast.IfExp, ast.List, ast.Tuple, ast.Dict, ast.Slice)
_OPERATORS: Final = (ast.boolop, ast.unaryop, ast.expr_context)
_IS: Final = (ast.Is, ast.IsNot)


_UNSUPPORTED: Final[Mapping[type[ast.AST], tuple[str, str]]] = {
    ast.ListComp: ("comprehensions are not supported", "use a `foreach` step"),
    ast.SetComp: ("comprehensions are not supported", "use a `foreach` step"),
    ast.DictComp: ("comprehensions are not supported", "use a `foreach` step"),
    ast.GeneratorExp: ("comprehensions are not supported", "use a `foreach` step"),
    ast.Lambda: ("lambdas are not supported", "use the built-in functions"),
    ast.JoinedStr: ("f-strings are not supported", "join text with +: 'Hello ' + str(name)"),
    ast.NamedExpr: ("assignments (`:=`) are not supported", "use a `set` step"),
    ast.Starred: ("`*` unpacking is not supported", "pass the items one by one"),
    ast.Set: ("set literals `{…}` are not supported", "use a list: [a, b]"),
    ast.Await: ("`await` is not supported", SYNTAX_HINT),
    ast.Yield: ("`yield` is not supported", SYNTAX_HINT),
    ast.YieldFrom: ("`yield` is not supported", SYNTAX_HINT),
}


@functools.lru_cache(maxsize=512)
def _signature(function: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(function)
    except (TypeError, ValueError):  # builtins such as max have none
        return None


def _signature_error(function: Callable[..., Any], node: ast.Call) -> str | None:
    signature = _signature(function)
    if signature is None:
        return None
    try:
        signature.bind(*node.args, **{k.arg: k.value for k in node.keywords if k.arg})
    except TypeError as exc:
        return str(exc)
    return None


class ExpressionAnalyzer:
    """Walks a parsed expression, collecting its problems and the names it reads."""

    def __init__(self, source: Source, functions: Mapping[str, Callable[..., Any]]) -> None:
        self.source = source
        self.functions = functions
        self.problems: list[Problem] = []
        self.references: list[Reference] = []
        self.too_deep = False

    def problem(self, code: str, message: str, hint: str | None, node: ast.AST | None) -> None:
        line, column = (None, None)
        if node is not None:
            line, column = self.source.position(
                getattr(node, "lineno", None), getattr(node, "col_offset", None)
            )
        self.problems.append(Problem(code, message, hint, line, column))

    def visit(self, node: ast.AST, guarded: bool = False, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                self.problem(SYNTAX, "the expression is nested too deeply", SYNTAX_HINT, node)
            return
        depth += 1
        if isinstance(node, _CHAIN):
            self.visit_chain(node, guarded, depth)
        elif isinstance(node, ast.Constant):
            if type(node.value) not in (str, int, float, bool, type(None)):
                self.problem(
                    SYNTAX,
                    f"{type(node.value).__name__} values are not supported",
                    "use text, numbers, true/false or null",
                    node,
                )
            elif type(node.value) is int and node.value.bit_length() > MAX_INT_BITS:
                self.problem(SYNTAX, *number_too_long(node.value), node)
        elif isinstance(node, ast.Call):
            self.visit_call(node, guarded, depth)
        elif isinstance(node, ast.BinOp):
            self.visit_binop(node, guarded, depth)
        elif isinstance(node, ast.Compare):
            self.visit_compare(node, guarded, depth)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            self.problem(
                SYNTAX,
                "the `~` operator is not supported",
                "in expressions, join text with +: str(a) + str(b)",
                node,
            )
        elif isinstance(node, ast.Dict) and any(key is None for key in node.keys):
            self.problem(
                SYNTAX, "`**` unpacking is not supported", "list the keys one by one", node
            )
        elif isinstance(node, _WALKED):
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, _OPERATORS):
                    self.visit(child, guarded, depth)
        else:
            message, hint = _UNSUPPORTED.get(
                type(node),
                (f"`{type(node).__name__}` is not supported in expressions", SYNTAX_HINT),
            )
            self.problem(SYNTAX, message, hint, node)

    def visit_chain(self, node: ast.expr, guarded: bool, depth: int) -> None:
        base, links = chain_links(node)
        root = base.id if isinstance(base, ast.Name) else None
        for index, (key, is_attribute, link) in enumerate(links):
            if is_attribute and str(key).startswith("_"):
                self.problem(
                    "forbidden-name",
                    f"`.{key}` is not allowed: names starting with `_` are private",
                    private_key_hint(root, [k for k, _, _ in links[: index + 1]]),
                    link,
                )
        if isinstance(base, ast.Name):
            if base.id.startswith("_"):
                self.problem(
                    "forbidden-name",
                    f"`{base.id}` is not allowed: names starting with `_` are private",
                    "use the names in scope: inputs, vars, steps, …",
                    base,
                )
            elif base.id not in CONSTANT_NAMES:
                path: list[PathPart] = []
                for key, _, _ in links:
                    if key is None:
                        break
                    path.append(key)
                text = format_reference(base.id, path)
                self.references.append(Reference(base.id, tuple(path), guarded, text))
        else:
            self.visit(base, guarded, depth)
        for key, is_attribute, link in links:
            if key is None and not is_attribute and isinstance(link, ast.Subscript):
                self.visit(link.slice, guarded, depth)

    def visit_call(self, node: ast.Call, guarded: bool, depth: int) -> None:
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                self.problem(
                    SYNTAX, "`*` unpacking is not supported", "pass the items one by one", argument
                )
        if any(keyword.arg is None for keyword in node.keywords):
            self.problem(SYNTAX, "`**` unpacking is not supported", "pass arguments by name", node)
        func = node.func
        arguments: list[ast.expr] = [*node.args, *(k.value for k in node.keywords)]
        if isinstance(func, ast.Name) and func.id in SPECIAL_FORMS:
            self.check_special_form(func.id, node)
            if arguments:
                self.visit(arguments[0], True, depth)
            arguments = arguments[1:]
        elif isinstance(func, ast.Name):
            function = self.functions.get(func.id)
            if function is None:
                self.unknown_function(func.id, node)
            else:
                error = _signature_error(function, node)
                if error is not None:
                    self.problem(
                        SYNTAX,
                        f"wrong arguments for `{func.id}()`: {error}",
                        f"see the `{func.id}` function in the docs",
                        node,
                    )
        elif isinstance(func, ast.Attribute):
            if func.attr.startswith("_") or func.attr not in ALLOWED_METHODS:
                self.problem(
                    "forbidden-name",
                    f"the method `{func.attr}` is not allowed",
                    method_hint(func.attr),
                    func,
                )
            self.visit(func.value, guarded, depth)
        else:
            self.problem(
                "unknown-function",
                "only named functions can be called",
                "call a function by its name, e.g. len(x)",
                node,
            )
            self.visit(func, guarded, depth)
        for argument in arguments:
            self.visit(
                argument.value if isinstance(argument, ast.Starred) else argument, guarded, depth
            )

    def check_special_form(self, name: str, node: ast.Call) -> None:
        count = len(node.args) + len(node.keywords)
        if name == "defined" and count != 1:
            self.problem(SYNTAX, "defined() takes exactly one value", "defined(inputs.name)", node)
        elif name == "default" and not 1 <= count <= 3:
            self.problem(
                SYNTAX,
                "default() takes a value and a fallback",
                "default(inputs.name, 'anonymous')",
                node,
            )

    def unknown_function(self, name: str, node: ast.Call) -> None:
        known = sorted({*self.functions, *SPECIAL_FORMS})
        form = FILTER_FORMS.get(name)
        if form is not None and "(" in form:
            hint = you_mean(form.split("(")[0], code=True)
        else:
            hint = did_you_mean(name, known, listing=False, code=True) or (
                f"functions you can use: {', '.join(known)}"
            )
        self.problem("unknown-function", f"unknown function `{name}`", hint, node)

    def visit_binop(self, node: ast.BinOp, guarded: bool, depth: int) -> None:
        symbol = BITWISE.get(type(node.op))
        if symbol is None:
            self.visit(node.left, guarded, depth)
            self.visit(node.right, guarded, depth)
            return
        suggestion = filter_suggestion(self.source, self.functions, node)
        if suggestion is not None:
            name = filter_name(node) or ""
            self.problem(
                JINJA,
                f"`{self.source.segment(node)}` uses the template filter "
                f"`| {name}`, which expressions do not have",
                suggestion,
                node,
            )
        else:
            self.problem(
                SYNTAX,
                f"the `{symbol}` operator is not supported",
                "use `and`, `or`, `not` for conditions",
                node,
            )
        if suggestion is None:
            self.visit(node.left, guarded, depth)
            self.visit(node.right, guarded, depth)
            return
        # One problem for a whole chain `x | a | b`: visit the filters' arguments and x.
        current: ast.expr = node
        while isinstance(current, ast.BinOp) and filter_name(current) is not None:
            if isinstance(current.right, ast.Call):
                for argument in current.right.args:
                    self.visit(argument, guarded, depth)
            current = current.left
        self.visit(current, guarded, depth)

    def visit_compare(self, node: ast.Compare, guarded: bool, depth: int) -> None:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, _IS):
                negated = isinstance(op, ast.IsNot)
                source = f"{self.source.segment(left)} is {'not ' if negated else ''}"
                source += self.source.segment(right)
                self.problem(
                    JINJA,
                    f"`{source}` is a template test; expressions have no `is`",
                    jinja_test_suggestion(self.source, left, right, negated),
                    node,
                )
            left = right
        self.visit(node.left, guarded, depth)
        for op, right in zip(node.ops, node.comparators, strict=True):
            test = right.func if isinstance(right, ast.Call) else right
            if not isinstance(op, _IS):
                self.visit(right, guarded, depth)
            elif isinstance(test, ast.Name) and test.id in TEST_NAMES:
                for argument in right.args if isinstance(right, ast.Call) else ():
                    self.visit(argument, guarded, depth)
            else:
                self.visit(right, guarded, depth)
