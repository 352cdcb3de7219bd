"""One feedback page per student: their reflections, rubric scores and the instructor's comments.

Each file is named by a per-student secret (an HMAC under the course secret), not by content, so
an instructor's later edit does not orphan a link already sent, and no student can guess another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from coursekit.course.reading import Reading
from coursekit.course.settings import Settings
from coursekit.discussion.names import public_id
from coursekit.discussion.render import safe_html, text
from coursekit.discussion.site import page
from coursekit.log.export import write_rows


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
    """The feedback page of one student, week by week; ``images`` is ``DiscussionLog.images()``."""
    images = images or {}
    prompts = {p.id: p.text for p in reading.prompts} if reading else {}
    labels = {c.id: (c.label or c.id, c.points) for c in settings.rubric}
    parts = []
    for week, group in reflections.groupby("week", sort=True):
        row = scores[scores["week"] == week]
        summary = ""
        if len(row):
            r = row.iloc[0]
            late = " · submitted late" if r.late else ""
            if pd.isna(r.total):
                summary = f"<p class='count'>Week total: not scored yet ({r.replies} repl(ies){late})</p>"
            else:
                summary = (
                    f"<p class='count'>Week total {r.total:g} (rubric {r.rubric:g}, participation "
                    f"{r.participation:g}, {r.replies} repl(ies){late})</p>"
                )
        items = []
        for refl in group.itertuples():
            scored = refl.scores if isinstance(refl.scores, dict) else {}
            table = "".join(
                f"<tr><td>{text(labels.get(c, (c, 0))[0])}</td><td>{v:g} / {labels.get(c, (c, 0))[1]:g}</td></tr>"
                for c, v in scored.items()
            )
            comment = safe_html(refl.comment) if isinstance(refl.comment, str) and refl.comment else ""
            items.append(
                f"<div class='post'><p class='meta'>Prompt <code>{text(refl.prompt_id)}</code></p>"
                f"<div class='text'>{safe_html(prompts.get(refl.prompt_id, ''))}</div>"
                f"<h4>Your reflection ({refl.word_count} words)</h4>"
                f"{safe_html(refl.text, images.get(refl.post_id)) or '<p><i>blank</i></p>'}"
                + (f"<h4>Scores</h4><table>{table}</table>" if table else "<p><i>not scored yet</i></p>")
                + (f"<h4>Comment</h4>{comment}" if comment else "")
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
    latest = reviews[["student", "notebook", "prompt_id", "scores", "comment"]]
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
