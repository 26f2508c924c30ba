"""Secret values: which values are secret (by where they came from), and the one way a
message quotes a value, which never shows a secret in any form.

A secret is the value of an input or a plugin setting marked ``secret: true``, with
every text and number inside it. A run notes each one as it arrives, with a label that
says where it came from; every message that quotes a value (an error, a hint, a test
report) quotes it through :func:`show`, which gives the label instead of the value or
any part of it (no prefix, no escaped or ``repr`` form). A value holding a secret,
however short, is named too: a message only loses a preview.

>>> secrets = Secrets()
>>> secrets.note("hunter2!", "the secret input `password`")
>>> show("hunter2!", secrets=secrets)
'the secret input `password`'
>>> show({"user": "ann", "password": "hunter2!"}, secrets=secrets)
'{"user": "ann", "password": (the secret input `password`)}'
>>> show("ann", secrets=secrets)
'"ann"'

What a run gives back also passes through :meth:`Secrets.mask`, a last line of defence
for text km-actions did not write (a tool's answer that echoes its argument). It never
changes unrelated text: a value equal to a secret becomes ``••••••``; inside a longer
text, a secret of 8 characters or more is masked wherever it is, one of 4 to 7 only
where it stands alone (not inside a longer word or number), and one of 1 to 3 never
(such a short text cannot be told apart from any other):

>>> secrets.note(1, "the secret input `pin`")
>>> secrets.mask({"said": "pw=hunter2! ok", "pin": 1, "note": "at most 10 (1 left)"})
{'said': 'pw=•••••• ok', 'pin': '••••••', 'note': 'at most 10 (1 left)'}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar, Token
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, TypeVar

from engine.diagnostics.errors import EngineError, StepError
from engine.diagnostics.words import TYPE_WORDS

if TYPE_CHECKING:
    from jsonschema import ValidationError

E = TypeVar("E", bound=EngineError)

#: What a secret value is shown as in data: settings, outputs, traces, recorded calls.
MASK: Final = "••••••"

#: A secret at least this long is masked wherever it appears inside a text.
ANYWHERE: Final = 8
#: A secret at least this long (and shorter than ANYWHERE) is masked inside a text only
#: where it stands alone; a shorter one only where a whole value equals it.
ALONE: Final = 4


def _forms(text: str) -> set[str]:
    """``text`` as it may appear in other text: raw, and escaped as in ``repr`` and JSON."""
    return {
        text,
        repr(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        json.dumps(text)[1:-1],
    }


def _is_word(character: str) -> bool:
    return re.fullmatch(r"\w", character) is not None


def _pattern_of(form: str) -> str:
    escaped = re.escape(form)
    if len(form) >= ANYWHERE:
        return escaped
    # Alone: not glued to a letter or digit on a side where the secret has one.
    before = r"(?<!\w)" if _is_word(form[0]) else ""
    after = r"(?!\w)" if _is_word(form[-1]) else ""
    return before + escaped + after


class Secrets:
    """The secret values of a run (or of a set of settings), each with its label."""

    __slots__ = ("_found", "_labels", "_masked", "_numbers")

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}  # every form of every secret text → its label
        self._numbers: dict[float, str] = {}  # secret numbers (by value) → label
        # Built when first needed: any form anywhere (to name a value rather than quote
        # it), and the forms masking may replace inside other text (see the module docs).
        self._found: re.Pattern[str] | None = None
        self._masked: re.Pattern[str] | None = None

    def __bool__(self) -> bool:
        return bool(self._labels)

    def note(self, value: Any, label: str) -> None:
        """Note ``value`` as secret (every text and number inside it), from ``label``.

        >>> found = Secrets(); found.note({"user": "ann", "pin": 4321, "ok": True}, "x")
        >>> found.label_of("ann"), found.label_of(4321), found.label_of(True)
        ('x', 'x', None)
        """
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if item:
                    self._add(item, label)
            elif isinstance(item, bool) or item is None:
                continue
            elif isinstance(item, int | float):
                self._numbers.setdefault(item, label)
                self._add(str(item), label)
            elif isinstance(item, Mapping):
                stack.extend(item.values())
            elif isinstance(item, list | tuple):
                stack.extend(item)

    def note_settings(
        self, settings: Mapping[str, Any], names: Iterable[str], plugin: str | None = None
    ) -> None:
        """Note the values of the secret settings ``names`` (of ``plugin``)."""
        owner = f" of {plugin}" if plugin else ""
        for name in names:
            if settings.get(name) is not None:
                self.note(settings[name], f"the secret setting `{name}`{owner}")

    def _add(self, text: str, label: str) -> None:
        for form in _forms(text):
            if form not in self._labels:
                self._labels[form] = label
                self._found = self._masked = None

    def _finder(self) -> re.Pattern[str]:
        if self._found is None:
            longest_first = sorted(self._labels, key=len, reverse=True)
            self._found = re.compile("|".join(map(re.escape, longest_first)))
        return self._found

    def _masker(self) -> re.Pattern[str] | None:
        if self._masked is None:
            maskable = sorted((f for f in self._labels if len(f) >= ALONE), key=len, reverse=True)
            if not maskable:
                return None
            self._masked = re.compile("|".join(map(_pattern_of, maskable)))
        return self._masked

    def _inside(self, text: str) -> str | None:
        """The label of any secret inside ``text``, however short: a message names a
        value holding one rather than quote it (it only loses a preview)."""
        found = self._finder().search(text) if self._labels else None
        return self._labels[found.group()] if found is not None else None

    def label_of(self, value: Any) -> str | None:
        """Where ``value`` comes from when it is (or holds) a secret; None otherwise.

        >>> found = Secrets(); found.note("s3cr3t-token", "the secret setting `token`")
        >>> found.label_of("s3cr3t-token"), found.label_of("Bearer s3cr3t-token")
        ('the secret setting `token`', 'a value containing the secret setting `token`')
        """
        exact = self._exact(value)
        if exact is not None:
            return exact
        inside = self._held(value)
        return f"a value containing {inside}" if inside is not None else None

    def _exact(self, value: Any, *, shortest: int = 1) -> str | None:
        """The label of a value equal to a secret (a number: by value, or by its text
        when that is ``shortest`` characters or more)."""
        if isinstance(value, str):
            return self._labels.get(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = str(value)
            by_text = self._labels.get(text) if len(text) >= shortest else None
            return self._numbers.get(value) or by_text
        return None

    def _held(self, value: Any) -> str | None:
        """The label of a secret inside ``value`` (a text, or an item or key of a list
        or mapping at any depth)."""
        stack = [value]
        while stack:
            item = stack.pop()
            found = self._exact(item)
            if found is None and isinstance(item, str):
                found = self._inside(item)
            if found is not None:
                return found
            if isinstance(item, Mapping):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list | tuple):
                stack.extend(item)
        return None

    def mask_text(self, text: str) -> str:
        """``text`` with every secret in it masked (see the module docs)."""
        if text in self._labels:
            return MASK
        pattern = self._masker() if self._labels else None
        return pattern.sub(MASK, text) if pattern is not None else text

    def mask(self, value: Any) -> Any:
        """A copy of ``value`` with secrets masked (containers copied, others kept)."""
        if not self._labels:
            return value
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, Mapping):
            return {self.mask(k): self.mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.mask(v) for v in value)
        if self._exact(value, shortest=ALONE) is not None:
            return MASK  # a secret number kept its type through a template
        return value

    def mask_error(self, error: E) -> E:
        """The same error with secrets masked in its message, hint, details, diagnostics."""
        error.message = self.mask_text(error.message)
        error.args = (error.message,)
        if error.hint:
            error.hint = self.mask_text(error.hint)
        if isinstance(error, StepError):
            error.details = self.mask(error.details)
        error.diagnostics = [
            replace(
                d,
                message=self.mask_text(d.message),
                hint=self.mask_text(d.hint) if d.hint else None,
            )
            for d in error.diagnostics
        ]
        return error


_CURRENT: ContextVar[Secrets | None] = ContextVar("km_actions_secrets", default=None)


# Make a run's secrets those of the current context (for :func:`show`), and undo it
# with the token: the context variable's own methods, without a Python call around them
# (every run sets and resets them).
set_secrets: Final[Callable[[Secrets | None], Token[Secrets | None]]] = _CURRENT.set
reset_secrets: Final[Callable[[Token[Secrets | None]], None]] = _CURRENT.reset


def secret_label(value: Any) -> str | None:
    """Where ``value`` comes from, when it is (or holds) a secret of the current run."""
    known = _CURRENT.get()
    return known.label_of(value) if known else None


def show(
    value: Any, limit: int = 60, *, secret: str | None = None, secrets: Secrets | None = None
) -> str:
    """How a message quotes ``value``: as JSON (``"text"``, ``null``, ``true``),
    shortened to ``limit`` characters, with every secret in it named, never shown.

    ``secret`` is the label of a value the caller knows is secret (a secret input being
    checked); otherwise ``secrets`` (by default, those of the current run) decide.

    >>> show("a" * 70, 10), show(None), show(3, secret="the secret input `pin`")
    ('"aaaaaa…', 'null', 'the secret input `pin`')
    """
    if secret is not None:
        return secret
    known = secrets if secrets is not None else _CURRENT.get()
    if known and isinstance(value, str | int | float) and (label := known.label_of(value)):
        return label
    labels: list[str] = []
    text = json.dumps(_plain(value, known or None, labels), ensure_ascii=False, default=str)
    for index, label in enumerate(labels):
        text = text.replace(json.dumps(_marker(index)), f"({label})")
    return text if len(text) <= limit else text[: limit - 3] + "…"


def _marker(index: int) -> str:
    return f"\x00{index}\x00"


def _plain(value: Any, known: Secrets | None, labels: list[str]) -> Any:
    """``value`` as JSON-ready data, each secret in it replaced by a marker (its label
    appended to ``labels``)."""
    if known is not None and isinstance(value, str | int | float):
        label = known.label_of(value)
        if label is not None:
            labels.append(label)
            return _marker(len(labels) - 1)
        return value
    if isinstance(value, Mapping):
        return {_key(_plain(k, known, labels)): _plain(v, known, labels) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, known, labels) for v in value]
    return value


def _key(key: Any) -> Any:
    return key if isinstance(key, str | int | float | bool) or key is None else str(key)


# Bounds, in words: "is below the minimum of 3", "is longer than 8 characters".
_BOUNDS: Final = {
    "minimum": "is below the minimum of {}",
    "maximum": "is above the maximum of {}",
    "exclusiveMinimum": "is not above {}",
    "exclusiveMaximum": "is not below {}",
    "minLength": "is shorter than {} characters",
    "maxLength": "is longer than {} characters",
    "minItems": "has fewer than {} items",
    "maxItems": "has more than {} items",
    "minProperties": "has fewer than {} entries",
    "maxProperties": "has more than {} entries",
    "multipleOf": "is not a multiple of {}",
}
_ALTERNATION: Final = re.compile(r"\^\(([^()|]+(?:\|[^()|]+)+)\)\$")


def _keys_of(forms: Any) -> str:
    """``: one with `user`, one with `token``` when each form only requires keys."""
    if not isinstance(forms, list) or not all(
        isinstance(f, Mapping) and list(f) == ["required"] for f in forms
    ):
        return ""
    return ": " + ", ".join(
        "one with " + " and ".join(f"`{k}`" for k in f["required"]) for f in forms
    )


def schema_message(
    error: ValidationError, subject: str | None = None, *, secrets: Secrets | None = None
) -> str:
    """What a jsonschema error says, in the words of km-actions' messages: values as a
    manifest writes them (``"text"``, ``true``, ``null``), and a secret value named, never
    quoted: ``subject`` is what to call the value (by default its label among ``secrets``,
    those of the current run when not given).

    >>> import jsonschema
    >>> error = next(jsonschema.Draft202012Validator({"minLength": 9}).iter_errors("s3cr3t"))
    >>> schema_message(error), schema_message(error, "the secret value")
    ('"s3cr3t" is shorter than 9 characters', 'the secret value is shorter than 9 characters')
    >>> error = next(jsonschema.Draft202012Validator({"enum": [True, None]}).iter_errors(1))
    >>> schema_message(error)
    '1 is not one of true, null'
    """
    known = secrets if secrets is not None else _CURRENT.get()
    value = subject or show(error.instance, secrets=known)
    keyword = str(error.validator)
    bound: Any = error.validator_value
    if keyword in _BOUNDS:
        return f"{value} {_BOUNDS[keyword].format(show(bound))}"
    if keyword == "enum":
        return f"{value} is not one of {', '.join(show(v) for v in bound)}"
    if keyword == "const":
        return f"{value} is not {show(bound)}"
    if keyword == "type":
        wanted = bound if isinstance(bound, list) else [bound]
        return f"{value} is not {' or '.join(TYPE_WORDS.get(str(t), str(t)) for t in wanted)}"
    if keyword == "pattern":
        choices = _ALTERNATION.fullmatch(str(bound))
        if choices:
            return f"{value} is not one of {', '.join(choices.group(1).split('|'))}"
        return f"{value} does not have the form it needs (the pattern {bound})"
    if keyword == "required" and isinstance(error.instance, Mapping):
        missing = [f"`{k}`" for k in bound if k not in error.instance]
        return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
    if keyword == "oneOf" and "is valid under each of" in error.message:
        return f"{value} fits more than one of the forms it may take{_keys_of(bound)}"
    if keyword in ("anyOf", "oneOf"):
        return f"{value} does not fit any of the forms it may take{_keys_of(bound)}"
    if keyword == "not":
        return f"{value} has a form it may not take{_keys_of([bound])}"
    if keyword == "uniqueItems":
        return f"{value} has an item more than once"
    if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(
        error.instance, Mapping
    ):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        extra = [f"`{k}`" for k in error.instance if k not in allowed]
        return f"{', '.join(extra) or 'a key'} {'is' if len(extra) == 1 else 'are'} not allowed"
    return f"{value} does not fit `{keyword}` in the schema"
