"""Checks of a submitted notebook that run nothing: the file, its prompt cells, nbval markers, reflection lengths."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.course.problems import Problem, UnknownItem
from coursekit.course.reading import Prompt, Reading, ReadingError, Readings
from coursekit.intake.extract import Extracted, Reflection, extract
from coursekit.notebook.build import week_notebook
from coursekit.notebook.cells import PROMPT, cell_marker, cell_text, prompt_checksum

PASS, FAIL, SKIP = "pass", "fail", "skip"
COURSE_NOTEBOOK = "(course notebook)"  # shown in the student column for the course's own notebooks


@dataclass
class NotebookReport:
    """One submitted file: who, which notebook, and every reason it fails (none: it passes)."""

    student: str
    path: Path
    notebook: str = ""
    week: int | None = None
    problems: list[Problem] = field(default_factory=list)
    ran: bool = False
    seconds: float = 0.0
    output: str = ""  # the tail of pytest's output, kept for failures
    course: bool = False  # one of the course's own notebooks (built or released), not a submission
    skipped: Problem | None = None  # why it is not validated here, and what checks it instead

    @property
    def status(self) -> str:
        return FAIL if self.problems else SKIP if self.skipped else PASS

    @property
    def reasons(self) -> list[Problem]:
        """What people read under the status line: why it fails, or why it was skipped."""
        return self.problems or ([self.skipped] if self.skipped else [])


def check_prompts(submitted: Iterable[dict], course: Iterable[dict]) -> list[Problem]:
    """Prompt cells that differ from the freshly built course notebook (edited, missing or added)."""
    expected = {m["prompt_id"]: prompt_checksum(c) for c in course if (m := cell_marker(c)) and m["role"] == PROMPT}
    found = {
        m.get("prompt_id"): prompt_checksum(c) for c in submitted if (m := cell_marker(c)) and m.get("role") == PROMPT
    }
    problems = []
    for prompt_id, checksum in expected.items():
        if prompt_id not in found:
            problems.append(
                Problem(
                    f"the prompt cell for {prompt_id} is missing",
                    "copy the prompt cell back from the course notebook above its reflection and resubmit",
                )
            )
        elif found[prompt_id] != checksum:
            problems.append(
                Problem(
                    f"the prompt cell for {prompt_id} was changed",
                    "prompts are locked: copy the prompt cell back unchanged from the course notebook and resubmit",
                )
            )
    for prompt_id in [p for p in found if p not in expected]:
        problems.append(
            Problem(
                f"prompt cell {prompt_id!r} is not in the course notebook",
                "delete that cell (its id was edited or it comes from another week) and resubmit",
            )
        )
    return problems


def check_reflections(reflections: Iterable[Reflection], prompts: Iterable[Prompt]) -> list[Problem]:
    """Reflections shorter than their prompt's minimum (a blank one has 0 words)."""
    words = {r.prompt_id: r.word_count for r in reflections}
    problems = []
    for prompt in prompts:
        count = words.get(prompt.id, 0)
        if count < prompt.min_words:
            problems.append(
                Problem(
                    f"the reflection for {prompt.id} has {count} words; at least {prompt.min_words} are needed",
                    "write more in the reflection cell below that prompt, save and resubmit",
                )
            )
    return problems


NBVAL_MARKERS = ("NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION", "PYTEST_VALIDATE_IGNORE_OUTPUT")
NBVAL_TAGS = ("nbval-skip", "nbval-raises-exception", "raises-exception")


def check_markers(submitted: Iterable[dict]) -> list[Problem]:
    """Code cells carrying nbval markers that would skip them or excuse their errors.

    Course notebooks have none, so a marker in a submission was added by hand and would hide a
    failing cell from the run below.
    """
    problems = []
    for number, cell in enumerate((c for c in submitted if c.get("cell_type") == "code"), 1):
        source = cell_text(cell)
        tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell.get("metadata"), dict) else []
        found = [m for m in NBVAL_MARKERS if m in source] + [t for t in NBVAL_TAGS if t in tags]
        if found:
            problems.append(
                Problem(
                    f"code cell {number} carries {', '.join(found)}, which would hide it from validation",
                    "remove that marker (comment or tag) so the cell runs like everyone else's, and resubmit",
                )
            )
    return problems


def is_course_notebook(extracted: Extracted) -> bool:
    """A course notebook as ``build`` or ``release`` writes it: coursekit's, sound, no reflection written."""
    return (
        extracted.ok
        and bool(extracted.reading)
        and extracted.week is not None
        and all(r.word_count == 0 for r in extracted.reflections)
    )


