"""A reading's data files (YAML) as pydantic models, loaded into one ``Reading``.

A reading is a folder such as ``readings/kreiss-finn-turner-2011/`` with ``reading.yaml``
(citation, sources, weeks), ``sections.yaml``, ``glossary.yaml``, ``quiz.yaml``, ``prompts.yaml``,
``cases.yaml`` (case sorters) and ``stance.yaml``. Instructors edit these files, not Python, so
every mistake is reported with the file, the field and the reason, all at once. Each file's model
(``FILE_MODELS``) checks its own fields and rules; what one file names from another (weeks,
source keys, sections, terms, sorters, stances) is checked against the validation context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass as value
from pathlib import Path
from typing import Annotated, ClassVar

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass

from coursekit.course.folders import find_upwards, searched
from coursekit.course.models import (
    CONFIG,
    AtLeast,
    CourseData,
    Found,
    Text,
    Whole,
    broken,
    check,
    duplicates,
    one_of,
    problems,
    require,
    validated,
)
from coursekit.course.problems import Problem, UnknownItem

ACTIVITY_KINDS = ("cards", "stance", "sorter")
# A week's time plan, in minutes, in the order the notebook shows it.
TIME_PARTS = ("sections", "self-check", "reflections", "replies")
# Where each kind of thing a section's activity names is defined.
DEFINED_IN = {"cards": "glossary.yaml", "sorter": "cases.yaml", "stance": "stance.yaml"}


class ReadingError(ValueError):
    """Raised with every problem found in a reading's files."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("invalid reading data:\n" + "\n".join(f"  {p}" for p in problems))


def _listed_week(number: int, info: ValidationInfo) -> int:
    weeks = (info.context or {}).get("weeks")
    if weeks is not None and number not in weeks:
        raise ValueError(f"week {number} is not listed in reading.yaml")
    return number


