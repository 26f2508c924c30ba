"""Hints in MCP answers name what an MCP caller can do, not command-line flags."""

from __future__ import annotations

import pytest

from engine.diagnostics.errors import PluginError
from engine.server import ecosystem
from engine.server.hints import for_mcp, rewrite


@pytest.mark.parametrize(
    ("cli", "mcp"),
    [
        pytest.param(
            "run with a less strict profile (--profile standard) if you trust this action",
            'run with a less strict profile (`security_profile` "standard") if you trust '
            "this action",
            id="profile",
        ),
        pytest.param(
            "uninstall those first, or remove them too (--with-dependents)",
            'uninstall those first, or remove them too (`parameters`: {"remove_dependents": true})',
            id="dependents",
        ),
        pytest.param(
            "the server is slow or unreachable: try again later, or raise --timeout",
            "the server is slow or unreachable: try again later, or raise `timeout`",
            id="timeout",
        ),
        pytest.param(
            "set its secret settings again with `km-actions configure clipboard-tools`",
            "set its secret settings again with `configure` (`plugin_identifier` "
            '"clipboard-tools", the values in `plugin_config`)',
            id="configure",
        ),
        pytest.param(
            "grant them too (--grant km_engine_control --grant km_macro_editor), or do "
            "not install the plugin",
            "the user can grant them from the command line (`km-actions install … --grant "
            "km_engine_control --grant km_macro_editor`), or do not install the plugin",
            id="grant",
        ),
        pytest.param(
            "use the https:// address of the marketplace, or pass --allow-http if you trust it",
            "use the https:// address of the marketplace, or the user can pass --allow-http "
            "to `km-actions install` if you trust it",
            id="allow-http",
        ),
        pytest.param(
            "enable it with `km-actions enable clipboard-tools`",
            "enable it with `km-actions enable clipboard-tools`",
            id="only-the-user-can",
        ),
        pytest.param("quote it: 'no'", "quote it: 'no'", id="untouched"),
    ],
)
def test_command_line_means_become_mcp_parameters(cli: str, mcp: str) -> None:
    assert for_mcp(cli) == mcp


def test_every_hint_of_an_envelope_is_rewritten() -> None:
    error = PluginError(
        "'a' is needed by 'b'",
        code="dependents",
        hint="uninstall those first, or remove them too (--with-dependents)",
    )
    warning = {"code": "w", "hint": "raise --timeout", "nested": [{"hint": "--profile strict"}]}
    envelope = ecosystem.failure("uninstall", error, warnings=[warning])
    assert envelope["error"]["hint"].endswith('(`parameters`: {"remove_dependents": true})')
    assert envelope["warnings"] == [
        {
            "code": "w",
            "hint": "raise `timeout`",
            "nested": [{"hint": '`security_profile` "strict"'}],
        }
    ]
    assert ecosystem.success("list", {}, warnings=[dict(warning)])["warnings"][0]["hint"] == (
        "raise `timeout`"
    )
    assert rewrite({"hint": None}) == {"hint": None}
