"""One feedback page per student: their reflections, rubric scores, the instructor's comments and who reviewed.

The page is ``templates/feedback.html``, a discussion-site page (``discussion.pages``): everything
is escaped but Markdown, which is sanitised.

Each file is named by a per-student secret (an HMAC under the course secret), not by content, so
an instructor's later edit does not orphan a link already sent, and no student can guess another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from coursekit.course.reading import Reading, in_prompt_order
from coursekit.course.settings import Settings
from coursekit.discussion.names import public_id
from coursekit.discussion.pages import render
from coursekit.log.export import write_rows
from coursekit.review import TEMPLATES
from coursekit.review.grades import week_summary
from coursekit.review.reviewers import reviewer_name


def feedback_name(secret: str, student: str) -> str:
    return public_id(secret, "feedback", student) + ".html"


@dataclass(frozen=True)
class Feedback:
    """One reflection on a feedback page, with its latest review (blank fields when not reviewed yet)."""

    title: str  # the prompt's notebook title
    prompt: str  # Markdown, the reading's
    word_count: int
    text: str  # Markdown, the student's
    images: Mapping[str, str]
    scores: list[tuple[str, float, float]]  # (criterion label, score, points)
    comment: str  # Markdown, the instructor's
    reviewer: str | None
    reviewed_at: object


@dataclass(frozen=True)
class FeedbackWeek:
    number: int
    summary: str  # the week's total and what makes it up, "" before anything is scored
    items: list[Feedback]


def student_page(
    student: str,
    reflections: pd.DataFrame,
    scores: pd.DataFrame,
    settings: Settings,
    reading: Reading | None,
    images: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The feedback page of one student, week by week, each reflection under its notebook title.

    ``reflections`` are the student's, with their latest review's ``scores``, ``comment``,
    ``reviewer`` and ``reviewed_at``; ``images`` is ``DiscussionLog.images()``.
    """
    images = images or {}
    prompts = {p.id: p.text for p in reading.prompts} if reading else {}
    titles = reading.prompt_titles() if reading else {}
    labels = {c.id: (c.label or c.id, c.points) for c in settings.rubric}
    weeks = []
    for week, group in in_prompt_order(reflections, titles).groupby("week", sort=True):
        row = scores[scores["week"] == week]
        summary = ""
        if len(row):
            r = row.iloc[0]
            late = " · submitted late" if r.late else ""
            points = "" if pd.isna(r.total) else f"rubric {r.rubric:g}, participation {r.participation:g}, "
            summary = f"{week_summary(r)} · {points}{r.replies} repl(ies){late}"
        items = [
            Feedback(
                title=titles.get(refl.prompt_id, refl.prompt_id),
                prompt=prompts.get(refl.prompt_id, ""),
                word_count=refl.word_count,
                text=refl.text,
                images=images.get(refl.post_id, {}),
                scores=[
                    (labels.get(c, (c, 0))[0], v, labels.get(c, (c, 0))[1])
                    for c, v in (refl.scores if isinstance(refl.scores, dict) else {}).items()
                ],
                comment=refl.comment if isinstance(refl.comment, str) else "",
                reviewer=reviewer_name(refl.reviewer, settings.staff) if isinstance(refl.reviewer, str) else None,
                reviewed_at=refl.reviewed_at,
            )
            for refl in group.itertuples()
        ]
        weeks.append(FeedbackWeek(int(week), summary, items))
    title = f"{settings.name}: feedback for {student}"
    return render("feedback.html", TEMPLATES, title=title, nav=[], weeks=weeks)


def write_feedback(
    reflections: pd.DataFrame,
    reviews: pd.DataFrame,
    scores: pd.DataFrame,
    settings: Settings,
    reading: Reading | None,
    secret: str,
    out: str | Path,
    images: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """Write one page per student into ``out`` and ``index.csv`` (student, file) for sending them out."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    latest = reviews[["student", "notebook", "prompt_id", "scores", "comment", "reviewer", "created_at"]]
    latest = latest.rename(columns={"created_at": "reviewed_at"})
    merged = reflections.merge(latest, on=["student", "notebook", "prompt_id"], how="left")
    index = folder / "index.csv"
    rows = []
    for student, group in merged.groupby("student", sort=True):
        name = feedback_name(secret, student)
        (folder / name).write_text(
            student_page(student, group, scores[scores["student"] == student], settings, reading, images),
            encoding="utf-8",
        )
        rows.append((student, name))
    write_rows(["student", "file"], rows, index)
    return index
