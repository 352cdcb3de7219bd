"""What the review notebook shows: one row per reflection with its review status, and the filters.

Plain functions over DataFrames, so the widgets stay thin and the filter can be timed on 50,000
reflections. Text search uses a lower-cased column made once, not per keystroke.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import pandas as pd

from coursekit.course.deadlines import late_column
from coursekit.course.reading import Reading, in_prompt_order
from coursekit.course.settings import Settings
from coursekit.log.frames import DiscussionLog

STATUSES = ("unreviewed", "reviewed", "flagged")


def review_table(
    log: DiscussionLog,
    settings: Settings | None,
    reading: Reading | None,
    roster=None,
    posts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every current reflection with its latest review, lateness, section, reply count and prompt title.

    Rows come week by week, prompts in notebook order, then by student.

    ``posts`` is ``log.posts(hidden=True)`` when the caller has read it already (the desk does), so the
    log's largest read is not made twice; hidden replies are not counted either way.
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
    posts = log.posts(hidden=True) if posts is None else posts
    replies = posts[(posts["kind"] == "reply") & ~posts["hidden"]].groupby("thread_id").size()
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
    """(cache key, mask maker) for every exact-value filter that is set; None means: any."""
    wanted: list[tuple[tuple[str, object], Callable[[], np.ndarray]]] = []
    if filters.week is not None:
        wanted.append((("week", filters.week), lambda: (frame["week"] == filters.week).to_numpy()))
    if filters.prompt:
        wanted.append((("prompt", filters.prompt), lambda: (frame["prompt_id"] == filters.prompt).to_numpy()))
    if filters.section:
        wanted.append((("section", filters.section), lambda: (frame["section"] == filters.section).to_numpy()))
    if filters.status:
        wanted.append((("status", filters.status), lambda: (frame["status"] == filters.status).to_numpy()))
    if filters.late is not None:
        wanted.append((("late", filters.late), lambda: (frame["late"] == filters.late).to_numpy()))
    return wanted


# What each substring filter searches, lower-cased: a list of one string per row.
SEARCHED: dict[str, Callable[[pd.DataFrame], list[str]]] = {
    "student": lambda frame: [
        f"{s} {n}".lower() for s, n in zip(frame["student"].tolist(), frame["name"].tolist(), strict=True)
    ],
    "text": lambda frame: frame["search"].tolist(),
}


def search_strings(frame: pd.DataFrame, cache: dict) -> dict[str, list[str]]:
    """The lower-cased strings each substring filter reads, made once per table and kept in ``cache``.

    The desk makes them while it opens, so the first keystroke in a search box costs no more than the next.
    """
    for column, make in SEARCHED.items():
        if ("searched", column) not in cache:
            cache[("searched", column)] = make(frame)
    return {column: cache[("searched", column)] for column in SEARCHED}


@dataclass
class Substring:
    """What is known so far of one needle: ``hit`` holds for the rows in ``known`` (the others are unread)."""

    known: np.ndarray
    hit: np.ndarray


def _searches(filters: Filters) -> list[tuple[str, str]]:
    """(searched column, lower-cased needle) for every substring filter that is set; "" means: any."""
    wanted = [("student", filters.student.strip().lower()), ("text", filters.text.strip().lower())]
    return [(column, needle) for column, needle in wanted if needle]


def _contains(frame: pd.DataFrame, column: str, needle: str, rows: np.ndarray, cache: dict) -> np.ndarray:
    """Whether each of ``rows`` contains ``needle``, reading only rows no earlier search has settled.

    A row without "weber" has no "weber rules", and a row with "weber rules" has "weber": so typing
    a word reads only the rows the previous keystroke matched, and a filter set first (a week) is
    never searched outside its rows. The answer is only meaningful where ``rows`` is True.
    """
    entry = cache.get((column, needle))
    if entry is None:
        entry = cache[(column, needle)] = Substring(np.zeros(len(frame), bool), np.zeros(len(frame), bool))
    todo = rows & ~entry.known
    if todo.any():
        for (kind, other), seen in list(cache.items()):
            if kind != column or other == needle or not isinstance(seen, Substring):
                continue
            if other in needle:  # rows without the shorter needle cannot have this one
                settled = todo & seen.known & ~seen.hit
            elif needle in other:  # rows with the longer needle have this one too
                settled = todo & seen.known & seen.hit
                entry.hit |= settled
            else:
                continue
            entry.known |= settled
            todo &= ~settled
        values = search_strings(frame, cache)[column]
        read = np.flatnonzero(todo)
        texts = (
            values
            if len(read) == len(values)
            else itemgetter(*read.tolist())(values)
            if len(read) > 1
            else [values[read[0]]]
        )
        entry.hit[read] = [needle in text for text in texts]
        entry.known[read] = True
    return entry.hit


def matching_positions(frame: pd.DataFrame, filters: Filters, cache: dict | None = None) -> np.ndarray:
    """Row positions matching every filter that is set.

    With a ``cache`` (one dict per table), each criterion's mask is computed once, so changing one
    filter costs one mask plus cheap boolean ANDs; the substring searches come last and read only
    the rows the other filters kept. Drop a column's keys from it when that column changes.
    """
    cache = {} if cache is None else cache
    if len(cache) > 64:  # typed searches leave many one-off masks behind; the searched text stays
        for key in [k for k in cache if k[0] != "searched"]:
            del cache[key]
    keep = np.ones(len(frame), dtype=bool)
    for key, make in _criteria(frame, filters):
        if key not in cache:
            cache[key] = make()
        keep &= cache[key]
    for column, needle in _searches(filters):
        keep &= _contains(frame, column, needle, keep, cache)
    return np.flatnonzero(keep)


def filter_reviews(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows that match every filter that is set."""
    return frame.iloc[matching_positions(frame, filters)]


def progress(frame: pd.DataFrame) -> str:
    done = int((frame["status"] != "unreviewed").sum())
    return f"{done} of {len(frame)} reviewed"
