"""Reviews: appended, never overwritten, so every reviewer's scores and comments stay in the log.

The review desk (``review.desk``) saves through ``save_review``; reading them as a DataFrame is
``DiscussionLog.reviews``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select

from coursekit.log import schema
from coursekit.log.tables import as_json, fits, inserted_id, now, reviews


@dataclass(frozen=True)
class Review:
    id: int
    student: str
    notebook: str
    prompt_id: str
    reviewer: str
    scores: dict
    comment: str
    flagged: bool
    created_at: datetime


def _review(row) -> Review:
    return Review(
        row.id,
        row.student,
        row.notebook,
        row.prompt_id,
        row.reviewer,
        json.loads(row.scores),
        row.comment,
        bool(row.flagged),
        row.created_at,
    )


def latest_review(conn: Connection, student: str, notebook: str, prompt_id: str) -> Review | None:
    row = conn.execute(
        select(reviews)
        .where(reviews.c.student == student, reviews.c.notebook == notebook, reviews.c.prompt_id == prompt_id)
        .order_by(reviews.c.id.desc())
        .limit(1)
    ).first()
    return _review(row) if row is not None else None


@dataclass(frozen=True)
class ReviewDraft:
    """A review as the reviewer enters it, before the log gives it an id and a time."""

    student: str
    notebook: str
    prompt_id: str
    reviewer: str
    scores: dict  # rubric criterion id -> points
    comment: str = ""
    flagged: bool = False
    based_on: int | None = None  # the id of the review the reviewer had on screen (None: none yet)


def save_review(engine: Engine, draft: ReviewDraft) -> tuple[Review, Review | None]:
    """Append a review (never overwrite one); return it and any review someone else saved meanwhile.

    If another reviewer saved after the review the reviewer had on screen (``draft.based_on``), both
    rows are kept and theirs is returned as the conflict to show.
    """

    def append(conn: Connection) -> tuple[Review, Review | None]:
        if conn.dialect.name == "postgresql":  # SQLite's write lock already serialises reviewers
            key = as_json([draft.student, draft.notebook, draft.prompt_id])
            conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
        latest = latest_review(conn, draft.student, draft.notebook, draft.prompt_id)
        others = latest is not None and latest.id != draft.based_on and latest.reviewer != draft.reviewer
        created_at = now()
        values = fits(
            reviews,
            student=draft.student,
            notebook=draft.notebook,
            prompt_id=draft.prompt_id,
            reviewer=draft.reviewer,
            scores=as_json(draft.scores),
            comment=draft.comment,
            flagged=draft.flagged,
            based_on=draft.based_on,
            created_at=created_at,
        )
        review_id = inserted_id(conn.execute(reviews.insert().values(**values)))
        saved = Review(
            review_id,
            draft.student,
            draft.notebook,
            draft.prompt_id,
            draft.reviewer,
            dict(draft.scores),
            draft.comment,
            draft.flagged,
            created_at,
        )
        return saved, latest if others else None

    return schema.write(engine, append)