def _known_sources(keys: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
    known = (info.context or {}).get("sources")
    if known is not None:
        unknown = [((), f"unknown source key {key!r} (define it in reading.yaml)") for key in keys if key not in known]
        require(unknown)
    return keys


WeekNumber = Annotated[Whole, AfterValidator(_listed_week)]
SourceKeys = Annotated[tuple[Text, ...], AfterValidator(_known_sources)]
Id = Annotated[
    Text, check(lambda id: id.replace("-", "").replace("_", "").isalnum(), "use only letters, digits, '-' and '_'")
]
Minutes = Annotated[Whole, check(lambda minutes: minutes > 0, "must be a positive number of minutes")]
ZeroOrMore = Annotated[Whole, check(lambda n: n >= 0, "must be zero or more")]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Citation(CourseData):
    authors: Annotated[tuple[Text, ...], AtLeast(1, "one author")]
    year: Whole
    title: Text
    journal: Text
    volume: Whole
    issue: Whole
    pages: Text

    @property
    def apa(self) -> str:
        names = list(self.authors)
        people = names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", & " + names[-1]
        return f"{people} ({self.year}). {self.title}. *{self.journal}, {self.volume}*({self.issue}), {self.pages}."


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class TimePlan(CourseData):
    """A week's ``time:`` as written: minutes per part of TIME_PARTS (``Week.time`` keeps them as pairs)."""

    noun: ClassVar[str] = "part"
    sections: Minutes | None = None
    self_check: Minutes | None = Field(default=None, alias="self-check")
    reflections: Minutes | None = None
    replies: Minutes | None = None

    def pairs(self) -> tuple[tuple[str, int], ...]:
        minutes = (self.sections, self.self_check, self.reflections, self.replies)
        return tuple((part, m) for part, m in zip(TIME_PARTS, minutes, strict=True) if m is not None)


_TIME_PLAN = TypeAdapter(TimePlan)


def _time_pairs(plan: object) -> object:
    return validated(_TIME_PLAN, plan).pairs() if isinstance(plan, Mapping) else plan


TimePairs = Annotated[
    tuple[tuple[str, int], ...], BeforeValidator(_time_pairs), WithJsonSchema(_TIME_PLAN.json_schema())
]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Week(CourseData):
    number: Annotated[Whole, Field(alias="week")]
    slug: Text
    title: Text
    intro: Text
    time: TimePairs = ()  # (part of TIME_PARTS, minutes), in TIME_PARTS order
    replies: ZeroOrMore = 0  # replies to classmates expected in the week's peer feed

    @field_validator("replies")
    @classmethod
    def _not_in_the_first_week(cls, replies: int, info: ValidationInfo) -> int:
        weeks = [n for n in (info.context or {}).get("weeks", ()) if isinstance(n, int)]
        if replies > 0 and weeks and info.data.get("number") == min(weeks):
            raise ValueError("the first week has no peer feed to reply in")
        return replies

    @model_validator(mode="after")
    def _replies_are_planned(self) -> Week:
        planned = "replies" in dict(self.time)
        if self.replies > 0 and not planned:
            raise broken([(("time",), "give the minutes for the replies (time: {replies: N})")])
        if self.replies == 0 and planned:
            raise broken([(("replies",), "the time plan has minutes for replies: say how many are expected")])
        return self

    @property
    def minutes(self) -> int:
        return sum(m for _, m in self.time)


@dataclass(frozen=True, kw_only=True, config=CONFIG | {"json_schema_extra": {"minProperties": 1, "maxProperties": 1}})
class Activity(CourseData):
    """The widget that follows a section: concept cards, the stance slider or a case sorter (one of them)."""

    cards: Annotated[tuple[Text, ...], AtLeast(1, "one glossary term")] | None = None
    stance: Text | None = None
    sorter: Text | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Activity:
        if sum(getattr(self, kind) is not None for kind in ACTIVITY_KINDS) != 1:
            raise broken([((), f"give exactly one of {', '.join(ACTIVITY_KINDS)}")])
        return self

    @property
    def kind(self) -> str:
        """One of ACTIVITY_KINDS."""
        return next(kind for kind in ACTIVITY_KINDS if getattr(self, kind) is not None)

    @property
    def refs(self) -> tuple[str, ...]:
        """The glossary terms, or the one stance or sorter id."""
        refs = self.cards if self.cards is not None else getattr(self, self.kind)
        return refs if isinstance(refs, tuple) else (refs,)


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Section(CourseData):
    id: Text
    week: WeekNumber
    title: Text
    summary: Text
    sources: SourceKeys = ()
    activity: Activity | None = None

    @model_validator(mode="after")
    def _activity_is_defined(self, info: ValidationInfo) -> Section:
        defined = (info.context or {}).get("defined")
        if self.activity is None or defined is None:
            return self
        kind = self.activity.kind
        names = defined[kind]
        missing = [ref for ref in self.activity.refs if (ref.lower() if kind == "cards" else ref) not in names]
        require([(("activity", kind), f"{ref!r} is not defined in {DEFINED_IN[kind]}") for ref in missing])
        return self


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Term(CourseData):
    term: Text
    definition: Text
    example: Text
    sources: SourceKeys = ()


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class QuizOption(CourseData):
    text: Text
    correct: Annotated[bool, Strict()] = False
    explanation: Text


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class QuizItem(CourseData):
    id: Text
    week: WeekNumber
    question: Text
    kind: Annotated[str, one_of("single", "multiple")] = "single"
    options: Annotated[tuple[QuizOption, ...], AtLeast(2, "two options")]
    sources: SourceKeys = ()

    @model_validator(mode="after")
    def _answer_key(self) -> QuizItem:
        if not self.correct:
            raise broken([(("options",), "no option is marked correct: true")])
        if self.kind == "single" and len(self.correct) > 1:
            raise broken([(("options",), "a single-choice item has more than one correct option")])
        return self

    @property
    def correct(self) -> frozenset[int]:
        return frozenset(i for i, option in enumerate(self.options) if option.correct)


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Prompt(CourseData):
    id: Id
    week: WeekNumber
    text: Text
    min_words: ZeroOrMore


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Category(CourseData):
    id: Text
    label: Text
    explanation: Text


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class RestsOn(CourseData):
    """The sentence of a section that a sorter card's key rests on (it appears there verbatim)."""

    section: Text
    text: Text

    @model_validator(mode="after")
    def _in_the_section(self, info: ValidationInfo) -> RestsOn:
        summaries = (info.context or {}).get("summaries")
        if not summaries:  # nothing to look in: the missing file is reported already
            return self
        if self.section not in summaries:
            raise broken([(("section",), f"{self.section!r} is not a section id in sections.yaml")])
        if self.text not in summaries[self.section]:
            raise broken([(("text",), f"not found word for word in section {self.section!r}: {self.text!r}")])
        return self


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Case(CourseData):
    id: Text
    text: Text
    answer: Text
    explanation: Text
    sources: SourceKeys = ()
    rests_on: RestsOn | None = None


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Sorter(CourseData):
    id: Text
    week: WeekNumber
    title: Text
    instructions: Text
    categories: Annotated[tuple[Category, ...], AtLeast(2, "two categories")]
    cases: Annotated[tuple[Case, ...], AtLeast(1, "one case")]

    @model_validator(mode="after")
    def _cases_fit(self) -> Sorter:
        ids = sorted({c.id for c in self.categories})
        found = duplicates(((("categories", i, "id"), c.id) for i, c in enumerate(self.categories)), "category id")
        found += duplicates(((("cases", i, "id"), c.id) for i, c in enumerate(self.cases)), "case id")
        found += [
            (("cases", i, "answer"), f"{case.answer!r} is not one of the categories {ids}")
            for i, case in enumerate(self.cases)
            if case.answer not in ids
        ]
        require(found)
        return self

    def case(self, case_id: str) -> Case:
        return _lookup(self.cases, case_id, "case", f"sorter {self.id}")


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Stance(CourseData):
    id: Text
    weeks: tuple[WeekNumber, ...]
    question: Text
    left: Text
    right: Text
    steps: Annotated[Whole, check(lambda steps: 3 <= steps <= 11, "must be between 3 and 11")] = 7

    @property
    def labels(self) -> list[str]:
        """Readable labels for each step, from one pole through the middle to the other (what the slider shows)."""
        middle = (self.steps - 1) / 2
        labels = []
        for step in range(self.steps):
            pole = self.left if step < middle else self.right
            distance = abs(step - middle)
            if distance == 0:
                labels.append("Undecided")
            elif distance == middle:
                labels.append(pole)
            elif distance >= 2:
                labels.append(f"Mostly: {pole.lower()}")
            else:
                labels.append(f"Leaning: {pole.lower()}")
        return labels


def reflection_title(number: int) -> str:
    """The heading of a week's ``number``-th prompt, in the notebook and wherever a person reads it."""
    return f"Reflection {number}"


def in_prompt_order(frame, titles: Mapping[str, str], column: str = "prompt_id", first: tuple[str, ...] = ("week",)):
    """A DataFrame's rows in notebook order: by ``first`` (the week), then prompts as ``titles`` lists them.

    Prompts ``titles`` does not know (a reading changed since) come last, by id; the order within a
    prompt is kept. Sorting by id instead would put Reflection 2 before Reflection 1.
    """
    rank = {prompt_id: n for n, prompt_id in enumerate(titles)}
    ranks = frame[column].map(lambda prompt_id: rank.get(prompt_id, len(rank)))
    ordered = frame.assign(_rank=ranks).sort_values([*first, "_rank", column], kind="stable")
    return ordered.drop(columns="_rank")


def _lookup(items, key: object, kind: str, where: str, attribute: str = "id"):
    """The item whose ``attribute`` is ``key``, or UnknownItem: one way to look things up by id."""
    for item in items:
        if getattr(item, attribute) == key:
            return item
    raise UnknownItem(kind, key, where)


@value(frozen=True)
class Reading:
    id: str
    path: Path
    citation: Citation
    sources: dict[str, str]
    weeks: tuple[Week, ...]
    sections: tuple[Section, ...]
    glossary: tuple[Term, ...]
    quiz: tuple[QuizItem, ...]
    prompts: tuple[Prompt, ...]
    sorters: tuple[Sorter, ...] = ()
    stances: tuple[Stance, ...] = ()

    # Lookups by id raise UnknownItem when the reading does not have the item.
    def week(self, number: int) -> Week:
        return _lookup(self.weeks, number, "week", f"reading {self.id}", "number")

    def sections_for(self, week: int) -> list[Section]:
        return [s for s in self.sections if s.week == week]

    def quiz_for(self, week: int) -> list[QuizItem]:
        return [q for q in self.quiz if q.week == week]

    def prompts_for(self, week: int) -> list[Prompt]:
        return [p for p in self.prompts if p.week == week]

    def prompt(self, prompt_id: str) -> Prompt:
        return _lookup(self.prompts, prompt_id, "prompt", f"reading {self.id}")

    def prompt_titles(self) -> dict[str, str]:
        """Every prompt's title as its notebook heads it ("Reflection 2"), in notebook order: week by week.

        Ids are for the log and machine-readable columns; a person reads these titles.
        """
        return {
            prompt.id: reflection_title(number)
            for week in sorted({p.week for p in self.prompts})
            for number, prompt in enumerate(self.prompts_for(week), 1)
        }

    def quiz_item(self, item_id: str) -> QuizItem:
        return _lookup(self.quiz, item_id, "quiz item", f"reading {self.id}")

    def terms(self, *names: str) -> list[Term]:
        """Glossary terms by name, in the order asked; all terms when no name is given."""
        if not names:
            return list(self.glossary)
        by_name = {t.term.lower(): t for t in self.glossary}
        missing = [n for n in names if n.lower() not in by_name]
        if missing:
            raise UnknownItem("glossary term", missing[0], f"reading {self.id}")
        return [by_name[n.lower()] for n in names]

    def sorter(self, sorter_id: str) -> Sorter:
        return _lookup(self.sorters, sorter_id, "sorter", f"reading {self.id}")

    def stance(self, stance_id: str) -> Stance:
        return _lookup(self.stances, stance_id, "stance", f"reading {self.id}")


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class _File(CourseData):
    """One file's model: a list of entries under one key, whose ids (``unique``) must differ."""

    unique: ClassVar[tuple[str, str, str]]  # (the list's key, the id attribute, what an id is called)

    @model_validator(mode="after")
    def _unique_ids(self) -> _File:
        key, attribute, what = self.unique
        entries = getattr(self, key)
        field = entries[0].__pydantic_fields__[attribute].alias or attribute if entries else attribute
        ids = [getattr(entry, attribute) for entry in entries]
        ids = [i.lower() for i in ids] if what == "term" else ids  # "Bureaucracy" and "bureaucracy" are one term
        require(duplicates((((key, n, field), i) for n, i in enumerate(ids)), what))
        return self


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class ReadingFile(_File):
    """``reading.yaml``: the citation, the source keys the other files cite, and the weeks."""

    unique = ("weeks", "number", "week")
    id: Text | None = None
    citation: Citation
    sources: dict[str, Text]
    weeks: tuple[Week, ...]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class SectionsFile(_File):
    unique = ("sections", "id", "section id")
    sections: tuple[Section, ...]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class GlossaryFile(_File):
    unique = ("terms", "term", "term")
    terms: tuple[Term, ...]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class QuizFile(_File):
    unique = ("items", "id", "quiz id")
    items: tuple[QuizItem, ...]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class PromptsFile(_File):
    unique = ("prompts", "id", "prompt id")
    prompts: tuple[Prompt, ...]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class CasesFile(_File):
    unique = ("sorters", "id", "sorter id")
    sorters: tuple[Sorter, ...]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class StanceFile(_File):
    unique = ("stances", "id", "stance id")
    stances: tuple[Stance, ...]


FILE_MODELS: dict[str, type] = {
    "reading.yaml": ReadingFile,
    "sections.yaml": SectionsFile,
    "glossary.yaml": GlossaryFile,
    "quiz.yaml": QuizFile,
    "prompts.yaml": PromptsFile,
    "cases.yaml": CasesFile,
    "stance.yaml": StanceFile,
}
FILES = tuple(FILE_MODELS)
_ADAPTERS = {name: TypeAdapter(model) for name, model in FILE_MODELS.items()}

# libyaml's loader when PyYAML was built with it: the same data, about 20 times faster than the
# pure-Python one (every command that reads the course loaded the reading in half a second).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, problems: list[Problem]) -> dict:
    if not path.is_file():
        problems.append(Problem(f"missing: expected {path}", file=path.name, field="(file)"))
        return {}
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)  # a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        problems.append(Problem(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=path.name, field=where))
        return {}
    except UnicodeDecodeError:
        problems.append(Problem("not UTF-8 text", file=path.name, field="(file)"))
        return {}
    if not isinstance(data, dict):
        problems.append(Problem("expected a mapping at the top level", file=path.name, field="(file)"))
        return {}
    return data


