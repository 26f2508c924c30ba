"""The suite's own collection order when it runs on several workers (pytest-xdist, on by
default: see ``addopts`` in pyproject.toml).

A test marked ``slow`` runs for tens of seconds (a virtualenv built, packages installed).
Run last, it would keep one worker busy long after the other ran out of tests; so, on
workers, they come first, and the short tests fill in around them. Every worker sorts
the same way, so they still collect the same list (xdist checks it). Run in one process
(``-n 0``) the order is the files' own.

:func:`unmeasured_env` is the environment of a child process that runs none of engine's
code (a quality gate, a collection): coverage's subprocess patch would start coverage in
it and trace it for nothing.
"""

from __future__ import annotations

import os

import pytest


def unmeasured_env() -> dict[str, str]:
    """This process's environment without what starts coverage in a child Python (the
    variable ``[tool.coverage.run] patch = ["subprocess"]`` passes on). Tracing a child
    that runs no engine code measures nothing and costs it up to half its time (mypy
    ~1.5 s, each import-linter contract ~0.3 s, a pytest collection ~1.5 s)."""
    return {k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_CONFIG"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):  # not an xdist worker
        return
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
