"""Participation analytics over the discussion log's DataFrames: who submits, writes, moves and replies.

Plain functions, DataFrames in and DataFrames (or small dataclasses) out, with no I/O and no
plotting, so an instructor can call them in a notebook and ``coursekit.review.report`` can draw them.
Every student is identified by the name in the log: these views are for instructors only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coursekit.course.deadlines import late_column
from coursekit.course.settings import Settings


def submissions_per_week(
    submissions: pd.DataFrame, settings: Settings | None, weeks: Iterable[int] = ()
) -> pd.DataFrame:
    """Submitted files per week, split on time / late, so a slipping week stands out.

    ``submissions`` is ``DiscussionLog.submissions()``; lateness is ``course.deadlines.is_late`` over
    ``settings`` (strictly after the week's deadline; a week without one has no late files). ``weeks``
    adds weeks nobody submitted to (as zeros). Files whose week is unknown cannot be placed and are left out.
    Index ``week``; columns ``on_time``, ``late``, ``total``.
    """
    known = submissions.dropna(subset=["week"])
    week = known["week"].astype(int)
    late = late_column(known, settings)
    every_week = sorted(set(week) | {int(w) for w in weeks})
    table = (
        pd.DataFrame({"week": week, "late": late}, index=known.index)
        .groupby("week")["late"]
        .agg(late="sum", total="size")
    )
    table = table.reindex(every_week, fill_value=0).astype(int)
    table.index.name = "week"
    table.insert(0, "on_time", table["total"] - table["late"])
    return table


def absent_students(submissions: pd.DataFrame, weeks: Iterable[int]) -> pd.DataFrame:
    """Students of the class who submitted nothing in a week, one row each (columns ``week``, ``student``).

    The class is everyone who submitted anything at all: the log does not know the roster, so a student
    who never submitted is not listed here (the roster and grades do that).
    """
    everyone = sorted(submissions["student"].unique())
    rows = []
    for week in sorted(int(w) for w in weeks):
        present = set(submissions.loc[submissions["week"] == week, "student"])
        rows += [{"week": week, "student": student} for student in everyone if student not in present]
    return pd.DataFrame(rows, columns=["week", "student"])


@dataclass(frozen=True)
class WordCounts:
    """How long the reflections are; blanks are counted apart so they do not drag the typical length down."""

    words: pd.Series  # word counts of the non-blank reflections
    blanks: int  # reflections left blank (word count 0)

    @property
    def written(self) -> int:
        return len(self.words)

    @property
    def median(self) -> float:
        return float(self.words.median()) if self.written else math.nan

    @property
    def mean(self) -> float:
        return float(self.words.mean()) if self.written else math.nan


def word_counts(reflections: pd.DataFrame) -> WordCounts:
    """Word counts of ``DiscussionLog.reflections()``, with the blank reflections reported separately."""
    counts = reflections["word_count"].astype(int)
    return WordCounts(words=counts[counts > 0].reset_index(drop=True), blanks=int((counts == 0).sum()))


def term_pattern(term: str) -> re.Pattern:
    """The glossary term as students would write it: the words before any parenthesis, any case.

    "Co-optation (incorporation)" is found as "co-optation"; whole words only ("ideal type" is not
    found in "ideal types"); a line break may stand between the words of a term.
    """
    words = term.split("(", 1)[0].split()
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class ConceptUsage:
    """Which glossary concepts the class used, so the next session can pick up the ones nobody did."""

    usage: pd.DataFrame  # columns term, reflections (how many mention it), in glossary order
    missed: tuple[str, ...]  # terms no reflection mentions


def concept_usage(reflections: pd.DataFrame, terms: Iterable[str]) -> ConceptUsage:
    """How many reflections mention each glossary term (``[t.term for t in reading.glossary]``)."""
    texts = list(reflections["text"].fillna(""))
    rows = [{"term": t, "reflections": sum(bool(term_pattern(t).search(text)) for text in texts)} for t in terms]
    usage = pd.DataFrame(rows, columns=["term", "reflections"])
    return ConceptUsage(usage, tuple(usage.loc[usage["reflections"] == 0, "term"]))


def stance_shift(stances: pd.DataFrame, first: int, last: int, stance_id: str | None = None) -> pd.DataFrame:
    """Each student's stance in week ``first`` and week ``last``, and how far it moved.

    ``stances`` is ``DiscussionLog.answers("stance")``; positions are ``state["value"]`` on a scale of
    ``state["steps"]`` (0 is the left end). Only students who answered in both weeks are compared.
    Index ``student``; columns ``first``, ``last``, ``steps``, ``shift`` (positive: towards the right end).
    """
    if stance_id is not None:
        stances = stances[stances["widget_id"] == stance_id]
    frame = pd.DataFrame(
        {
            "student": stances["student"],
            "week": stances["week"],
            "value": stances["state"].map(lambda s: s["value"]),
            "steps": stances["state"].map(lambda s: s["steps"]),
        }
    )

    def answered(week: int) -> pd.DataFrame:
        return frame[frame["week"] == week].drop_duplicates("student", keep="last").set_index("student")

    start, end = answered(first), answered(last)
    table = pd.DataFrame({"first": start["value"], "last": end["value"], "steps": end["steps"]}).dropna().astype(int)
    table["shift"] = table["last"] - table["first"]
    table.index.name = "student"
    return table.sort_index()


def mean_shift(shifts: pd.DataFrame) -> float:
    """The class's average move in steps (NaN when nobody answered twice): did the reading change minds?"""
    return float(shifts["shift"].mean()) if len(shifts) else math.nan


def _replies_with_target(posts: pd.DataFrame) -> pd.DataFrame:
    """Replies from ``DiscussionLog.posts()`` with ``to``: the author of the post replied to."""
    author = posts.set_index("post_id")["author"]
    replies = posts[posts["parent_id"].notna()]
    return pd.DataFrame({"from": replies["author"], "to": replies["parent_id"].map(author)}).dropna()


def reply_edges(posts: pd.DataFrame) -> pd.DataFrame:
    """Who replies to whom: one row per pair (columns ``from``, ``to``, ``count``), most replies first.

    A reply's target is the author of its parent post (a reflection or another reply); replies whose
    parent is not in ``posts`` are left out. A reply to one's own post is kept as a ``from == to`` row.
    """
    pairs = _replies_with_target(posts)
    edges = pairs.groupby(["from", "to"]).size().rename("count").reset_index()
    edges["count"] = edges["count"].astype(int)
    return edges.sort_values(["count", "from", "to"], ascending=[False, True, True], ignore_index=True)


def participation(posts: pd.DataFrame, students: Iterable[str] = ()) -> pd.DataFrame:
    """Per student: reflections posted, replies given, replies received from others, likes received.

    ``students`` adds everyone who should appear even with nothing posted (e.g. everyone who submitted),
    so quiet students show as zeros instead of disappearing. Index ``student``.
    """
    pairs = _replies_with_target(posts)
    counts = pd.DataFrame(
        {
            "posts": posts[posts["parent_id"].isna()].groupby("author").size(),
            "replies_given": posts[posts["parent_id"].notna()].groupby("author").size(),
            "replies_received": pairs[pairs["from"] != pairs["to"]].groupby("to").size(),
            "likes_received": posts.groupby("author")["like_count"].sum(),
        }
    )
    everyone = sorted(set(counts.index) | set(students))
    table = counts.reindex(everyone).fillna(0).astype(int)
    table.index.name = "student"
    return table


def top_share(replies: pd.Series, fraction: float = 0.1) -> float:
    """Share of all replies written by the most active ``fraction`` of repliers: is the discussion a few voices?

    ``replies`` is replies per student; repliers are students with at least one. The group is rounded
    up, and is at least one student. NaN when nobody replied.
    """
    counts = replies[replies > 0].sort_values(ascending=False)
    if counts.empty:
        return math.nan
    return float(counts.iloc[: top_group(len(counts), fraction)].sum() / counts.sum())


def top_group(repliers: int, fraction: float = 0.1) -> int:
    """How many repliers make up the top ``fraction``: rounded up, at least one, so a small class has a top."""
    return max(1, math.ceil(fraction * repliers))


def gini(values: Iterable[float]) -> float:
    """Gini coefficient: 0 when everyone contributes equally, (n-1)/n when one of n does everything.

    Pass every student who could have contributed (zeros included), or the inequality is understated.
    NaN when there are no values or they are all zero.
    """
    x = np.sort(np.asarray(list(values), dtype=float))
    if x.size == 0 or x.sum() == 0:
        return math.nan
    n = x.size
    ranks = np.arange(1, n + 1)
    return float(2 * (ranks * x).sum() / (n * x.sum()) - (n + 1) / n)