def _context(raw: dict[str, dict]) -> dict:
    """What the files define for each other, read as written: one file's mistakes do not hide another's."""

    def entries(name: str, key: str) -> list[dict]:
        found = raw[name].get(key)
        return [entry for entry in found if isinstance(entry, dict)] if isinstance(found, list) else []

    def ids(name: str, key: str, field: str = "id") -> set:
        return {e.get(field) for e in entries(name, key)}

    sources = raw["reading.yaml"].get("sources")
    return {
        "weeks": ids("reading.yaml", "weeks", "week"),
        "sources": set(sources) if isinstance(sources, dict) else set(),
        "summaries": {
            s.get("id"): s["summary"] for s in entries("sections.yaml", "sections") if isinstance(s.get("summary"), str)
        },
        "defined": {
            "cards": {str(term).lower() for term in ids("glossary.yaml", "terms", "term")},
            "sorter": ids("cases.yaml", "sorters"),
            "stance": ids("stance.yaml", "stances"),
        },
    }


def load_reading(path: str | Path) -> Reading:
    """Load the reading in folder ``path``; raise ReadingError listing every problem found."""
    folder = Path(path)
    if not folder.is_dir():
        raise ReadingError([Problem("not a folder of reading files", file=str(folder), field="(folder)")])
    found: list[Problem] = []
    raw = {name: _read_yaml(folder / name, found) for name in FILES}
    context = _context(raw)
    files = {}
    for name, data in raw.items():
        if not data:  # its problem is reported already
            continue
        try:
            files[name] = _ADAPTERS[name].validate_python(data, context=context)
        except ValidationError as exc:
            found += problems(exc, name)
    if found:
        raise ReadingError(found)
    meta = files["reading.yaml"]
    return Reading(
        id=meta.id or folder.name,
        path=folder,
        citation=meta.citation,
        sources=dict(meta.sources),
        weeks=tuple(sorted(meta.weeks, key=lambda w: w.number)),
        sections=files["sections.yaml"].sections,
        glossary=files["glossary.yaml"].terms,
        quiz=files["quiz.yaml"].items,
        prompts=files["prompts.yaml"].prompts,
        sorters=files["cases.yaml"].sorters,
        stances=files["stance.yaml"].stances,
    )


