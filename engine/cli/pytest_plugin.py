"""The pytest plugin: the ``tests:`` of action files as ordinary pytest items.

Installing km-actions registers it (entry point ``pytest11``, name ``km_actions``). It
does nothing until asked, in the project's pytest configuration::

    [tool.pytest.ini_options]
    km_actions_paths = ["actions"]

or with ``pytest --km-actions`` (every action file under the paths pytest collects).
A plain ``pytest`` then also collects ``km_actions_paths``; each test of each action is
one item, ``FILE::ACTION::TEST``, so ``-k``, ``-x`` and the rest work as usual. A test
runs as ``km-actions test`` runs it (:mod:`engine.run.testing`: mocked tools, the plugin's
default settings); a failure reads as that command's does (expected vs got, the call
that differed), and an action that does not compile is a collection error showing its
diagnostics. A test whose mocks answer as the real server never does gets a
:class:`MockAnswerWarning` (``km-actions test``'s ``mock-answer-shape`` warning), shown in
pytest's warnings summary.

Only pytest is imported at pytest's start: the engine is imported when an action file
is collected, so projects (and km-actions' own suite) that do not ask pay nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from engine.diagnostics.errors import EngineError
    from engine.engine import Engine
    from engine.load.sourcemap import Document
    from engine.plugins.local import LocalPlugin
    from engine.run import ActionResolver
    from engine.run.model import Pipeline, PluginSettings
    from engine.run.testing import TestOutcome
    from engine.tools.catalog import ToolCatalog

INI = "km_actions_paths"
FLAG = "--km-actions"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("km-actions", "km-actions: the tests written in action files")
    group.addoption(
        FLAG,
        action="store_true",
        dest="km_actions",
        help="collect the `tests:` of every action file (.yaml, .yml, .json) under the "
        "paths pytest collects",
    )
    parser.addini(
        INI,
        "folders or files of km-actions actions whose `tests:` pytest collects (also "
        "collected by a plain `pytest`)",
        type="paths",
        default=[],
    )


def _configured_paths(config: pytest.Config) -> list[Path]:
    paths: list[Path] = config.getini(INI)
    return [path.resolve() for path in paths]


def pytest_configure(config: pytest.Config) -> None:
    """A plain ``pytest`` (no paths given) also collects ``km_actions_paths``."""
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    given = [Path(config.invocation_params.dir, arg).resolve() for arg in config.args]
    for path in _configured_paths(config):
        if not any(path.is_relative_to(root) for root in given):
            config.args.append(str(path))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ActionFile | None:
    config = parent.config
    suffix = file_path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json") or file_path.name.lower().endswith(".schema.json"):
        return None
    if not config.getoption("km_actions"):
        resolved = file_path.resolve()
        if not any(resolved.is_relative_to(root) for root in _configured_paths(config)):
            return None
    found: ActionFile = ActionFile.from_parent(parent, path=file_path)
    return found


class MockAnswerWarning(pytest.PytestWarning):
    """A test's mocked answer is shaped as the real server never answers (the
    ``mock-answer-shape`` warning of ``km-actions validate`` and ``km-actions test``): the
    test may pass here and the action fail on the Mac."""


class ActionTestFailed(Exception):
    """A test of an action found differences (what ``km-actions test`` reports)."""

    def __init__(self, outcome: TestOutcome) -> None:
        super().__init__(outcome.failures)
        self.outcome = outcome


@dataclass(frozen=True)
class _Compiled:
    """An action ready to test: its pipeline, how its `action:` steps resolve, the
    settings of its plugin, the tools it is checked against."""

    pipeline: Pipeline
    resolver: ActionResolver
    settings: PluginSettings | None
    catalog: ToolCatalog


class _Engines:
    """One engine per session, and each plugin folder read once (as ``km-actions test``
    reads them)."""

    def __init__(self) -> None:
        from engine.engine import Engine

        self.engine: Engine = Engine()
        self.plugins: dict[Path, LocalPlugin] = {}

    @classmethod
    def of(cls, config: pytest.Config) -> _Engines:
        found = config.stash.get(_ENGINES, None)
        if found is None:
            found = config.stash[_ENGINES] = cls()
        return found


_ENGINES = pytest.StashKey[_Engines]()


class ActionFile(pytest.File):
    """A manifest file: an action whose tests are collected (any other manifest, a
    plugin.yaml or a YAML file that is no manifest, has none)."""

    def collect(self) -> Iterator[ActionTests]:
        from engine.cli._files import load_file

        loaded = load_file(self.path, self._display())
        if loaded.error is not None:
            raise self.CollectError(self._diagnostics(loaded.error, loaded.text))
        assert loaded.document is not None  # loaded without error
        data = loaded.document.data
        if not isinstance(data, Mapping) or data.get("kind") != "action":
            return
        cases = [c for c in data.get("tests") or [] if isinstance(c, Mapping)]
        if not cases:
            return
        compiled = self._compile(loaded.document, loaded.text)
        if compiled is None:
            return
        lines = [_line(loaded.document, ("tests", index)) for index in range(len(cases))]
        yield ActionTests.from_parent(
            self,
            name=compiled.pipeline.qualified_name,
            compiled=compiled,
            cases=cases,
            lines=lines,
            warnings=self._mock_warnings(loaded.document, loaded.text, compiled.catalog),
        )

    def _display(self) -> str:
        return _shown(self.path, self.config)

    def _diagnostics(self, error: EngineError, text: str) -> str:
        from engine.diagnostics.report import format_text

        return format_text(error.diagnostics, sources={self._display(): text})

    def _mock_warnings(
        self, document: Document, text: str, catalog: ToolCatalog
    ) -> dict[Any, list[str]]:
        """What ``km-actions test`` prints as ``mock-answer-shape`` warnings, by the
        index of the test they are in."""
        from engine.diagnostics.report import format_text
        from engine.validate import mock_problems

        found: dict[Any, list[str]] = {}
        for problem in mock_problems(document, catalog):
            shown = format_text([problem], sources={self._display(): text})
            found.setdefault(problem.path[1], []).append(shown)
        return found

    def _compile(self, document: Document, text: str) -> _Compiled | None:
        from engine.diagnostics.errors import EngineError
        from engine.plugins.local import enclosing_plugin

        engines = _Engines.of(self.config)
        folder = enclosing_plugin(self.path)
        try:
            if folder is not None:
                return self._in_plugin(engines, folder)
            return self._alone(engines.engine, document)
        except EngineError as error:
            raise self.CollectError(self._diagnostics(error, text)) from None

    def _in_plugin(self, engines: _Engines, folder: Path) -> _Compiled | None:
        """None: a file in a plugin folder that is not one of its actions (as
        ``km-actions test`` does, it has no tests to run)."""
        from engine.plugins.local import LocalPlugin

        plugin = engines.plugins.get(folder)
        if plugin is None:
            plugin = engines.plugins[folder] = LocalPlugin.read(folder, engine=engines.engine)
        name = plugin.name_of(self.path)
        if name is None:
            return None
        return _Compiled(
            plugin.pipeline(name), plugin.resolver(), plugin.settings, plugin.engine.catalog
        )

    def _alone(self, engine: Engine, document: Document) -> _Compiled:
        from engine.run.library import ActionLibrary

        library = ActionLibrary(engine)
        library.add_folder(self.path.parent)
        pipeline = engine.compile(document, context=library.context())
        return _Compiled(pipeline, library, None, engine.catalog)


class ActionTests(pytest.Collector):
    """The tests of one action: one item per test, named after it."""

    def __init__(
        self,
        *,
        compiled: _Compiled,
        cases: list[Mapping[str, Any]],
        lines: list[int | None],
        warnings: dict[Any, list[str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.compiled = compiled
        self.cases = cases
        self.lines = lines
        self.warnings = warnings

    def collect(self) -> Iterator[ActionTest]:
        for index, case in enumerate(self.cases):
            name = str(case.get("name") or f"test {index + 1}")
            item = ActionTest.from_parent(self, name=name, case=case, line=self.lines[index])
            for text in self.warnings.get(index, ()):
                item.warn(MockAnswerWarning(text))
            yield item


class ActionTest(pytest.Item):
    """One test of an action, run on mocked tools as ``km-actions test`` runs it."""

    def __init__(self, *, case: Mapping[str, Any], line: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.line = line

    @property
    def compiled(self) -> _Compiled:
        assert isinstance(self.parent, ActionTests)
        return self.parent.compiled

    def runtest(self) -> None:
        import asyncio

        from engine.run.testing import run_test

        compiled = self.compiled
        outcome = asyncio.run(
            run_test(
                compiled.pipeline,
                self.case,
                catalog=compiled.catalog,
                resolver=compiled.resolver,
                settings=compiled.settings,
            )
        )
        if not outcome.passed:
            raise ActionTestFailed(outcome)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        if isinstance(excinfo.value, ActionTestFailed):
            outcome = excinfo.value.outcome
            lines = [f"test `{outcome.name}` of {outcome.action} failed ({self._location()}):"]
            lines.extend(outcome.report())
            return "\n".join(lines)
        return super().repr_failure(excinfo, style=style)

    def _location(self) -> str:
        shown = _shown(self.path, self.config)
        return shown if self.line is None else f"{shown}:{self.line + 1}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, self.line, f"{self.parent.name if self.parent else ''}::{self.name}"


def _shown(path: Path, config: pytest.Config) -> str:
    """``path`` as a person reads it: relative to where pytest was started."""
    try:
        return str(path.relative_to(config.invocation_params.dir))
    except ValueError:
        return str(path)


def _line(document: Document, path: tuple[str | int, ...]) -> int | None:
    """The line of ``path`` in ``document``, counted from 0 (pytest's convention)."""
    span = document.span(path)
    return None if span is None else span.line - 1
