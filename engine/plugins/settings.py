"""Plugin settings: checked against ``configuration_schema``, defaults, secrets, masking.

A plugin's settings are a mapping checked against its ``configuration_schema`` (JSON
Schema). Properties marked ``secret: true`` are kept apart (in the secrets file, not the
database) and shown as ``••••••`` everywhere. Actions read the settings as ``config.x``.

>>> schema = {"type": "object", "properties": {
...     "greeting": {"type": "string", "default": "Hello"},
...     "token": {"type": "string", "secret": True, "minLength": 4}}}
>>> effective(schema, {}, {"token": "abcd"})
{'greeting': 'Hello', 'token': 'abcd'}
>>> masked(schema, {"greeting": "Hi", "token": "abcd"})
{'greeting': 'Hi', 'token': '••••••'}
>>> problems(schema, {"token": "abc"})
['`token`: the secret value is shorter than 4 characters']
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from engine.diagnostics.errors import ConfigError, Diagnostic, SettingsError
from engine.diagnostics.suggestions import did_you_mean
from engine.lang.secrets import MASK, Secrets, schema_message
from engine.load.jsonparse import LONE_SURROGATE, JSONValueError, loads_value
from engine.run.model import PluginSettings
from engine.validate.context import secret_settings


@dataclass(frozen=True)
class DroppedSetting:
    """A setting an upgrade could not keep: the new schema no longer accepts it."""

    name: str
    reason: str
    secret: bool = False

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def properties(schema: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The declared settings, by name."""
    props = (schema or {}).get("properties")
    if not isinstance(props, Mapping):
        return {}
    return {str(k): v for k, v in props.items() if isinstance(v, Mapping)}


def secret_names(schema: Mapping[str, Any] | None) -> frozenset[str]:
    """The settings marked ``secret: true``.

    >>> sorted(secret_names({"properties": {"a": {"secret": True}, "b": {}}}))
    ['a']
    """
    return frozenset(secret_settings(schema))


