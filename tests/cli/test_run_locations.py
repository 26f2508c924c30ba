"""Where `km-actions run` reports a value that fails while it is computed: at the value
itself (its line:col and JSON path), not at the step or the action holding it."""

from __future__ import annotations

from tests.cli.conftest import Cli, action_text

DURATION = action_text(
    "notify",
    """\
    inputs:
      n: {type: number}
    steps:
      - id: show
        tool: km_notifications
        with:
          notification_type: hud
          title: T
          message: M
          duration: "{{ inputs.n }}"
    """,
)


def test_an_argument_the_tool_refuses_is_reported_at_the_argument(cli: Cli) -> None:
    """It was reported at the step's `- id:` line, path `$.steps[0]`."""
    cli.write("notify.yaml", DURATION)
    outcome = cli("run", "notify.yaml", "--dry-run", "-i", "n=0")
    assert outcome.code == 1
    assert outcome.err.splitlines()[1:5] == [
        "notify.yaml:14:17: error[invalid-arguments]: argument `duration` of km_notifications, "
        "given by `{{ inputs.n }}`, is not valid: 0 is below the minimum of 0.1",
        '  14 |       duration: "{{ inputs.n }}"',
        "     |                 ^^^^^^^^^^^^^^^^",
        "     = hint: Display duration in seconds (0.1-60.0)",
    ]
    error = cli("run", "notify.yaml", "--dry-run", "-i", "n=0", "--json").json()["error"]
    assert (error["location"], error["path"], error["step"]) == (
        "notify.yaml:14:17",
        "$.steps[0].with.duration",
        "show",
    )
