"""What every source module shares: the ``Source`` shape, the options it reads, and what it hands back.

A source is one module with a class that has a ``name``, ``detect`` and ``find`` (``Source``),
and one line in ``sources.SOURCES``, the ordered registry detection and ``--layout`` go through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Protocol

from coursekit.course.settings import Settings
from coursekit.intake.archive import Entry
from coursekit.intake.identity import Claim
from coursekit.intake.submission import LayoutProblem, SubmissionFile


@dataclass(frozen=True)
class Options:
    """Everything a source may need besides its folder or zip."""

    pattern: str = "week*.ipynb"  # JupyterHub homes: the notebooks to take from each home
    moodle_worksheet: Path | None = None  # Moodle's grading worksheet CSV: participant id -> person
    deadline_only: bool = False  # nbgrader exchange: the newest submission before the deadline
    settings: Settings | None = None  # course.toml: the weeks' deadlines

    def deadline(self, week: int | None) -> datetime | None:
        """A week's deadline (naive UTC), None when there are no settings or the week has none."""
        return self.settings.deadline(week) if self.settings is not None else None


class Found(NamedTuple):
    """A file a source found, with ``student`` still the source's own id, and who the source says sent it.

    ``claim`` None: the source's own id (``file.source_id``) is all it says. A named tuple: a source
    makes one per file of the class.
    """

    file: SubmissionFile
    claim: Claim | None = None

    def sender(self) -> Claim:
        """Who the source says sent the file, for the roster to match."""
        return self.claim if self.claim is not None else Claim(ids=(self.file.source_id,))


Finding = tuple[list[Found], list[LayoutProblem]]  # every notebook a source found, and every place not read


class Source(Protocol):
    """One kind of download: how to recognise it from its top-level names, and how to list its files.

    Reads only: a source never writes a file and never touches the log. ``find`` reports every file
    it does not take as a ``LayoutProblem`` (with a reason and a hint) instead of skipping it.
    """

    @property
    def name(self) -> str:
        """What ``--layout`` calls it, and what the log's ``source`` column says."""
        ...

    def detect(self, root: Path, names: Sequence[str]) -> bool:
        """Whether ``root`` (a folder or a zip, whose top-level names are ``names``) is laid out this way."""
        ...

    def find(self, root: Path, options: Options) -> Finding:
        """Every notebook in ``root`` with who the source says sent it, and every place not read."""
        ...


def record(
    entry: Entry, source: str, source_id: str, late: bool | None = None, at: datetime | None = None
) -> SubmissionFile:
    """The submission record of an entry; ``at`` overrides the entry's own time (nbgrader's timestamp.txt)."""
    return SubmissionFile(
        student=source_id,
        path=entry.path,
        submitted_at=at or entry.modified,
        entry=entry.member,
        size=entry.size,
        stamp=entry.stamp,
        late=late,
        source=source,
        source_id=source_id,
    )


def as_student(file: SubmissionFile, student: str, matched_by: str = "") -> SubmissionFile:
    return replace(file, student=student, matched_by=matched_by)


def not_notebook(entry: Entry, what: str = "") -> LayoutProblem:
    """A file that is not a notebook: reported so a PDF handed in instead of the notebook is seen."""
    suffix = Path(entry.name).suffix
    kind = what or (f"a {suffix} file" if suffix else "a file without extension")
    return entry.problem(
        f"{kind}, not a notebook; not collected",
        "if it is the student's only upload, ask them to submit the .ipynb",
        serious=False,
    )


def outside(entry: Entry, layout: str, expected: str) -> LayoutProblem:
    """A notebook whose place does not fit the source's naming, so its sender is unknown."""
    return entry.problem(
        f"the name does not follow the {layout} layout ({expected}), so its sender is unknown; not collected",
        "check it came from this download, or pass the right --layout",
    )
