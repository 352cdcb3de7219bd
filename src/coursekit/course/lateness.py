"""Whether a submission is late: the one rule the intake table, the review desk, the report and the grades share."""

from __future__ import annotations

from datetime import datetime

import pandas as pd


def is_late(submitted_at: datetime | None, deadline: datetime | None, source_late: bool | None = None) -> bool:
    """The source's own verdict when it gives one (Canvas's LATE), else after the week's deadline.

    A week without a deadline has no late files. Times are naive UTC.
    """
    if source_late is not None and not pd.isna(source_late):
        return bool(source_late)
    if deadline is None or submitted_at is None or pd.isna(deadline) or pd.isna(submitted_at):
        return False
    return pd.Timestamp(submitted_at) > pd.Timestamp(deadline)
