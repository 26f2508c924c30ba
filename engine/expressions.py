"""Safe expressions for conditions and loops, and the sandbox rules that templates share.

An expression (``if``, ``until``, ``while``, ``foreach``, hook filters) is parsed once
and evaluated by a :class:`simpleeval.SimpleEval` subclass that knows only the scope's
root names, a whitelist of functions and an allow-list of non-allocating methods.
Every operator that can allocate checks the size of its result *before* allocating,
against the limits of the current run (:func:`engine.limits.current_limits`).

The sandbox core that :mod:`engine.templates` uses too (how a value's keys and methods
are looked up, the size checks, the operators, the function set, and the messages a user
sees when a name is undefined) lives in :mod:`engine._sandbox`; this module re-exports
its public names. Parsing, analysis and evaluation live in ``engine._expression_*``.

>>> engine = ExpressionEngine()
>>> engine.compile("len(inputs.items) > 2 and inputs.mode == 'fast'").evaluate(
...     {"inputs": {"items": [1, 2, 3], "mode": "fast"}})
True
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine._expression_analysis import ExpressionAnalyzer
from engine._expression_eval import Evaluator
from engine._expression_syntax import CONSTANT_NAMES, Source, constant_chain, parse_expression
from engine._sandbox import budget
from engine._sandbox.failures import MissingValue, SandboxFailure
from engine._sandbox.functions import (
    DEFAULT_FUNCTIONS,
    SPECIAL_FORMS,
    fn_all,
    fn_any,
    fn_contains,
    fn_endswith,
    fn_items,
    fn_keys,
    fn_len,
    fn_lower,
    fn_sorted,
    fn_startswith,
    fn_str,
    fn_title,
    fn_to_json,
    fn_trim,
    fn_upper,
    fn_values,
    now_iso,
    today_iso,
    type_of,
)
from engine._sandbox.lookups import (
    ALLOWED_METHODS,
    MAPPING_METHODS,
    METHOD_HINTS,
    MISSING,
    SEQUENCE_METHODS,
    STRING_METHODS,
    Lookup,
    lookup_attribute,
    lookup_item,
    method_hint,
)
from engine._sandbox.messages import describe_missing, to_step_error
from engine._sandbox.numbers import (
    bounded_range,
    fn_abs,
    fn_bool,
    fn_float,
    fn_int,
    fn_max,
    fn_min,
    fn_range,
    fn_round,
    fn_sum,
)
from engine._sandbox.operators import (
    BINARY_OPERATORS,
    COMPARISONS,
    op_add,
    op_floordiv,
    op_in,
    op_mod,
    op_mul,
    op_neg,
    op_not,
    op_pos,
    op_pow,
    op_sub,
    op_truediv,
)
from engine._sandbox.patterns import (
    REGEX_TIMEOUT,
    regex_findall,
    regex_matches,
    regex_replace,
    regex_search,
)
from engine._sandbox.printf import format_text
from engine._sandbox.references import (
    PathPart,
    Problem,
    Reference,
    Scope,
    compile_error,
    format_reference,
)
from engine._sandbox.sizes import (
    MAX_INT_DIGITS,
    PLAIN_SCALARS,
    PLAIN_TYPES,
    bounded_list,
    check_data_size,
    check_size,
    estimate_text_size,
    plain_data,
    scope_roots,
    sized_text,
    to_plain,
    to_text,
)
from engine._sandbox.text import (
    b64decode_text,
    b64encode_text,
    dump_json,
    join_text,
    parse_json,
    replace_text,
    split_text,
)
from engine.errors import ErrorKind, StepError
from engine.words import describe_value

# The engine's own names, and the sandbox core's public names (engine._sandbox) that
# code imports from here.
__all__ = [
    "ALLOWED_METHODS", "BINARY_OPERATORS", "COMPARISONS", "CONSTANT_NAMES", "DEFAULT_FUNCTIONS",
    "MAPPING_METHODS", "MAX_INT_DIGITS", "METHOD_HINTS", "MISSING", "PLAIN_SCALARS",
    "PLAIN_TYPES", "REGEX_TIMEOUT", "SEQUENCE_METHODS", "SPECIAL_FORMS", "STRING_METHODS",
    "Expression", "ExpressionEngine", "ExpressionInfo", "Lookup", "MissingValue", "PathPart",
    "Problem", "Reference", "SandboxFailure", "Scope", "b64decode_text", "b64encode_text",
    "bounded_list", "bounded_range", "check_size", "compile_error", "describe_missing",
    "describe_value", "dump_json", "estimate_text_size", "fn_abs", "fn_all", "fn_any",
    "fn_bool", "fn_contains", "fn_endswith", "fn_float", "fn_int", "fn_items", "fn_keys",
    "fn_len", "fn_lower", "fn_max", "fn_min", "fn_range", "fn_round", "fn_sorted",
    "fn_startswith", "fn_str", "fn_sum", "fn_title", "fn_to_json", "fn_trim", "fn_upper",
    "fn_values", "format_reference", "format_text", "join_text", "lookup_attribute",
    "lookup_item", "method_hint", "now_iso", "op_add", "op_floordiv", "op_in", "op_mod",
    "op_mul", "op_neg", "op_not", "op_pos", "op_pow", "op_sub", "op_truediv", "parse_json",
    "regex_findall", "regex_matches", "regex_replace", "regex_search", "replace_text",
    "sized_text", "split_text", "to_plain", "to_step_error", "to_text", "today_iso", "type_of",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExpressionInfo:
    """What static analysis found in one expression.

    >>> ExpressionEngine().analyze("inputs.a | length").problems[0].hint
    'write `len(inputs.a)`'
    """

    problems: tuple[Problem, ...]
    references: tuple[Reference, ...]


_EXPRESSION_GUARD = "if it may be missing, write `default({ref}, fallback)`"


_Fast = Callable[[Scope], Any]


def _constant_reader(value: Any) -> _Fast:
    return lambda scope: value


def _evaluator_runner(engine: ExpressionEngine, tree: ast.expr, source: Source) -> _Fast:
    def run(scope: Scope) -> Any:
        budget.begin()
        try:
            value = engine.evaluator().run(tree, scope, source)
            if isinstance(value, list | tuple | dict):
                # Copies of the scope's own objects, as templates make (json_like).
                value = plain_data(value, None, None, scope_roots(scope))
            return value
        finally:
            budget.end()

    return run


def _compile_fast(node: ast.expr) -> _Fast | None:
    """Closures for the common shapes (references, constants, one comparison, not/and/or),
    with exactly the evaluator's semantics; None when simpleeval is needed."""
    if isinstance(node, ast.Constant) and type(node.value) in (str, int, float, bool, type(None)):
        return _constant_reader(node.value)
    if isinstance(node, ast.Name) and node.id in CONSTANT_NAMES:
        return _constant_reader(CONSTANT_NAMES[node.id])
    chain = constant_chain(node)
    if chain is not None:
        return Lookup(*chain)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        operand = _compile_fast(node.operand)
        return None if operand is None else (lambda scope: not operand(scope))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARISONS:
        left, right = _compile_fast(node.left), _compile_fast(node.comparators[0])
        compare = COMPARISONS[type(node.ops[0])]
        if left is None or right is None:
            return None
        return lambda scope: compare(left(scope), right(scope))
    if isinstance(node, ast.BoolOp):
        parts = [_compile_fast(value) for value in node.values]
        if any(part is None for part in parts):
            return None
        readers = [part for part in parts if part is not None]
        return _all_of(readers) if isinstance(node.op, ast.And) else _any_of(readers)
    return None