def defaults(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The default of every setting that has one."""
    return {k: copy.deepcopy(v["default"]) for k, v in properties(schema).items() if "default" in v}


def effective(
    schema: Mapping[str, Any] | None, values: Mapping[str, Any], secrets: Mapping[str, Any]
) -> dict[str, Any]:
    """What actions see as ``config``: defaults, then stored values, then secrets."""
    out = defaults(schema)
    out.update(values)
    out.update(secrets)
    return out


def masked(schema: Mapping[str, Any] | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with every secret shown as the mask."""
    hidden = secret_names(schema)
    return {k: (MASK if k in hidden else v) for k, v in settings.items()}


def plugin_settings(
    schema: Mapping[str, Any] | None, values: Mapping[str, Any] | None = None
) -> PluginSettings:
    """What a plugin's actions run with: ``values`` over the defaults (``config``),
    which settings are secret, and the defaults (all that tests see).

    >>> schema = {"properties": {"n": {"default": 1}, "token": {"secret": True}}}
    >>> settings = plugin_settings(schema, {"token": "s3cr3t"})
    >>> settings.values, settings.secret, settings.defaults
    ({'n': 1, 'token': 's3cr3t'}, frozenset({'token'}), {'n': 1})
    """
    base = defaults(schema)
    return PluginSettings({**base, **(values or {})}, secret_names(schema), base)


def problems(schema: Mapping[str, Any] | None, settings: Mapping[str, Any]) -> list[str]:
    """Why ``settings`` do not fit the schema; missing required ones are left to
    :func:`missing`, so settings can be given one at a time.

    No message quotes the value of a secret setting, or a value holding one (the whole
    settings object, checked by a top-level ``oneOf``, say): it is named instead.

    >>> schema = {"properties": {"token": {"secret": True}}, "not": {"required": ["token"]}}
    >>> problems(schema, {"token": "s3cr3t"})
    ['the settings object has a form it may not take: one with `token`']
    """
    return [_said(name, why) for name, why in _problems(schema, settings)]


def _said(name: str, why: str) -> str:
    return f"`{name}`: {why}" if name else why


def _problems(
    schema: Mapping[str, Any] | None, settings: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(the setting, or "" for the whole settings object; why it does not fit)."""
    if not schema:
        return []
    hidden = secret_names(schema)
    secrets = Secrets()
    secrets.note_settings(settings, hidden)
    out = []
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(dict(settings)), key=lambda e: list(e.path)):
        if error.validator == "required" and not error.path:
            continue
        name = str(error.path[0]) if error.path else ""
        out.append((name, _message(error, name, hidden, secrets)))
    return out


def changed_settings(
    identifier: str,
    schema: Mapping[str, Any] | None,
    current: Mapping[str, Any],
    values: Mapping[str, Any],
    unset: Iterable[str] = (),
) -> dict[str, Any]:
    """``current`` (plain and secret) with ``values`` set and ``unset`` cleared, when the
    result fits the schema; :class:`SettingsError` (``unknown-setting`` or
    ``invalid-config``, each problem at its setting) otherwise.

    >>> schema = {"properties": {"n": {"type": "integer", "maximum": 9}}}
    >>> changed_settings("demo", schema, {"n": 1}, {"n": 2})
    {'n': 2}
    >>> try:
    ...     changed_settings("demo", schema, {}, {"n": 12})
    ... except SettingsError as refused:
    ...     print(refused.message, refused.first.json_path)
    the settings of 'demo' are not valid: `n`: 12 is above the maximum of 9 $.n
    """
    cleared = list(unset)
    check_names(identifier, schema, [*values, *cleared])
    merged = {**current, **values}
    for name in cleared:
        merged.pop(name, None)
    found = _problems(schema, effective(schema, {}, merged))
    if found:
        raise config_error(identifier, found)
    return merged


def _message(
    error: jsonschema.ValidationError, name: str, hidden: frozenset[str], secrets: Secrets
) -> str:
    if name in hidden:
        part = "the secret value" if len(error.path) == 1 else "a part of the secret value"
        return schema_message(error, part)
    if not name and secrets:
        return schema_message(error, "the settings object")
    return schema_message(error, secrets=secrets)


def missing(schema: Mapping[str, Any] | None, settings: Mapping[str, Any]) -> list[str]:
    """Required settings that have neither a value nor a default."""
    required = (schema or {}).get("required")
    if not isinstance(required, list):
        return []
    return [str(name) for name in required if name not in settings]


def split(
    schema: Mapping[str, Any] | None, settings: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(non-secret values for the database, secret values for the secrets file)."""
    hidden = secret_names(schema)
    plain = {k: v for k, v in settings.items() if k not in hidden}
    secret = {k: v for k, v in settings.items() if k in hidden}
    return plain, secret


def keep_valid(
    schema: Mapping[str, Any] | None, settings: Mapping[str, Any]
) -> tuple[dict[str, Any], list[DroppedSetting]]:
    """The settings a new schema still accepts, and those it does not (with why).

    >>> new = {"type": "object", "properties": {"n": {"type": "integer"}}}
    >>> kept, dropped = keep_valid(new, {"n": "three", "gone": 1})
    >>> kept, [str(d) for d in dropped]
    ({}, ['gone: the new version has no such setting', "n: 'three' is not of type 'integer'"])
    """
    props = properties(schema)
    hidden = secret_names(schema)
    kept: dict[str, Any] = {}
    dropped: list[DroppedSetting] = []
    for name, value in sorted(settings.items()):
        spec = props.get(name)
        if spec is None:
            dropped.append(DroppedSetting(name, "the new version has no such setting"))
            continue
        errors = list(jsonschema.Draft202012Validator(spec).iter_errors(value))
        if errors:
            secret = name in hidden
            reason = "the new version does not accept its value" if secret else errors[0].message
            dropped.append(DroppedSetting(name, reason, secret=secret))
            continue
        kept[name] = value
    return kept, dropped


def carry_over(
    schema: Mapping[str, Any] | None, plain: Mapping[str, Any], secrets: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[DroppedSetting]]:
    """What an upgrade keeps of the stored settings: (plain values, secret values, the
    settings dropped with why).

    A value stored as a secret stays a secret: when the new schema no longer marks it
    ``secret``, it is dropped rather than kept in plain (where answers, descriptions and
    actions' outputs would show it). Whoever wrote the new version cannot read the old
    secret by declaring it a plain setting.

    >>> new = {"properties": {"token": {"type": "string"}}}
    >>> plain, secret, dropped = carry_over(new, {}, {"token": "s3cr3t"})
    >>> plain, secret, [str(d) for d in dropped]  # doctest: +NORMALIZE_WHITESPACE
    ({}, {}, ['token: it was a secret, and the new version no longer marks it secret:
    it was dropped, not kept in plain'])
    """
    kept, dropped = keep_valid(schema, {**plain, **secrets})
    hidden = secret_names(schema)
    for name in sorted(set(kept) & set(secrets) - hidden):
        del kept[name]
        dropped.append(
            DroppedSetting(
                name,
                "it was a secret, and the new version no longer marks it secret: it was "
                "dropped, not kept in plain",
                secret=True,
            )
        )
    new_plain, new_secrets = split(schema, kept)
    return new_plain, new_secrets, sorted(dropped, key=lambda d: d.name)


def check_names(identifier: str, schema: Mapping[str, Any] | None, names: Iterable[str]) -> None:
    """Refuse settings the plugin does not declare (``unknown-setting``), with a did-you-mean."""
    props = properties(schema)
    for name in names:
        if name not in props:
            if not props:
                raise SettingsError(
                    f"'{identifier}' has no settings",
                    code="unknown-setting",
                    hint="only plugins with a configuration_schema can be configured",
                    path=(name,),
                )
            raise SettingsError(
                f"'{identifier}' has no setting `{name}`",
                code="unknown-setting",
                hint=did_you_mean(name, props) or f"its settings: {', '.join(sorted(props))}",
                path=(name,),
            )


def parse_assignment(schema: Mapping[str, Any] | None, text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from the command line, typed by the setting's schema.

    >>> schema = {"properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}
    >>> parse_assignment(schema, "n=3"), parse_assignment(schema, "s=3")
    (('n', 3), ('s', '3'))
    """
    name, sep, raw = text.partition("=")
    if not sep or not name:
        # A declared name is quoted; any other text may be a value (a secret), never echoed.
        what = repr(text) if text in properties(schema) else "a setting without `=`"
        raise ConfigError(
            f"{what} is not KEY=VALUE",
            code="invalid-config",
            hint="write e.g. greeting=Hello (quote values with spaces in your shell)",
        )
    if LONE_SURROGATE.search(text):  # command-line bytes that are not UTF-8 arrive so
        raise ConfigError(
            f"the value of `{name}` is not UTF-8 text",
            code="invalid-config",
            hint="type the value again, as UTF-8 text",
        )
    spec = properties(schema).get(name, {})
    kinds = spec.get("type")
    types = set(kinds) if isinstance(kinds, list) else {kinds}
    if types <= {"string", None} and kinds is not None:
        return name, raw
    try:
        return name, loads_value(raw)
    except JSONValueError as exc:
        raise ConfigError(f"`{name}`: {exc}", code="invalid-config", hint=exc.hint) from None
    except ValueError:
        if raw.lower() in ("yes", "on", "no", "off") and "boolean" in types:
            return name, raw.lower() in ("yes", "on")
        return name, raw


def config_error(identifier: str, found: list[tuple[str, str]]) -> SettingsError:
    """The error for settings that do not fit (every problem as a diagnostic, at its
    setting)."""
    hint = "change the value to fit (see `km-actions describe " + identifier + "`)"
    return SettingsError(
        f"the settings of '{identifier}' are not valid: {_said(*found[0])}"
        + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""),
        code="invalid-config",
        hint=hint,
        diagnostics=[
            Diagnostic("invalid-config", _said(name, why), path=(name,) if name else (), hint=hint)
            for name, why in found
        ],
    )