def find_reading(name: str, *starts: str | Path | None) -> Reading:
    """Load ``readings/<name>`` from the course folder that holds a start (default: the cwd).

    Notebooks run with their own folder as the working directory, so this walks upwards.
    Raises FileNotFoundError when no such folder is found, ReadingError when it is broken.
    """
    folder = find_upwards(Path("readings") / name, *starts, folder=True)
    if folder is None:
        raise FileNotFoundError(f"no readings/{name}/ folder in {searched(*starts)}")
    return load_reading(folder)


class Readings:
    """Readings by id, found like ``find_reading`` from the given starts, each loaded once.

    ``known`` readings are used as they are (a test's or the demo's). Plain data: it can be handed
    to worker processes. ``get`` raises FileNotFoundError or ReadingError, and keeps raising the same.
    """

    def __init__(self, *starts: str | Path | None, known: tuple[Reading, ...] = ()):
        self.starts = tuple(Path(s).resolve() if s is not None else None for s in starts)
        self._loaded: dict[str, Reading | Exception] = {r.id: r for r in known}

    def get(self, reading_id: str) -> Reading:
        if reading_id not in self._loaded:
            try:
                self._loaded[reading_id] = find_reading(reading_id, *self.starts)
            except (FileNotFoundError, ReadingError) as exc:
                self._loaded[reading_id] = exc
        found = self._loaded[reading_id]
        if isinstance(found, Exception):
            raise found
        return found

    def __getstate__(self) -> dict:
        """For a worker process: the starts and the loaded readings (a failed lookup is simply tried again)."""
        loaded = {key: value for key, value in self._loaded.items() if isinstance(value, Reading)}
        return {"starts": self.starts, "_loaded": loaded}
