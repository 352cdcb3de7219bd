"""The markers that say what a test needs (``pytest -m "not browser"``...), enforced where it is used.

conftest records the test being run; the helpers that start Chromium or JupyterLab (``browser.py``) or
reach PostgreSQL (``backends.py``) call ``require``, so a test that uses one without its marker fails
with the marker to add, instead of slipping through ``-m "not postgres"`` on a machine without it.
"""

from __future__ import annotations

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
