"""Load and validate a reading's data files (YAML) into plain dataclasses.

A reading is a folder such as ``readings/kreiss-finn-turner-2011/`` with ``reading.yaml``
(citation, sources, weeks), ``sections.yaml``, ``glossary.yaml``, ``quiz.yaml``, ``prompts.yaml``,
``cases.yaml`` (case sorters) and ``stance.yaml``. Instructors edit these files, not Python, so
every mistake is reported with the file, the field and the reason, all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from coursekit.course.fields import FieldChecker
from coursekit.course.folders import find_upwards, searched
from coursekit.course.problems import Problem, UnknownItem

FILES = (
    "reading.yaml",
    "sections.yaml",
    "glossary.yaml",
    "quiz.yaml",
    "prompts.yaml",
    "cases.yaml",
    "stance.yaml",
)
ACTIVITY_KINDS = ("cards", "stance", "sorter")
# A week's time plan, in minutes, in the order the notebook shows it.
TIME_PARTS = ("sections", "self-check", "reflections", "replies")


class ReadingError(ValueError):
    """Raised with every problem found in a reading's files."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("invalid reading data:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Citation:
    authors: tuple[str, ...]
    year: int
    title: str
    journal: str
    volume: int
    issue: int
    pages: str

    @property
    def apa(self) -> str:
        names = list(self.authors)
        people = names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", & " + names[-1]
        return f"{people} ({self.year}). {self.title}. *{self.journal}, {self.volume}*({self.issue}), {self.pages}."


@dataclass(frozen=True)
class Week:
    number: int
    slug: str
    title: str
    intro: str
    time: tuple[tuple[str, int], ...] = ()  # (part of TIME_PARTS, minutes), in TIME_PARTS order
    replies: int = 0  # replies to classmates expected in the week's peer feed

    @property
    def minutes(self) -> int:
        return sum(m for _, m in self.time)


@dataclass(frozen=True)
class Activity:
    """The widget that follows a section: concept cards, the stance slider or a case sorter."""

    kind: str  # one of ACTIVITY_KINDS
    refs: tuple[str, ...]  # glossary terms, or one stance/sorter id


@dataclass(frozen=True)
class Section:
    id: str
    week: int
    title: str
    summary: str
    sources: tuple[str, ...]
    activity: Activity | None = None


@dataclass(frozen=True)
class Term:
    term: str
    definition: str
    example: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class QuizOption:
    text: str
    correct: bool
    explanation: str


@dataclass(frozen=True)
class QuizItem:
    id: str
    week: int
    question: str
    kind: str  # "single" or "multiple"
    options: tuple[QuizOption, ...]
    sources: tuple[str, ...]

    @property
    def correct(self) -> frozenset[int]:
        return frozenset(i for i, option in enumerate(self.options) if option.correct)


@dataclass(frozen=True)
class Prompt:
    id: str
    week: int
    text: str
    min_words: int


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    explanation: str


@dataclass(frozen=True)
class RestsOn:
    """The sentence of a section that a sorter card's key rests on (it appears there verbatim)."""

    section: str
    text: str


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    answer: str
    explanation: str
    sources: tuple[str, ...]
    rests_on: RestsOn | None = None


@dataclass(frozen=True)
class Sorter:
    id: str
    week: int
    title: str
    instructions: str
    categories: tuple[Category, ...]
    cases: tuple[Case, ...]

    def case(self, case_id: str) -> Case:
        return _lookup(self.cases, case_id, "case", f"sorter {self.id}")


@dataclass(frozen=True)
class Stance:
    id: str
    weeks: tuple[int, ...]
    question: str
    left: str
    right: str
    steps: int

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
    ranks = frame[column].map(rank).fillna(len(rank))  # a dict, not a function: looked up column-wise
    ordered = frame.assign(_rank=ranks).sort_values([*first, "_rank", column], kind="stable")
    return ordered.drop(columns="_rank")


def _lookup(items, key: object, kind: str, where: str, attribute: str = "id"):
    """The item whose ``attribute`` is ``key``, or UnknownItem: one way to look things up by id."""
    for item in items:
        if getattr(item, attribute) == key:
            return item
    raise UnknownItem(kind, key, where)


@dataclass(frozen=True)
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


