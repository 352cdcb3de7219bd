"""Run one submitted notebook with nbval, in a temporary copy, under a deadline, and read what it left.

Submissions are untrusted code. Each notebook runs in its own temporary copy (never in the
submissions folder), in its own session with a deadline after which its whole process tree is
killed, and only the last ``OUTPUT_TAIL`` bytes of its output are kept. It gets a minimal
environment (none of the TA's variables) carrying a mark of its own: every process that still
carries the mark when the run ends, a double-forked daemon included, is killed. Each process of
the run may use at most ``memory`` MiB (address space). ``sandbox=True`` adds bubblewrap
(``validation.sandbox``).
"""

from __future__ import annotations

import errno
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
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from coursekit.course.problems import Problem
from coursekit.validation.sandbox import minimal_environment, sandbox_command

DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY = 2048  # MiB of address space per process of a run; a course notebook's kernel peaks near 850
MARK = "COURSEKIT_VALIDATE_RUN"  # environment variable naming the run; every process it starts inherits it
MEMORY_OPTION = "--coursekit-memory"  # read by the plugin, which sets the limit inside the run
OUTPUT_TAIL = 20_000  # bytes of pytest's output kept per notebook
JUNIT_LIMIT = 5_000_000  # bytes; a bigger pytest report was not written by our capped pytest
NOTEBOOK_FILE = "submission.ipynb"  # never the student's file name: it may hold anything
PLUGIN = "coursekit.validation.plugin"

_ANSI = re.compile(r"(?:\x1b|#x1B)\[[0-9;]*[A-Za-z]")  # pytest's JUnit XML writes ESC as "#x1B"
STARTING = "coursekit-validate: starting "  # the plugin's line before each cell, read back after a timeout
_KERNEL_DEAD = "Kernel dead on test start"  # nbval's message for a cell run after the kernel died
_RERUN = "open it in JupyterLab, run Kernel ▸ Restart Kernel and Run All Cells, fix that cell, save and resubmit"


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
    memory: int = DEFAULT_MEMORY  # MiB per process
    sandboxed: bool = False  # run in bubblewrap: a failure may be the sandbox's doing, and is then said so


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
                message = child.text or child.get("message") or ""
                break
        cells.append(CellResult(case.get("name", ""), outcome, message))
    return tuple(cells)


def code_cell(test_name: str) -> str:
    """nbval's "Cell 3" (code cells counted from 0) as a student finds it: "code cell 4"."""
    number = re.fullmatch(r"Cell (\d+)", test_name)
    return f"code cell {int(number.group(1)) + 1}" if number else test_name or "a cell"


def split_output(output: str) -> tuple[str, str]:
    """pytest's output without the plugin's lines, and the name of the last cell they say started."""
    started = re.findall(f"^{re.escape(STARTING)}.*::(.+)$", output, re.MULTILINE)
    kept = "\n".join(line for line in output.splitlines() if not line.startswith(STARTING))
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
    problems = [_cell_problem(c, result) for c in failing if c not in dead]
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


def _cell_problem(cell: CellResult, result: RunResult) -> Problem:
    """A failing cell's reason; running out of memory, or what only the sandbox stopped, is said in so many words."""
    if "MemoryError" in cell.message:
        return Problem(
            f"{code_cell(cell.name)} ran out of memory (the limit is {result.memory:,} MiB per notebook process)",
            "make that cell use less memory (smaller data, no huge lists); the TA can raise the limit with --memory",
        )
    hidden = sandbox_cause(_ANSI.sub("", cell.message)) if result.sandboxed else None
    if hidden:
        what, hint = hidden
        return Problem(f"{describe_failure(cell)}, because {what}", hint)
    return Problem(describe_failure(cell), _RERUN)


# The exception a cell ended with, when it names a file: "FileNotFoundError: [Errno 2] No such file...: '/srv/x'".
_PATH_ERROR = re.compile(r"^(\w+Error): \[Errno (\d+)\] [^\n]*?: '([^'\n]+)'", re.MULTILINE)
_NO_NETWORK = re.compile(r"Temporary failure in name resolution|Name or service not known|Network is unreachable")
_UNSANDBOXED = "--no-sandbox (the notebook then sees everything you can)"


def sandbox_cause(message: str) -> tuple[str, str] | None:
    """What the sandbox may have hidden or forbidden that made a cell fail, and how the TA allows it; None: not it.

    Read from the cell's last error naming an absolute path outside the run's copy: not found (the
    sandbox shows only Python, the readings and the copy), read-only (only the copy is writable), or
    denied (the notebook runs as an unprivileged user). A lookup or connection without a network is
    the sandbox's too. The machine is never asked about the path: the notebook's author writes the
    message and may read the report, so what it says must not tell whether a path of this machine
    exists, is writable or is readable by the TA.
    """
    found = _PATH_ERROR.findall(message)
    if found:
        _, number, path = found[-1]
        code = int(number)
        if not os.path.isabs(path) or _in_a_run(path):
            return None
        if code in (errno.ENOENT, errno.ENOTDIR):
            return (
                f"the sandbox shows only Python, the readings and the copy: {path} is hidden if this machine has it",
                f"if the course provides that file, rerun validate with --allow-path {path} (shown read-only) "
                f"or with {_UNSANDBOXED}",
            )
        if code == errno.EROFS:
            return (
                f"the sandbox shows {path} read-only (a notebook writes only in its own copy)",
                f"if the course's notebooks must write there, rerun validate with {_UNSANDBOXED}",
            )
        if code in (errno.EACCES, errno.EPERM):
            return (
                f"the sandbox runs the notebook as an unprivileged user, who may not open {path}",
                f"if the course needs that file and you may read it, rerun validate with {_UNSANDBOXED}",
            )
        return None
    if _NO_NETWORK.search(message):
        return (
            "the sandbox has no network",
            f"if the course's notebooks must go online, rerun validate with {_UNSANDBOXED}",
        )
    return None


