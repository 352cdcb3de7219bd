"""The course settings file (``course.toml``): one place for what differs between courses.

Course name, reading, database, how names are shown, the weeks with their notebook and
deadline, the rubric, participation rules, the roster and the teaching staff. ``CourseFile`` models
the file as written (every mistake reported with the file, the key and the reason, all at once);
``Settings`` is what the code uses, with paths resolved. See docs/course-settings.md.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass

from coursekit.course.fields import (
    CONFIG,
    AtLeast,
    CourseData,
    Found,
    Number,
    OneOf,
    Text,
    Whole,
    alongside,
    check,
    duplicates,
    problems,
    require,
)
from coursekit.course.folders import find_upwards
from coursekit.course.problems import Problem, UnknownItem
from coursekit.course.reading import ReadingError

FILE_NAME = "course.toml"


class SettingsError(ReadingError):
    """Raised with every problem found in a settings file."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.args = ("invalid course settings:\n" + "\n".join(f"  {p}" for p in problems),)


def _toml_datetime(value: object) -> datetime:
    """A TOML date-time, stored as naive UTC (one with an offset is converted)."""
    if not isinstance(value, datetime):
        raise ValueError("expected a TOML date-time such as 2026-09-07T23:59:00Z")
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Criterion(CourseData):
    id: Text
    label: Text = ""
    points: Annotated[Number, check(lambda points: points > 0, "must be more than 0")]


@dataclass(frozen=True, config=CONFIG)
class WeekSetting(CourseData):
    week: Whole
    notebook: Text
    deadline: Annotated[datetime, BeforeValidator(_toml_datetime)] | None = None  # naive UTC
    canvas_assignment_id: Whole | None = None

    @property
    def canvas_title(self) -> str:
        """The gradebook column title Canvas matches: 'Title (assignment id)' when the id is known."""
        title = f"Week {self.week} reflections"
        return f"{title} ({self.canvas_assignment_id})" if self.canvas_assignment_id else title


@dataclasses.dataclass(frozen=True)
class Settings:
    path: Path
    name: str
    reading: Path
    database: str
    names: str  # "pseudonym" or "real": how students see each other
    min_words: int | None  # overrides the reading's per-prompt minimum when set
    weeks: tuple[WeekSetting, ...]
    rubric: tuple[Criterion, ...]
    replies_required: int
    participation_points: float
    late_penalty: float  # fraction of a week's points taken off a late submission
    missing: str  # "blank" or "zero": the grade of a roster student with no submission
    roster: Path | None
    student_column: str
    staff: dict[str, str] = dataclasses.field(default_factory=dict)  # login -> the name reviews are shown under

    @property
    def rubric_points(self) -> float:
        return sum(c.points for c in self.rubric)

    def week(self, number: int) -> WeekSetting:
        """The week's settings; UnknownItem when the course settings do not list that week."""
        for setting in self.weeks:
            if setting.week == number:
                return setting
        raise UnknownItem("week", number, f"course settings {self.path.name}")

    def has_week(self, number: int | None) -> bool:
        return any(w.week == number for w in self.weeks)

    def deadline(self, week: int | None) -> datetime | None:
        """The week's deadline (naive UTC); None for a week without one or not in the settings."""
        return self.week(week).deadline if self.has_week(week) and week is not None else None


def _one_name_each(staff: object) -> list[Found]:
    """``[staff]``: login = "Name" for everyone who reviews; a name must tell one person from the others."""
    names = staff.items() if isinstance(staff, dict) else ()
    return duplicates(
        (((login,), name.strip().casefold()) for login, name in names if isinstance(name, str)), "staff name"
    )


# course.toml as written, table by table.
@dataclass(frozen=True, kw_only=True, config=CONFIG)
class CourseTable(CourseData):
    name: Text
    reading: Text
    database: Text = "class.db"  # a SQLite file beside course.toml, or a SQLAlchemy URL
    names: Annotated[str, OneOf("pseudonym", "real")] = "pseudonym"
    min_words: Whole | None = None

    @field_validator("reading")
    @classmethod
    def _holds_a_reading(cls, reading: str, info: ValidationInfo) -> str:
        base = (info.context or {}).get("base")
        if base is not None and not (base / reading / "reading.yaml").is_file():
            raise ValueError(f"{base / reading} holds no reading.yaml")
        return reading

    @field_validator("database")
    @classmethod
    def _no_password(cls, database: str) -> str:
        if "://" in database and urlsplit(database).password:
            raise ValueError(
                "holds a password, and course.toml is shared: remove it and give each user PGPASSWORD or ~/.pgpass"
            )
        return database


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class RubricTable(CourseData):
    criteria: Annotated[tuple[Criterion, ...], AtLeast(1, "one criterion")]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class ParticipationTable(CourseData):
    replies_required: Whole = 0
    points: Number = 0.0
    late_penalty: Annotated[Number, check(lambda share: 0 <= share <= 1, "must be a fraction from 0 to 1")] = 0.0


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class RosterTable(CourseData):
    file: Text | None = None
    student_column: Text = "SIS Login ID"
    missing: Annotated[str, OneOf("blank", "zero")] = "blank"


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class CourseFile(CourseData):
    """``course.toml``. Relative paths in it are relative to the file's folder (the context's ``base``)."""

    course: CourseTable
    roster: RosterTable = RosterTable()
    rubric: RubricTable
    staff: Annotated[dict[str, Text], alongside(_one_name_each)] = Field(default_factory=dict)
    participation: ParticipationTable = ParticipationTable()
    weeks: tuple[WeekSetting, ...]

    @model_validator(mode="after")
    def _unique(self) -> CourseFile:
        weeks = ((("weeks", i, "week"), w.week) for i, w in enumerate(self.weeks))
        require(duplicates(weeks, "week"))
        return self


_COURSE_FILE = TypeAdapter(CourseFile)


def load_settings(path: str | Path) -> Settings:
    """Load ``course.toml``; relative paths in it are relative to the file's folder."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    if not path.is_file():
        raise SettingsError(
            [Problem("no course settings file here; see docs/course-settings.md", file=str(path), field="(file)")]
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([Problem(f"not valid TOML: {exc}", file=path.name, field="(file)")]) from exc
    base = path.parent
    try:
        file = _COURSE_FILE.validate_python(data, context={"base": base})
    except ValidationError as exc:
        raise SettingsError(problems(exc, path.name)) from None
    course, roster, participation = file.course, file.roster, file.participation
    database = course.database if "://" in course.database else str((base / course.database).resolve())
    return Settings(
        path=path,
        name=course.name,
        reading=(base / course.reading).resolve(),
        database=database,
        names=course.names,
        min_words=course.min_words,
        weeks=tuple(sorted(file.weeks, key=lambda w: w.week)),
        rubric=file.rubric.criteria,
        replies_required=participation.replies_required,
        participation_points=participation.points,
        late_penalty=float(participation.late_penalty),
        missing=roster.missing,
        roster=(base / roster.file).resolve() if roster.file else None,
        student_column=roster.student_column,
        staff={login: name.strip() for login, name in file.staff.items()},
    )


def find_settings(start: str | Path | None = None) -> Settings | None:
    """The ``course.toml`` of the course folder holding ``start`` (default: the cwd), if any."""
    path = find_upwards(FILE_NAME, start)
    return load_settings(path) if path else None
