"""Validate student submissions for TAs: coursekit's own checks, then a run of each notebook by nbval.

Submissions are untrusted code. Each notebook runs in its own temporary copy (never in the
submissions folder), in its own session with a deadline after which its whole process tree is
killed, and only the last ``OUTPUT_TAIL`` bytes of its output are kept. ``sandbox=True`` adds
bubblewrap: a read-only file system apart from that copy, and no network.

Loaded into the pytest run with ``-p coursekit.validation.runner``, this module is also a small pytest
plugin: it cuts huge failure messages and makes nbval notice a dead kernel at once.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import pytest

from coursekit.course.reading import Prompt, Reading, ReadingError, find_reading
from coursekit.intake.extract import Problem, Reflection, extract
from coursekit.intake.folder import find_submissions
from coursekit.log.collect import read_submission
from coursekit.log.export import neutralise_cell
from coursekit.notebook.build import week_notebook
from coursekit.notebook.cells import PROMPT, cell_marker, cell_text, prompt_checksum

DEFAULT_TIMEOUT = 120.0
OUTPUT_TAIL = 20_000  # bytes of pytest's output kept per notebook
MESSAGE_LIMIT = 4_000  # characters of one failing cell's message kept by the plugin
JUNIT_LIMIT = 5_000_000  # bytes; a bigger pytest report was not written by our capped pytest
NOTEBOOK_FILE = "submission.ipynb"  # never the student's file name: it may hold anything
PASS, FAIL = "pass", "fail"

_ANSI = re.compile(r"(?:\x1b|#x1B)\[[0-9;]*[A-Za-z]")  # pytest's JUnit XML writes ESC as "#x1B"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_STARTING = "coursekit-validate: starting "  # the plugin's line before each cell, read back after a timeout
_KERNEL_DEAD = "Kernel dead on test start"  # nbval's message for a cell run after the kernel died
_RERUN = "open it in JupyterLab, run Kernel ▸ Restart Kernel and Run All Cells, fix that cell, save and resubmit"


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

    @property
    def status(self) -> str:
        return FAIL if self.problems else PASS


@dataclass(frozen=True)
class CellResult:
    """One code cell as nbval reported it in pytest's JUnit XML."""

    name: str  # nbval's test name, "Cell 3" (counting code cells from 0)
    outcome: str  # passed, failed, error, skipped
    message: str = ""


@dataclass(frozen=True)
class RunResult:
    """What one pytest run of a notebook left behind."""

    returncode: int | None  # None: stopped at the deadline
    cells: tuple[CellResult, ...] | None  # None: no readable JUnit XML
    output: str
    seconds: float
    timeout: float
    last_started: str = ""  # the test name of the last cell that started, e.g. "Cell 3"


# Checks without running anything


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


class Course:
    """The course readings, and the week notebooks built fresh from them, each loaded once."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._readings: dict[str, Reading | Problem] = {}
        self._cells: dict[tuple[str, int], list[dict] | Problem] = {}

    def reading(self, reading_id: str) -> Reading | Problem:
        if reading_id not in self._readings:
            try:
                self._readings[reading_id] = find_reading(reading_id, self.folder)
            except FileNotFoundError:
                self._readings[reading_id] = Problem(
                    f"the notebook names reading {reading_id!r}, which is not in {self.folder}/readings",
                    "pass the course folder with --course, or check the student submitted a notebook of this course",
                )
            except ReadingError as exc:
                self._readings[reading_id] = Problem(
                    f"the course reading {reading_id} cannot be loaded: {exc}", "fix the reading's data files first"
                )
        return self._readings[reading_id]

    def cells(self, reading: Reading, week: int) -> list[dict] | Problem:
        key = (reading.id, week)
        if key not in self._cells:
            try:
                self._cells[key] = list(week_notebook(reading, week)["cells"])
            except KeyError:
                self._cells[key] = Problem(
                    f"the notebook says it is week {week}, which reading {reading.id} does not have",
                    "ask the student to download this week's course notebook again and copy their reflections in",
                )
        return self._cells[key]


def check_submission(data: bytes, student: str, path: Path, course: Course) -> tuple[NotebookReport, Reading | None]:
    """The file's problems found without running it, and the reading to run it with (None: do not run)."""
    extracted = extract(data, path.stem)
    report = NotebookReport(student, path, extracted.notebook, extracted.week, list(extracted.problems))
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
    report.problems += check_prompts(submitted, cells)
    report.problems += check_markers(submitted)
    report.problems += check_reflections(extracted.reflections, reading.prompts_for(extracted.week))
    return report, reading


# Reading what pytest and nbval left behind


