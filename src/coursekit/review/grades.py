"""Grades from rubric scores and participation rules, and the Canvas gradebook import file.

Plain functions over the log's DataFrames and the course settings. A roster student with no
submission gets a blank (Canvas: no score), not a zero, unless the settings say ``missing = "zero"``;
a submitted week with no reflection scored yet is blank too (its total is missing, never 0). A week
with only some reflections scored is *partial*: its points so far are kept (feedback says "8 of 30,
2 of 3 reflections scored"), but the Canvas file leaves it blank unless asked to write them, since a
number in a gradebook column reads as final.
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
    A reflection counts as scored when its latest review gives at least one score (a flag or a comment
    alone is not a score); ``possible`` is the week's maximum and ``partial`` marks a week with some,
    not all, of its reflections scored.
    """
    first_week = min((w.week for w in settings.weeks), default=1)
    possible = points_possible(settings, prompts)
    scored_reviews = reviews[reviews["scores"].map(bool)] if len(reviews) else reviews
    rubric = (
        scored_reviews.assign(points=scored_reviews["scores"].map(lambda s: float(sum(s.values()))))
        .groupby(["student", "notebook"])
        .agg(rubric=("points", "sum"), scored=("points", "size"))
    )
    written = posts[posts["kind"] == "reply"].groupby(["author", "week"]).size()
    rows = []
    for sub in submissions.itertuples():
        week = int(sub.week) if pd.notna(sub.week) else None
        if week is None or not settings.has_week(week):
            continue
        points, scored = (
            rubric.loc[(sub.student, sub.notebook)] if (sub.student, sub.notebook) in rubric.index else (0.0, 0)
        )
        replies = int(written.get((sub.student, week), 0))
        participation = 0.0
        if settings.replies_required and week > first_week:
            participation = settings.participation_points * min(1.0, replies / settings.replies_required)
        late = is_late(settings, week, sub.submitted_at, getattr(sub, "source_late", None))
        total = (points + participation) * (1 - settings.late_penalty if late else 1) if scored else None
        expected = prompts.get(week, 0)
        rows.append(
            dict(
                student=sub.student,
                week=week,
                submitted_at=sub.submitted_at,
                late=late,
                rubric=points,
                scored_prompts=int(scored),
                prompts=expected,
                partial=0 < scored < expected,
                replies=replies,
                participation=round(participation, 2),
                total=None if total is None else round(total, 2),
                possible=possible.get(week, 0.0),
            )
        )
    columns = [
        "student",
        "week",
        "submitted_at",
        "late",
        "rubric",
        "scored_prompts",
        "prompts",
        "partial",
        "replies",
        "participation",
        "total",
        "possible",
    ]
    return pd.DataFrame(rows, columns=columns)


def unreviewed(scores: pd.DataFrame) -> int:
    """How many reflections of submitted notebooks have no rubric score yet."""
    return int((scores["prompts"] - scores["scored_prompts"]).clip(lower=0).sum())


def partial_weeks(scores: pd.DataFrame) -> pd.DataFrame:
    """The partly scored weeks (student, week, scored_prompts, prompts), by week then student."""
    found = scores[scores["partial"].astype(bool)] if len(scores) else scores
    return found[["student", "week", "scored_prompts", "prompts"]].sort_values(["week", "student"])


def week_summary(row) -> str:
    """A week's grade as a person should read it: its maximum, and "partial" until every reflection is scored.

    ``row`` is one row of ``week_scores`` (a Series or a namedtuple).
    """
    if pd.isna(row.total):
        return f"not scored yet (0 of {row.prompts} reflections scored, out of {row.possible:g})"
    scored = f"{row.scored_prompts} of {row.prompts} reflections scored"
    if row.partial:
        return f"{row.total:g} of {row.possible:g} so far (partial: {scored})"
    return f"{row.total:g} of {row.possible:g} ({scored})"


def points_possible(settings: Settings, prompts: dict[int, int]) -> dict[int, float]:
    """Per week: rubric points for each prompt plus participation points (weeks after the first)."""
    first_week = min((w.week for w in settings.weeks), default=1)
    return {
        w.week: settings.rubric_points * prompts.get(w.week, 0)
        + (settings.participation_points if settings.replies_required and w.week > first_week else 0.0)
        for w in settings.weeks
    }


def canvas_gradebook(
    scores: pd.DataFrame,
    roster: pd.DataFrame,
    settings: Settings,
    prompts: dict[int, int],
    score_partial_weeks: bool = False,
) -> pd.DataFrame:
    """The Canvas import table: the roster's identity columns, then one column per week.

    Header ``Student,ID,SIS User ID,SIS Login ID,Section,<week titles>``, then Canvas's
    "Points Possible" row, then one row per roster student in roster order; a week not scored
    yet is blank, and so is a partly scored week unless ``score_partial_weeks`` (then it holds the
    points so far). ``log.export.write_csv`` writes it spreadsheet-safe.
    """
    table = roster[list(CANVAS_COLUMNS)].copy()
    keyed = scores.set_index(["student", "week"])
    # A partial week is blank (submitted, not finished), never the missing-submission value.
    totals = keyed["total"] if score_partial_weeks else keyed["total"].where(~keyed["partial"].astype(bool))
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