# The review notebook's desk cell, as built now and as notebooks built before coursekit.api were.
DESK_CELLS = ("desk = Course.open().desk()", "from coursekit.review.desk import open_desk")


def is_review_notebook(data: bytes) -> bool:
    """The instructor's review notebook (``notebooks/instructor/review.ipynb``): the desk, not a submission."""
    if not any(desk.encode() in data for desk in DESK_CELLS):  # most files: no second parse of hostile JSON
        return False
    try:
        cells = json.loads(data.decode("utf-8-sig")).get("cells")
    except (ValueError, AttributeError, RecursionError):
        return False
    return isinstance(cells, list) and any(
        isinstance(c, dict) and c.get("cell_type") == "code" and any(desk in cell_text(c) for desk in DESK_CELLS)
        for c in cells
    )


def check_built(notebook: Iterable[dict], built: Iterable[dict], rebuild: str) -> list[Problem]:
    """A course notebook's cells that differ from the notebook built fresh from ``readings/`` (it is stale)."""
    have = [(c.get("cell_type"), cell_text(c)) for c in notebook]
    want = [(c.get("cell_type"), cell_text(c)) for c in built]
    if have == want:
        return []
    differs = next((i for i, (a, b) in enumerate(zip(have, want, strict=False)) if a != b), min(len(have), len(want)))
    return [
        Problem(
            f"cell {differs + 1} differs from the notebook built from readings/: the notebook is out of date",
            f"rebuild the course notebooks ({rebuild}) and commit them",
        )
    ]


class Course:
    """The course readings, and the week notebooks built fresh from them, each loaded once."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.readings = Readings(self.folder)
        self._cells: dict[tuple[str, int], list[dict] | Problem] = {}

    def reading(self, reading_id: str) -> Reading | Problem:
        try:
            return self.readings.get(reading_id)
        except FileNotFoundError:
            return Problem(
                f"the notebook names reading {reading_id!r}, which is not in {self.folder}/readings",
                "pass the course folder with --course, or check the student submitted a notebook of this course",
            )
        except ReadingError as exc:
            return Problem(
                f"the course reading {reading_id} cannot be loaded: {exc}", "fix the reading's data files first"
            )

    def cells(self, reading: Reading, week: int) -> list[dict] | Problem:
        key = (reading.id, week)
        if key not in self._cells:
            try:
                self._cells[key] = list(week_notebook(reading, week)["cells"])
            except UnknownItem:
                self._cells[key] = Problem(
                    f"the notebook says it is week {week}, which reading {reading.id} does not have",
                    "ask the student to download this week's course notebook again and copy their reflections in",
                )
        return self._cells[key]


def check_submission(
    data: bytes,
    student: str,
    path: Path,
    course: Course,
    extracted: Extracted | None = None,
    course_notebook: bool = False,
) -> tuple[NotebookReport, Reading | None]:
    """The file's problems found without running it, and the reading to run it with (None: do not run).

    ``extracted`` is ``data`` already extracted (by ``intake.load``), so it is not parsed twice.
    A reflection left in a cell of its own (an extract warning) fails validation too. A
    ``course_notebook`` (the course's own, ``student`` unused) is instead compared with a fresh build.
    """
    extracted = extracted if extracted is not None else extract(data, path.stem, course.readings)
    found = [*extracted.problems, *extracted.warnings]
    who = COURSE_NOTEBOOK if course_notebook else student
    report = NotebookReport(who, path, extracted.notebook, extracted.week, found, course=course_notebook)
    if not extracted.ok:
        return report, None
    if not extracted.reading or extracted.week is None:
        report.problems.append(
            Problem(
                "the notebook's coursekit metadata names no reading or week",
                "ask the student to download the course notebook again, copy their reflections in, and resubmit",
            )
        )
        return report, None
    reading = course.reading(extracted.reading)
    if isinstance(reading, Problem):
        report.problems.append(reading)
        return report, None
    cells = course.cells(reading, extracted.week)
    if isinstance(cells, Problem):
        report.problems.append(cells)
        return report, None
    submitted = json.loads(data.decode("utf-8-sig"))["cells"]  # extract() has checked it parses
    if course_notebook:
        report.problems += check_built(submitted, cells, f"coursekit build {reading.path} --out {path.parent}")
        return report, reading
    report.problems += check_prompts(submitted, cells)
    report.problems += check_markers(submitted)
    report.problems += check_reflections(extracted.reflections, reading.prompts_for(extracted.week))
    return report, reading