def clip(line: str, limit: int) -> str:
    """One line kept to ``limit`` characters, saying how much was cut."""
    return line if len(line) <= limit else f"{line[:limit]} [... {len(line) - limit} characters cut]"


def shorten(text: str, limit: int, line_limit: int = 300) -> str:
    """``text`` with long lines clipped, then cut in the middle to about ``limit`` characters."""
    text = "\n".join(clip(line, line_limit) for line in text.splitlines())
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"


def read_tail(file, limit: int = OUTPUT_TAIL) -> str:
    """The last ``limit`` bytes of an open binary file, as text; the rest is never read into memory."""
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - limit))
    tail = file.read().decode("utf-8", errors="replace")
    return (f"[... first {size - limit} bytes of output cut ...]\n" if size > limit else "") + tail


def read_junit(path: Path) -> tuple[CellResult, ...] | None:
    """The cells in pytest's JUnit XML, or None when it is missing, too big, a symlink or broken."""
    try:
        with open(path, "rb", opener=lambda p, flags: os.open(p, flags | getattr(os, "O_NOFOLLOW", 0))) as file:
            if os.fstat(file.fileno()).st_size > JUNIT_LIMIT:
                return None
            root = ET.parse(file).getroot()
    except (OSError, ET.ParseError):
        return None
    cells = []
    for case in root.iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = child.text or child.get("message", "")
                break
        cells.append(CellResult(case.get("name", ""), outcome, message))
    return tuple(cells)


def code_cell(test_name: str) -> str:
    """nbval's "Cell 3" (code cells counted from 0) as a student finds it: "code cell 4"."""
    number = re.fullmatch(r"Cell (\d+)", test_name)
    return f"code cell {int(number.group(1)) + 1}" if number else test_name or "a cell"


def split_output(output: str) -> tuple[str, str]:
    """pytest's output without the plugin's lines, and the name of the last cell they say started."""
    started = re.findall(f"^{re.escape(_STARTING)}.*::(.+)$", output, re.MULTILINE)
    kept = "\n".join(line for line in output.splitlines() if not line.startswith(_STARTING))
    return kept, started[-1] if started else ""


def describe_failure(cell: CellResult) -> str:
    """One line for a failing cell from nbval's message: which code cell, its first line, and the error."""
    text = _ANSI.sub("", cell.message)
    where = code_cell(cell.name)
    source = re.search(r"\nInput:\n(.*)", text)
    if source and source.group(1).strip():
        where += f" ({clip(source.group(1).strip(), 60)})"
    said = re.search(r"^Cell \d+: (.+)$", text, re.MULTILINE)
    lines = [line.strip() for line in text.split("Traceback:")[-1].splitlines() if line.strip()]
    if said:
        what = said.group(1).strip()
        if "Traceback:" in text and lines:
            what += f": {lines[-1]}"
    else:
        first = lines[0].removeprefix("pytest plugin exception: ") if lines else "failed"
        what = lines[-1] if first.startswith("Traceback") else first
    return clip(f"{where}: {what}", 300)


def run_problems(result: RunResult) -> list[Problem]:
    """Why a notebook run failed, from pytest's exit code and report; none when it passed."""
    if result.returncode is None:
        where = f" in {code_cell(result.last_started)}" if result.last_started else ""
        return [
            Problem(
                f"timed out after {result.timeout:g} s{where}",
                "look for an endless loop or a cell waiting for input; " + _RERUN,
            )
        ]
    failing = [c for c in result.cells or () if c.outcome in ("failed", "error")]
    # After a kernel dies nbval fails every later cell the same way; one line says so.
    dead = [c for c in failing if _KERNEL_DEAD in c.message]
    problems = [Problem(describe_failure(c), _RERUN) for c in failing if c not in dead]
    if dead:
        problems.append(
            Problem(
                f"{len(dead)} later code cell(s) did not run: the kernel was dead",
                "they run again once the cell that killed the kernel is fixed",
            )
        )
    if result.returncode != 0 and not problems:
        how = f"killed by signal {-result.returncode}" if result.returncode < 0 else f"exit code {result.returncode}"
        problems.append(Problem(f"the run stopped ({how}) before naming a failing cell", "see report.xml"))
    elif result.cells is None and not problems:
        problems.append(Problem("pytest left no readable report of the run", "see report.xml"))
    return problems


# Running a notebook


