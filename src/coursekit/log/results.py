"""What a collect run did, file by file: statuses, the summary by status and week, the CSV report.

At 20,000 files nobody reads a line per file, so the report says which files deserve a line
(failures, duplicates, changes), counts the rest by status and week, and writes every file to a
spreadsheet-safe CSV for whoever needs the detail.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from coursekit.log.export import write_rows
from coursekit.log.schema import database_url


class Status(enum.StrEnum):
    """How a file of a collect run ended; the value is what the report, its CSV and the terminal say."""

    COLLECTED = "collected"  # new to the log
    UPDATED = "updated"  # stored before; something in it changed
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"  # an older copy of a notebook a newer file stands for
    FAILED = "failed"
    UNMATCHED = "unmatched"  # its sender fits no roster student, or several: not stored
    SKIPPED = "skipped"  # not a notebook, or clutter (__MACOSX): reported, not a failure


STATUSES = tuple(Status)  # in the order the summary lists them
REPORT_COLUMNS = ("status", "student", "matched_by", "notebook", "week", "path", "detail", "hint")


@dataclass(frozen=True, slots=True)
class FileResult:
    path: Path
    student: str
    notebook: str
    status: Status
    detail: str = ""
    hint: str = ""
    week: int | None = None
    entry: str = ""  # the member, when ``path`` is an archive
    notes: tuple[str, ...] = ()  # what was stored only in part (a reply to a missing post, ...)
    matched_by: str = ""  # the roster rule that found the student (SubmissionFile.matched_by)

    @property
    def origin(self) -> str:
        return f"{self.path}:{self.entry}" if self.entry else str(self.path)

    @property
    def noteworthy(self) -> bool:
        """Whether this file earns a line of its own: something failed, was set aside or changed."""
        return self.status not in (Status.COLLECTED, Status.UNCHANGED) or bool(self.notes)


@dataclass
class CollectReport:
    results: list[FileResult]

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[FileResult]:
        """Files a student sent that were not stored: failed, or matched to no roster student."""
        return [r for r in self.results if r.status in (Status.FAILED, Status.UNMATCHED)]

    @property
    def changed(self) -> int:
        return self.count(Status.COLLECTED) + self.count(Status.UPDATED)

    def by_week(self) -> dict[Status, Counter[int | None]]:
        """How many files ended in each status, per week (None: the week could not be read)."""
        table: dict[Status, Counter[int | None]] = {status: Counter() for status in STATUSES}
        for r in self.results:
            table.setdefault(r.status, Counter())[r.week] += 1
        return table

    @property
    def weeks(self) -> list[int | None]:
        """The weeks seen, in order, with None (no week) last."""
        return sorted({r.week for r in self.results}, key=lambda w: (w is None, w or 0))


def write_report(report: CollectReport, path: Path) -> Path:
    """Every file's outcome as CSV, one row per file, through the one spreadsheet-safe writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = (
        (r.status, r.student, r.matched_by, r.notebook, "" if r.week is None else r.week, r.origin, r.detail, r.hint)
        for r in report.results
    )
    write_rows(REPORT_COLUMNS, rows, path)
    return path


def default_report_path(db: str | Path) -> Path:
    """Beside a SQLite log (``class.db`` → ``class-collect.csv``); in the current folder for a server."""
    url = database_url(db)
    if url.startswith("sqlite:///"):
        log = Path(url.removeprefix("sqlite:///"))
        return log.with_name(f"{log.stem}-collect.csv")
    return Path("collect-report.csv")
