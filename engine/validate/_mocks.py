"""Mocked tool answers in ``tests:``, checked against what the real server answers.

A test passes on the answers its ``mocks:`` give. A mock shaped otherwise than the real
server's answers (:mod:`engine.tools.answers`) makes a test pass here for an action that
fails on the Mac: it reads ``data.value`` where the server answers ``data.variable``.
Each mocked answer is compared with the recorded shape of a successful answer (or, for
``success: false``, of a failure) of the operation a ``match`` rule names, else of any
operation of the tool: a key the server never answers, a value of another type, or a key
of the envelope every answer has (``success``, ``data``) left out is a warning
(``mock-answer-shape``), as reading a key the server never answers is
(:mod:`engine.validate._results`): recorded from one version of the server, so a probable
mistake rather than a certain one. Keys left out inside ``data`` are not: a mock may say
only what the test needs. A tool without recorded answers is not checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path, Severity
from engine.diagnostics.suggestions import closest, did_you_mean
from engine.diagnostics.words import TYPE_WORDS, type_word
from engine.lang.sandbox.references import PathPart
from engine.lang.templates import is_template
from engine.load.sourcemap import Document
from engine.tools.answers import Answer, AnswerBook, ToolAnswers
from engine.tools.catalog import ToolCatalog
from engine.tools.shapes import Misfit, Schema, compact, find_misfit
from engine.validate._results import relative

#: The key of the envelope a mock must not leave out: the engine reads it to tell a
#: failure, and every answer of the real server has it.
_ENVELOPE = frozenset({"success"})


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One shape the server answers with: that of ``answer``'s success or failure."""

    answer: Answer
    schema: Schema


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
    """A warning for each mocked answer of a test shaped as the real server never answers
    (``test_path``: where the test is, as ``("tests", 0)``)."""
    book = AnswerBook.builtin()
    for name, spec in mocks.items():
        tool = catalog.get(name) if isinstance(name, str) else None
        answers = book.for_tool(tool.name, tool.input_schema) if tool is not None else None
        if answers is None:
            continue  # no recorded answers (or another server's tool): nothing to compare
        base = (*test_path, "mocks", name)
        for where, arguments, answer in _mocked_answers(spec, base):
            found = _finding(answers, arguments, answer)
            if found is not None:
                yield _diagnostic(document, where, str(name), answer, *found)


def _mocked_answers(spec: Any, base: Path) -> Iterator[tuple[Path, Any, Any]]:
    """Each answer of a tool's mock, where it is, and the arguments its rule names."""
    if isinstance(spec, list):
        for index, answer in enumerate(spec):
            yield (*base, index), None, answer
        return
    if not isinstance(spec, Mapping):
        return  # reported as `invalid-mock`
    rules = spec.get("match")
    if isinstance(rules, list):
        for index, rule in enumerate(rules):
            if isinstance(rule, Mapping) and "result" in rule:
                yield (*base, "match", index, "result"), rule.get("with"), rule["result"]
    if "otherwise" in spec:
        yield (*base, "otherwise"), None, spec["otherwise"]


def _finding(
    answers: ToolAnswers, arguments: Any, answer: Any
) -> tuple[_Candidate, Misfit, bool] | None:
    """The closest shape the answer misses and where (None: it has one of the shapes the
    tool answers, or they are not all known); the flag says whether others were tried."""
    candidates = _candidates(answers, arguments, failed=_is_failure(answer))
    if not candidates:
        return None
    misses = []
    for candidate in candidates:
        misfit = find_misfit(candidate.schema, answer, must_have=_ENVELOPE)
        if misfit is None:
            return None
        misses.append((candidate, misfit))
    # the answer it comes closest to: the one it follows deepest before it departs
    candidate, misfit = max(misses, key=lambda miss: _depth(miss[1]))
    return candidate, misfit, len(candidates) > 1


def _is_failure(answer: Any) -> bool:
    return isinstance(answer, Mapping) and answer.get("success") is False


def _candidates(answers: ToolAnswers, arguments: Any, *, failed: bool) -> list[_Candidate]:
    """The shapes this answer may have: those of the operation (or mode) the rule's
    arguments name, else of every one of the tool's; none when one of them is unknown
    (the answer may be shaped as that one)."""
    chosen = list(answers.entries())
    if answers.selector is not None and isinstance(arguments, Mapping):
        value = arguments.get(answers.selector)
        if value is not None and not (isinstance(value, str) and is_template(value)):
            # a mode's value is recorded as its JSON text (`true`), as ToolAnswers.pick reads it
            key = value if isinstance(value, str) else json.dumps(value)
            one = answers.answers.get(key)
            if one is None:
                return []
            chosen = [one]
    out = []
    for entry in chosen:
        schema = entry.failure if failed else entry.schema
        if schema is None:
            return []
        out.append(_Candidate(entry, schema))
    return out


def _depth(misfit: Misfit) -> int:
    return len(misfit.path) + (1 if misfit.kind == "missing" else 0)


def _diagnostic(
    document: Document,
    where: Path,
    tool: str,
    answer: Any,
    candidate: _Candidate,
    misfit: Misfit,
    several: bool,
) -> Diagnostic:
    label = candidate.answer.label
    what = "a failure" if _is_failure(answer) else "an answer"
    says = f"{what} of {label}"
    whole = (
        f"the real server answers {compact(candidate.schema, depth=2)}; "
        f"`km-actions tools {tool}` shows a recorded example"
    )
    message, hint, path, at_key = _words(misfit, says, whole, answer)
    if several:
        hint += f"; of what {tool} answers, {label}'s is the closest to this mock"
    return document.diagnostic(
        "mock-answer-shape",
        f"the test's mock of {tool} is not shaped as the real server answers: {message}",
        (*where, *path),
        hint=hint,
        severity=Severity.WARNING,
        at_key=at_key,
    )


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
