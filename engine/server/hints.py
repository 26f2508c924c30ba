"""Hints as an MCP caller can act on them.

The engine's hints are written for the command line (``--profile standard``,
``--with-dependents``). Where ``km_plugin_ecosystem`` has the same means, an MCP answer
names it instead (``security_profile``, ``parameters.remove_dependents``); where only the
user can act (granting tools, allowing plain HTTP), the hint says that the user can.

>>> for_mcp("install with a less strict profile (--profile standard) if you trust it")
'install with a less strict profile (`security_profile` "standard") if you trust it'
>>> for_mcp("uninstall those first, or remove them too (--with-dependents)")
'uninstall those first, or remove them too (`parameters`: {"remove_dependents": true})'
>>> for_mcp("see the installed actions with `km-actions list` (docs/plugins.md)")
'see the installed actions with the `list` operation (km-actions://docs/plugins)'
>>> for_mcp("`n` takes text: give it as --input n=…")
'`n` takes text: give it as `"n": …` in `parameters` (or in the arguments of the action tool)'
>>> for_mcp("add one with `km-actions marketplace add URL`, or pass --index URL")
... # doctest: +NORMALIZE_WHITESPACE
'the user can add one with `km-actions marketplace add URL` (MCP callers cannot add
marketplaces); or give `plugin_source` a folder, archive or URL the user allowed'
>>> for_mcp("`km-actions tools km_list_macros` shows the whole answer")
'km-actions://catalog (its `km_list_macros` entry) shows the whole answer'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_Rewrite = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

_REWRITES: tuple[_Rewrite, ...] = (
    (re.compile(r"--profile (\w+)"), r'`security_profile` "\1"'),
    (re.compile(r"\(--with-dependents\)"), '(`parameters`: {"remove_dependents": true})'),
    (re.compile(r"raise --timeout"), "raise `timeout`"),
    (
        re.compile(r"give it as --input ([\w-]+)=…"),
        r'give it as `"\1": …` in `parameters` (or in the arguments of the action tool)',
    ),
    (
        re.compile(r"`km-actions configure ([\w.-]+)`"),
        r'`configure` (`plugin_identifier` "\1", the values in `plugin_config`)',
    ),
    (
        re.compile(r"grant them too \((--grant [^)]*)\)"),
        lambda m: (
            f"the user can grant them from the command line (`km-actions install … {m.group(1)}`)"
        ),
    ),
    (re.compile(r"`km-actions list`"), "the `list` operation"),
    (re.compile(r"`km-actions describe ([\w.-]+)`"), r'`describe` (`plugin_identifier` "\1")'),
    (re.compile(r"`km-actions test`"), "the `test` operation"),
    (re.compile(r"`km-actions tools ([\w-]+)`"), r"km-actions://catalog (its `\1` entry)"),
    (re.compile(r"\bdocs/([\w-]+)\.md"), r"km-actions://docs/\1"),
    (
        re.compile(r"add one with (`km-actions marketplace add URL`), or pass --index URL"),
        r"the user can add one with \1 (MCP callers cannot add marketplaces); or give "
        r"`plugin_source` a folder, archive or URL the user allowed",
    ),
    (
        re.compile(r"pass --allow-http"),
        "the user can pass --allow-http to `km-actions install`",
    ),
)


def for_mcp(hint: str | None) -> str | None:
    """``hint`` with its command-line means replaced by what an MCP caller can do."""
    if not hint or ("-" not in hint and "docs/" not in hint):
        return hint
    for pattern, replacement in _REWRITES:
        hint = pattern.sub(replacement, hint)
    return hint


def rewrite(answer: Any) -> Any:
    """Every ``hint`` in an answer (the error, its diagnostics, the warnings), for MCP.
    Changes ``answer`` in place and returns it."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key == "hint" and isinstance(value, str):
                answer[key] = for_mcp(value)
            elif isinstance(value, dict | list):
                rewrite(value)
    elif isinstance(answer, list):
        for item in answer:
            rewrite(item)
    return answer
