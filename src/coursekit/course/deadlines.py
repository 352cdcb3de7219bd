"""Lateness: one rule for the review desk, grades, feedback and the participation report.

A submission is late when it came in strictly after its week's deadline in ``course.toml``. An
intake source that knows better (an LMS that marks a submission LATE against an extension the
instructor granted there) passes its own flag, and that flag wins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd

from coursekit.course.settings import Settings


def _given(flag: object) -> bool:
    """Whether a source flag says anything (None, NaN and pandas' NA say nothing)."""
    if flag is None or flag is pd.NA:
        return False
    return not (isinstance(flag, float) and math.isnan(flag))


def is_late(
    settings: Settings | None, week: int | None, submitted_at: datetime | None, source_late: bool | None = None
) -> bool:
    """Whether a submission of ``week`` made at ``submitted_at`` (naive UTC) is late.

    ``source_late`` is the intake source's own verdict when it has one; it wins. Otherwise: after the
    week's deadline. A week without a deadline (or unknown, or without settings) has nothing late.
    """
    if _given(source_late):
        return bool(source_late)
    if settings is None or week is None or submitted_at is None or pd.isna(week) or pd.isna(submitted_at):
        return False
    deadline = settings.deadline(int(week))
    return deadline is not None and pd.Timestamp(submitted_at) > pd.Timestamp(deadline)


def late_flags(
    settings: Settings | None, weeks: Iterable, submitted: Iterable, source_late: Iterable | None = None
) -> list[bool]:
    """``is_late`` for many submissions at once (columns of a DataFrame), in order."""
    weeks, submitted = list(weeks), list(submitted)
    flags = list(source_late) if source_late is not None else [None] * len(weeks)
    return [is_late(settings, w, t, f) for w, t, f in zip(weeks, submitted, flags, strict=True)]


def late_column(frame: pd.DataFrame, settings: Settings | None) -> pd.Series:
    """Lateness of each row of a frame with ``week`` and ``submitted_at`` (and the source's flag, if any).

    ``is_late`` for every row, done column-wise: the review desk asks for 50,000 rows at once.
    """
    column = "source_late" if "source_late" in frame.columns else "late"  # the log stores it as source_late
    deadlines = {w.week: pd.Timestamp(w.deadline) for w in settings.weeks if w.deadline is not None} if settings else {}
    due = pd.to_numeric(frame["week"], errors="coerce").map(deadlines)
    late = (pd.to_datetime(frame["submitted_at"]) > pd.to_datetime(due)).to_numpy(dtype=bool, copy=True)  # NaT: no
    if column in frame.columns:  # a source flag is True, False or missing: each distinct value is read once
        codes, flags = pd.factorize(frame[column], use_na_sentinel=False)
        given = np.array([_given(flag) for flag in flags], bool)[codes]
        late[given] = np.array([_given(flag) and bool(flag) for flag in flags], bool)[codes][given]
    return pd.Series(late, index=frame.index, dtype=bool)
