"""Which file stands for a student's notebook when several do (a re-upload, "week01-1.ipynb"): the newest.

One rule for ``collect`` and the dry run, so they cannot disagree about a duplicate: files go newest
first within each student, and the first readable file for a notebook claims it; every later one
is an older copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from coursekit.course.problems import Problem
from coursekit.intake.submission import SubmissionFile


def newest_first(files: Sequence[SubmissionFile]) -> list[SubmissionFile]:
    """Files by student, each student's newest first (ties: path order)."""
    ordered = sorted(files, key=attrgetter("origin"))
    ordered.sort(key=attrgetter("submitted_at"), reverse=True)
    ordered.sort(key=attrgetter("student"))
    return ordered


class Claims:
    """The file standing for each (student, notebook), claimed by the first readable one in ``newest_first`` order."""

    def __init__(self) -> None:
        self.standing: dict[tuple[str, str], SubmissionFile] = {}

    def older_copy(self, file: SubmissionFile, notebook: str) -> Problem | None:
        """Why ``file`` is not used when a newer file already stands for its notebook; else it claims it: None."""
        newer = self.standing.setdefault((file.student, notebook), file)
        if newer is file:
            return None
        return Problem(
            f"older copy of {notebook}; the newer {newer.name} was used",
            "delete the copy that is not the student's final submission to silence this",
        )