class _Checker(FieldChecker):
    """Field checks for a reading's files: its source keys and its weeks."""

    def __init__(self, problems: list[Problem], file: str, known_sources: dict | None = None):
        super().__init__(problems, file)
        self.known_sources = known_sources or {}

    def sources(self, data: dict, where: str) -> tuple[str, ...]:
        keys = self.get(data, where, "sources", list, required=False, default=[])
        for key in keys:
            if key not in self.known_sources:
                self.fail(f"{where}.sources", f"unknown source key {key!r} (define it in reading.yaml)")
        return tuple(str(k) for k in keys)

    def week(self, data: dict, where: str, weeks: set[int], key: str = "week") -> int:
        number = self.get(data, where, key, int, default=0)
        if number and number not in weeks:
            self.fail(f"{where}.{key}", f"week {number} is not listed in reading.yaml")
        return number


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


def _citation(check: _Checker, meta: dict) -> Citation:
    cite = check.get(meta, "", "citation", dict, default={})
    if not cite:
        return Citation((), 0, "", "", 0, 0, "")
    authors = check.get(cite, "citation", "authors", list, default=[])
    if "authors" in cite and not authors:
        check.fail("citation.authors", "needs at least one author")
    return Citation(
        authors=tuple(str(a) for a in authors),
        year=check.get(cite, "citation", "year", int, default=0),
        title=check.text(cite, "citation", "title"),
        journal=check.text(cite, "citation", "journal"),
        volume=check.get(cite, "citation", "volume", int, default=0),
        issue=check.get(cite, "citation", "issue", int, default=0),
        pages=check.text(cite, "citation", "pages"),
    )


def _time(check: _Checker, item: dict, where: str) -> tuple[tuple[str, int], ...]:
    """A week's ``time`` plan: minutes per part of TIME_PARTS, each a positive whole number."""
    raw = check.get(item, where, "time", dict, required=False, default={})
    for part in raw:
        if part not in TIME_PARTS:
            check.fail(f"{where}.time", f"unknown part {part!r} (use {', '.join(TIME_PARTS)})")
    plan = []
    for part in TIME_PARTS:
        minutes = check.get(raw, f"{where}.time", part, int, required=False)
        if minutes is not None and minutes <= 0:
            check.fail(f"{where}.time.{part}", "must be a positive number of minutes")
        elif minutes is not None:
            plan.append((part, minutes))
    return tuple(plan)


def _weeks(check: _Checker, meta: dict) -> list[Week]:
    weeks = []
    for where, item in check.items(meta, "weeks"):
        week = Week(
            number=check.get(item, where, "week", int, default=0),
            slug=check.text(item, where, "slug"),
            title=check.text(item, where, "title"),
            intro=check.text(item, where, "intro"),
            time=_time(check, item, where),
            replies=check.get(item, where, "replies", int, required=False, default=0),
        )
        if week.replies < 0:
            check.fail(f"{where}.replies", "must be zero or more")
        if week.replies > 0 and "replies" not in dict(week.time):
            check.fail(f"{where}.time", "give the minutes for the replies (time: {replies: N})")
        if week.replies <= 0 and "replies" in dict(week.time):
            check.fail(f"{where}.replies", "the time plan has minutes for replies: say how many are expected")
        weeks.append(week)
    check.unique([(f"weeks[{i}].week", w.number) for i, w in enumerate(weeks)], "week")
    first = min((w.number for w in weeks), default=0)
    for index, week in enumerate(weeks):
        if week.number == first and week.replies > 0:
            check.fail(f"weeks[{index}].replies", "the first week has no peer feed to reply in")
    return weeks


def _activity(check: _Checker, item: dict, where: str) -> Activity | None:
    raw = check.get(item, where, "activity", dict, required=False)
    if raw is None:
        return None
    kinds = [k for k in raw if k in ACTIVITY_KINDS]
    if len(raw) != 1 or len(kinds) != 1:
        check.fail(f"{where}.activity", f"give exactly one of {', '.join(ACTIVITY_KINDS)}")
        return None
    kind = kinds[0]
    value = raw[kind]
    refs = value if kind == "cards" else [value]
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and r for r in refs):
        what = "a list of glossary terms" if kind == "cards" else f"a {kind} id"
        check.fail(f"{where}.activity.{kind}", f"expected {what}")
        return None
    return Activity(kind, tuple(refs))


def _sections(check: _Checker, data: dict, weeks: set[int]) -> list[Section]:
    sections = [
        Section(
            id=check.text(item, where, "id"),
            week=check.week(item, where, weeks),
            title=check.text(item, where, "title"),
            summary=check.text(item, where, "summary"),
            sources=check.sources(item, where),
            activity=_activity(check, item, where),
        )
        for where, item in check.items(data, "sections")
    ]
    check.unique([(f"sections[{i}].id", s.id) for i, s in enumerate(sections)], "section id")
    return sections


