"""Mocked tool answers in ``tests:``, checked against what the real server answers.

A test passes on the answers its ``mocks:`` give. A mock shaped otherwise than the real
server's answers (:mod:`engine.tools.answers`) makes a test pass here for an action that
fails on the Mac: it reads ``data.value`` where the server answers ``data.variable``.
Each mocked answer is compared with the recorded shape of a successful answer (or, for
``success: false``, of a failure) of the operation of the call it answers
(:mod:`engine.validate._mock_calls`: in call order for a list, the one a ``match`` rule
names); when that cannot be known, with each operation's, and the closest one (the
fewest places departed from) is named. Every key the server never answers, value of
another type, and key of the envelope every answer has (``success``) left out is a
warning of its own (``mock-answer-shape``), as reading a key the server never answers is
(:mod:`engine.validate._results`): recorded from one version of the server, so a
probable mistake rather than a certain one. Keys left out inside ``data`` are not: a
mock may say only what the test needs. A tool without recorded answers is not checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path, Severity
from engine.diagnostics.suggestions import closest, did_you_mean
from engine.diagnostics.words import TYPE_WORDS, type_word
from engine.lang.sandbox.references import PathPart
from engine.load.sourcemap import Document
from engine.steps.build import step_tree
from engine.tools.answers import Answer, AnswerBook, ToolAnswers
from engine.tools.catalog import ToolCatalog
from engine.tools.shapes import Misfit, Schema, compact, find_misfits
from engine.validate._mock_calls import Keys, ToolCalls, tool_calls
from engine.validate._results import relative

#: The key of the envelope a mock must not leave out: the engine reads it to tell a
#: failure, and every answer of the real server has it.
_ENVELOPE = frozenset({"success"})


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One shape the server answers with: that of ``answer``'s success or failure."""

    answer: Answer
    schema: Schema


@dataclass(frozen=True, slots=True)
class _Finding:
    """Where a mocked answer departs from ``candidate``, the shape it is compared with;
    ``tried``: whether it was chosen among several, ``as_close`` the others it departs
    from as often."""

    candidate: _Candidate
    misfits: tuple[Misfit, ...]
    tried: bool
    as_close: tuple[_Candidate, ...]


def mock_problems(document: Document, catalog: ToolCatalog) -> list[Diagnostic]:
    """The ``mock-answer-shape`` warnings of every test of an action manifest, for
    ``km-actions test`` (``validate`` gives them among the others)."""
    tests = document.data.get("tests") if isinstance(document.data, Mapping) else None
    if not isinstance(tests, list):
        return []
    return [
        problem
        for index, test in enumerate(tests)
        if isinstance(test, Mapping) and isinstance(test.get("mocks"), Mapping)
        for problem in check_mocks(document, ("tests", index), test["mocks"], catalog)
    ]


def check_mocks(
    document: Document, test_path: Path, mocks: Mapping[str, Any], catalog: ToolCatalog
) -> Iterator[Diagnostic]:
    """A warning for each place a mocked answer of a test is shaped as the real server
    never answers (``test_path``: where the test is, as ``("tests", 0)``)."""
    book = AnswerBook.builtin()
    for name, spec in mocks.items():
        tool = catalog.get(name) if isinstance(name, str) else None
        answers = book.for_tool(tool.name, tool.input_schema) if tool is not None else None
        if tool is None or answers is None:
            continue  # no recorded answers (or another server's tool): nothing to compare
        calls = tool_calls(step_tree(document).steps, tool.name, answers, tool.input_schema)
        base = (*test_path, "mocks", name)
        for where, keys, answer in _mocked_answers(spec, base, calls, answers):
            found = _finding(answers, keys, answer)
            if found is None:
                continue
            for misfit in found.misfits:
                yield _diagnostic(document, where, tool.name, answer, found, misfit)


def _mocked_answers(
    spec: Any, base: Path, calls: ToolCalls, answers: ToolAnswers
) -> Iterator[tuple[Path, Keys, Any]]:
    """Each answer of a tool's mock, where it is, and the operations of the calls it
    answers (as the mock bridge gives them: a list's in call order)."""
    if isinstance(spec, list):
        for index, answer in enumerate(spec):
            yield (*base, index), calls.of_answer(index), answer
        return
    if not isinstance(spec, Mapping):
        return  # reported as `invalid-mock`
    rules = spec.get("match")
    if isinstance(rules, list):
        for index, rule in enumerate(rules):
            if isinstance(rule, Mapping) and "result" in rule:
                keys = calls.of_rule(answers, rule.get("with"))
                yield (*base, "match", index, "result"), keys, rule["result"]
    if "otherwise" in spec:
        yield (*base, "otherwise"), calls.of_rule(answers, None), spec["otherwise"]


