"""Secret values are named, never shown (engine/lang/secrets.py): :func:`show` and
:meth:`Secrets.mask`, then the promise as a property: for any secret value, no answer of
a failing run, settings check or test report holds it in any form."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.diagnostics.errors import SettingsError
from engine.lang.secrets import ALONE, ANYWHERE, MASK, Secrets, schema_message, secret_label, show
from engine.plugins.settings import changed_settings
from engine.run import FakeClock
from engine.run.model import Pipeline, PluginSettings
from engine.run.testing import run_test
from engine.validate.inputs import InputSpec
from tests.run.conftest import Tools

TOKEN = "the-token-1234"


def secrets_of(*values: Any) -> Secrets:
    """A registry with each value noted as the secret input `s<n>`."""
    found = Secrets()
    for index, value in enumerate(values):
        found.note(value, f"the secret input `s{index}`")
    return found


# -- show: the one way a message quotes a value ----------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param(TOKEN, "the secret input `s0`", id="the-secret"),
        pytest.param(f"Bearer {TOKEN}", "a value containing the secret input `s0`", id="inside"),
        pytest.param(1234, "the secret input `s1`", id="a-number"),
        pytest.param("1234", "the secret input `s1`", id="a-number-as-text"),
        pytest.param(
            {"user": "ann", "token": TOKEN, "n": [1, 1234]},
            '{"user": "ann", "token": (the secret input `s0`), "n": [1, (the secret input `s1`)]}',
            id="inside-a-mapping",
        ),
        pytest.param({TOKEN: 1}, "{(the secret input `s0`): 1}", id="a-key"),
        pytest.param("ann", '"ann"', id="not-secret"),
        pytest.param(12, "12", id="another-number"),
        pytest.param(True, "true", id="true"),
    ],
)
def test_show_names_secrets_and_quotes_the_rest_as_json(value: Any, shown: str) -> None:
    assert show(value, 200, secrets=secrets_of(TOKEN, 1234)) == shown


def test_show_never_cuts_a_secret_it_names() -> None:
    long = "x" * 100
    assert show(long, 10, secrets=secrets_of(long)) == "the secret input `s0`"
    assert show(long, 10) == '"xxxxxx…'
    assert show(long, 10, secret="the secret input `pw`") == "the secret input `pw`"


def test_show_outside_a_run_knows_no_secrets() -> None:
    assert secret_label(TOKEN) is None
    assert show(TOKEN) == f'"{TOKEN}"'


def test_schema_messages_name_the_value_instead_of_quoting_it() -> None:
    known = secrets_of(TOKEN)

    def message(schema: dict[str, Any], value: Any, subject: str | None = None) -> str:
        error = next(jsonschema.Draft202012Validator(schema).iter_errors(value))
        return schema_message(error, subject, secrets=known)

    assert message({"enum": ["a"]}, TOKEN) == 'the secret input `s0` is not one of "a"'
    assert message({"enum": ["a"]}, "b") == '"b" is not one of "a"'
    assert message({"required": ["x"]}, {"t": TOKEN}) == "`x` is missing"
    assert message({"const": "a"}, TOKEN) == 'the secret input `s0` is not "a"'
    assert message({"prefixItems": [{}], "items": False}, [1, TOKEN]) == (
        "[1, (the secret input `s0`)] does not fit `items` in the schema"
    )
    assert message({"minLength": 99}, TOKEN, "the secret value") == (
        "the secret value is shorter than 99 characters"
    )


# -- the last line of defence: masking what km-actions did not write ------------------------


@pytest.mark.parametrize(
    ("secret", "text", "masked"),
    [
        pytest.param("hunter2!", "pw=hunter2! ok", f"pw={MASK} ok", id="long-anywhere"),
        pytest.param("hunter2!", "xhunter2!x", f"x{MASK}x", id="long-glued"),
        pytest.param("4321", "pin 4321.", f"pin {MASK}.", id="alone"),
        pytest.param("4321", "id 43210 and 14321", "id 43210 and 14321", id="inside-a-number"),
        pytest.param("1000", "at most 10000 characters", "at most 10000 characters", id="digits"),
        pytest.param(
            "1",
            "at most 10 characters (1 left)",
            "at most 10 characters (1 left)",
            id="short-in-text",
        ),
        pytest.param("1", "1", MASK, id="short-whole"),
        pytest.param('pa"ss\\word', 'got "pa\\"ss\\\\word"', f'got "{MASK}"', id="json-escaped"),
        pytest.param('pa"ss\\word', "got 'pa\"ss\\\\word'", f"got '{MASK}'", id="repr-escaped"),
        pytest.param("mot de passé", 'x "mot de pass\\u00e9"', f'x "{MASK}"', id="ascii-escaped"),
    ],
)
def test_masking_changes_the_secret_and_nothing_else(secret: str, text: str, masked: str) -> None:
    assert secrets_of(secret).mask_text(text) == masked


def test_masking_data_keeps_types_and_unrelated_numbers() -> None:
    known = secrets_of(7, "s3cr3t-token")
    data = {"pin": 7, "count": 7.0, "other": 17, "ok": True, "list": ("s3cr3t-token", 70)}
    assert known.mask(data) == {
        "pin": MASK,
        "count": MASK,
        "other": 17,
        "ok": True,
        "list": (MASK, 70),
    }
    assert not Secrets() and Secrets().mask(data) is data


SECRET_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=24)


@given(secret=SECRET_TEXT, text=st.text(max_size=60))
def test_masking_only_ever_changes_text_holding_the_secret(secret: str, text: str) -> None:
    known = secrets_of(secret)
    masked = known.mask_text(text)
    forms = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1]}
    if not any(form in text for form in forms):
        assert masked == text
    if len(secret) < ALONE and text not in forms:
        assert masked == text  # too short to tell apart from other text
    if len(secret) >= ANYWHERE:
        assert secret not in masked


# -- the promise, as a property ---------------------------------------------------------

TOOLS = Tools()
TOOLS.register(
    "km_pick",
    lambda mode: {"success": True, "data": {"mode": mode}},
    {"type": "object", "properties": {"mode": {"enum": ["fast", "slow"]}}},
)

# Each step fails on the secret in another way; continue_on_error keeps going, so the
# trace holds every error.
FAILING = """
inputs:
  pw: {type: any, secret: true}
