"""Expression evaluation: simpleeval with the sandbox's lookups, operators and special forms."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn

from simpleeval import SimpleEval

from engine.diagnostics.words import describe_value
from engine.lang._expression_syntax import BITWISE, CONSTANT_NAMES, SYNTAX_HINT, Source
from engine.lang.sandbox.budget import spend
from engine.lang.sandbox.failures import MissingValue, SandboxFailure
from engine.lang.sandbox.lookups import MISSING, forbidden, lookup_attribute, lookup_item
from engine.lang.sandbox.messages import friendly_type_error
from engine.lang.sandbox.operators import (
    COMPARISONS,
    op_add,
    op_floordiv,
    op_mod,
    op_mul,
    op_neg,
    op_not,
    op_pos,
    op_pow,
    op_sub,
    op_truediv,
)
from engine.lang.sandbox.references import Scope
from engine.lang.sandbox.sizes import check_size


def _unsupported_operator(*_: Any) -> NoReturn:
    raise SandboxFailure("this operator is not supported in expressions", SYNTAX_HINT)


_AST_OPERATORS: Final[Mapping[type[ast.AST], Callable[..., Any]]] = {
    ast.Add: op_add,
    ast.Sub: op_sub,
    ast.Mult: op_mul,
    ast.Div: op_truediv,
    ast.FloorDiv: op_floordiv,
    ast.Mod: op_mod,
    ast.Pow: op_pow,
    ast.USub: op_neg,
    ast.UAdd: op_pos,
    ast.Not: op_not,
    **COMPARISONS,
    **dict.fromkeys((*BITWISE, ast.Is, ast.IsNot), _unsupported_operator),
}


class Evaluator(SimpleEval):  # type: ignore[misc]  # simpleeval ships no type information
    """simpleeval with the sandbox's names, lookups, operators and lazy special forms.

    An instance holds the scope of the evaluation in progress, so each thread gets its
    own (see :class:`ExpressionEngine`).
    """

    def __init__(self, functions: dict[str, Callable[..., Any]]) -> None:
        super().__init__(operators=dict(_AST_OPERATORS), functions=functions, names={})
        self.nodes = {
            ast.Name: self._eval_name,
            ast.Constant: self._eval_constant,
            ast.UnaryOp: self._eval_unaryop,
            ast.BinOp: self._eval_binop,
            ast.BoolOp: self._eval_boolop,
            ast.Compare: self._eval_compare,
            ast.IfExp: self._eval_ifexp,
            ast.Call: self._eval_call,
            ast.Subscript: self._eval_subscript,
            ast.Attribute: self._eval_attribute,
            ast.Slice: self._eval_slice,
            ast.List: self._eval_list,
            ast.Tuple: self._eval_tuple,
            ast.Dict: self._eval_dict,
        }
        self.scope: Scope = {}
        self.source: Source | None = None

    def run(self, tree: ast.expr, scope: Scope, source: Source) -> Any:
        saved = self.scope, self.source
        self.scope, self.source = scope, source
        try:
            return self.eval(source.parsed, previously_parsed=tree)
        finally:
            self.scope, self.source = saved

    def _eval(self, node: ast.AST) -> Any:
        # No per-node _check_disallowed_items: it walks whole data structures, and with
        # names limited to the scope and methods to an allow-list there is nothing to find.
        handler = self.nodes.get(type(node))
        if handler is None:
            raise SandboxFailure(f"`{type(node).__name__}` is not supported in expressions")
        return handler(node)

    def _text(self, node: ast.AST) -> str:
        return self.source.segment(node) if self.source is not None else "the value"

    def _eval_name(self, node: ast.Name) -> Any:
        name = node.id
        if name in CONSTANT_NAMES:
            return CONSTANT_NAMES[name]
        if name.startswith("_"):
            raise forbidden(None, name)
        try:
            return self.scope[name]
        except KeyError:
            raise MissingValue(None, self.scope, name) from None

    def _eval_constant(self, node: ast.Constant) -> Any:
        return node.value

    def _eval_compare(self, node: ast.Compare) -> Any:
        left = self._eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self._eval(comparator)
            if not self.operators[type(op)](left, right):
                return False
            left = right
        return True

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        owner = self._eval(node.value)
        value = lookup_attribute(owner, node.attr)
        if value is MISSING:
            raise MissingValue(self._text(node.value), owner, node.attr, attribute=True)
        return value

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        owner = self._eval(node.value)
        key = self._eval(node.slice)
        value = lookup_item(owner, key)
        if value is MISSING:
            raise MissingValue(self._text(node.value), owner, key)
        return value

    def _eval_list(self, node: ast.List) -> list[Any]:
        return [self._eval(item) for item in node.elts]

    def _eval_tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self._eval(item) for item in node.elts)

    def _eval_dict(self, node: ast.Dict) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                raise SandboxFailure("`**` unpacking is not supported")
            name = self._eval(key)
            if not isinstance(name, str | int | float | bool | None):
                raise SandboxFailure(
                    f"a mapping's key must be text or a number, not {describe_value(name)}"
                )
            result[name] = self._eval(value)
        return result

    def _eval_call(self, node: ast.Call) -> Any:
        spend()
        func = node.func
        if isinstance(func, ast.Name):
            name = func.id
            if name == "default":
                return self._default(node)
            if name == "defined":
                return self._defined(node)
            function = self.functions.get(name)
            if function is None:
                raise SandboxFailure(f"unknown function `{name}`")
        elif isinstance(func, ast.Attribute):
            owner = self._eval(func.value)
            name = func.attr
            function = lookup_attribute(owner, name, called=True)
            if function is MISSING:
                raise MissingValue(self._text(func.value), owner, name)
            if not callable(function):
                raise SandboxFailure(
                    f"`{self._text(func)}` is {describe_value(function)}, not a method",
                    "remove the parentheses",
                )
        else:
            raise SandboxFailure("only named functions can be called")
        args = [self._eval(argument) for argument in node.args]
        kwargs = {str(k.arg): self._eval(k.value) for k in node.keywords}
        try:
            result = function(*args, **kwargs)
        except TypeError as exc:
            raise SandboxFailure(
                f"wrong arguments for `{name}()`: {friendly_type_error(str(exc))}",
                f"see the `{name}` function in the docs",
            ) from None
        if isinstance(func, ast.Attribute):
            if isinstance(result, str):
                check_size(len(result), "max_string_length")
            elif isinstance(result, list | tuple):
                check_size(len(result), "max_collection_size")
        return result

    def _default(self, node: ast.Call) -> Any:
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if not 1 <= len(arguments) <= 3:
            raise SandboxFailure(
                "default() takes a value and a fallback", "default(inputs.name, 'anonymous')"
            )
        try:
            value = self._eval(arguments[0])
        except MissingValue:
            return self._eval(arguments[1]) if len(arguments) > 1 else ""
        if value is None or (len(arguments) == 3 and not value and self._eval(arguments[2])):
            return self._eval(arguments[1]) if len(arguments) > 1 else ""
        return value

    def _defined(self, node: ast.Call) -> bool:
        if len(node.args) != 1 or node.keywords:
            raise SandboxFailure("defined() takes exactly one value", "defined(inputs.name)")
        try:
            self._eval(node.args[0])
        except MissingValue:
            return False
        return True