def _finding(answers: ToolAnswers, keys: Keys, answer: Any) -> _Finding | None:
    """Where the answer departs from the closest of the shapes it may have: the one it
    departs from in the fewest places (None: it has one of them, or they are not all
    known)."""
    candidates = _candidates(answers, keys, failed=_is_failure(answer))
    misses = [(c, find_misfits(c.schema, answer, must_have=_ENVELOPE)) for c in candidates]
    if not misses or not all(misfits for _, misfits in misses):
        return None
    fewest = min(len(misfits) for _, misfits in misses)
    closest_ones = [(c, misfits) for c, misfits in misses if len(misfits) == fewest]
    candidate, misfits = closest_ones[0]
    others = tuple(c for c, _ in closest_ones[1:])
    return _Finding(candidate, misfits, len(candidates) > 1, others)


def _is_failure(answer: Any) -> bool:
    return isinstance(answer, Mapping) and answer.get("success") is False


def _candidates(answers: ToolAnswers, keys: Keys, *, failed: bool) -> list[_Candidate]:
    """The shapes of the operations ``keys`` (None: every one of the tool's) answer
    with; none when one of them is unknown (the answer may be shaped as that one)."""
    if keys is not None and not keys <= answers.answers.keys():
        return []  # an operation never recorded (or one the tool has not)
    out = []
    for key, entry in answers.answers.items():
        if keys is not None and key not in keys:
            continue
        schema = entry.failure if failed else entry.schema
        if schema is None:
            return []
        out.append(_Candidate(entry, schema))
    return out


def _diagnostic(
    document: Document, where: Path, tool: str, answer: Any, found: _Finding, misfit: Misfit
) -> Diagnostic:
    candidate = found.candidate
    what = "a failure" if _is_failure(answer) else "an answer"
    says = f"{what} of {candidate.answer.label}"
    whole = (
        f"the real server answers {compact(candidate.schema, depth=2)}; "
        f"`km-actions tools {tool}` shows a recorded example"
    )
    message, hint, path, at_key = _words(misfit, says, whole, answer)
    if found.tried:
        hint += _compared(tool, found)
    return document.diagnostic(
        "mock-answer-shape",
        f"the test's mock of {tool} is not shaped as the real server answers: {message}",
        (*where, *path),
        hint=hint,
        severity=Severity.WARNING,
        at_key=at_key,
    )


def _compared(tool: str, found: _Finding) -> str:
    """What the hint says of a shape chosen among several: which, and any as close."""
    said = f"; compared with what `{tool}` answers {_case(found.candidate.answer)}"
    if not found.as_close:
        return f"{said}, the closest of its answers to this mock"
    others = " and ".join(_case(c.answer) for c in found.as_close)
    return f"{said}: its answers {others} are as close to this mock"


def _case(answer: Answer) -> str:
    """Which of a tool's answers: "for operation `get`", "with `preview_only: true`"."""
    if answer.selector == "operation":
        return f"for operation `{answer.value}`"
    return f"with `{answer.selector}: {answer.value}`"


def _words(
    misfit: Misfit, says: str, whole: str, answer: Any
) -> tuple[str, str, tuple[PathPart, ...], bool]:
    """Message, hint, where in the answer, and whether at the key (not its value)."""
    shown = relative(misfit.path)
    parent = relative(misfit.path[:-1]) if misfit.path else ""
    named = f"`{parent}`" if parent else "the answer"
    if misfit.kind == "extra":
        key = str(misfit.key)
        guess = closest(key, misfit.keys)
        holds = f"{named} holds {', '.join(misfit.keys)}" if misfit.keys else whole
        if guess is not None:
            hint = f"{did_you_mean(key, misfit.keys)} ({holds})"
        else:
            hint = f"{holds}; {whole}"
        return f"{says} never has `{shown}`", hint, misfit.path, True
    if misfit.kind == "missing":
        key = str(misfit.key)
        inside = f"`{shown}`" if shown else "the answer"
        hint = f"add `{key}` to {inside}: {whole}"
        if key == "success":
            hint = (
                f"add `success: true` (or `success: false` with an `error` for a failure); {whole}"
            )
        message = f"{says} always has `{_join(shown, key)}`, and the mock has none"
        return message, hint, misfit.path, False
    kind = " or ".join(TYPE_WORDS.get(t, t) for t in misfit.types)
    got = type_word(_at(answer, misfit.path))
    place = f"`{shown}`" if shown else "the whole answer"
    message = f"{place} is {got}, but in {says} it is {kind}"
    return message, f"write {kind} there; {whole}", misfit.path, False


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _at(value: Any, path: tuple[PathPart, ...]) -> Any:
    for part in path:
        value = value[part]
    return value
