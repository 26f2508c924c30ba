"""Mocked tools for manifest tests: answers in call order, or matched on arguments."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from engine.diagnostics.errors import ErrorKind, StepError
from engine.diagnostics.words import counted
from engine.lang.secrets import show
from engine.tools.catalog import ToolCatalog


def contains(actual: Any, expected: Any) -> bool:
    """Whether ``actual`` has everything ``expected`` has (mappings compared key by key).

    >>> contains({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 2}})
    True
    """
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected and type(actual) is type(expected)) or (
        isinstance(actual, int | float)
        and isinstance(expected, int | float)
        and not isinstance(actual, bool)
        and not isinstance(expected, bool)
        and actual == expected
    )


class MockBridge:
    """Answers tool calls from a test's ``mocks:``, and records every call made."""

    def __init__(self, mocks: Mapping[str, Any], catalog: ToolCatalog) -> None:
        self._mocks = mocks
        self._catalog = catalog
        self._counts: dict[str, int] = {}
        self.calls: list[dict[str, Any]] = []

    @property
    def label(self) -> str:
        return "mocks (test)"

    @property
    def simulated(self) -> bool:
        return True

    def catalog(self) -> ToolCatalog:
        return self._catalog

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        self.calls.append({"tool": name, "with": copy.deepcopy(arguments)})
        spec = self._mocks.get(name)
        if spec is None:
            raise StepError(
                ErrorKind.TOOL_UNAVAILABLE,
                f"the test has no mock for {name}",
                hint=f"add its answers under the test's `mocks:`, one per call, in call "
                f"order (`km-actions tools {name}` shows what it answers):\n"
                f"mocks:\n  {name}:\n    - {{success: true, data: …}}",
                details={"tool": name},
            )
        if isinstance(spec, list):
            index = self._counts.get(name, 0)
            self._counts[name] = index + 1
            if index >= len(spec):
                raise StepError(
                    ErrorKind.TOOL_UNAVAILABLE,
                    f"{name} was called {index + 1} times, but the test mocks "
                    + counted(len(spec), "answer"),
                    hint="add one more answer to the list, in call order",
                    details={"tool": name},
                )
            return copy.deepcopy(spec[index])
        for rule in spec.get("match", ()):
            if contains(arguments, rule.get("with", {})):
                return copy.deepcopy(rule.get("result"))
        if "otherwise" in spec:
            return copy.deepcopy(spec["otherwise"])
        raise StepError(
            ErrorKind.TOOL_UNAVAILABLE,
            f"no mock rule for {name} matches the arguments {show(arguments, 200)}",
            hint="add a `match` rule for these arguments, or an `otherwise:` answer",
            details={"tool": name},
        )