def _glossary(check: _Checker, data: dict) -> list[Term]:
    terms = [
        Term(
            term=check.text(item, where, "term"),
            definition=check.text(item, where, "definition"),
            example=check.text(item, where, "example"),
            sources=check.sources(item, where),
        )
        for where, item in check.items(data, "terms")
    ]
    check.unique([(f"terms[{i}].term", t.term.lower()) for i, t in enumerate(terms)], "term")
    return terms


def _quiz(check: _Checker, data: dict, weeks: set[int]) -> list[QuizItem]:
    quiz = []
    for where, item in check.items(data, "items"):
        kind = check.text(item, where, "kind", required=False) or "single"
        if kind not in ("single", "multiple"):
            check.fail(f"{where}.kind", f"must be 'single' or 'multiple', not {kind!r}")
        options = tuple(
            QuizOption(
                text=check.text(option, at, "text"),
                correct=check.get(option, at, "correct", bool, required=False, default=False),
                explanation=check.text(option, at, "explanation"),
            )
            for at, option in check.items(item, "options", where)
        )
        entry = QuizItem(
            id=check.text(item, where, "id"),
            week=check.week(item, where, weeks),
            question=check.text(item, where, "question"),
            kind=kind,
            options=options,
            sources=check.sources(item, where),
        )
        if len(options) < 2:
            check.fail(f"{where}.options", "needs at least two options")
        elif not entry.correct:
            check.fail(f"{where}.options", "no option is marked correct: true")
        elif kind == "single" and len(entry.correct) > 1:
            check.fail(f"{where}.options", "a single-choice item has more than one correct option")
        quiz.append(entry)
    check.unique([(f"items[{i}].id", q.id) for i, q in enumerate(quiz)], "quiz id")
    return quiz


def _prompts(check: _Checker, data: dict, weeks: set[int]) -> list[Prompt]:
    prompts = []
    for where, item in check.items(data, "prompts"):
        prompt_id = check.text(item, where, "id")
        if prompt_id and not prompt_id.replace("-", "").replace("_", "").isalnum():
            check.fail(f"{where}.id", "use only letters, digits, '-' and '_'")
        min_words = check.get(item, where, "min_words", int, default=0)
        if min_words < 0:
            check.fail(f"{where}.min_words", "must be zero or more")
        prompts.append(Prompt(prompt_id, check.week(item, where, weeks), check.text(item, where, "text"), min_words))
    check.unique([(f"prompts[{i}].id", p.id) for i, p in enumerate(prompts)], "prompt id")
    return prompts


def _rests_on(check: _Checker, case: dict, where: str, sections: dict[str, str]) -> RestsOn | None:
    """A card's ``rests_on: {section, text}``: a known section whose summary holds ``text`` verbatim."""
    raw = check.get(case, where, "rests_on", dict, required=False)
    if raw is None:
        return None
    at = f"{where}.rests_on"
    section, text = check.text(raw, at, "section"), check.text(raw, at, "text")
    if not sections or not section:  # nothing to look in: the missing file or id is reported already
        return RestsOn(section, text)
    if section not in sections:
        check.fail(f"{at}.section", f"{section!r} is not a section id in sections.yaml")
    elif text and text not in sections[section]:
        check.fail(f"{at}.text", f"not found word for word in section {section!r}: {text!r}")
    return RestsOn(section, text)


def _sorters(check: _Checker, data: dict, weeks: set[int], sections: dict[str, str]) -> list[Sorter]:
    sorters = []
    for where, item in check.items(data, "sorters"):
        categories = tuple(
            Category(check.text(c, at, "id"), check.text(c, at, "label"), check.text(c, at, "explanation"))
            for at, c in check.items(item, "categories", where)
        )
        if len(categories) < 2:
            check.fail(f"{where}.categories", "needs at least two categories")
        check.unique([(f"{where}.categories[{i}].id", c.id) for i, c in enumerate(categories)], "category id")
        category_ids = {c.id for c in categories}
        cases = []
        for at, case in check.items(item, "cases", where):
            answer = check.text(case, at, "answer")
            if answer and answer not in category_ids:
                check.fail(f"{at}.answer", f"{answer!r} is not one of the categories {sorted(category_ids)}")
            cases.append(
                Case(
                    id=check.text(case, at, "id"),
                    text=check.text(case, at, "text"),
                    answer=answer,
                    explanation=check.text(case, at, "explanation"),
                    sources=check.sources(case, at),
                    rests_on=_rests_on(check, case, at, sections),
                )
            )
        if not cases:
            check.fail(f"{where}.cases", "needs at least one case")
        check.unique([(f"{where}.cases[{i}].id", c.id) for i, c in enumerate(cases)], "case id")
        sorters.append(
            Sorter(
                id=check.text(item, where, "id"),
                week=check.week(item, where, weeks),
                title=check.text(item, where, "title"),
                instructions=check.text(item, where, "instructions"),
                categories=categories,
                cases=tuple(cases),
            )
        )
    check.unique([(f"sorters[{i}].id", s.id) for i, s in enumerate(sorters)], "sorter id")
    return sorters


