"""The suite's own collection order when it runs on several workers (pytest-xdist, on by
default: see ``addopts`` in pyproject.toml).

A test marked ``slow`` runs for tens of seconds (a virtualenv built, packages installed).
Run last, it would keep one worker busy long after the other ran out of tests; so, on
workers, they come first, and the short tests fill in around them. Every worker sorts
the same way, so they still collect the same list (xdist checks it). Run in one process
(``-n 0``) the order is the files' own.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):  # not an xdist worker
        return
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
