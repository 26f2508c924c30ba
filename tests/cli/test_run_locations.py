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


NESTED = action_text(
    "nested",
    """\
    permissions: [km_notifications]
    inputs:
      k: {type: string}
      o: {type: object, default: {}}
    steps:
      - tool: km_notifications
        with:
          notification_type: alert
          title: T
          message: M
          buttons: ["{{ inputs.k }}", "{{ inputs.o.name }}"]
      - emit: ev
        with: {b: {deep: [x, "{{ inputs.o.name }}"]}}
    """,
)


def test_a_template_failing_inside_a_list_argument_is_reported_at_its_item(cli: Cli) -> None:
    """It underlined the whole list (`validate` underlines the item)."""
    cli.write("nested.yaml", NESTED)
    outcome = cli("run", "nested.yaml", "--dry-run", "-i", "k=a")
    assert outcome.code == 1
    assert outcome.err.splitlines()[1:4] == [
        "nested.yaml:15:35: error[template-error]: `inputs.o` has no key 'name'; it is empty",
        '  15 |       buttons: ["{{ inputs.k }}", "{{ inputs.o.name }}"]',
        "     |                                   ^^^^^^^^^^^^^^^^^^^^^",
    ]
    error = cli("run", "nested.yaml", "--dry-run", "-i", "k=a", "--json").json()["error"]
    assert (error["location"], error["path"]) == (
        "nested.yaml:15:35",
        "$.steps[0].with.buttons[1]",
    )


def test_a_template_failing_deep_in_emitted_data_is_reported_at_its_item(cli: Cli) -> None:
    cli.write(
        "nested.yaml", NESTED.replace('"{{ inputs.o.name }}"]\n  -', '"{{ inputs.k }}"]\n  -')
    )
    outcome = cli("run", "nested.yaml", "--dry-run", "-i", "k=a")
    assert outcome.code == 1
    assert outcome.err.splitlines()[-5:-2] == [
        "nested.yaml:17:26: error[template-error]: `inputs.o` has no key 'name'; it is empty",
        '  17 |     with: {b: {deep: [x, "{{ inputs.o.name }}"]}}',
        "     |                          ^^^^^^^^^^^^^^^^^^^^^",
    ]
    error = cli("run", "nested.yaml", "--dry-run", "-i", "k=a", "--json").json()["error"]
    assert (error["location"], error["path"]) == (
        "nested.yaml:17:26",
        "$.steps[1].with.b.deep[1]",
    )


BIG_OUTPUTS = action_text(
    "big",
    """\
    steps:
      - set:
          a: "{{ 'x' * 600000 }}"
    outputs:
      one: "{{ vars.a }}"
      two: "{{ vars.a }}"
    """,
)


def test_outputs_too_large_together_are_reported_at_the_outputs_key(cli: Cli) -> None:
    """No single output is at fault; it was reported with no location (`<input>`)."""
    cli.write("big.yaml", BIG_OUTPUTS)
    outcome = cli("run", "big.yaml", "--dry-run")
    assert outcome.code == 1
    assert outcome.err.splitlines()[1:4] == [
        "big.yaml:8:1: error[limit-exceeded]: the outputs would hold about 1,200,000 characters "
        "of data (limit max_template_output: 1,000,000)",
        "   8 | outputs:",
        "     | ^^^^^^^",
    ]
    error = cli("run", "big.yaml", "--dry-run", "--json").json()["error"]
    assert (error["location"], error["path"]) == ("big.yaml:8:1", "$.outputs")
