"""The markers that say what a test needs (``pytest -m "not browser"``...), enforced where it is used.

conftest records the test being run; the helpers that start Chromium or JupyterLab (``browser.py``) or
reach PostgreSQL (``backends.py``) call ``require``, and conftest wraps the function that builds a
bubblewrap command (``guarded``), so a test that uses one without its marker fails with the marker to
add, instead of slipping through ``-m "not postgres"`` on a machine without it. Work done in another
process (a ``coursekit`` subprocess, a Dask worker) is not seen: such tests are marked by hand.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

MARKERS = {
    "browser": "drives Chromium (Playwright) or starts JupyterLab",
    "postgres": "runs on the PostgreSQL backend",
    "sandbox": "runs notebooks in bubblewrap",
    "slow": "takes over ~20 s alone",
}


class running:
    """The test being set up, run or torn down (None outside a test, e.g. at collection)."""

    item: pytest.Item | None = None


def require(marker: str) -> None:
    """Fail the running test unless it carries ``marker``."""
    item = running.item
    if item is not None and item.get_closest_marker(marker) is None:
        pytest.fail(f"{item.nodeid} {MARKERS[marker]}: mark it @pytest.mark.{marker}", pytrace=False)


def guarded(marker: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, failing the running test first unless it carries ``marker`` (for package code)."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        require(marker)
        return function(*args, **kwargs)

    return call
