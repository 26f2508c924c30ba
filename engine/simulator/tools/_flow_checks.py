"""km_control_flow's shared checks, made before any action is written, in the server's order.

The macro identifier, ``control_type``, ``operator``; for the conditional kinds a
``condition`` (at most 500 characters, none of the words the server deems dangerous); for a
for loop an iterator and a collection; then the iteration and time bounds.

>>> check({"macro_identifier": "M", "control_type": "while_loop", "operator": "equals",
...        "condition": "run shell", "max_iterations": 1000, "timeout_seconds": 30})
Traceback (most recent call last):
...
engine.simulator.tools._flow_checks.Refusal: Security error [DANGEROUS_PATTERN]: Dangerous \
pattern detected in condition: shell
"""

from __future__ import annotations

from typing import Any

from engine.simulator.tools._flow_xml import COLLECTIONS
from engine.simulator.tools.context import invalid

__all__ = ["CHECK_HINT", "CONTROL_TYPES", "OPERATORS", "Refusal", "check", "collection_kinds"]

# In the server these are sets, so its messages list them in an order that changes with
# every server process; the simulator lists them in this order.
CONTROL_TYPES = ("if_then_else", "for_loop", "while_loop", "until_loop", "switch_case", "try_catch")
OPERATORS = (
    "equals",
    "not_equals",
    "greater_than",
    "less_than",
    "greater_equal",
    "less_equal",
    "contains",
    "not_contains",
    "matches_regex",
    "exists",
)
CONDITIONAL = frozenset({"if_then_else", "while_loop", "until_loop"})
# Words the server refuses anywhere in a condition (ignoring case), looked for in this order.
DANGEROUS_WORDS = (
    "exec",
    "eval",
    "import",
    "__import__",
    "subprocess",
    "os.system",
    "shell",
    "cmd",
    "`",
    "rm ",
    "del ",
    "format",
    "curl",
    "wget",
    "http",
)
CHECK_HINT = "Check parameter format and security requirements."


class Refusal(Exception):
    """A failure km_control_flow answers: its code, message and suggestion, and the prefix of
    its correlation id (``<prefix>_<macro identifier>``)."""

    def __init__(self, code: str, message: str, suggestion: str, correlation: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.suggestion = suggestion
        self.correlation = correlation


def invalid_call(message: str, suggestion: str = CHECK_HINT) -> Refusal:
    return Refusal("VALIDATION_ERROR", message, suggestion, "validation")


def collection_kinds() -> list[str]:
    """Keyboard Maestro's collection kinds, as the server lists them (sorted)."""
    return sorted(COLLECTIONS)


def check(args: dict[str, Any]) -> None:
    """:class:`Refusal` for the first check the call fails."""
    macro_id, kind = args["macro_identifier"], args["control_type"]
    problem: str | None = None
    if not macro_id.strip():
        problem = invalid("macro_identifier", macro_id, "cannot be empty")
    elif len(macro_id) > 255:
        problem = invalid("macro_identifier", macro_id, "must be 255 characters or less")
    elif kind not in CONTROL_TYPES:
        problem = invalid("control_type", kind, f"must be one of: {', '.join(CONTROL_TYPES)}")
    elif args["operator"] not in OPERATORS:
        problem = invalid("operator", args["operator"], f"must be one of: {', '.join(OPERATORS)}")
    elif kind in CONDITIONAL:
        problem = _condition_problem(kind, args["condition"])
    elif kind == "for_loop":
        problem = _loop_problem(args["iterator"], args["collection"], args["collection_dict"])
    problem = problem or _bounds_problem(args["max_iterations"], args["timeout_seconds"])
    if problem is not None:
        raise invalid_call(problem)


def _condition_problem(kind: str, condition: str | None) -> str | None:
    if not condition:
        return invalid("condition", condition, f"{kind} requires a condition expression")
    if len(condition) > 500:
        return invalid("condition", condition, "must be 500 characters or less")
    word = next((w for w in DANGEROUS_WORDS if w in condition.lower()), None)
    if word is not None:
        raise Refusal(
            "SECURITY_ERROR",
            f"Security error [DANGEROUS_PATTERN]: Dangerous pattern detected in condition: {word}",
            "Remove dangerous patterns and reduce complexity.",
            "security_error",
        )
    return None


def _loop_problem(
    iterator: str | None, collection: str | None, collection_dict: dict[str, Any] | None
) -> str | None:
    if not iterator:
        return invalid("iterator", iterator, "For loop requires an iterator variable")
    if not collection_dict and not collection:
        return invalid(
            "collection_dict",
            collection_dict,
            "For loop requires collection_dict with key 'type' (supported types: "
            f"{', '.join(collection_kinds())}). The legacy 'collection' string param is "
            "no longer used.",
        )
    if len(iterator) > 50:
        return invalid("iterator", iterator, "must be 50 characters or less")
    if collection and len(collection) > 500:
        return invalid("collection", collection, "must be 500 characters or less")
    return None


def _bounds_problem(max_iterations: int, timeout_seconds: int) -> str | None:
    if not 1 <= max_iterations <= 10000:
        return invalid("max_iterations", max_iterations, "must be between 1 and 10000")
    if not 1 <= timeout_seconds <= 300:
        return invalid("timeout_seconds", timeout_seconds, "must be between 1 and 300")
    return None
