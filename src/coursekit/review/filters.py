"""What the review notebook shows: one row per reflection with its review status, and the filters.

Plain functions over DataFrames, so the widgets stay thin and the filter can be timed on 50,000
reflections. Text search uses a lower-cased column made once, not per keystroke.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coursekit.course.deadlines import late_column
from coursekit.course.reading import Reading, in_prompt_order
from coursekit.course.settings import Settings
from coursekit.log.frames import DiscussionLog

STATUSES = ("unreviewed", "reviewed", "flagged")


def review_table(log: DiscussionLog, settings: Settings | None, reading: Reading | None, roster=None) -> pd.DataFrame:
    """Every current reflection with its latest review, lateness, section, reply count and prompt title.

    Rows come week by week, prompts in notebook order, then by student.
    """
    frame = log.reflections()
    latest = log.reviews()[
        ["student", "notebook", "prompt_id", "id", "reviewer", "scores", "comment", "flagged", "created_at"]
    ].rename(columns={"id": "review_id", "created_at": "reviewed_at"})
    frame = frame.merge(latest, on=["student", "notebook", "prompt_id"], how="left")
    frame["status"] = "unreviewed"
    frame.loc[frame["review_id"].notna(), "status"] = "reviewed"
    frame.loc[frame["flagged"].fillna(False).astype(bool), "status"] = "flagged"
    frame["review_id"] = frame["review_id"].astype("Int64")
    frame["comment"] = frame["comment"].fillna("")
    frame["scores"] = frame["scores"].map(lambda s: s if isinstance(s, dict) else {})
    flags = log.submissions()[["student", "notebook", "source_late"]]  # the intake source's own verdict
    frame = frame.merge(flags, on=["student", "notebook"], how="left")
    frame["late"] = late_column(frame, settings)
    frame = frame.drop(columns=["source_late"])
    sections = dict(zip(roster["student"], roster["Section"], strict=True)) if roster is not None else {}
    frame["section"] = frame["student"].map(sections).fillna("")
    names = dict(zip(roster["student"], roster["Student"], strict=True)) if roster is not None else {}
    frame["name"] = frame["student"].map(names).fillna("")
    minimum = {p.id: p.min_words for p in reading.prompts} if reading else {}
    if settings and settings.min_words is not None:
        minimum = dict.fromkeys(minimum, settings.min_words)
    frame["min_words"] = frame["prompt_id"].map(minimum).fillna(0).astype(int)
    posts = log.posts()
    replies = posts[posts["kind"] == "reply"].groupby("thread_id").size()
    frame["replies"] = frame["post_id"].map(replies).fillna(0).astype(int)
    frame["search"] = (frame["student"] + "\n" + frame["name"] + "\n" + frame["text"]).str.lower()
    titles = reading.prompt_titles() if reading else {}
    frame["prompt_title"] = frame["prompt_id"].map(lambda prompt_id: titles.get(prompt_id, prompt_id))
    return in_prompt_order(frame, titles).reset_index(drop=True)  # as the notebooks order the prompts


@dataclass(frozen=True)
class Filters:
    week: int | None = None
    prompt: str | None = None
    student: str = ""
    section: str | None = None
    status: str | None = None
    late: bool | None = None
    text: str = ""


def _criteria(frame: pd.DataFrame, filters: Filters) -> list[tuple[tuple[str, object], Callable[[], np.ndarray]]]:
    """(cache key, mask maker) for every filter that is set; None or "" means: any."""
    wanted: list[tuple[tuple[str, object], Callable[[], np.ndarray]]] = []
    if filters.week is not None:
        wanted.append((("week", filters.week), lambda: (frame["week"] == filters.week).to_numpy()))
    if filters.prompt:
        wanted.append((("prompt", filters.prompt), lambda: (frame["prompt_id"] == filters.prompt).to_numpy()))
    if filters.student.strip():
        needle = filters.student.strip().lower()
        wanted.append(
            (
                ("student", needle),
                lambda: (
                    (frame["student"] + " " + frame["name"]).str.lower().str.contains(needle, regex=False).to_numpy()
                ),
            )
        )
    if filters.section:
        wanted.append((("section", filters.section), lambda: (frame["section"] == filters.section).to_numpy()))
    if filters.status:
        wanted.append((("status", filters.status), lambda: (frame["status"] == filters.status).to_numpy()))
    if filters.late is not None:
        wanted.append((("late", filters.late), lambda: (frame["late"] == filters.late).to_numpy()))
    if filters.text.strip():
        needle = filters.text.strip().lower()
        wanted.append((("text", needle), lambda: frame["search"].str.contains(needle, regex=False).to_numpy()))
    return wanted


def matching_positions(frame: pd.DataFrame, filters: Filters, cache: dict | None = None) -> np.ndarray:
    """Row positions matching every filter that is set.

    With a ``cache`` (one dict per table), each criterion's mask is computed once, so changing one
    filter costs one mask plus cheap boolean ANDs. Drop a column's keys from it when that column changes.
    """
    cache = {} if cache is None else cache
    keep = np.ones(len(frame), dtype=bool)
    for key, make in _criteria(frame, filters):
        if key not in cache:
            if len(cache) > 64:  # typed searches leave many one-off masks behind
                cache.clear()
            cache[key] = make()
        keep &= cache[key]
    return np.flatnonzero(keep)


def filter_reviews(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows that match every filter that is set."""
    return frame.iloc[matching_positions(frame, filters)]


def progress(frame: pd.DataFrame) -> str:
    done = int((frame["status"] != "unreviewed").sum())
    return f"{done} of {len(frame)} reviewed"
