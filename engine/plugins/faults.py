"""Crash points for testing: kill the process at a named moment of an install (test-only).

The store promises that a crash at any moment of an install, upgrade, uninstall or
configure leaves either the old state or the new one. The tests prove it by running the
operation in a child process with ``KM_ACTIONS_CRASH_AT`` naming one of
:data:`CRASH_POINTS`; when the operation reaches that point, the process ends at once
with ``os._exit`` (no cleanup, no ``finally``, no flushing: as a power cut would).

This exists for tests only. Nobody should set the variable outside them.

>>> import os
>>> os.environ.pop(CRASH_ENV, None) is None or True
True
>>> crash_point("after-rename")  # does nothing unless the variable names it
"""

from __future__ import annotations

import os

CRASH_ENV = "KM_ACTIONS_CRASH_AT"
CRASH_EXIT_CODE = 77

CRASH_POINTS = (
    "after-stage",  # files staged and checked, nothing committed
    "before-rename",  # inside the write transaction, before moving the staged folder
    "after-rename",  # the new version folder is in place, rows not yet written
    "before-commit",  # rows written, transaction open
    "after-commit",  # committed; the old version folder is still there
    "after-cleanup",  # old folders removed
    "uninstall-before-commit",  # uninstall: rows deleted, transaction open
    "uninstall-after-commit",  # uninstall: committed, folders not yet removed
    "configure-before-commit",  # configure: new secrets file in place, transaction open
    "configure-after-commit",  # configure: committed, previous secrets not yet removed
)


def crash_point(name: str) -> None:
    """End the process now if ``KM_ACTIONS_CRASH_AT`` names this point (test-only).

    >>> crash_point("before-commit")
    """
    if os.environ.get(CRASH_ENV) == name:
        os._exit(CRASH_EXIT_CODE)
