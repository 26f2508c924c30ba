"""Safe expressions for conditions and loops, and the sandbox rules that templates share.

An expression (``if``, ``until``, ``while``, ``foreach``, hook filters) is parsed once
and evaluated by a :class:`simpleeval.SimpleEval` subclass that knows only the scope's
root names, a whitelist of functions and an allow-list of non-allocating methods.
Every operator that can allocate checks the size of its result *before* allocating,
against the limits of the current run (:func:`engine.lang.limits.current_limits`).

The sandbox core that :mod:`engine.lang.templates` uses too (how a value's keys and methods
are looked up, the size checks, the operators, the function set, and the messages a user
sees when a name is undefined) lives in :mod:`engine.lang.sandbox`. Parsing, analysis and
evaluation live in ``engine.lang._expression_*``.

>>> engine = ExpressionEngine()
>>> engine.compile("len(inputs.items) > 2 and inputs.mode == 'fast'").evaluate(
...     {"inputs": {"items": [1, 2, 3], "mode": "fast"}})
True
"""

from __future__ import annotations

import ast
import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import ErrorKind, StepError
from engine.lang._expression_analysis import ExpressionAnalyzer
from engine.lang._expression_eval import Evaluator
from engine.lang._expression_syntax import Source, parse_expression
from engine.lang.sandbox import budget
from engine.lang.sandbox.failures import MissingValue, SandboxFailure
from engine.lang.sandbox.functions import DEFAULT_FUNCTIONS
from engine.lang.sandbox.messages import to_step_error
from engine.lang.sandbox.references import Problem, Reference, Scope, compile_error
from engine.lang.sandbox.sizes import check_data_size, plain_data, scope_roots, to_plain

__all__ = ["Expression", "ExpressionEngine", "ExpressionInfo", "shared_expressions"]


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
        clock = budget.begin()
        try:
            value = engine.evaluator().run(tree, scope, source)
            if isinstance(value, list | tuple | dict):
                # Copies of the scope's own objects, as templates make (json_like).
                value = plain_data(value, None, None, scope_roots(scope))
            return value
        finally:
            budget.end(clock)

    return run


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

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.functions: dict[str, Callable[..., Any]] = dict(DEFAULT_FUNCTIONS)
        self.functions.update(functions or {})
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
        compiled = Expression(text, info.references, _evaluator_runner(self, tree, source))
        if len(self._compiled) >= 4096:
            self._compiled.clear()
        self._compiled[text] = compiled
        return compiled


@functools.cache
def shared_expressions() -> ExpressionEngine:
    """The process's expression engine with the default functions: validation, the
    compiler and the engine facade use it, so an expression is parsed and analysed once."""
    return ExpressionEngine()
