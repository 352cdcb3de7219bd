"""The models of a reading's YAML files: each entry (a week, a section, a quiz item...) and each file.

The entries are frozen pydantic dataclasses, the values ``Reading`` holds and the code uses; each
file's model (``FILE_MODELS``) checks its own fields and rules. What one file names from another
(weeks, source keys, sections, terms, sorters, stances) is checked against the validation context
``context`` makes from the files as written, so one file's mistakes do not hide another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass

from coursekit.course.fields import (
    CONFIG,
    AtLeast,
    CourseData,
    Found,
    OneOf,
    Text,
    Whole,
    broken,
    check,
    duplicates,
    reported_with,
    require,
    validated,
)
from coursekit.course.problems import UnknownItem

ACTIVITY_KINDS = ("cards", "stance", "sorter")
# A week's time plan, in minutes, in the order the notebook shows it.
TIME_PARTS = ("sections", "self-check", "reflections", "replies")
# Where each kind of thing a section's activity names is defined.
DEFINED_IN = {"cards": "glossary.yaml", "sorter": "cases.yaml", "stance": "stance.yaml"}


def lookup(items, key: object, kind: str, where: str, attribute: str = "id"):
    """The item whose ``attribute`` is ``key``, or UnknownItem: one way to look things up by id."""
    for item in items:
        if getattr(item, attribute) == key:
            return item
    raise UnknownItem(kind, key, where)


def _listed_week(number: int, info: ValidationInfo) -> int:
    weeks = (info.context or {}).get("weeks")
    if weeks is not None and number not in weeks:
        raise ValueError(f"week {number} is not listed in reading.yaml")
    return number


def _known_sources(keys: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
    known = (info.context or {}).get("sources")
    unknown = [key for key in keys if key not in known] if known is not None else []
    found: list[Found] = [((), f"unknown source key {key!r} (define it in reading.yaml)") for key in unknown]
    require(found)
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


def _no_default(schema: dict) -> None:
    """The pairs' default, (), is no time plan to a schema, where ``time`` is a mapping."""
    schema.pop("default", None)


TimePairs = Annotated[
    tuple[tuple[str, int], ...], BeforeValidator(_time_pairs), WithJsonSchema(_TIME_PLAN.json_schema())
]


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class Week(CourseData):
    number: Annotated[Whole, Field(alias="week")]
    slug: Text
    title: Text
    intro: Text
    time: TimePairs = Field(default=(), json_schema_extra=_no_default)  # (part of TIME_PARTS, minutes), in order
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
    kind: Annotated[str, OneOf("single", "multiple")] = "single"
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
        return lookup(self.cases, case_id, "case", f"sorter {self.id}")


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


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class _File(CourseData):
    """One file's model: a list of entries under one key, whose ids (``unique``) must differ.

    Ids are compared as written, so a duplicate is reported beside the entries' other problems.
    """

    unique: ClassVar[tuple[str, str, str]]  # (the list's key, the id's key, what an id is called)

    @model_validator(mode="wrap")
    @classmethod
    def _unique_ids(cls, data: Any, handler):
        key, id_key, what = cls.unique
        entries = data.get(key) if isinstance(data, dict) else None
        written = (
            [e.get(id_key) if isinstance(e, dict) else None for e in entries or ()] if isinstance(entries, list) else []
        )
        ids = [i.lower() if isinstance(i, str) and what == "term" else i for i in written]  # one term, any case
        return reported_with(
            duplicates((((key, n, id_key), i) for n, i in enumerate(ids) if isinstance(i, str | int)), what),
            handler,
            data,
        )


@dataclass(frozen=True, kw_only=True, config=CONFIG)
class ReadingFile(_File):
    """``reading.yaml``: the citation, the source keys the other files cite, and the weeks."""

    unique = ("weeks", "week", "week")
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


def context(raw: dict[str, dict]) -> dict:
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
