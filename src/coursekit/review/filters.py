"""What the review notebook shows: one row per reflection with its review status, and the filters.

Plain functions over DataFrames, so the widgets stay thin and the filter can be timed on 50,000
reflections. Text search goes through ``review.search.TextIndex``, made once per table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coursekit.course.deadlines import late_column
from coursekit.course.reading import Reading, in_prompt_order
from coursekit.course.settings import Settings
from coursekit.log.frames import DiscussionLog
from coursekit.review.search import TextIndex

STATUSES = ("unreviewed", "reviewed", "flagged")


def review_table(log: DiscussionLog, settings: Settings | None, reading: Reading | None, roster=None) -> pd.DataFrame:
    """Every current reflection, with its text, latest review, lateness, section, reply count and prompt title."""
    return table_of(
        log.reflections(), log.reviews(latest=False), log.submissions(), log.reply_threads(), settings, reading, roster
    )


def table_of(
    reflections: pd.DataFrame,
    reviews: pd.DataFrame,
    submissions: pd.DataFrame,
    replies: pd.DataFrame,
    settings: Settings | None,
    reading: Reading | None,
    roster=None,
) -> pd.DataFrame:
    """The review table from the log's frames: ``reflections()`` (with or without text), ``reviews(latest=False)``,
    ``submissions()`` and ``reply_threads()``. Rows come week by week, prompts in notebook order, then by student.

    Hidden replies are not counted. The desk reads these frames itself, since it shows them too.
    """
    latest = reviews.drop_duplicates(["student", "notebook", "prompt_id"], keep="last")  # ordered by id
    latest = latest[
        ["student", "notebook", "prompt_id", "id", "reviewer", "scores", "comment", "flagged", "created_at"]
    ].rename(columns={"id": "review_id", "created_at": "reviewed_at"})
    frame = reflections.merge(latest, on=["student", "notebook", "prompt_id"], how="left")
    frame["week"] = frame["week"].astype("Int64")  # whole weeks, where a reflection without one would make them 1.0
    frame["status"] = "unreviewed"
    frame.loc[frame["review_id"].notna(), "status"] = "reviewed"
    frame["flagged"] = frame["flagged"].astype("boolean").fillna(False).astype(bool)  # unreviewed: not flagged
    frame.loc[frame["flagged"], "status"] = "flagged"
    frame["review_id"] = frame["review_id"].astype("Int64")
    frame["comment"] = frame["comment"].fillna("")
    frame["scores"] = [s if isinstance(s, dict) else {} for s in frame["scores"].tolist()]
    flags = submissions[["student", "notebook", "source_late"]]  # the intake source's own verdict
    frame = frame.merge(flags, on=["student", "notebook"], how="left")
    frame["late"] = late_column(frame, settings)
    frame = frame.drop(columns=["source_late"])
    frame["section"] = looked_up(frame["student"], roster_column(roster, "Section"), "")
    frame["name"] = looked_up(frame["student"], roster_column(roster, "Student"), "")
    minimum = {p.id: p.min_words for p in reading.prompts} if reading else {}
    if settings and settings.min_words is not None:
        minimum = dict.fromkeys(minimum, settings.min_words)
    frame["min_words"] = looked_up(frame["prompt_id"], minimum, 0).astype(int)
    counts = replies.loc[~replies["hidden"], "thread_id"].value_counts()
    frame["replies"] = frame["post_id"].map(counts).fillna(0).astype(int)
    titles = reading.prompt_titles() if reading else {}
    frame["prompt_title"] = looked_up(frame["prompt_id"], titles)
    return in_prompt_order(frame, titles).reset_index(drop=True)  # as the notebooks order the prompts


def roster_column(roster: pd.DataFrame | None, column: str) -> dict:
    """A roster's ``column`` by student (lists, not Series, zipped: a roster has thousands of rows)."""
    if roster is None:
        return {}
    return dict(zip(roster["student"].tolist(), roster[column].tolist(), strict=True))


def looked_up(column: pd.Series, mapping: dict, default=None) -> pd.Series:
    """``mapping[value]`` for each value; where it is missing (or NaN), ``default`` (None: the value itself).

    Each distinct value is looked up once: a class has 50,000 reflections but a few thousand students.
    """

    def one(value):
        found = mapping.get(value)
        return found if found is not None and found == found else value if default is None else default

    codes, values = pd.factorize(column)  # a missing value has code -1: the None at the end
    found = np.array([*map(one, values), None], dtype=object)
    return pd.Series(found[codes], index=column.index).infer_objects()


@dataclass(frozen=True)
class Filters:
    week: int | None = None
    prompt: str | None = None
    student: str = ""
    section: str | None = None
    status: str | None = None
    late: bool | None = None
    text: str = ""


EXACT = {"week": "week", "prompt": "prompt_id", "section": "section", "status": "status", "late": "late"}


