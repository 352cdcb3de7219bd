"""The course settings file (``course.toml``): one place for what differs between courses.

Course name, reading, database, how names are shown, the weeks with their notebook and
deadline, the rubric, participation rules and the roster. Every mistake is reported with the
file, the key and the reason, all at once. See docs/course-settings.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from coursekit.reading import Problem, ReadingError

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

    @property
    def rubric_points(self) -> float:
        return sum(c.points for c in self.rubric)

    def week(self, number: int) -> WeekSetting | None:
        return next((w for w in self.weeks if w.week == number), None)

    def deadline(self, week: int | None) -> datetime | None:
        setting = self.week(week) if week is not None else None
        return setting.deadline if setting else None


class _Keys:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def get(self, table: dict, where: str, key: str, kind, default=None, required: bool = False):
        path = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                self.problems.append(Problem(self.file, path, "missing (required)"))
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.problems.append(Problem(self.file, path, f"expected {names}, found {type(value).__name__}"))
            return default
        return value

    def choice(self, table: dict, where: str, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.get(table, where, key, str, default)
        if value not in options:
            self.problems.append(Problem(self.file, f"{where}.{key}", f"must be one of {', '.join(options)}"))
            return default
        return value


def _deadline(keys: _Keys, value, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value  # stored as naive UTC
    keys.problems.append(Problem(keys.file, where, "expected a TOML date-time such as 2026-09-07T23:59:00Z"))
    return None


def load_settings(path: str | Path) -> Settings:
    """Load ``course.toml``; relative paths in it are relative to the file's folder."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    if not path.is_file():
        raise SettingsError([Problem(str(path), "(file)", "no course settings file here; see docs/course-settings.md")])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([Problem(path.name, "(file)", f"not valid TOML: {exc}")]) from exc
    keys = _Keys(path.name)
    base = path.parent
    course = keys.get(data, "", "course", dict, {}, required=True)
    name = keys.get(course, "course", "name", str, "", required=True)
    reading = keys.get(course, "course", "reading", str, "", required=True)
    if reading and not (base / reading / "reading.yaml").is_file():
        keys.problems.append(Problem(path.name, "course.reading", f"{base / reading} holds no reading.yaml"))
    database = keys.get(course, "course", "database", str, "class.db")
    if "://" not in database:
        database = str((base / database).resolve())
    names = keys.choice(course, "course", "names", ("pseudonym", "real"), "pseudonym")
    min_words = keys.get(course, "course", "min_words", int)

    weeks = []
    for index, week in enumerate(keys.get(data, "", "weeks", list, [], required=True)):
        where = f"weeks[{index}]"
        if not isinstance(week, dict):
            keys.problems.append(Problem(path.name, where, "expected a [[weeks]] table"))
            continue
        weeks.append(
            WeekSetting(
                week=keys.get(week, where, "week", int, 0, required=True),
                notebook=keys.get(week, where, "notebook", str, "", required=True),
                deadline=_deadline(keys, week.get("deadline"), f"{where}.deadline"),
                canvas_assignment_id=keys.get(week, where, "canvas_assignment_id", int),
            )
        )
    numbers = [w.week for w in weeks]
    for number in {n for n in numbers if numbers.count(n) > 1}:
        keys.problems.append(Problem(path.name, "weeks", f"week {number} is listed more than once"))

    rubric_table = keys.get(data, "", "rubric", dict, {}, required=True)
    criteria = []
    for index, item in enumerate(keys.get(rubric_table, "rubric", "criteria", list, [], required=True)):
        where = f"rubric.criteria[{index}]"
        if not isinstance(item, dict):
            keys.problems.append(Problem(path.name, where, "expected a [[rubric.criteria]] table"))
            continue
        points = keys.get(item, where, "points", (int, float), 0, required=True)
        if points <= 0:
            keys.problems.append(Problem(path.name, f"{where}.points", "must be more than 0"))
        criteria.append(
            Criterion(
                keys.get(item, where, "id", str, "", required=True), keys.get(item, where, "label", str, ""), points
            )
        )
    if rubric_table and not criteria:
        keys.problems.append(Problem(path.name, "rubric.criteria", "needs at least one criterion"))
    ids = [c.id for c in criteria]
    for dup in {i for i in ids if ids.count(i) > 1}:
        keys.problems.append(Problem(path.name, "rubric.criteria", f"criterion id {dup!r} is used twice"))

    participation = keys.get(data, "", "participation", dict, {})
    late_penalty = keys.get(participation, "participation", "late_penalty", (int, float), 0.0)
    if not 0 <= late_penalty <= 1:
        keys.problems.append(Problem(path.name, "participation.late_penalty", "must be a fraction from 0 to 1"))
    roster_table = keys.get(data, "", "roster", dict, {})
    roster = keys.get(roster_table, "roster", "file", str)
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
        replies_required=keys.get(participation, "participation", "replies_required", int, 0),
        participation_points=keys.get(participation, "participation", "points", (int, float), 0.0),
        late_penalty=float(late_penalty),
        missing=keys.choice(roster_table, "roster", "missing", ("blank", "zero"), "blank"),
        roster=(base / roster).resolve() if roster else None,
        student_column=keys.get(roster_table, "roster", "student_column", str, "SIS Login ID"),
    )


def find_settings(start: str | Path | None = None) -> Settings | None:
    """The ``course.toml`` of the course folder holding ``start`` (default: the cwd), if any."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / FILE_NAME).is_file():
            return load_settings(folder / FILE_NAME)
    return None
