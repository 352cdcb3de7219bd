"""One feedback page per student: their reflections, rubric scores, the instructor's comments and who reviewed.

Each file is named by a per-student secret (an HMAC under the course secret), not by content, so
an instructor's later edit does not orphan a link already sent, and no student can guess another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from coursekit.course.reading import Reading, in_prompt_order
from coursekit.course.settings import Settings
from coursekit.discussion.names import public_id
from coursekit.discussion.render import posted_at, safe_html, text
from coursekit.discussion.site import page
from coursekit.log.export import write_rows
from coursekit.review.grades import week_summary
from coursekit.review.reviewers import reviewer_name


def feedback_name(secret: str, student: str) -> str:
    return public_id(secret, "feedback", student) + ".html"


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
    parts = []
    for week, group in in_prompt_order(reflections, titles).groupby("week", sort=True):
        row = scores[scores["week"] == week]
        summary = ""
        if len(row):
            r = row.iloc[0]
            late = " · submitted late" if r.late else ""
            points = "" if pd.isna(r.total) else f"rubric {r.rubric:g}, participation {r.participation:g}, "
            summary = f"<p class='count'>Week total: {week_summary(r)} · {points}{r.replies} repl(ies){late}</p>"
        items = []
        for refl in group.itertuples():
            scored = refl.scores if isinstance(refl.scores, dict) else {}
            table = "".join(
                f"<tr><td>{text(labels.get(c, (c, 0))[0])}</td><td>{v:g} / {labels.get(c, (c, 0))[1]:g}</td></tr>"
                for c, v in scored.items()
            )
            comment = safe_html(refl.comment) if isinstance(refl.comment, str) and refl.comment else ""
            who = reviewer_name(refl.reviewer, settings.staff) if isinstance(refl.reviewer, str) else None
            by = f"<p class='meta'>Reviewed by {text(who)}, {posted_at(refl.reviewed_at)}</p>" if who else ""
            items.append(
                f"<div class='post'><h3>{text(titles.get(refl.prompt_id, refl.prompt_id))}</h3>"
                f"<div class='text'>{safe_html(prompts.get(refl.prompt_id, ''))}</div>"
                f"<h4>Your reflection ({refl.word_count} words)</h4>"
                f"{safe_html(refl.text, images.get(refl.post_id)) or '<p><i>blank</i></p>'}"
                + (f"<h4>Scores</h4><table>{table}</table>" if table else "<p><i>not scored yet</i></p>")
                + (f"<h4>Comment</h4>{comment}" if comment else "")
                + by
                + "</div>"
            )
        parts.append(f"<section><h2>Week {int(week)}</h2>{summary}{''.join(items)}</section>")
    return page(f"{settings.name}: feedback for {student}", "".join(parts) or "<p>No reflections yet.</p>", "")


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