def _all_of(readers: list[_Fast]) -> _Fast:
    def all_of(scope: Scope) -> Any:
        value: Any = True
        for reader in readers:
            value = reader(scope)
            if not value:
                return value
        return value

    return all_of


def _any_of(readers: list[_Fast]) -> _Fast:
    def any_of(scope: Scope) -> Any:
        value: Any = False
        for reader in readers:
            value = reader(scope)
            if value:
                return value
        return value

    return any_of


class Expression:
    """A compiled expression: evaluate it against a scope as often as needed.

    >>> e = ExpressionEngine().compile("{{ default(inputs.count, 0) + 1 }}")
    >>> e.evaluate({"inputs": {}}), e.test({"inputs": {"count": -1}})
    (1, False)
    """

    __slots__ = ("_run", "references", "text")

    def __init__(self, text: str, references: tuple[Reference, ...], run: _Fast) -> None:
        self.text = text
        self.references = references
        self._run = run

    def evaluate(self, scope: Scope) -> Any:
        """The expression's value; failures raise :class:`StepError` (no step, no location)."""
        try:
            value = to_plain(self._run(scope))
            if type(value) is list or type(value) is dict:
                check_data_size(value)
            return value
        except StepError:
            raise
        except (MissingValue, SandboxFailure) as exc:
            raise to_step_error(exc, ErrorKind.EXPRESSION_ERROR, _EXPRESSION_GUARD) from None
        except Exception as exc:
            raise to_step_error(exc, ErrorKind.EXPRESSION_ERROR, _EXPRESSION_GUARD) from exc

    def test(self, scope: Scope) -> bool:
        """The expression's truthiness, for ``if``/``until``/``while``."""
        return bool(self.evaluate(scope))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