steps:
  - set: {m: {k: 1}}
  - id: number
    foreach: "[int(inputs.pw)]"
    as: n
    steps: [{set: {x: 1}}]
    continue_on_error: true
  - id: key
    set: {y: "{{ vars.m[inputs.pw] }}"}
    continue_on_error: true
  - id: pick
    tool: km_pick
    with: {mode: "{{ inputs.pw }}"}
    continue_on_error: true
  - id: wait
    wait: "{{ inputs.pw }} s"
    continue_on_error: true
outputs:
  errors: "{{ [steps.number.error, steps.key.error, steps.pick.error, steps.wait.error] }}"
"""
# A tool that echoes the secret, and a message made from its answer: only masking can
# hide it, which it does for a secret of ALONE characters or more (standing alone here).
ECHOED = """
inputs:
  pw: {type: any, secret: true}
steps:
  - id: login
    tool: km_echo
    with: {text: "user {{ inputs.pw }} end"}
  - fail: "login {{ steps.login.result.data.text }} was refused"
"""
# A test whose expected call is wrong: its report quotes the call's arguments.
TESTED = """
inputs:
  pw: {type: any, secret: true}
steps:
  - tool: km_free
    with: {token: "{{ inputs.pw }}", n: 1}
"""
CHECKED = {
    "pin": {"type": "integer", "secret": True},
    "pw": {"type": "any", "secret": True, "enum": ["x-never"]},
}
SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {"token": {"type": "string", "minLength": 500, "secret": True}, "n": {}},
    "oneOf": [{"required": ["token"]}, {"required": ["n"]}],
}
STRING_CANARY, NUMBER_CANARY = "CANARY-VALUE-0000", 987654321987


def answers(secret: Any) -> str:
    """Everything a caller could be shown after failing with ``secret``, as JSON text."""
    shown: list[Any] = []
    for body in (FAILING, *((ECHOED,) if len(str(secret)) >= ALONE else ())):
        result = TOOLS.run(compiled(body), {"pw": secret}, trace=True, clock=FakeClock())
        shown.append({**result.to_dict(), "duration_ms": 0})
    for name, spec in CHECKED.items():
        shown.append(InputSpec.from_manifest(name, spec).problems(secret))
        try:
            InputSpec.from_manifest(name, spec).from_text(str(secret))
        except ValueError as refused:
            shown.append(str(refused))
    with pytest.raises(SettingsError) as refused:  # fits both forms the oneOf allows
        changed_settings("demo", SETTINGS_SCHEMA, {}, {"token": secret, "n": 1})
    shown.append(refused.value.to_dict())
    case = {
        "name": "t",
        "inputs": {"pw": secret},
        "mocks": {"km_free": [{"success": True}]},
        "expect": {"calls": [{"tool": "km_free", "with": {"token": "WRONG"}}]},
    }
    outcome = asyncio.run(run_test(compiled(TESTED), case, catalog=TOOLS.bridge.catalog()))
    shown.append(outcome.to_dict() | {"duration_ms": 0})
    return json.dumps(shown, ensure_ascii=False)


def compiled(body: str) -> Pipeline:
    if body not in PIPELINES:
        PIPELINES[body] = TOOLS.compile(body)
    return PIPELINES[body]


PIPELINES: dict[str, Pipeline] = {}


def forms(secret: Any) -> set[str]:
    """The secret in any form an answer could hold it: raw, escaped as in repr and JSON
    (and each of those as the answers' JSON writes it), the text of a number, and every
    prefix of ALONE characters or more. A text shorter than ALONE is in any answer
    (``"line": 6``), so it is looked for quoted only (``"ab"``, ``'ab'``)."""
    text = secret if isinstance(secret, str) else str(secret)
    escaped = {
        text,
        repr(text)[1:-1],
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
    }
    written = escaped | {json.dumps(form, ensure_ascii=False)[1:-1] for form in escaped}
    long = {form for form in written if len(form) >= ALONE}
    prefixes = {form[:end] for form in long for end in range(ALONE, len(form))}
    quoted = {
        quote
        for form in written
        if len(form) < ALONE and isinstance(secret, str)
        for quote in (f"'{form}'", f'"{form}"', f'\\"{form}\\"')
    }
    return long | prefixes | quoted


SECRETS = st.one_of(
    SECRET_TEXT,
    st.sampled_from(['pa"ss\\word', "1", "10", "at", "must", "é", "0.5", "-3", "true", "null"]),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text("0123456789", min_size=1, max_size=8),
)
BASELINES: dict[type, str] = {}


def baseline(secret: Any) -> str:
    """The answers with a canary of the secret's type: the text every answer holds
    whatever the secret is (a secret like "must" is in it, and cannot be told apart)."""
    kind = type(secret)
    if kind not in BASELINES:
        BASELINES[kind] = answers(STRING_CANARY if kind is str else NUMBER_CANARY)
    return BASELINES[kind]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=SECRETS)
def test_no_answer_ever_holds_a_secret_in_any_form(secret: Any) -> None:
    fixed = baseline(secret)
    said = answers(secret)
    for form in forms(secret):
        if form not in fixed:
            assert form not in said, f"{form!r} of the secret {secret!r} is shown: {said}"


def test_the_property_sees_every_failure() -> None:
    """What the property checks, for one secret: each failure names it."""
    failing, echoed, *checked, settings_error, report = json.loads(answers(TOKEN))
    assert [error["message"] for error in failing["outputs"]["errors"]] == [
        "cannot turn the secret input `pw` into a whole number",
        "`vars.m` has no key given by the secret input `pw`",
        "argument `mode` of km_pick, given by `{{ inputs.pw }}`, is not valid: the secret "
        'input `pw` is not one of "fast", "slow"',
        "`wait` must be a number, but `{{ inputs.pw }} s` gave a value containing the secret "
        "input `pw`",
    ]
    assert echoed["error"]["message"] == f"login user {MASK} end was refused"
    assert checked == [
        ["must be a whole number, not text (the secret input `pin`)"],
        "expected a whole number, got the secret input `pin`",
        ['must be one of "x-never" (got the secret input `pw`)'],
    ]
    assert [d["message"] for d in settings_error["diagnostics"]] == [
        "the settings object fits more than one of the forms it may take: one with `token`, "
        "one with `n`",
        "`token`: the secret value is shorter than 500 characters",
    ]
    assert report["failures"] == [
        'call 1 to km_free had arguments {"token": (the secret input `pw`), "n": 1}, which '
        'do not contain {"token": "WRONG"}'
    ]


def test_settings_of_a_plugin_for_tests_are_its_defaults() -> None:
    real = PluginSettings({"token": TOKEN, "n": 2}, frozenset({"token"}), {"n": 1})
    assert real.for_tests({"m": 3}) == PluginSettings({"n": 1, "m": 3}, real.secret, {"n": 1})