def _in_a_run(path: str) -> bool:
    """Whether ``path`` is in a run's copy (a folder ``run_notebook`` made): a mistake of the notebook's own."""
    try:
        inside = os.path.relpath(path, os.path.realpath(tempfile.gettempdir()))
    except ValueError:
        return False
    return inside.startswith("coursekit-validate-")


def nbval_command(
    folder: Path, notebook: Path, timeout: float, memory: int = DEFAULT_MEMORY, compare: bool = False
) -> list[str]:
    """nbval on one notebook, ignoring every pytest configuration file and option around it.

    Lax mode (outputs not compared) unless ``compare``: a course notebook's committed outputs are compared.
    """
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
        PLUGIN,
        "-p",
        "no:cacheprovider",
        "--nbval" if compare else "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-cell-timeout={timeout:g}",
        "--color=no",
        f"{MEMORY_OPTION}={memory}",
        "-q",
        f"--junitxml={folder / 'junit.xml'}",
        str(notebook),
    ]


def without_outputs(data: bytes) -> bytes:
    """The notebook with every code cell's saved outputs and execution count taken out, for a lax run.

    A lax run compares no outputs, yet nbval fails a cell that holds outputs and no execution count
    ("Unrun reference cell has outputs"): saved widget answers written without running the cell (the
    demo class), a notebook cleaned with ``nbstripout --keep-output``. The answers are already read
    by the checks; the run only needs the code. Bytes that do not parse are returned unchanged.
    """
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
        cells = notebook["cells"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return data
    for cell in cells if isinstance(cells, list) else ():
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(notebook).encode()


def _environment(folder: Path, mark: str) -> dict[str, str]:
    """A minimal environment with an empty private home: no token of the TA's, no pytest plugin or option."""
    home = folder / "home"
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    return minimal_environment(
        home,
        TMPDIR=str(folder / "tmp"),
        IPYTHONDIR=str(home / ".ipython"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # e.g. pytest-randomly would shuffle the cells
        **{MARK: mark},
    )


def marked_processes(mark: str) -> list[int]:
    """Processes whose environment carries this run's mark (Linux /proc; others' processes are unreadable)."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return [pid for pid in found if pid != os.getpid()]


def kill_marked(mark: str, rounds: int = 20) -> None:
    """SIGKILL every process carrying the mark, again until none is left (a daemon may fork meanwhile)."""
    for _ in range(rounds):
        pids = marked_processes(mark)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


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


# A readings folder as plain data, (relative path, bytes) per file: how it travels to a Dask worker.
PackedFolder = tuple[tuple[str, bytes], ...]


def pack_folder(folder: Path) -> PackedFolder:
    """Every regular file under ``folder`` as (relative path, bytes); links are not followed."""
    return tuple(
        (path.relative_to(folder).as_posix(), path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    )


def unpack_folder(files: PackedFolder, target: Path) -> None:
    """Write a packed folder under ``target``; a path that would leave it is refused."""
    for name, data in files:
        path = target / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise ValueError(f"a packed file may not leave its folder: {name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def run_notebook(
    data: bytes,
    readings: Path | PackedFolder,
    timeout: float = DEFAULT_TIMEOUT,
    sandbox: bool = False,
    stop: threading.Event | None = None,
    memory: int = DEFAULT_MEMORY,
    allowed: tuple[Path, ...] = (),
    compare: bool = False,
) -> RunResult:
    """Run a copy of a notebook with nbval in a temporary folder that also holds a copy of ``readings``.

    ``readings`` is a folder of this machine or, on a Dask worker, the folder packed by ``pack_folder``.

    ``stop`` ends the run early (the TA pressed Ctrl-C): worker threads never see KeyboardInterrupt.
    ``memory`` is the limit in MiB for each process of the run; ``allowed`` are paths the sandbox
    shows read-only besides Python and the copy. ``compare`` runs nbval comparing the saved outputs
    (a course notebook); otherwise outputs are taken out of the copy and not compared.
    """
    mark = uuid.uuid4().hex
    folder = Path(tempfile.mkdtemp(prefix="coursekit-validate-")).resolve()
    try:
        if isinstance(readings, Path):
            shutil.copytree(readings, folder / "readings")
        else:
            unpack_folder(readings, folder / "readings")
        (folder / "notebooks").mkdir()
        (folder / "home").mkdir()
        notebook = folder / "notebooks" / NOTEBOOK_FILE
        notebook.write_bytes(data if compare else without_outputs(data))
        command = nbval_command(folder, notebook, timeout, memory, compare)
        if sandbox:
            command = sandbox_command(folder, command, allowed)
        with tempfile.TemporaryFile() as output:
            started = time.monotonic()
            process = subprocess.Popen(
                command,
                cwd=folder,
                env=_environment(folder, mark),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                returncode = _wait(process, started + timeout, stop)
            finally:
                kill_marked(mark)  # what the notebook left running, daemons included
            seconds = time.monotonic() - started
            tail, last_started = split_output(read_tail(output))
        cells = read_junit(folder / "junit.xml") if returncode is not None else None
        return RunResult(returncode, cells, tail, seconds, timeout, last_started, memory, sandbox)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
