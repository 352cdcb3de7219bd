"""What every intake source hands on: one submitted notebook, who sent it, when, and where it is.

Each source (a folder, an LMS download, an nbgrader exchange, JupyterHub homes) lists these; the
rest of coursekit never asks which source it was. Records are plain, picklable data, so workers in
other processes can read and extract them (``load``). An ``Intake`` is one source gathered: what
``collect``, the dry run and ``validate`` are handed, so none of them gathers again.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from coursekit.course.problems import CoursekitError
from coursekit.course.reading import Readings


class IntakeError(CoursekitError, ValueError):
    """The submissions source itself is unusable (missing, a file where a folder is needed, unreadable)."""


_EPOCH = datetime(1970, 1, 1)


def modified_at(mtime_ns: int) -> datetime:
    """A file's modification time (``st_mtime_ns``) as naive UTC, to the microsecond, as the log keeps times.

    Exact integer arithmetic, and cheaper than going through a float timestamp: a rerun makes one
    per file of the class.
    """
    return _EPOCH + timedelta(microseconds=mtime_ns // 1000)


def readable(name: str) -> str:
    """A member name zipfile decoded as CP437, as its author typed it (UTF-8 bytes mis-decoded are undone).

    Here, not in ``archive``, because a record names its file with it and ``archive`` makes records'
    problems: both import it from here, and neither imports the other back.
    """
    try:
        name = name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return unicodedata.normalize("NFC", name.replace("\\", "/"))


@dataclass(frozen=True)
class SubmissionFile:
    """One submitted notebook.

    ``path`` is the file, or the archive holding it when ``entry`` names a member of that archive.
    ``size`` and ``stamp`` let a rerun skip unchanged files without opening them: the modification
    time in nanoseconds for files, the CRC-32 for archive members.
    """

    student: str  # the roster's key when a roster matched, else the source's own id
    path: Path
    submitted_at: datetime  # UTC, naive: when the student submitted, as the source tells it
    entry: str = ""  # member name inside the archive at ``path``; "" for a plain file
    size: int = -1
    stamp: str = ""
    late: bool | None = None  # None: the source does not say; the course deadline decides
    source: str = "folder"  # which intake source found it
    source_id: str = ""  # the student's id in that source (folder name, Canvas user id, ...)
    matched_by: str = ""  # the roster rule that gave ``student`` ("e-mail (Email)", "name", ...); "" without a roster

    @property
    def origin(self) -> str:
        """Where the file came from, as people read it: a path, or ``archive.zip:member``."""
        return f"{self.path}:{self.entry}" if self.entry else str(self.path)

    @property
    def name(self) -> str:
        """The file name the student submitted."""
        return Path(readable(self.entry)).name if self.entry else self.path.name

    @property
    def shown(self) -> Path:
        """The file as a path people can read: an archive member shows as ``archive.zip/member``."""
        return self.path / self.entry.replace("//", "/") if self.entry else self.path


@dataclass(frozen=True)
class LayoutProblem:
    """A place in the source that does not fit its layout: reported by name, never skipped silently."""

    path: Path
    reason: str
    hint: str
    entry: str = ""  # the member's name when ``path`` is an archive
    serious: bool = True  # False: clutter (``__MACOSX``, a PDF beside the notebook) reported but not a failure

    @property
    def shown(self) -> Path:
        return self.path / self.entry if self.entry else self.path


@dataclass(frozen=True)
class Unmatched:
    """A file whose sender fits no roster student, or several: reported, never stored under a guess."""

    file: SubmissionFile
    reason: str
    candidates: tuple[str, ...] = ()
    hint: str = ""

    @property
    def detail(self) -> str:
        """The reason with the roster students it could be, as one line."""
        return self.reason + (f"; could be: {'; '.join(self.candidates)}" if self.candidates else "")


@dataclass
class Intake:
    """One source gathered: the files whose sender is known, those whose sender is not, and what was not read."""

    layout: str  # the source's name (``sources.SOURCES``)
    root: Path
    files: list[SubmissionFile] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    skipped: list[LayoutProblem] = field(default_factory=list)

    @property
    def problems(self) -> list[LayoutProblem]:
        """What stops a student's work from being read (clutter such as __MACOSX left out)."""
        return [p for p in self.skipped if p.serious]

    def readings(self) -> Readings:
        """Where saved answers are re-graded against their reading by default: in or above the source, else here."""
        return Readings(self.root, None)
