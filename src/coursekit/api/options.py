"""What each of the course's operations can be asked to do: one frozen dataclass per operation.

The command line builds these from its options and hands them to ``coursekit.api.Course``; a script
builds them itself. Options that contradict each other are refused when the object is made, with the
message the command line prints (``OptionError``, exit code 2 like any usage error).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coursekit.course.problems import CoursekitError
from coursekit.validation.runner import DEFAULT_MEMORY


class OptionError(CoursekitError, ValueError):
    """Options that do not go together; the message says which and what to give instead."""


@dataclass(frozen=True)
class SourceOptions:
    """Where submissions are and how to match them to the roster (intake, collect, validate)."""

    source: Path | None = None
    layout: str | None = None  # None: detected
    homes: Path | None = None  # JupyterHub homes, e.g. /home (the source, in the homes layout)
    pattern: str = "week*.ipynb"  # with homes: the notebooks in a home
    roster: Path | None = None  # default: course.toml's [roster] file
    moodle_worksheet: Path | None = None
    deadline_only: bool = False  # nbgrader exchange: the newest submission before the deadline


@dataclass(frozen=True)
class CollectOptions:
    course: Path | None = None  # folder with readings/ (default: found above the source, else the cwd)
    jobs: int | None = None  # worker processes (default: one per core)
    full: bool = False  # read every file again, also those whose size and time did not change
    report: Path | None = None  # the per-file CSV (default: beside the log, LOG-collect.csv)


@dataclass(frozen=True)
class ExportOptions:
    format: str = "csv"  # "csv" or "markdown"
    out: Path | None = None  # None: the caller gets the frame or text and writes it where it likes
    history: bool = False  # CSV only: every version of every reflection
    threads: bool = False  # CSV only: one row per post or reply

    def __post_init__(self) -> None:
        if self.threads and (self.history or self.format != "csv"):
            raise OptionError("--threads is a CSV of its own: use it without --history and with --format csv")
        if self.history and self.format != "csv":
            raise OptionError("--history is a CSV: use it with --format csv (the default)")


@dataclass(frozen=True)
class SiteOptions:
    out: Path = Path("site")
    names: str | None = None  # "pseudonym" or "real" (default: course.toml's names, else pseudonym)
    reading: Path | None = None  # for prompt and week titles (default: course.toml's, else ./readings' only one)
    title: str = "Class discussion"


@dataclass(frozen=True)
class FeedOptions:
    week: int  # the week whose posts the next notebook shows
    out: Path = Path("feed")
    names: str | None = None
    reading: Path | None = None


@dataclass(frozen=True)
class GradesOptions:
    out: Path = Path("grades.csv")  # the Canvas gradebook import file
    roster: Path | None = None  # default: course.toml's [roster] file
    plain: Path | None = None  # also a per-student, per-week CSV
    allow_unreviewed: bool = False  # write the file although some reflections are not scored yet
    score_partial_weeks: bool = False  # with allow_unreviewed: a partly scored week's points so far

    def __post_init__(self) -> None:
        if self.score_partial_weeks and not self.allow_unreviewed:
            raise OptionError(
                "--score-partial-weeks goes with --allow-unreviewed: without it, grades waits until all is scored"
            )


@dataclass(frozen=True)
class ValidateOptions:
    week: int | None = None  # only notebooks of this week (files whose week cannot be read are kept)
    jobs: int = 1  # notebooks run at a time
    timeout: float = 120.0  # seconds per notebook run
    course: Path = Path(".")  # the course folder with readings/
    out: Path = Path("validation")  # report.xml and report.csv
    sandbox: bool | None = None  # None: in bubblewrap when it works here
    allowed: tuple[Path, ...] = ()  # files or folders the sandbox shows read-only
    memory: int = DEFAULT_MEMORY  # MiB per process of a notebook run
    scheduler: str | None = None  # a Dask scheduler's address
    cluster: str | None = None  # "local": a Dask cluster of processes started here
    workers: int | None = None  # with cluster="local" (default: one per core)

    def __post_init__(self) -> None:
        if self.scheduler and self.cluster:
            raise OptionError("give --scheduler ADDRESS or --cluster local, not both")
        if self.workers and not self.cluster:
            raise OptionError("--workers is for --cluster local (a scheduler's workers are started with dask worker)")

    @property
    def on_dask(self) -> bool:
        return bool(self.scheduler or self.cluster)


@dataclass(frozen=True)
class ReleaseOptions:
    week: int
    out: Path = Path("release")
    notebooks: Path = Path("notebooks")
    feeds: Path = Path("feed")
    reading: Path | None = None  # default: course.toml's, else the only one in ./readings
    nbgrader_exchange: Path | None = None  # also copy to EXCHANGE/COURSE/outbound/
    course_id: str | None = None  # with nbgrader_exchange: nbgrader's course id
    git_url: str | None = None  # the nbgitpuller link for this git repository
    branch: str = "main"
    hub: str | None = None  # with git_url: the JupyterHub address

    def problem(self) -> str:
        """Options that do not go together ("" when they do); checked after the reading is found, as always."""
        if self.nbgrader_exchange and not self.course_id:
            return "--nbgrader-exchange needs --course-id (nbgrader's course id)"
        if self.git_url and not self.hub:
            return "--git-url needs --hub, the JupyterHub address students log in to"
        return ""


@dataclass(frozen=True)
class EraseOptions:
    students: tuple[str, ...] = ()  # as the log stores them
    term_ended: bool = False  # every student whose last submission is older than older_than days
    older_than: int | None = None
    apply: bool = False  # with term_ended: erase (without it, only say what would be erased)

    def __post_init__(self) -> None:
        if bool(self.students) == self.term_ended:
            raise OptionError("give --student ID (one or more), or --term-ended --older-than DAYS for the whole class")
        if self.term_ended and self.older_than is None:
            raise OptionError(
                "--term-ended needs --older-than DAYS: students whose last submission is older are erased"
            )
        if self.students and (self.apply or self.older_than is not None):
            raise OptionError("--apply and --older-than go with --term-ended; --student erases once you confirm")
