"""Load and validate a reading's data files (YAML) into plain dataclasses.

A reading is a folder such as ``readings/kreiss-finn-turner-2011/`` with ``reading.yaml``
(citation, sources, weeks), ``sections.yaml``, ``glossary.yaml``, ``quiz.yaml`` and
``prompts.yaml``. Instructors edit these files, not Python, so every mistake is reported with the
file, the field and the reason, all at once, instead of the first one only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

FILES = ("reading.yaml", "sections.yaml", "glossary.yaml", "quiz.yaml", "prompts.yaml")


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


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

    @property
    def short(self) -> str:
        surnames = [a.split(",")[0] for a in self.authors]
        joined = ", ".join(surnames[:-1]) + " and " + surnames[-1] if len(surnames) > 1 else surnames[0]
        return f"{joined} ({self.year})"


@dataclass(frozen=True)
class Week:
    number: int
    slug: str
    title: str
    intro: str


@dataclass(frozen=True)
class Section:
    id: str
    week: int
    title: str
    summary: str
    sources: tuple[str, ...]


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

    def week(self, number: int) -> Week:
        for week in self.weeks:
            if week.number == number:
                return week
        raise KeyError(f"{self.id} has no week {number}")

    def sections_for(self, week: int) -> list[Section]:
        return [s for s in self.sections if s.week == week]

    def quiz_for(self, week: int) -> list[QuizItem]:
        return [q for q in self.quiz if q.week == week]

    def prompts_for(self, week: int) -> list[Prompt]:
        return [p for p in self.prompts if p.week == week]

    def prompt(self, prompt_id: str) -> Prompt:
        return next(p for p in self.prompts if p.id == prompt_id)


class _Checker:
    """Reads typed fields out of parsed YAML, recording a Problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, file: str, where: str, reason: str) -> None:
        self.problems.append(Problem(file, where, reason))

    def get(self, file: str, data: dict, where: str, key: str, kind: type, required: bool = True, default=None):
        path = f"{where}.{key}" if where else key
        if key not in data or data[key] is None:
            if required:
                self.fail(file, path, "missing (required)")
            return default
        value = data[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            self.fail(file, path, f"expected {kind.__name__}, found {type(value).__name__}")
            return default
        if kind is str and not value.strip():
            self.fail(file, path, "is empty")
            return default
        return value

    def items(self, file: str, data: dict, key: str) -> list[tuple[str, dict]]:
        raw = self.get(file, data, "", key, list, default=[])
        entries = []
        for index, item in enumerate(raw):
            where = f"{key}[{index}]"
            if isinstance(item, dict):
                entries.append((where, item))
            else:
                self.fail(file, where, "expected a mapping of fields")
        return entries

    def sources(self, file: str, data: dict, where: str, known: dict) -> tuple[str, ...]:
        keys = self.get(file, data, where, "sources", list, required=False, default=[])
        for key in keys:
            if key not in known:
                self.fail(file, f"{where}.sources", f"unknown source key {key!r} (define it in reading.yaml)")
        return tuple(str(k) for k in keys)

    def unique(self, file: str, entries: list[tuple[str, object]], what: str) -> None:
        seen: dict[object, str] = {}
        for where, value in entries:
            if value in seen:
                self.fail(file, where, f"duplicate {what} {value!r} (first at {seen[value]})")
            else:
                seen[value] = where

    def week(self, file: str, data: dict, where: str, weeks: set[int]) -> int:
        number = self.get(file, data, where, "week", int, default=0)
        if number and number not in weeks:
            self.fail(file, f"{where}.week", f"week {number} is not listed in reading.yaml")
        return number


def _read_yaml(path: Path, check: _Checker) -> dict:
    if not path.is_file():
        check.fail(path.name, "(file)", f"missing: expected {path}")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        check.fail(path.name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}")
        return {}
    if not isinstance(data, dict):
        check.fail(path.name, "(file)", "expected a mapping at the top level")
        return {}
    return data


def load_reading(path: str | Path) -> Reading:
    """Load the reading in folder ``path``; raise ReadingError listing every problem found."""
    folder = Path(path)
    check = _Checker()
    if not folder.is_dir():
        raise ReadingError([Problem(str(folder), "(folder)", "not a folder of reading files")])
    raw = {name: _read_yaml(folder / name, check) for name in FILES}

    f = "reading.yaml"
    meta = raw[f]
    cite = meta.get("citation") if isinstance(meta.get("citation"), dict) else {}
    if meta and not cite:
        check.fail(f, "citation", "missing (required)")
    authors = check.get(f, cite, "citation", "authors", list, default=[]) if cite else []
    citation = Citation(
        authors=tuple(str(a) for a in authors),
        year=check.get(f, cite, "citation", "year", int, default=0) if cite else 0,
        title=check.get(f, cite, "citation", "title", str, default="") if cite else "",
        journal=check.get(f, cite, "citation", "journal", str, default="") if cite else "",
        volume=check.get(f, cite, "citation", "volume", int, default=0) if cite else 0,
        issue=check.get(f, cite, "citation", "issue", int, default=0) if cite else 0,
        pages=check.get(f, cite, "citation", "pages", str, default="") if cite else "",
    )
    if cite and not authors:
        check.fail(f, "citation.authors", "needs at least one author")
    sources = check.get(f, meta, "", "sources", dict, default={}) if meta else {}
    weeks = []
    for where, item in check.items(f, meta, "weeks") if meta else []:
        weeks.append(
            Week(
                number=check.get(f, item, where, "week", int, default=0),
                slug=check.get(f, item, where, "slug", str, default=""),
                title=check.get(f, item, where, "title", str, default=""),
                intro=check.get(f, item, where, "intro", str, default=""),
            )
        )
    check.unique(f, [(f"weeks[{i}]", w.number) for i, w in enumerate(weeks)], "week")
    week_numbers = {w.number for w in weeks}

    f = "sections.yaml"
    sections = []
    for where, item in check.items(f, raw[f], "sections") if raw[f] else []:
        sections.append(
            Section(
                id=check.get(f, item, where, "id", str, default=""),
                week=check.week(f, item, where, week_numbers),
                title=check.get(f, item, where, "title", str, default=""),
                summary=check.get(f, item, where, "summary", str, default=""),
                sources=check.sources(f, item, where, sources),
            )
        )
    check.unique(f, [(f"sections[{i}].id", s.id) for i, s in enumerate(sections)], "section id")

    f = "glossary.yaml"
    glossary = []
    for where, item in check.items(f, raw[f], "terms") if raw[f] else []:
        glossary.append(
            Term(
                term=check.get(f, item, where, "term", str, default=""),
                definition=check.get(f, item, where, "definition", str, default=""),
                example=check.get(f, item, where, "example", str, default=""),
                sources=check.sources(f, item, where, sources),
            )
        )
    check.unique(f, [(f"terms[{i}].term", t.term.lower()) for i, t in enumerate(glossary)], "term")

    f = "quiz.yaml"
    quiz = []
    for where, item in check.items(f, raw[f], "items") if raw[f] else []:
        kind = check.get(f, item, where, "kind", str, required=False, default="single")
        if kind not in ("single", "multiple"):
            check.fail(f, f"{where}.kind", f"must be 'single' or 'multiple', not {kind!r}")
        options = []
        for index, option in enumerate(check.get(f, item, where, "options", list, default=[])):
            at = f"{where}.options[{index}]"
            if not isinstance(option, dict):
                check.fail(f, at, "expected a mapping with text, correct and explanation")
                continue
            options.append(
                QuizOption(
                    text=check.get(f, option, at, "text", str, default=""),
                    correct=check.get(f, option, at, "correct", bool, required=False, default=False),
                    explanation=check.get(f, option, at, "explanation", str, default=""),
                )
            )
        entry = QuizItem(
            id=check.get(f, item, where, "id", str, default=""),
            week=check.week(f, item, where, week_numbers),
            question=check.get(f, item, where, "question", str, default=""),
            kind=kind,
            options=tuple(options),
            sources=check.sources(f, item, where, sources),
        )
        if len(options) < 2:
            check.fail(f, f"{where}.options", "needs at least two options")
        elif not entry.correct:
            check.fail(f, f"{where}.options", "no option is marked correct: true")
        elif kind == "single" and len(entry.correct) > 1:
            check.fail(f, f"{where}.options", "a single-choice item has more than one correct option")
        quiz.append(entry)
    check.unique(f, [(f"items[{i}].id", q.id) for i, q in enumerate(quiz)], "quiz id")

    f = "prompts.yaml"
    prompts = []
    for where, item in check.items(f, raw[f], "prompts") if raw[f] else []:
        prompt_id = check.get(f, item, where, "id", str, default="")
        if prompt_id and not prompt_id.replace("-", "").replace("_", "").isalnum():
            check.fail(f, f"{where}.id", "use only letters, digits, '-' and '_'")
        min_words = check.get(f, item, where, "min_words", int, default=0)
        if min_words is not None and min_words < 0:
            check.fail(f, f"{where}.min_words", "must be zero or more")
        prompts.append(
            Prompt(
                id=prompt_id,
                week=check.week(f, item, where, week_numbers),
                text=check.get(f, item, where, "text", str, default=""),
                min_words=min_words,
            )
        )
    check.unique(f, [(f"prompts[{i}].id", p.id) for i, p in enumerate(prompts)], "prompt id")

    if check.problems:
        raise ReadingError(check.problems)
    return Reading(
        id=meta.get("id") or folder.name,
        path=folder,
        citation=citation,
        sources={str(k): str(v) for k, v in sources.items()},
        weeks=tuple(sorted(weeks, key=lambda w: w.number)),
        sections=tuple(sections),
        glossary=tuple(glossary),
        quiz=tuple(quiz),
        prompts=tuple(prompts),
    )


def find_reading(name: str, start: str | Path | None = None) -> Reading:
    """Load ``readings/<name>`` from the course folder that holds ``start`` (default: the cwd).

    Notebooks run with their own folder as the working directory, so this walks upwards.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "readings" / name
        if candidate.is_dir():
            return load_reading(candidate)
    raise FileNotFoundError(f"no readings/{name}/ folder in {here} or any folder above it")
