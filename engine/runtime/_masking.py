"""Masking secret values (secret inputs, secret settings) in everything a run gives back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from engine.errors import StepError

MASK = "••••••"


class Masker:
    """Replaces every occurrence of each secret string with a mask.

    >>> Masker(["hunter2"]).mask({"note": "pw is hunter2", "n": [1, "hunter2"]})
    {'note': 'pw is ••••••', 'n': [1, '••••••']}
    >>> Masker(["4321"]).mask({"pin": 4321, "other": 12})
    {'pin': '••••••', 'other': 12}
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted(
            {s for s in secrets if isinstance(s, str) and s}, key=len, reverse=True
        )

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def mask(self, value: Any) -> Any:
        """A copy of ``value`` with secrets masked (containers copied, others kept)."""
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.mask(k): self.mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.mask(v) for v in value)
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and str(value) in self.secrets
        ):
            return MASK  # a secret number kept its type through a template
        return value

    def mask_error(self, error: StepError) -> StepError:
        """The same error with secrets masked in its message, hint, details, diagnostics."""
        if not self.secrets:
            return error
        error.message = self.text(error.message)
        error.args = (error.message,)
        if error.hint:
            error.hint = self.text(error.hint)
        error.details = self.mask(error.details)
        error.diagnostics = [
            replace(d, message=self.text(d.message), hint=self.text(d.hint) if d.hint else None)
            for d in error.diagnostics
        ]
        return error
