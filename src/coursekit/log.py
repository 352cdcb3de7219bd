"""The instructor's view of the discussion log as pandas DataFrames.

Usage in a notebook::

    from coursekit.log import open_log
    log = open_log("class.db")
    log.reflections()          # one row per student, notebook and prompt: the current text
    log.history()              # every version ever collected
    log.answers("stance")      # widget answers saved in the notebooks
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from coursekit.answers import summary as answer_summary
from coursekit.store import answers, open_database, reflection_versions, reflections, submissions


class DiscussionLog:
    """Read access to a discussion log; every method returns a fresh DataFrame."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def _frame(self, query) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def reflections(self, week: int | None = None) -> pd.DataFrame:
        """The current reflections, one row each, ordered by week, prompt and student."""
        query = select(
            reflections.c.student,
            reflections.c.notebook,
            reflections.c.week,
            reflections.c.prompt_id,
            reflections.c.text,
            reflections.c.word_count,
            reflections.c.version,
            reflections.c.submitted_at,
            reflections.c.content_hash,
        ).order_by(reflections.c.week, reflections.c.prompt_id, reflections.c.student)
        if week is not None:
            query = query.where(reflections.c.week == week)
        return self._frame(query)

    def history(self) -> pd.DataFrame:
        """Every version of every reflection, oldest first within each reflection."""
        query = (
            select(
                reflections.c.student,
                reflections.c.notebook,
                reflections.c.week,
                reflections.c.prompt_id,
                reflection_versions.c.version,
                reflection_versions.c.text,
                reflection_versions.c.word_count,
                reflection_versions.c.submitted_at,
                reflection_versions.c.collected_at,
                (reflection_versions.c.version == reflections.c.version).label("current"),
            )
            .join(reflections, reflections.c.id == reflection_versions.c.reflection_id)
            .order_by(
                reflections.c.student, reflections.c.notebook, reflections.c.prompt_id, reflection_versions.c.version
            )
        )
        return self._frame(query)

    def answers(self, kind: str | None = None) -> pd.DataFrame:
        """Current widget answers (quiz, stance, sorter), one row each, with a readable summary.

        ``state`` holds the saved widget state as a dict (quiz items, stance position, placements).
        """
        query = select(
            answers.c.student,
            answers.c.notebook,
            answers.c.week,
            answers.c.widget_id,
            answers.c.kind,
            answers.c.payload,
            answers.c.version,
            answers.c.submitted_at,
        ).order_by(answers.c.week, answers.c.widget_id, answers.c.student)
        if kind is not None:
            query = query.where(answers.c.kind == kind)
        frame = self._frame(query)
        frame["state"] = frame.pop("payload").map(json.loads)
        frame["summary"] = [
            answer_summary({"kind": k, "state": st}) for k, st in zip(frame["kind"], frame["state"], strict=True)
        ]
        return frame

    def submissions(self) -> pd.DataFrame:
        """One row per collected notebook file: who, which notebook, when, from where."""
        return self._frame(select(submissions).order_by(submissions.c.student, submissions.c.notebook))


def open_log(target: str | Path) -> DiscussionLog:
    """Open an existing log by SQLite path or SQLAlchemy URL."""
    return DiscussionLog(open_database(target, create=False))