class ExpressionEngine:
    """Analyzes and compiles expressions; owns the function registry.

    Evaluation is synchronous and never awaits, so asyncio tasks cannot interleave inside
    one; the simpleeval instance (which holds the scope being evaluated) is kept per
    thread, so threads may share an engine.

    >>> engine = ExpressionEngine()
    >>> engine.analyze("steps.read.result.data.items[0] == 1").references[0].path
    ('read', 'result', 'data', 'items', 0)
    >>> engine.compile("matches(inputs.name, '^A')").test({"inputs": {"name": "Ada"}})
    True
    """

    def __init__(
        self, functions: Mapping[str, Callable[..., Any]] | None = None, *, fast_paths: bool = True
    ) -> None:
        self.functions: dict[str, Callable[..., Any]] = dict(DEFAULT_FUNCTIONS)
        self.functions.update(functions or {})
        self.fast_paths = fast_paths
        self._local = threading.local()
        # Compiled expressions by text: they are immutable, and installed actions repeat
        # the same conditions (``inputs.notify``) many times.
        self._compiled: dict[str, Expression] = {}

    def evaluator(self) -> Evaluator:
        """This thread's evaluator."""
        evaluator: Evaluator | None = getattr(self._local, "evaluator", None)
        if evaluator is None:
            evaluator = self._local.evaluator = Evaluator(self.functions)
        return evaluator

    def _analyze(self, text: str) -> tuple[ExpressionInfo, Source, ast.expr | None]:
        source, tree, problems = parse_expression(text)
        references: list[Reference] = []
        if tree is not None:
            analyzer = ExpressionAnalyzer(source, self.functions)
            analyzer.visit(tree)
            problems, references = analyzer.problems, analyzer.references
        return ExpressionInfo(tuple(problems), tuple(references)), source, tree

    def analyze(self, text: str) -> ExpressionInfo:
        """Every problem and every name use in ``text``, without evaluating it."""
        return self._analyze(text)[0]

    def compile(self, text: str | bool | float | None) -> Expression:
        """A reusable :class:`Expression`; raises :class:`CompileError` on any problem.

        A YAML ``true``/number/``null`` compiles to a constant expression.
        """
        if not isinstance(text, str):
            return Expression(repr(text), (), _constant_reader(text))
        compiled = self._compiled.get(text)
        if compiled is not None:
            return compiled
        info, source, tree = self._analyze(text)
        if info.problems or tree is None:
            raise compile_error(info.problems)
        run = _compile_fast(tree) if self.fast_paths else None
        if run is None:
            run = _evaluator_runner(self, tree, source)
        compiled = Expression(text, info.references, run)
        if len(self._compiled) >= 4096:
            self._compiled.clear()
        self._compiled[text] = compiled
        return compiled