def _stances(check: _Checker, data: dict, weeks: set[int]) -> list[Stance]:
    stances = []
    for where, item in check.items(data, "stances"):
        asked = check.get(item, where, "weeks", list, default=[])
        for week in asked:
            if week not in weeks:
                check.fail(f"{where}.weeks", f"week {week!r} is not listed in reading.yaml")
        steps = check.get(item, where, "steps", int, required=False, default=7)
        if not 3 <= steps <= 11:
            check.fail(f"{where}.steps", "must be between 3 and 11")
        stances.append(
            Stance(
                id=check.text(item, where, "id"),
                weeks=tuple(w for w in asked if isinstance(w, int)),
                question=check.text(item, where, "question"),
                left=check.text(item, where, "left"),
                right=check.text(item, where, "right"),
                steps=steps,
            )
        )
    check.unique([(f"stances[{i}].id", s.id) for i, s in enumerate(stances)], "stance id")
    return stances


def _check_activities(check: _Checker, sections: list[Section], terms, sorters, stances) -> None:
    known = {
        "cards": {t.term.lower() for t in terms},
        "sorter": {s.id for s in sorters},
        "stance": {s.id for s in stances},
    }
    where_defined = {"cards": "glossary.yaml", "sorter": "cases.yaml", "stance": "stance.yaml"}
    for index, section in enumerate(sections):
        if section.activity is None:
            continue
        for ref in section.activity.refs:
            if (ref.lower() if section.activity.kind == "cards" else ref) not in known[section.activity.kind]:
                check.fail(
                    f"sections[{index}].activity.{section.activity.kind}",
                    f"{ref!r} is not defined in {where_defined[section.activity.kind]}",
                )


def load_reading(path: str | Path) -> Reading:
    """Load the reading in folder ``path``; raise ReadingError listing every problem found."""
    folder = Path(path)
    if not folder.is_dir():
        raise ReadingError([Problem("not a folder of reading files", file=str(folder), field="(folder)")])
    problems: list[Problem] = []
    raw = {name: _read_yaml(folder / name, problems) for name in FILES}

    def checker(name: str) -> _Checker:
        return _Checker(problems, name, known_sources)

    meta = raw["reading.yaml"]
    known_sources: dict = {}
    check = checker("reading.yaml")
    citation = _citation(check, meta) if meta else Citation((), 0, "", "", 0, 0, "")
    known_sources = check.get(meta, "", "sources", dict, default={}) if meta else {}
    weeks = _weeks(check, meta) if meta else []
    numbers = {w.number for w in weeks}

    sections = _sections(checker("sections.yaml"), raw["sections.yaml"], numbers) if raw["sections.yaml"] else []
    glossary = _glossary(checker("glossary.yaml"), raw["glossary.yaml"]) if raw["glossary.yaml"] else []
    quiz = _quiz(checker("quiz.yaml"), raw["quiz.yaml"], numbers) if raw["quiz.yaml"] else []
    prompts = _prompts(checker("prompts.yaml"), raw["prompts.yaml"], numbers) if raw["prompts.yaml"] else []
    summaries = {s.id: s.summary for s in sections}
    sorters = _sorters(checker("cases.yaml"), raw["cases.yaml"], numbers, summaries) if raw["cases.yaml"] else []
    stances = _stances(checker("stance.yaml"), raw["stance.yaml"], numbers) if raw["stance.yaml"] else []
    _check_activities(checker("sections.yaml"), sections, glossary, sorters, stances)

    if problems:
        raise ReadingError(problems)
    return Reading(
        id=str(meta.get("id") or folder.name),
        path=folder,
        citation=citation,
        sources={str(k): str(v) for k, v in known_sources.items()},
        weeks=tuple(sorted(weeks, key=lambda w: w.number)),
        sections=tuple(sections),
        glossary=tuple(glossary),
        quiz=tuple(quiz),
        prompts=tuple(prompts),
        sorters=tuple(sorters),
        stances=tuple(stances),
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
