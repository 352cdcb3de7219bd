"""The course settings file (``course.toml``): one place for what differs between courses.

Course name, reading, database, how names are shown, the weeks with their notebook and
deadline, the rubric, participation rules, the roster and the teaching staff. Every mistake is reported with the
file, the key and the reason, all at once. See docs/course-settings.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from coursekit.course.fields import FieldChecker, Problem
from coursekit.course.folders import find_upwards
from coursekit.course.problems import UnknownItem
from coursekit.course.reading import ReadingError

FILE_NAME = "course.toml"


class SettingsError(ReadingError):
    """Raised with every problem found in a settings file."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.args = ("invalid course settings:\n" + "\n".join(f"  {p}" for p in problems),)


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    points: float


@dataclass(frozen=True)
class WeekSetting:
    week: int
    notebook: str
    deadline: datetime | None  # naive UTC
    canvas_assignment_id: int | None = None

    @property
    def canvas_title(self) -> str:
        """The gradebook column title Canvas matches: 'Title (assignment id)' when the id is known."""
        title = f"Week {self.week} reflections"
        return f"{title} ({self.canvas_assignment_id})" if self.canvas_assignment_id else title


@dataclass(frozen=True)
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
    staff: dict[str, str] = field(default_factory=dict)  # login -> the name reviews are shown under

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


def _deadline(keys: FieldChecker, value, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value  # stored as naive UTC
    keys.fail(where, "expected a TOML date-time such as 2026-09-07T23:59:00Z")
    return None


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
    keys = FieldChecker([], path.name)
    base = path.parent
    course = keys.get(data, "", "course", dict, default={})
    name = keys.get(course, "course", "name", str, default="")
    reading = keys.get(course, "course", "reading", str, default="")
    if reading and not (base / reading / "reading.yaml").is_file():
        keys.fail("course.reading", f"{base / reading} holds no reading.yaml")
    database = keys.get(course, "course", "database", str, required=False, default="class.db")
    if "://" not in database:
        database = str((base / database).resolve())
    elif urlsplit(database).password:
        keys.fail(
            "course.database",
            "holds a password, and course.toml is shared: remove it and give each user PGPASSWORD or ~/.pgpass",
        )
    names = keys.choice(course, "course", "names", ("pseudonym", "real"), "pseudonym")
    min_words = keys.get(course, "course", "min_words", int, required=False)

    weeks = []
    for where, week in keys.items(data, "weeks"):
        weeks.append(
            WeekSetting(
                week=keys.get(week, where, "week", int, default=0),
                notebook=keys.get(week, where, "notebook", str, default=""),
                deadline=_deadline(keys, week.get("deadline"), f"{where}.deadline"),
                canvas_assignment_id=keys.get(week, where, "canvas_assignment_id", int, required=False),
            )
        )
    keys.unique([(f"weeks[{i}].week", w.week) for i, w in enumerate(weeks)], "week")

    rubric_table = keys.get(data, "", "rubric", dict, default={})
    criteria = []
    for where, item in keys.items(rubric_table, "criteria", "rubric"):
        points = keys.get(item, where, "points", (int, float), default=0)
        if points <= 0:
            keys.fail(f"{where}.points", "must be more than 0")
        criteria.append(
            Criterion(
                keys.get(item, where, "id", str, default=""),
                keys.get(item, where, "label", str, required=False, default=""),
                points,
            )
        )
    if rubric_table and not criteria:
        keys.fail("rubric.criteria", "needs at least one criterion")
    keys.unique([(f"rubric.criteria[{i}].id", c.id) for i, c in enumerate(criteria)], "criterion id")

    participation = keys.get(data, "", "participation", dict, required=False, default={})
    late_penalty = keys.get(participation, "participation", "late_penalty", (int, float), required=False, default=0.0)
    if not 0 <= late_penalty <= 1:
        keys.fail("participation.late_penalty", "must be a fraction from 0 to 1")
    roster_table = keys.get(data, "", "roster", dict, required=False, default={})
    roster = keys.get(roster_table, "roster", "file", str, required=False)
    replies_required = keys.get(participation, "participation", "replies_required", int, required=False, default=0)
    points = keys.get(participation, "participation", "points", (int, float), required=False, default=0.0)
    missing = keys.choice(roster_table, "roster", "missing", ("blank", "zero"), "blank")
    student_column = keys.get(roster_table, "roster", "student_column", str, required=False, default="SIS Login ID")
    staff = _staff(keys, keys.get(data, "", "staff", dict, required=False, default={}))
    if keys.problems:
        raise SettingsError(keys.problems)
    return Settings(
        path=path,
        name=name,
        reading=(base / reading).resolve(),
        database=database,
        names=names,
        min_words=min_words,
        weeks=tuple(sorted(weeks, key=lambda w: w.week)),
        rubric=tuple(criteria),
        replies_required=replies_required,
        participation_points=points,
        late_penalty=float(late_penalty),
        missing=missing,
        roster=(base / roster).resolve() if roster else None,
        student_column=student_column,
        staff=staff,
    )


def _staff(keys: FieldChecker, table: dict) -> dict[str, str]:
    """``[staff]``: login = "Name" for everyone who reviews; a name must tell one person from the others."""
    staff = {login: keys.text(table, "staff", login) for login in table}
    staff = {login: name.strip() for login, name in staff.items() if name}
    keys.unique([(f"staff.{login}", name.casefold()) for login, name in staff.items()], "staff name")
    return staff


def find_settings(start: str | Path | None = None) -> Settings | None:
    """The ``course.toml`` of the course folder holding ``start`` (default: the cwd), if any."""
    path = find_upwards(FILE_NAME, start)
    return load_settings(path) if path else None
