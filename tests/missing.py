"""What a test does when something it needs is not on this machine: skip here, fail under CI.

A developer without Chromium or a PostgreSQL server can still run the rest of the suite, but CI
(CI=true) has installed everything, so there a missing piece is a failure, never a silent skip.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(message: str) -> NoReturn:
    """Skip the test on a developer's machine; fail it under CI. ``message`` says how to get the piece."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
