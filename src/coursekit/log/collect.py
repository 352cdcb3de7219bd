"""Collect a folder of submitted notebooks into the discussion log, one file at a time.

Every file ends up in the report as collected, updated, unchanged, duplicate or failed (with a
reason and a hint). A failure never stops the run and never touches what is already stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from coursekit.intake.extract import Extracted, extract
from coursekit.intake.folder import SubmissionFile, find_submissions
from coursekit.log.store import open_database, store_submission

FAILED = "failed"
DUPLICATE = "duplicate"


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
        return [r for r in self.results if r.status == FAILED]

    @property
    def changed(self) -> int:
        return self.count("collected") + self.count("updated")


def read_submission(file: SubmissionFile) -> tuple[bytes | None, str]:
    try:
        return file.read_bytes(), ""
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror or exc}"


def collect(root: str | Path, db: Engine | str | Path) -> CollectReport:
    """Collect every notebook under ``root`` into the log ``db`` (an engine, a path or a URL).

    The submissions folder is checked before the database is opened, so a mistyped folder
    leaves no empty log behind.
    """
    files, layout_problems = find_submissions(root)
    engine = db if isinstance(db, Engine) else open_database(db)
    results = [FileResult(p.path, "", "", FAILED, p.reason, p.hint) for p in layout_problems]

    parsed: list[tuple[SubmissionFile, Extracted, str]] = []
    for file in files:
        data, error = read_submission(file)
        if data is None:
            results.append(FileResult(file.path, file.student, "", FAILED, error, "check the file's permissions"))
            continue
        extracted = extract(data, file.path.stem)
        if not extracted.ok:
            problem = extracted.problems[0]
            results.append(
                FileResult(file.path, file.student, extracted.notebook, FAILED, problem.reason, problem.hint)
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
                    file.path,
                    file.student,
                    extracted.notebook,
                    DUPLICATE,
                    f"older copy of {extracted.notebook}; the newer {winner.path.name} was used",
                    "delete the copy that is not the student's final submission to silence this",
                )
            )
            continue
        try:
            stored = store_submission(engine, file.student, extracted, str(file.path), file_hash, file.submitted_at)
        except Exception as exc:  # noqa: BLE001 - a database error on one file must not stop the run
            results.append(
                FileResult(
                    file.path,
                    file.student,
                    extracted.notebook,
                    FAILED,
                    f"database error: {exc.__class__.__name__}: {exc}",
                    "nothing of this file was stored; fix the database and run collect again",
                )
            )
            continue
        detail = f"{stored.changed_reflections} item(s) changed" if stored.changed_reflections else ""
        notes = [*stored.notes, *(w.reason for w in extracted.warnings)]
        if notes:
            detail = "; ".join([detail, *notes] if detail else notes)
        hint = extracted.warnings[0].hint if extracted.warnings else ""
        results.append(FileResult(file.path, file.student, extracted.notebook, str(stored.outcome), detail, hint))

    results.sort(key=lambda r: str(r.path))
    return CollectReport(results)
