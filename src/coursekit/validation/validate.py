"""``coursekit validate``: check every submission, then run the sound ones with nbval, several at a time."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from coursekit.course.problems import Problem
from coursekit.course.reading import Reading
from coursekit.intake.load import internal_error, load_submission
from coursekit.intake.sources import gather
from coursekit.intake.submission import Intake, LayoutProblem, SubmissionFile, modified_at
from coursekit.validation.checks import Course, NotebookReport, check_submission, is_course_notebook, is_review_notebook
from coursekit.validation.runner import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    PackedFolder,
    RunResult,
    run_notebook,
    run_problems,
)


@dataclass(frozen=True)
class NotebookRun:
    """Everything one notebook's run needs, as plain data: it is pickled to a Dask worker as it is."""

    data: bytes
    readings: Path
    timeout: float
    sandbox: bool
    memory: int
    allowed: tuple[Path, ...]
    compare: bool  # a course notebook: its saved outputs are compared


class WorkerDied(Exception):
    """The notebook's run was lost with the process running it, as many times as we allow (a cluster run)."""

    def __init__(self, deaths: int, workers: tuple[str, ...]) -> None:
        super().__init__(deaths, workers)
        self.deaths, self.workers = deaths, workers

    def __str__(self) -> str:
        times = {1: "once", 2: "twice"}.get(self.deaths, f"{self.deaths} times")
        return f"the worker running it died {times} ({', '.join(self.workers) or 'worker unknown'})"


# What a run became: its result, or the exception that kept it from giving one.
Outcome = RunResult | Exception
# Runs notebooks and yields (index in the list, outcome) as each finishes, in any order.
Execute = Callable[[list[NotebookRun]], Generator[tuple[int, Outcome], None, None]]


def run_one(run: NotebookRun, readings: PackedFolder | None = None, stop: threading.Event | None = None) -> RunResult:
    """The one step every notebook goes through, here or on a Dask worker (given the readings packed)."""
    return run_notebook(
        run.data,
        run.readings if readings is None else readings,
        run.timeout,
        run.sandbox,
        stop,
        run.memory,
        run.allowed,
        run.compare,
    )


def run_locally(runs: list[NotebookRun], jobs: int = 1) -> Generator[tuple[int, Outcome], None, None]:
    """Run the notebooks ``jobs`` at a time on this machine; closing the generator stops the running ones."""
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_one, run, None, stop): index for index, run in enumerate(runs)}
        try:
            for future in as_completed(futures):
                error = future.exception()
                yield futures[future], error if isinstance(error, Exception) else future.result()
        except BaseException:  # Ctrl-C or the caller stopped: stop the running notebooks and start no more
            stop.set()
            pool.shutdown(cancel_futures=True)
            raise


