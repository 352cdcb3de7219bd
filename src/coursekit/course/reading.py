"""A reading: its data files (YAML, modelled in ``reading_models``) loaded into one ``Reading``.

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
from pydantic import TypeAdapter, ValidationError

from coursekit.course.fields import problems
from coursekit.course.folders import find_upwards, searched
from coursekit.course.problems import CoursekitError, Problem, UnknownItem
from coursekit.course.reading_models import (  # the entries, as the rest of the code knows them
    ACTIVITY_KINDS,
    FILE_MODELS,
    TIME_PARTS,
    Activity,
    Case,
    Category,
    Citation,
    Prompt,
    QuizItem,
    QuizOption,
    RestsOn,
    Section,
    Sorter,
    Stance,
    Term,
    Week,
    context,
    lookup,
)

__all__ = [
    "ACTIVITY_KINDS",
    "TIME_PARTS",
    "Activity",
    "Case",
    "Category",
    "Citation",
    "Prompt",
    "QuizItem",
    "QuizOption",
    "Reading",
    "ReadingError",
    "Readings",
    "RestsOn",
    "Section",
    "Sorter",
    "Stance",
    "Term",
    "Week",
    "find_reading",
    "in_prompt_order",
    "load_reading",
    "reflection_title",
]

FILES = tuple(FILE_MODELS)
_ADAPTERS: dict[str, TypeAdapter] = {name: TypeAdapter(model) for name, model in FILE_MODELS.items()}


class ReadingError(CoursekitError, ValueError):
    """Raised with every problem found in a reading's files."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("invalid reading data:\n" + "\n".join(f"  {p}" for p in problems))


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
        return lookup(self.weeks, number, "week", f"reading {self.id}", "number")

    def sections_for(self, week: int) -> list[Section]:
        return [s for s in self.sections if s.week == week]

    def quiz_for(self, week: int) -> list[QuizItem]:
        return [q for q in self.quiz if q.week == week]

    def prompts_for(self, week: int) -> list[Prompt]:
        return [p for p in self.prompts if p.week == week]

    def prompt(self, prompt_id: str) -> Prompt:
        return lookup(self.prompts, prompt_id, "prompt", f"reading {self.id}")

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
        return lookup(self.quiz, item_id, "quiz item", f"reading {self.id}")

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
        return lookup(self.sorters, sorter_id, "sorter", f"reading {self.id}")

    def stance(self, stance_id: str) -> Stance:
        return lookup(self.stances, stance_id, "stance", f"reading {self.id}")


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


def load_reading(path: str | Path) -> Reading:
    """Load the reading in folder ``path``; raise ReadingError listing every problem found."""
    folder = Path(path)
    if not folder.is_dir():
        raise ReadingError([Problem("not a folder of reading files", file=str(folder), field="(folder)")])
    found: list[Problem] = []
    raw = {name: _read_yaml(folder / name, found) for name in FILES}
    known = context(raw)
    files = {}
    for name, data in raw.items():
        if not data:  # its problem is reported already
            continue
        try:
            files[name] = _ADAPTERS[name].validate_python(data, context=known)
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
