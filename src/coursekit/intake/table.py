"""The dry run: what ``collect`` would do with a source, as a table a person checks before anything is stored.

Each file is read through the step ``collect`` reads it through (``reader.read_all``, which runs
``load.load_submission``: read, extract, re-grade saved answers) and older copies are found by the
same rule (``duplicates``), so the table and a collect into an empty log cannot disagree about a file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from coursekit.course.deadlines import is_late
from coursekit.course.reading import Readings
from coursekit.intake.base import Options
from coursekit.intake.duplicates import Claims, newest_first
from coursekit.intake.reader import read_all
from coursekit.intake.submission import Intake, SubmissionFile

COLUMNS = [
    "status",  # ok, problem (read but not a sound notebook), duplicate, unmatched, failed (not read), skipped
    "file",
    "student",
    "matched_by",  # the roster rule that found the student: id, e-mail, e-mail login, name
    "notebook",
    "week",
    "submitted_at",
    "late",
    "source",
    "source_id",
    "reason",
    "hint",
]
STATUSES = ("ok", "problem", "duplicate", "unmatched", "failed", "skipped")


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _verdicts(
    intake: Intake, options: Options, readings: Readings, jobs: int | None
) -> dict[SubmissionFile, dict[str, object]]:
    """Each file's status, notebook, week and lateness, found as ``collect`` finds them."""
    ordered = newest_first(intake.files)
    claims = Claims()
    verdicts: dict[SubmissionFile, dict[str, object]] = {}
    for file, extracted in zip(ordered, read_all(ordered, jobs, readings), strict=True):
        problem = extracted.problems[0] if extracted.problems else None
        if not extracted.file_hash:  # not read (or extracting it failed): nothing of it is known
            assert problem is not None
            verdicts[file] = dict(status="failed", reason=problem.reason, hint=problem.hint)
            continue
        verdict: dict[str, object] = dict(notebook=extracted.notebook, week=extracted.week)
        verdict["late"] = is_late(options.settings, extracted.week, file.submitted_at, file.late)
        if problem is None:
            problem = claims.older_copy(file, extracted.notebook)
            verdict["status"] = "ok" if problem is None else "duplicate"
        else:
            verdict["status"] = "problem"
        if problem is not None:
            verdict |= dict(reason=problem.reason, hint=problem.hint)
        verdicts[file] = verdict
    return verdicts


def intake_table(
    intake: Intake, options: Options | None = None, readings: Readings | None = None, jobs: int | None = None
) -> pd.DataFrame:
    """One row per file: who it lands on, which notebook and week, when and whether late; then the rest.

    ``readings``: where saved answers are re-graded (default ``Intake.readings``, as ``collect``);
    ``jobs``: worker processes reading the files (default one per core).
    """
    verdicts = _verdicts(intake, options or Options(), readings or intake.readings(), jobs)
    rows: list[dict[str, object]] = []
    for file in intake.files:
        row: dict[str, object] = dict(file=_shown(file.shown, intake.root), student=file.student, source=file.source)
        row["matched_by"] = file.matched_by
        row |= dict(source_id=file.source_id, submitted_at=file.submitted_at)
        rows.append(row | verdicts[file])
    for item in intake.unmatched:
        file = item.file
        rows.append(
            dict(
                status="unmatched",
                file=_shown(file.shown, intake.root),
                source=file.source,
                source_id=file.source_id,
                submitted_at=file.submitted_at,
                reason=item.detail,
                hint=item.hint,
            )
        )
    for skipped in intake.skipped:
        rows.append(
            dict(
                status="failed" if skipped.serious else "skipped",
                file=_shown(skipped.shown, intake.root),
                source=intake.layout,
                reason=skipped.reason,
                hint=skipped.hint,
            )
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["week"] = table["week"].astype("Int64")
    return table.fillna({c: "" for c in ("student", "matched_by", "notebook", "source_id", "reason", "hint")})
