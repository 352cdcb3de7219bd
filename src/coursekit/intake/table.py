"""The dry run: what ``collect`` would do with a source, as a table a person checks before anything is stored."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from coursekit.course.deadlines import is_late
from coursekit.intake.base import Options
from coursekit.intake.extract import extract
from coursekit.intake.sources import Intake

COLUMNS = [
    "status",  # ok, problem (read but not a sound notebook), unmatched, failed (not read), skipped
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


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def intake_table(intake: Intake, options: Options | None = None) -> pd.DataFrame:
    """One row per file: who it lands on, which notebook and week, when and whether late; then the rest."""
    options = options or Options()
    rows: list[dict[str, object]] = []
    for file in intake.files:
        row: dict[str, object] = dict(file=_shown(file.shown, intake.root), student=file.student, source=file.source)
        row["matched_by"] = file.matched_by
        row |= dict(source_id=file.source_id, submitted_at=file.submitted_at)
        try:
            extracted = extract(file.read_bytes(), Path(file.name).stem)
        except OSError as exc:
            rows.append(row | dict(status="failed", reason=f"cannot read it: {exc}", hint="check the file"))
            continue
        row |= dict(notebook=extracted.notebook, week=extracted.week)
        row["late"] = is_late(options.settings, extracted.week, file.submitted_at, file.late)
        problem = extracted.problems[0] if extracted.problems else None
        rows.append(row | dict(status="problem" if problem else "ok", reason=problem.reason if problem else ""))
        if problem:
            rows[-1]["hint"] = problem.hint
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
