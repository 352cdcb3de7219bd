"""What the review desk reads from the log: its table of reflections and the frames it shows them from.

The desk opens on the first page of reflections (``first_rows``), read with the log's own filters,
so it shows the first one at once whatever the size of the class; it reads every row (``all_rows``)
in the background and takes them on at the first change that needs them. Both are made by
``desk_rows``, so a page is exactly what those rows would be in the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from coursekit.course.reading import Reading, in_prompt_order
from coursekit.course.settings import Settings
from coursekit.log.frames import DiscussionLog
from coursekit.review.filters import looked_up, reviewed_count, roster_column, table_of


@dataclass
class DeskRows:
    """The desk's table, the replies and reviews it shows under each row, and how many reflections there are.

    ``table`` is every current reflection (``complete``) or the first page of them.
    """

    table: pd.DataFrame
    replies: pd.DataFrame  # ``reply_threads()``: hidden ones too, marked, so they can be restored
    threads: dict[str, tuple[int, int]]  # thread_id -> the span of its rows in ``replies``
    reviews: pd.DataFrame  # ``reviews(latest=False)`` of the table's reflections
    review_rows: dict[tuple, np.ndarray]  # (student, notebook, prompt_id) -> positions in ``reviews``
    reviewed: int  # reflections reviewed at least once, of ``total`` in the log
    total: int
    complete: bool


def all_rows(log: DiscussionLog, settings: Settings, reading: Reading | None, roster=None) -> DeskRows:
    """Every current reflection: what each filter change works on."""
    return desk_rows(log, settings, reading, roster, first=None)


def first_rows(log: DiscussionLog, settings: Settings, reading: Reading | None, roster=None, page=50) -> DeskRows:
    """The first ``page`` reflections in the desk's order, with the log's counts of them all."""
    return desk_rows(log, settings, reading, roster, first=page)


def desk_rows(log: DiscussionLog, settings: Settings, reading: Reading | None, roster, first: int | None) -> DeskRows:
    prompt_order = list(reading.prompt_titles()) if reading else []
    reflections = log.reflections(text=False, first=first, prompt_order=prompt_order)
    if first is None:
        replies, reviews, submissions = log.reply_threads(), log.reviews(latest=False), log.submissions()
    else:
        keys = list(zip(reflections["student"], reflections["notebook"], reflections["prompt_id"], strict=True))
        replies = log.reply_threads(under=reflections["post_id"].tolist())
        reviews = log.reviews(latest=False, of=keys)
        submissions = log.submissions(students=reflections["student"].tolist())
    table = table_of(reflections, reviews, submissions, replies, settings, reading, roster)
    table["text"] = pd.Series([None] * len(table), dtype=object)  # read a page at a time, when shown
    # Row positions per thread: a thread's frame is cut only for the reflection on screen.
    tops = ~replies["thread_id"].duplicated()
    bounds = np.append(np.flatnonzero(tops.to_numpy()), len(replies)).tolist()
    spans = zip(bounds[:-1], bounds[1:], strict=True)
    threads = dict(zip(replies["thread_id"][tops].tolist(), spans, strict=True))
    # Grouped at once: a loop over 16,000 reviews cost a quarter of opening at 50,000.
    review_rows = reviews.groupby(["student", "notebook", "prompt_id"], sort=False).indices
    if first is None:
        reviewed, total = reviewed_count(table), len(table)
    else:
        reviewed, total = log.review_counts()
    return DeskRows(table, replies, threads, reviews, review_rows, reviewed, total, complete=first is None)


@dataclass(frozen=True)
class Choices:
    """What the desk's filters offer: the weeks, the prompts (label, id) and the sections with reflections."""

    weeks: list[int]
    prompts: list[tuple[str, str]]
    sections: list[str]


def choices(log: DiscussionLog, reading: Reading | None, roster=None) -> Choices:
    """The filters' choices, read from the log without reading every reflection's row."""
    pairs = log.prompts_answered()
    titles = reading.prompt_titles() if reading else {}
    prompts = in_prompt_order(pairs, titles).drop_duplicates("prompt_id")  # in notebook order, first week
    labels = looked_up(prompts["prompt_id"], titles).tolist()
    weeks = ["No week" if pd.isna(week) else f"Week {int(week)}" for week in prompts["week"].tolist()]
    sections = looked_up(pd.Series(log.authors(), dtype=object), roster_column(roster, "Section"), "")
    return Choices(
        weeks=sorted(int(x) for x in pairs["week"].dropna().unique()),
        prompts=[
            (f"{week}: {label}", prompt_id)
            for week, label, prompt_id in zip(weeks, labels, prompts["prompt_id"].tolist(), strict=True)
        ],
        sections=sorted({s for s in sections.tolist() if s}),
    )
