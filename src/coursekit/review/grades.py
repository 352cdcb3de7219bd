"""Grades from rubric scores and participation rules, and the Canvas gradebook import file.

Plain functions over the log's DataFrames and the course settings. A roster student with no
submission gets a blank (Canvas: no score), not a zero, unless the settings say ``missing = "zero"``;
a submitted week with no reflection scored yet is blank too (its total is missing, never 0).
"""

from __future__ import annotations

import pandas as pd

from coursekit.course.deadlines import is_late
from coursekit.course.roster import CANVAS_COLUMNS
from coursekit.course.settings import Settings


def week_scores(
    submissions: pd.DataFrame, reviews: pd.DataFrame, posts: pd.DataFrame, settings: Settings, prompts: dict[int, int]
) -> pd.DataFrame:
    """One row per submitted notebook: rubric points, participation, lateness and the week's total.

    ``prompts`` maps a week to its number of prompts. Participation counts the replies a student wrote
    in that week's notebook, against ``replies_required``, in weeks after the first (when a feed exists).
    """
    first_week = min((w.week for w in settings.weeks), default=1)
    rubric = (
        reviews.assign(points=reviews["scores"].map(lambda s: float(sum(s.values()))))
        .groupby(["student", "notebook"])
        .agg(rubric=("points", "sum"), reviewed=("points", "size"))
    )
    written = posts[posts["kind"] == "reply"].groupby(["author", "week"]).size()
    rows = []
    for sub in submissions.itertuples():
        week = int(sub.week) if pd.notna(sub.week) else None
        if week is None or not settings.has_week(week):
            continue
        points, reviewed = (
            rubric.loc[(sub.student, sub.notebook)] if (sub.student, sub.notebook) in rubric.index else (0.0, 0)
        )
        replies = int(written.get((sub.student, week), 0))
        participation = 0.0
        if settings.replies_required and week > first_week:
            participation = settings.participation_points * min(1.0, replies / settings.replies_required)
        late = is_late(settings, week, sub.submitted_at, getattr(sub, "source_late", None))
        total = (points + participation) * (1 - settings.late_penalty if late else 1) if reviewed else None
        rows.append(
            dict(
                student=sub.student,
                week=week,
                submitted_at=sub.submitted_at,
                late=late,
                rubric=points,
                reviewed_prompts=int(reviewed),
                prompts=prompts.get(week, 0),
                replies=replies,
                participation=round(participation, 2),
                total=None if total is None else round(total, 2),
            )
        )
    columns = [
        "student",
        "week",
        "submitted_at",
        "late",
        "rubric",
        "reviewed_prompts",
        "prompts",
        "replies",
        "participation",
        "total",
    ]
    return pd.DataFrame(rows, columns=columns)


def unreviewed(scores: pd.DataFrame) -> int:
    """How many reflections of submitted notebooks have no rubric score yet."""
    return int((scores["prompts"] - scores["reviewed_prompts"]).clip(lower=0).sum())


def points_possible(settings: Settings, prompts: dict[int, int]) -> dict[int, float]:
    """Per week: rubric points for each prompt plus participation points (weeks after the first)."""
    first_week = min((w.week for w in settings.weeks), default=1)
    return {
        w.week: settings.rubric_points * prompts.get(w.week, 0)
        + (settings.participation_points if settings.replies_required and w.week > first_week else 0.0)
        for w in settings.weeks
    }


def canvas_gradebook(
    scores: pd.DataFrame, roster: pd.DataFrame, settings: Settings, prompts: dict[int, int]
) -> pd.DataFrame:
    """The Canvas import table: the roster's identity columns, then one column per week.

    Header ``Student,ID,SIS User ID,SIS Login ID,Section,<week titles>``, then Canvas's
    "Points Possible" row, then one row per roster student in roster order; a week not scored
    yet is blank. ``log.export.write_csv`` writes it spreadsheet-safe.
    """
    table = roster[list(CANVAS_COLUMNS)].copy()
    totals = scores.set_index(["student", "week"])["total"]
    missing = 0 if settings.missing == "zero" else ""
    possible = points_possible(settings, prompts)
    for week in settings.weeks:
        cells = [totals.get((student, week.week), missing) for student in roster["student"]]
        table[week.canvas_title] = ["" if pd.isna(c) else c for c in cells]
    header = {column: "" for column in table.columns}
    header["Student"] = "Points Possible"
    header.update({week.canvas_title: f"{possible[week.week]:g}" for week in settings.weeks})
    return pd.concat([pd.DataFrame([header]), table.astype(object)], ignore_index=True).astype(object)


def plain_grades(scores: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    """Per student and week, every part of the grade, for the instructor's own records."""
    people = roster[["student", "Student", "Section"]].rename(columns={"Student": "name", "Section": "section"})
    return people.merge(scores, on="student", how="left").sort_values(["student", "week"])