def validate(
    submissions: str | Path,
    course: str | Path = ".",
    week: int | None = None,
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    sandbox: bool = False,
    progress: Callable[[NotebookReport, int, int], None] | None = None,
    memory: int = DEFAULT_MEMORY,
    finished: Callable[[list[NotebookReport]], None] | None = None,
    intake: Intake | None = None,
    allowed: tuple[Path, ...] = (),
    execute: Execute | None = None,
) -> list[NotebookReport]:
    """Check and run every notebook under ``submissions``; one report per file, sorted by student and file.

    Files whose week cannot be read are kept under ``week``, so a broken upload is never skipped silently.
    ``finished`` is called with every finished report so far, after the checks and after each run, so
    reports written from it survive a notebook that kills this process. ``submissions`` is any intake
    source (its layout detected), or pass ``intake`` already gathered with a roster. Raises IntakeError
    when the source itself is unusable. ``allowed`` are paths the sandbox shows read-only. ``execute``
    runs the notebooks elsewhere (``cluster.run_on_cluster``); by default ``jobs`` threads run them here.

    The course's own notebooks (loose at the top of a folder, as in ``notebooks/`` or a release, no
    reflection written) are validated as such: compared with a fresh build, then run comparing their
    outputs. The instructor's review notebook is not run: it is reported skipped, with what checks it.
    """
    intake = intake or gather(Path(submissions))
    root = intake.root
    reports = [
        NotebookReport(u.file.source_id, u.file.shown, problems=[Problem(u.detail, u.hint)]) for u in intake.unmatched
    ]
    files: list[tuple[SubmissionFile, LayoutProblem | None]] = [(file, None) for file in intake.files]
    folders = []  # a release's readings/ and feed/: reported as empty student folders unless it is a release
    for problem in intake.problems:
        notebook = _loose_notebook(problem, root)
        if notebook:  # a course notebook, or else reported with this problem below
            files.append((notebook, problem))
        elif problem.path.parent == root and problem.path.name in COURSE_FOLDERS and problem.path.is_dir():
            folders.append(problem)
        else:
            reports.append(_layout_report(problem, root))
    loaded = Course(course)
    runs: list[tuple[NotebookReport, bytes, Reading]] = []
    course_folder = False  # a course notebook lies loose at the top: this is notebooks/ or a release
    for file, loose in files:
        taken = load_submission(file, keep_data=True, readings=loaded.readings)
        if loose and not (taken.data is not None and is_course_notebook(taken.extracted)):
            reports.append(_layout_report(loose, root))
            continue
        course_folder = course_folder or bool(loose)
        if taken.data is not None and not taken.ok and is_review_notebook(taken.data):
            if week is None:  # it belongs to no week
                reports.append(NotebookReport(file.student, file.shown, skipped=_review_skipped(file.shown)))
            continue
        if taken.problem or taken.data is None:
            reports.append(NotebookReport(file.student, file.shown, problems=list(taken.extracted.problems)))
            continue
        data = taken.data
        try:
            report, reading = check_submission(
                data, file.student, file.shown, loaded, taken.extracted, course_notebook=bool(loose)
            )
        except Exception as exc:  # noqa: BLE001 - one file's surprise never stops the others
            report, reading = NotebookReport(file.student, file.shown, problems=[internal_error(exc)]), None
        if week is not None and report.week not in (week, None):
            continue
        reports.append(report)
        if reading is not None:
            runs.append((report, data, reading))
    if not course_folder:
        reports += [_layout_report(problem, root) for problem in folders]

    pending = {id(report) for report, _, _ in runs}

    def report_finished() -> None:
        if finished:
            finished(_sorted([r for r in reports if id(r) not in pending]))

    report_finished()
    notebooks = [
        NotebookRun(data, r.path.parent, timeout, sandbox, memory, allowed, rep.course) for rep, data, r in runs
    ]
    outcomes = execute(notebooks) if execute else run_locally(notebooks, jobs)
    with contextlib.closing(outcomes):  # Ctrl-C here too stops the running notebooks and starts no more
        for done, (index, outcome) in enumerate(outcomes, 1):
            report = runs[index][0]
            _finish(report, outcome)
            pending.discard(id(report))
            report_finished()
            if progress:
                progress(report, done, len(notebooks))
    return _sorted(reports)


COURSE_FOLDERS = ("readings", "feed")  # what ``release`` puts beside the week's notebook


def _loose_notebook(problem: LayoutProblem, root: Path) -> SubmissionFile | None:
    """The notebook a layout problem is about when it lies loose at the top of a folder source, else None."""
    path = problem.path
    if problem.entry or not root.is_dir() or path.parent != root or not path.name.endswith(".ipynb"):
        return None
    if path.is_symlink() or not path.is_file():  # a link is never followed (it was reported as one)
        return None
    return SubmissionFile("", path, modified_at(0), source_id=path.stem)


def _layout_report(problem: LayoutProblem, root: Path) -> NotebookReport:
    return NotebookReport(_student(problem.path, root), problem.shown, problems=[Problem(problem.reason, problem.hint)])


def _review_skipped(path: Path) -> Problem:
    return Problem(
        "the instructor's review notebook: not a submission, and validate does not run it",
        f"check it in a fresh kernel with: python -m pytest --nbval {path}",
    )


def _student(path: Path, root: Path) -> str:
    """The student folder a reported place is in ("" for a loose file at the top)."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return ""
    return parts[0] if len(parts) > 1 or path.is_dir() else ""


def _sorted(reports: list[NotebookReport]) -> list[NotebookReport]:
    return sorted(reports, key=lambda r: (r.student, str(r.path)))


def _finish(report: NotebookReport, result: Outcome) -> None:
    """Add a finished run to its report; a run that could not even start fails only that notebook."""
    report.ran = True
    if isinstance(result, WorkerDied):
        report.problems.append(
            Problem(
                f"could not run the notebook: {result}",
                "a cell may use more memory than the worker machine has; run it alone with coursekit validate",
            )
        )
        return
    if isinstance(result, Exception):
        exc = result
        report.problems.append(
            Problem(
                f"could not run the notebook: {exc.__class__.__name__}: {exc}",
                "check there is space in the temporary folder and rerun",
            )
        )
        return
    report.seconds = result.seconds
    report.output = result.output
    report.problems += run_problems(result)