def search_texts(frame: pd.DataFrame, texts: dict[str, str] | None = None) -> list[str]:
    """What Search reads of each row, lower-cased: the student's id, name and reflection (or ``texts[post_id]``)."""
    text = frame["text"].tolist() if texts is None else [texts.get(p, "") for p in frame["post_id"].tolist()]
    students, names = frame["student"].tolist(), frame["name"].tolist()
    return [f"{s}\n{n}\n{t}".lower() for s, n, t in zip(students, names, text, strict=True)]


class Matcher:
    """The filters over one table, each change cheap at 50,000 rows.

    Exact-value filters compare integer codes made once per column; the Student box searches each
    distinct student once; Search asks a ``TextIndex`` (``index`` makes or waits for it: the desk
    builds it in the background; by default it is made from the table's text on first use).
    Call ``changed(column)`` after editing a column of the table.
    """

    def __init__(self, frame: pd.DataFrame, index: Callable[[], TextIndex] | None = None):
        self.frame = frame
        self._index = index or (lambda: TextIndex(search_texts(frame)))
        self._made: TextIndex | None = None
        self._codes: dict[str, tuple[np.ndarray, dict]] = {}
        self._edits: dict[str, int] = {}  # column -> how many times it was changed: codes made meanwhile are stale
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], np.ndarray] = {}  # (box, needle) -> bool per row
        self._people: tuple[np.ndarray, list[str]] | None = None  # student codes per row; "id name" per student

    def changed(self, column: str) -> None:
        with self._lock:
            self._edits[column] = self._edits.get(column, 0) + 1
            self._codes.pop(column, None)

    def text_index(self) -> TextIndex:
        if self._made is None:
            self._made = self._index()
        return self._made

    def _equal(self, column: str, value) -> np.ndarray:
        made = self._codes.get(column)
        while made is None:  # made in the background too (``prepare``), while a save may change the column
            edits = self._edits.get(column, 0)
            codes, values = pd.factorize(self.frame[column], use_na_sentinel=True)
            made = (codes, {v: n for n, v in enumerate(values)})
            with self._lock:
                if self._edits.get(column, 0) != edits:
                    made = None
                else:
                    self._codes[column] = made
        codes, numbers = made
        number = numbers.get(value)
        return codes == number if number is not None else np.zeros(len(codes), bool)

    def prepare(self, index: TextIndex | None = None) -> None:
        """Make now what the first change of each filter would make (the desk calls it in the background)."""
        self._made = index or self.text_index()
        self._students("")
        for column in EXACT.values():
            self._equal(column, None)

    def _students(self, needle: str) -> np.ndarray:
        """Rows whose "student name" contains ``needle``: each distinct student is searched once."""
        if self._people is None:
            codes, students = pd.factorize(self.frame["student"])
            names = dict(zip(self.frame["student"].tolist(), self.frame["name"].tolist(), strict=True))
            self._people = codes, [f"{s} {names[s]}".lower() for s in students]
        codes, people = self._people
        hits = np.array([needle in person for person in people], bool)
        return hits[codes] if len(codes) else np.zeros(0, bool)

    def _search(self, box: str, needle: str) -> np.ndarray:
        if (box, needle) not in self._found:
            if len(self._found) > 64:  # typing leaves many one-off answers behind
                self._found.clear()
            found = self._students(needle) if box == "student" else self.text_index().rows(needle)
            self._found[(box, needle)] = found
        return self._found[(box, needle)]

    def positions(self, filters: Filters) -> np.ndarray:
        """Row positions matching every filter that is set (None and "" mean: any)."""
        keep = np.ones(len(self.frame), dtype=bool)
        for name, column in EXACT.items():
            value = getattr(filters, name)
            if value is not None and value != "":
                keep &= self._equal(column, value)
        for box, needle in (("student", filters.student), ("text", filters.text)):
            needle = needle.strip().lower()
            if needle:
                keep &= self._search(box, needle)
        return np.flatnonzero(keep)


def matching_positions(frame: pd.DataFrame, filters: Filters, matcher: Matcher | None = None) -> np.ndarray:
    """Row positions matching every filter that is set; pass the table's ``Matcher`` to reuse its work."""
    return (matcher or Matcher(frame)).positions(filters)


def filter_reviews(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows that match every filter that is set."""
    return frame.iloc[matching_positions(frame, filters)]


def progress(frame: pd.DataFrame) -> str:
    """How far the reviewing of a table has come, as the desk says it."""
    return progress_text(reviewed_count(frame), len(frame))


def reviewed_count(frame: pd.DataFrame) -> int:
    """Rows of a review table reviewed at least once (flagged ones too)."""
    return int((frame["status"] != "unreviewed").sum())


def progress_text(done: int, total: int) -> str:
    return f"{done} of {total} reviewed"
