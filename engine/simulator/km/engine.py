"""The Keyboard Maestro Engine: variables, text tokens, calculations and running macros.

Variable scope follows Keyboard Maestro's naming rules: names starting with "Local" or
"Instance" belong to one macro execution, names starting or ending with "Password" or
"PW" are password variables (kept in memory only), every other name is global.

>>> from engine.simulator.km.state import KMState
>>> state = KMState()
>>> set_variable(state, "Greeting", "hi")
>>> process_tokens(state, "%Variable%Greeting%, %Calculate%6*7%")
'hi, 42'
>>> get_variable(state, "Nope")
''
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.simulator.km import library
from engine.simulator.km.calc import CalcError, calculate, format_number
from engine.simulator.km.library import Refused
from engine.simulator.km.state import KMState
from engine.simulator.km.tokens import TokenError, expand

NO_MATCHING_MACRO = (
    "do script found no macros with a matching name (macros must be enabled, and in "
    "macro groups that are enabled and currently active)"
)
MAX_DEPTH = 16


def variable_kind(name: str) -> str:
    """``global``, ``local``, ``instance`` or ``password`` (from the name, as KM decides)."""
    folded = name.casefold()
    if folded.startswith("local"):
        return "local"
    if folded.startswith("instance"):
        return "instance"
    if folded.startswith(("password", "pw")) or folded.endswith(("password", "pw")):
        return "password"
    return "global"


def _table(state: KMState, name: str, instance: str | None, *, create: bool) -> dict[str, str]:
    kind = variable_kind(name)
    if kind == "password":
        return state.password_variables
    if kind in ("local", "instance"):
        if instance is None:
            return {}  # outside an execution these variables have no home: reads are empty
        return (
            state.instances.setdefault(instance, {})
            if create
            else state.instances.get(instance, {})
        )
    return state.variables


def get_variable(state: KMState, name: str, instance: str | None = None) -> str:
    """``getvariable``: the value, or empty text when the variable does not exist."""
    return _table(state, name, instance, create=False).get(name, "")


def set_variable(state: KMState, name: str, value: str, instance: str | None = None) -> None:
    """``setvariable``: empty text deletes the variable, as in Keyboard Maestro."""
    table = _table(state, name, instance, create=True)
    if value == "":
        table.pop(name, None)
    else:
        table[name] = value


def delete_variable(state: KMState, name: str) -> bool:
    """``delete variable``: False when there was no such (global or password) variable."""
    table = _table(state, name, None, create=False)
    return table.pop(name, None) is not None


def variable_element(state: KMState, name: str) -> tuple[dict[str, str], str] | None:
    """What ``variable "name"`` of the Engine refers to, as its table and its own name.

    The Engine's ``variables`` elements are the global variables, matched by name
    ignoring case (the first in name order); a password variable is found only by its
    exact name. None when there is no such variable (``Can’t get variable "name".``).
    """
    folded = name.casefold()
    for candidate in variable_names(state):
        if candidate.casefold() == folded:
            return state.variables, candidate
    if variable_kind(name) == "password" and name in state.password_variables:
        return state.password_variables, name
    return None


def variable_names(state: KMState) -> list[str]:
    """The names of the ``variables`` elements: global variables, sorted as KM lists them."""
    return sorted(state.variables, key=str.casefold)


@dataclass
class ModelWorld:
    """Token values from the model (inside an execution, ``instance`` and its trigger value)."""

    state: KMState
    instance: str | None = None
    trigger_value: str | None = None

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.state.clock)

    def variable(self, name: str) -> str | None:
        table = _table(self.state, name, self.instance, create=False)
        return table.get(name)

    def clipboard(self, index: int) -> str | None:
        clipboards = self.state.clipboards
        return clipboards[index] if 0 <= index < len(clipboards) else None

    def named_clipboard(self, name: str) -> str | None:
        return self.state.named_clipboards.get(name)

    def calculate(self, expression: str) -> str:
        try:
            return calculate_text(self.state, expression, self.instance)
        except CalcError as problem:
            raise TokenError(problem.message) from problem

    def system_token(self, name: str) -> str | None:
        if name == "TriggerValue" and self.trigger_value is not None:
            return self.trigger_value
        return None

    def dictionary(self, name: str, key: str) -> str | None:
        return self.state.dictionaries.get(name, {}).get(key)


def process_tokens(state: KMState, text: str, world: ModelWorld | None = None) -> str:
    """``process tokens``: the text with every token Keyboard Maestro can expand expanded."""
    return expand(world or ModelWorld(state), text).text


def calculate_text(state: KMState, expression: str, instance: str | None = None) -> str:
    """``calculate``: the value as Keyboard Maestro writes it; :class:`CalcError` if none."""
    world = ModelWorld(state, instance)
    value, _ = calculate(expression, world.variable)
    return format_number(value, "auto", 10)


# -- running macros -------------------------------------------------------------------


def find_for_do_script(state: KMState, identifier: str) -> library.Macro | None:
    """The macro ``do script`` runs: by UID (any state), or by name when it can run."""
    found = library.macro_by_uid(state, identifier.strip())
    if found is not None:
        return found[1]
    for group, macro in library.macros_named(state, identifier.strip()):
        if macro["enabled"] and group["enabled"] and group["active"]:
            return macro
    return None


def do_script(state: KMState, identifier: str, parameter: str = "") -> str:
    """Run a macro (``do script``); its result: empty text (the model returns no result)."""
    macro = find_for_do_script(state, identifier)
    if macro is None:
        raise Refused(NO_MATCHING_MACRO)
    return run_macro(state, macro, parameter)


@dataclass
class Execution:
    """One run of a macro: its instance, what it did and what it left out."""

    state: KMState
    macro: library.Macro
    parameter: str
    depth: int = 0
    instance: str = ""
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    result: str = ""

    def world(self) -> ModelWorld:
        return ModelWorld(self.state, self.instance, self.parameter)

    def expand(self, text: Any) -> str:
        return process_tokens(self.state, str(text), self.world())


def run_macro(state: KMState, macro: library.Macro, parameter: str = "", depth: int = 0) -> str:
    """Run ``macro``'s actions in order (the kinds in ``RUNNERS``; others are noted)."""
    run = Execution(state, macro, parameter, depth, instance=state.new_uid())
    for action in macro["actions"]:
        kind = str(action.get("MacroActionType", ""))
        runner = RUNNERS.get(kind)
        if runner is None or action.get("IsDisabled", False):
            run.skipped.append(kind)
            continue
        runner(run, action)
        run.done.append(kind)
    state.instances.pop(run.instance, None)
    state.record(
        "executions",
        {
            "macro": macro["uid"],
            "name": macro["name"],
            "trigger_value": parameter,
            "actions_run": run.done,
            "actions_not_modelled": run.skipped,
            "at": state.clock,
        },
    )
    return run.result


def _set_variable(run: Execution, action: dict[str, Any]) -> None:
    set_variable(run.state, str(action.get("Variable", "")), run.expand(action.get("Text", "")),
                 run.instance)  # fmt: skip


def _insert_text(run: Execution, action: dict[str, Any]) -> None:
    how = "pasted" if action.get("Action") == "ByPasting" else "typed"
    run.state.record("typed", {"text": run.expand(action.get("Text", "")), "how": how})


def _execute_macro(run: Execution, action: dict[str, Any]) -> None:
    found = library.macro_by_uid(run.state, str(action.get("MacroUID", "")))
    if found is None or run.depth >= MAX_DEPTH:
        run.skipped.append("ExecuteMacro")
        return
    run_macro(run.state, found[1], run.parameter, run.depth + 1)


def _pause(run: Execution, action: dict[str, Any]) -> None:
    """A pause takes no time in the model (its clock never moves)."""


RUNNERS: dict[str, Callable[[Execution, dict[str, Any]], None]] = {
    "SetVariableToText": _set_variable,
    "InsertText": _insert_text,
    "ExecuteMacro": _execute_macro,
    "Pause": _pause,
}
