"""Checks around the steps: input defaults, tests, and warnings for unused things."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.diagnostics.errors import Diagnostic, Path, Severity
from engine.diagnostics.suggestions import did_you_mean
from engine.load.sourcemap import Document
from engine.tools.catalog import ToolCatalog
from engine.tools.older_tools import OLDER_TOOLS, older_tool_hint
from engine.validate._mocks import check_mocks
from engine.validate._refs import ReferenceChecker
from engine.validate.context import ValidationContext, readable_inputs, section
from engine.validate.schema_pass import SchemaChecker

_AMBIGUOUS = frozenset({"yes", "no", "on", "off", "y", "n"})
_BOOLEAN_FIELDS = frozenset({"continue_on_error", "required", "secret"})


def check_inputs(
    document: Document, checker: SchemaChecker, inputs: Mapping[str, Any]
) -> Iterator[Diagnostic]:
    """Each input's default fits the input's own rules."""
    for name, spec in readable_inputs(inputs).items():
        raw = inputs[name]
        if spec.has_default:
            default_path = ("inputs", name, "default")
            original = document.source_map.plain_text(default_path)
            if spec.type == "string" and original is not None:
                yield checker.type_problem(default_path, spec.default, "text", wants_text=True)
                continue
            for problem in spec.problems(spec.default):
                yield document.diagnostic(
                    "invalid-default",
                    f"the default of input `{name}` {problem}",
                    ("inputs", name, "default"),
                    hint="change the default, or the input's type/rules",
                )
            if raw.get("required") is True:
                yield document.diagnostic(
                    "required-with-default",
                    f"input `{name}` is required, so its default is never used",
                    ("inputs", name, "required"),
                    severity=Severity.WARNING,
                    hint="remove `required: true` (an input with a default is optional), "
                    "or remove the default",
                )


def check_tests(
    document: Document, data: Mapping[str, Any], context: ValidationContext
) -> Iterator[Diagnostic]:
    """Tests name real tools, declared inputs and declared outputs, and mock tools with
    answers shaped as the real server's."""
    tests = data.get("tests")
    if not isinstance(tests, list):
        return
    inputs = section(data, "inputs")
    outputs = section(data, "outputs")
    catalog = context.catalog
    for index, test in enumerate(tests):
        if not isinstance(test, Mapping):
            continue
        base: Path = ("tests", index)
        given = test.get("inputs")
        if isinstance(given, Mapping):
            for name in given:
                if name not in inputs:
                    yield document.diagnostic(
                        "unknown-input",
                        f"the test gives `{name}`, which is not an input",
                        (*base, "inputs", name),
                        at_key=True,
                        hint=did_you_mean(str(name), inputs)
                        if inputs
                        else "declare it under `inputs:`",
                    )
        mocks = test.get("mocks")
        if isinstance(mocks, Mapping):
            for tool in mocks:
                if tool not in catalog:
                    yield document.diagnostic(
                        "unknown-tool",
                        f"the test mocks `{tool}`, {_not_a_tool(str(tool), catalog)}",
                        (*base, "mocks", tool),
                        at_key=True,
                        hint=older_tool_hint(str(tool), opt_in=catalog.origin == "builtin")
                        or did_you_mean(str(tool), catalog, listing=False)
                        or "mock tools by their km_* names (`km-actions schema --tools`)",
                    )
            yield from check_mocks(document, base, mocks, catalog)
        expect = test.get("expect")
        if not isinstance(expect, Mapping):
            continue
        expected = expect.get("outputs")
        if isinstance(expected, Mapping):
            for name in expected:
                if name not in outputs:
                    yield document.diagnostic(
                        "unknown-output",
                        f"the test expects `{name}`, which is not an output",
                        (*base, "expect", "outputs", name),
                        at_key=True,
                        hint=did_you_mean(str(name), outputs)
                        if outputs
                        else "declare it under `outputs:`",
                    )
        calls = expect.get("calls")
        if isinstance(calls, list):
            for c, call in enumerate(calls):
                tool = call.get("tool") if isinstance(call, Mapping) else None
                if isinstance(tool, str) and tool not in catalog:
                    yield document.diagnostic(
                        "unknown-tool",
                        f"the test expects a call to `{tool}`, {_not_a_tool(tool, catalog)}",
                        (*base, "expect", "calls", c, "tool"),
                        hint=older_tool_hint(tool, opt_in=catalog.origin == "builtin")
                        or did_you_mean(tool, catalog, listing=False)
                        or "name the km_* tool the action calls (`km-actions schema --tools`)",
                    )


