"""Collect a source of submitted notebooks into the discussion log, one file at a time.

Every file ends up in the report as collected, updated, unchanged, duplicate, failed or unmatched
(with a reason and a hint), and everything the source held that is not a notebook as skipped.
A failure never stops the run and never touches what is already stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from coursekit.course.lateness import is_late
from coursekit.intake.base import Options
from coursekit.intake.extract import Extracted, extract
from coursekit.intake.identity import Roster
from coursekit.intake.sources import Intake, gather
from coursekit.intake.submission import SubmissionFile
from coursekit.log.store import Source, open_database, store_submission

FAILED = "failed"
DUPLICATE = "duplicate"
UNMATCHED = "unmatched"  # a file whose sender fits no roster student, or several: not stored
SKIPPED = "skipped"  # not a notebook, or clutter: reported, not a failure


@dataclass(frozen=True)
class FileResult:
    path: Path
    student: str
    notebook: str
    status: str  # collected, updated, unchanged, duplicate, failed
    detail: str = ""
    hint: str = ""


@dataclass
class CollectReport:
    results: list[FileResult]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[FileResult]:
        """Files a student sent that were not stored: failed, or not matched to the roster."""
        return [r for r in self.results if r.status in (FAILED, UNMATCHED)]

    @property
    def changed(self) -> int:
        return self.count("collected") + self.count("updated")


def read_submission(file: SubmissionFile) -> tuple[bytes | None, str]:
    try:
        return file.read_bytes(), ""
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror or exc}"


def intake_results(intake: Intake) -> list[FileResult]:
    """The report lines of what the source held but will not be stored: unmatched and skipped files."""
    results = [
        FileResult(
            u.file.shown,
            u.file.source_id,
            "",
            UNMATCHED,
            u.detail,
            u.hint,
        )
        for u in intake.unmatched
    ]
    results += [FileResult(p.shown, "", "", FAILED if p.serious else SKIPPED, p.reason, p.hint) for p in intake.skipped]
    return results


def collect(
    root: str | Path,
    db: Engine | str | Path,
    layout: str | None = None,
    roster: Roster | None = None,
    options: Options | None = None,
    intake: Intake | None = None,
) -> CollectReport:
    """Collect every notebook in the source ``root`` into the log ``db`` (an engine, a path or a URL).

    The source is read (or ``intake``, already gathered, used) before the database is opened, so a
    mistyped folder leaves no empty log behind.
    """
    options = options or Options()
    intake = intake or gather(root, layout, roster, options)
    engine = db if isinstance(db, Engine) else open_database(db)
    results = intake_results(intake)

    parsed: list[tuple[SubmissionFile, Extracted, str]] = []
    for file in intake.files:
        data, error = read_submission(file)
        if data is None:
            results.append(FileResult(file.shown, file.student, "", FAILED, error, "check the file's permissions"))
            continue
        extracted = extract(data, Path(file.name).stem)
        if not extracted.ok:
            problem = extracted.problems[0]
            results.append(
                FileResult(file.shown, file.student, extracted.notebook, FAILED, problem.reason, problem.hint)
            )
            continue
        parsed.append((file, extracted, hashlib.sha256(data).hexdigest()))

    # Two files for the same student and notebook (a re-upload, "week01-1.ipynb"): the newest wins.
    newest: dict[tuple[str, str], tuple[SubmissionFile, Extracted, str]] = {}
    for entry in parsed:
        key = (entry[0].student, entry[1].notebook)
        if key not in newest or entry[0].submitted_at > newest[key][0].submitted_at:
            newest[key] = entry
    for file, extracted, file_hash in parsed:
        winner = newest[(file.student, extracted.notebook)][0]
        if winner is not file:
            results.append(
                FileResult(
                    file.shown,
                    file.student,
                    extracted.notebook,
                    DUPLICATE,
                    f"older copy of {extracted.notebook}; the newer {winner.name} was used",
                    "delete the copy that is not the student's final submission to silence this",
                )
            )
            continue
        source = Source(file.source, file.source_id, file.late)
        try:
            stored = store_submission(
                engine, file.student, extracted, str(file.shown), file_hash, file.submitted_at, source
            )
        except Exception as exc:  # noqa: BLE001 - a database error on one file must not stop the run
            results.append(
                FileResult(
                    file.shown,
                    file.student,
                    extracted.notebook,
                    FAILED,
                    f"database error: {exc.__class__.__name__}: {exc}",
                    "nothing of this file was stored; fix the database and run collect again",
                )
            )
            continue
        detail = f"{stored.changed_reflections} item(s) changed" if stored.changed_reflections else ""
        if stored.notes:
            detail = "; ".join([detail, *stored.notes] if detail else stored.notes)
        if is_late(file.submitted_at, options.deadline(extracted.week), file.late):
            detail = "; ".join(d for d in (detail, "late") if d)
        results.append(FileResult(file.shown, file.student, extracted.notebook, str(stored.outcome), detail))

    results.sort(key=lambda r: str(r.path))
    return CollectReport(results)
