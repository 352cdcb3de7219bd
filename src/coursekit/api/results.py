"""What the course's operations return (plain dataclasses the caller shows as it likes), say and refuse with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from coursekit.course.problems import CoursekitError

if TYPE_CHECKING:
    from coursekit.intake.base import Options
    from coursekit.intake.submission import Intake
    from coursekit.log.collect import CollectReport
    from coursekit.notebook.release import Release
    from coursekit.validation.checks import NotebookReport


Notify = Callable[[str], None]  # a line for the person running an operation ("warning: ...", "note: ...")


class NoCourse(CoursekitError, FileNotFoundError):
    """No ``course.toml`` where one is needed."""


class NoLog(CoursekitError, FileNotFoundError):
    """No discussion log where the settings or ``db`` point."""


class Refused(CoursekitError, ValueError):
    """An operation that cannot be done with what the course holds (no reading, no roster, nothing to publish)."""


@dataclass
class Gathered:
    """A source's submissions matched to the roster, and the options the sources were read with."""

    intake: Intake
    options: Options
    roster: Path | None  # the roster matched against (None: no roster match)


@dataclass
class Collected:
    report: CollectReport
    written: Path  # the per-file CSV


@dataclass
class Exported:
    frame: pd.DataFrame
    text: str | None = None  # the Markdown, when asked for; None for CSV (write ``frame`` with log.export.write_csv)


@dataclass
class FeedPublished:
    path: Path
    reflections: int
    replies: int
    students: int
    gone: list[tuple[str, int]] = field(default_factory=list)  # (file, posts taken down since) per file updated


@dataclass
class SitePublished:
    folder: Path
    pages: list[Path]
    posts: int
    gone: list[tuple[str, int]] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)  # week pages with nothing left to show


@dataclass
class WeekLeft:
    """A week some reflections of are not scored yet: how many with nothing scored, and who is part-scored."""

    week: int
    unscored: int
    partly: list[tuple[str, int, int]]  # (student, prompts scored, prompts)


@dataclass
class GradesWritten:
    out: Path
    students: int
    weeks: int
    plain: Path | None
    not_on_roster: list[str]
    waiting: int  # reflections not scored yet
    left: list[WeekLeft]


@dataclass
class Validated:
    reports: list[NotebookReport]
    submissions: Path  # the folder the reports' paths are relative to
    junit: Path
    csv: Path

    @property
    def failed(self) -> int:
        return sum(1 for r in self.reports if r.problems)

    @property
    def skipped(self) -> int:
        from coursekit.validation.checks import SKIP

        return sum(1 for r in self.reports if r.status == SKIP)


@dataclass
class LogChecked:
    shown: str  # the log, as said to a person (a URL without its password)
    schema: str  # the schema version this coursekit writes
    problems: list[str]


@dataclass
class Released:
    plan: Release
    folder: Path
    zip: Path
    outbound: Path | None
    link: str | None  # the nbgitpuller link
    link_path: str | None  # the notebook it opens, as the repository names it