def sandbox_problem(bwrap: str = "bwrap") -> str:
    """Why bubblewrap cannot sandbox here, or "" when ``bwrap --ro-bind / / true`` works."""
    found = shutil.which(bwrap)
    if not found:
        return f"--sandbox needs bubblewrap, but {bwrap!r} is not on PATH; install it (apt-get install bubblewrap)"
    try:
        done = subprocess.run([found, "--ro-bind", "/", "/", "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"--sandbox: {found} does not run ({exc}); nothing was run"
    if done.returncode != 0:
        why = done.stderr.strip() or f"exit code {done.returncode}"
        return (
            f"--sandbox: {found} cannot create a sandbox here ({why}); allow unprivileged user namespaces "
            "or run where they are allowed. Nothing was run"
        )
    return ""


def nbval_command(folder: Path, notebook: Path, timeout: float) -> list[str]:
    """nbval in lax mode on one notebook, ignoring every pytest configuration file and option around it."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        os.devnull,
        "--rootdir",
        str(folder),
        "-p",
        "nbval.plugin",
        "-p",
        "coursekit.validation.runner",
        "-p",
        "no:cacheprovider",
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-cell-timeout={timeout:g}",
        "--color=no",
        "-q",
        f"--junitxml={folder / 'junit.xml'}",
        str(notebook),
    ]


def sandbox_command(folder: Path, command: list[str]) -> list[str]:
    """``command`` inside bubblewrap: everything read-only but ``folder``, and no network.

    No private tmpfs on /tmp: the course, its virtual environment or the folder itself may live
    under /tmp (CI clones do), and a tmpfs would hide them. Temporary files go to ``folder`` (TMPDIR).
    """
    return [
        shutil.which("bwrap") or "bwrap",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--bind", str(folder), str(folder),
        "--unshare-net",
        "--unshare-pid",  # when the run is killed, nothing it started survives
        "--die-with-parent",
        "--chdir", str(folder),
        "--",
        *command,
    ]  # fmt: skip


def _environment(folder: Path) -> dict[str, str]:
    """The TA's environment with a private home, and none of the TA's own pytest plugins or options."""
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    home = folder / "home"
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    env.update(
        TMPDIR=str(folder / "tmp"),
        HOME=str(home),
        IPYTHONDIR=str(home / ".ipython"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # e.g. pytest-randomly would shuffle the cells
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (Linux /proc); nbval's kernel runs in a session of its own."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            tree.append(child)
            todo.append(child)
    return tree


def _kill_tree(pid: int) -> None:
    """SIGKILL the process group of ``pid`` and of everything it started (ours excepted)."""
    groups = []
    for member in _process_tree(pid):
        try:
            groups.append(os.getpgid(member))
        except ProcessLookupError:
            continue
    for group in dict.fromkeys(groups or [pid]):
        if group != os.getpgrp():
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _wait(process: subprocess.Popen, deadline: float, stop: threading.Event | None) -> int | None:
    """The exit code, or None after killing the process tree at the deadline or when ``stop`` is set."""
    while not (stop and stop.is_set()):
        try:
            return process.wait(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                break
    _kill_tree(process.pid)
    process.wait()
    return None


def run_notebook(
    data: bytes,
    readings: Path,
    timeout: float = DEFAULT_TIMEOUT,
    sandbox: bool = False,
    stop: threading.Event | None = None,
) -> RunResult:
    """Run a copy of a notebook with nbval in a temporary folder that also holds a copy of ``readings``.

    ``stop`` ends the run early (the TA pressed Ctrl-C): worker threads never see KeyboardInterrupt.
    """
    folder = Path(tempfile.mkdtemp(prefix="coursekit-validate-")).resolve()
    try:
        shutil.copytree(readings, folder / "readings")
        (folder / "notebooks").mkdir()
        (folder / "home").mkdir()
        notebook = folder / "notebooks" / NOTEBOOK_FILE
        notebook.write_bytes(data)
        command = nbval_command(folder, notebook, timeout)
        if sandbox:
            command = sandbox_command(folder, command)
        with tempfile.TemporaryFile() as output:
            started = time.monotonic()
            process = subprocess.Popen(
                command,
                cwd=folder,
                env=_environment(folder),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            returncode = _wait(process, started + timeout, stop)
            seconds = time.monotonic() - started
            tail, last_started = split_output(read_tail(output))
        cells = read_junit(folder / "junit.xml") if returncode is not None else None
        return RunResult(returncode, cells, tail, seconds, timeout, last_started)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The whole run


def validate(
    submissions: str | Path,
    course: str | Path = ".",
    week: int | None = None,
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    sandbox: bool = False,
    progress: Callable[[NotebookReport, int, int], None] | None = None,
) -> list[NotebookReport]:
    """Check and run every notebook under ``submissions``; one report per file, sorted by student and file.

    Files whose week cannot be read are kept under ``week``, so a broken upload is never skipped silently.
    Raises IntakeError when the folder itself is unusable.
    """
    root = Path(submissions)
    files, layout = find_submissions(root)
    reports = [
        NotebookReport(p.path.name if p.path.is_dir() else "", p.path, problems=[Problem(p.reason, p.hint)])
        for p in layout
    ]
    loaded = Course(course)
    runs: list[tuple[NotebookReport, bytes, Reading]] = []
    for file in files:
        data, error = read_submission(file)
        if data is None:
            reports.append(
                NotebookReport(file.student, file.path, problems=[Problem(error, "check the file's permissions")])
            )
            continue
        report, reading = check_submission(data, file.student, file.path, loaded)
        if week is not None and report.week not in (week, None):
            continue
        reports.append(report)
        if reading is not None:
            runs.append((report, data, reading))

    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_notebook, data, r.path.parent, timeout, sandbox, stop): rep for rep, data, r in runs}
        try:
            for done, future in enumerate(as_completed(futures), 1):
                _finish(futures[future], future)
                if progress:
                    progress(futures[future], done, len(futures))
        except BaseException:  # Ctrl-C: stop the running notebooks and start no more
            stop.set()
            pool.shutdown(cancel_futures=True)
            raise
    return sorted(reports, key=lambda r: (r.student, str(r.path)))


def _finish(report: NotebookReport, future: Future) -> None:
    """Add a finished run to its report; a run that could not even start fails only that notebook."""
    report.ran = True
    try:
        result = future.result()
    except Exception as exc:  # noqa: BLE001 - one notebook must never stop the others
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


# Reports


def _xml_safe(text: str) -> str:
    """Text XML 1.0 can hold: control characters (ANSI colours, NULs from a notebook) become '?'."""
    return _NOT_XML.sub("?", text)


def write_junit(reports: list[NotebookReport], path: Path, root: Path | None = None) -> None:
    """JUnit XML, one testcase per student notebook, for CI dashboards; the reasons are the failure message."""
    failed = sum(1 for r in reports if r.problems)
    suite = ET.Element(
        "testsuite", name="coursekit validate", tests=str(len(reports)), failures=str(failed), errors="0"
    )
    for report in reports:
        shown = relative(report.path, root)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml_safe(report.student),
            name=_xml_safe(report.notebook or shown),
            file=_xml_safe(shown),
            time=f"{report.seconds:.2f}",
        )
        if report.problems:
            failure = ET.SubElement(case, "failure", message=_xml_safe("; ".join(p.reason for p in report.problems)))
            details = "\n".join(f"- {p}" for p in report.problems)
            if report.output:
                details += f"\n\nOutput of the run (the end of it):\n{report.output}"
            failure.text = _xml_safe(details)
    tree = ET.ElementTree(ET.Element("testsuites"))
    tree.getroot().append(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def write_report_csv(reports: list[NotebookReport], path: Path, root: Path | None = None) -> None:
    """One spreadsheet-safe row per student notebook: student, notebook, file, status, reasons."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["student", "notebook", "file", "status", "reasons"])
        for r in reports:
            row = [r.student, r.notebook, relative(r.path, root), r.status, "; ".join(str(p) for p in r.problems)]
            writer.writerow([neutralise_cell(value) for value in row])


def relative(path: Path, root: Path | None) -> str:
    """``path`` as shown in reports: relative to the submissions folder when it is inside it."""
    try:
        return str(path.relative_to(root)) if root else str(path)
    except ValueError:
        return str(path)


# The pytest plugin (``-p coursekit.validation.runner``), active only inside the runs started above


class KernelDied(RuntimeError):
    """nbval waits for a dead kernel's reply until the cell timeout; this says what happened instead."""


def pytest_configure(config) -> None:
    """Make nbval's wait for a cell's reply check every second that the kernel is still alive."""
    try:
        from nbval.kernel import RunningKernel
    except ImportError:
        return
    original = RunningKernel.await_reply
    if getattr(original, "coursekit", False):
        return

    def await_reply(self, msg_id, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            try:
                return original(self, msg_id, timeout=step)
            except Empty:
                if not self.is_alive():
                    raise KernelDied(
                        "the kernel died (the notebook called os._exit or exit, crashed, or ran out of memory)"
                    ) from None
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    await_reply.coursekit = True
    RunningKernel.await_reply = await_reply


def pytest_runtest_logstart(nodeid: str, location) -> None:
    """Say which cell starts, so that a run stopped at the deadline can name the cell it was stuck in."""
    print(f"\n{_STARTING}{nodeid}", flush=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report) -> None:
    """Cut a huge failure message (a cell can raise 100 MB of text) before pytest prints or saves it."""
    if report.failed and report.longrepr is not None:
        text = str(report.longrepr)
        if len(text) > MESSAGE_LIMIT:
            report.longrepr = shorten(text, MESSAGE_LIMIT)