def _not_a_tool(name: str, catalog: ToolCatalog) -> str:
    """Why a test's tool is unknown: one the current server dropped, or no tool at all."""
    if name in OLDER_TOOLS and catalog.origin == "builtin":
        return "which the current Keyboard Maestro MCP server does not have"
    return "which is not a tool"


def unused_warnings(
    document: Document,
    data: Mapping[str, Any],
    refs: ReferenceChecker,
    ids: Mapping[str, Path],
    context: ValidationContext,
) -> Iterator[Diagnostic]:
    """Inputs nobody reads, step results nobody reads, and yes/no that became true/false."""
    inputs = section(data, "inputs")
    if not refs.whole_inputs_used and not refs.incomplete:
        for name in inputs:
            if name not in refs.used_inputs:
                yield document.diagnostic(
                    "unused-input",
                    f"the input `{name}` is never used",
                    ("inputs", name),
                    at_key=True,
                    severity=Severity.WARNING,
                    hint=f"use it as {{{{ inputs.{name} }}}}, or remove it",
                )
    for step_id, path in ids.items():
        if step_id not in refs.used_steps and not refs.incomplete:
            yield document.diagnostic(
                "unused-result",
                f"nothing reads the result of step `{step_id}`",
                path,
                severity=Severity.WARNING,
                hint=f"read it as steps.{step_id}.result, or remove the `id:`",
            )
    yield from _ambiguous_booleans(document, data, context)


def _ambiguous_booleans(
    document: Document, data: Mapping[str, Any], context: ValidationContext
) -> Iterator[Diagnostic]:
    for path, text in document.source_map.plain.items():
        if text.lower() not in _AMBIGUOUS or not path:
            continue
        last = path[-1]
        if (
            last in _BOOLEAN_FIELDS
            or _is_boolean_default(data, path)
            or _is_boolean_argument(data, path, context)
        ):
            continue
        yield document.diagnostic(
            "ambiguous-boolean",
            f"YAML read the unquoted `{text}` as {str(text.lower() in ('yes', 'on', 'y')).lower()}",
            path,
            severity=Severity.WARNING,
            hint=f'write true or false if you mean that, or "{text}" in quotes for the word',
        )


def _is_boolean_default(data: Mapping[str, Any], path: Path) -> bool:
    if len(path) == 3 and path[0] == "inputs" and path[2] == "default":
        spec = (data.get("inputs") or {}).get(path[1])
        return isinstance(spec, Mapping) and spec.get("type") == "boolean"
    return False


def _is_boolean_argument(data: Mapping[str, Any], path: Path, context: ValidationContext) -> bool:
    if "with" not in path:
        return False
    at = path.index("with")
    step: Any = data
    for part in path[:at]:
        if isinstance(step, Mapping):
            step = step.get(part)
        elif isinstance(step, list) and isinstance(part, int) and part < len(step):
            step = step[part]
        else:
            step = None
    name = step.get("tool") if isinstance(step, Mapping) else None
    tool = context.catalog.get(name) if isinstance(name, str) else None
    if tool is None or at + 1 >= len(path):
        return False
    prop = tool.properties.get(str(path[at + 1]), {})
    options = [prop, *(prop.get("anyOf") or ())]
    return any(isinstance(o, Mapping) and o.get("type") == "boolean" for o in options)
