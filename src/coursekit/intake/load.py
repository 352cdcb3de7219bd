"""Read and extract one submitted file, never raising: the one step every command runs per file.

``collect`` and ``validate`` both call ``load_submission``; it is a plain function from a
``SubmissionFile`` to plain, picklable data, so it can run in worker processes. Whatever goes wrong
with one file (unreadable, a FIFO, too big, hostile JSON, a bug of ours) comes back as that file's
Problem, so it can never stop a run or lose another student's work.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from coursekit.course.reading import Readings
from coursekit.intake.archive import read_member
from coursekit.intake.extract import Extracted, Problem, extract
from coursekit.intake.submission import SubmissionFile

MAX_FILE = 100 * 1024 * 1024  # bytes; course notebooks with outputs are under 2 MB
PERMISSIONS = "check the file's permissions and that it is a file the student uploaded"
REPORT = "this is a bug in coursekit: please report it with the file; the other files were handled"


@dataclass(frozen=True)
class Loaded:
    """One file's outcome: what it holds (or why it failed), and its bytes' sha256 when it was read."""

    file: SubmissionFile
    extracted: Extracted
    data: bytes | None = None  # kept only when asked for (validate runs the notebook)

    @property
    def file_hash(self) -> str:
        """The bytes' sha256 ("" when they could not be read): the extract carries it to the log."""
        return self.extracted.file_hash

    @property
    def ok(self) -> bool:
        return self.extracted.ok

    @property
    def problem(self) -> Problem | None:
        return self.extracted.problems[0] if self.extracted.problems else None


def internal_error(exc: BaseException, doing: str = "reading this file") -> Problem:
    """The reason shown for an exception nobody foresaw: named, so it can be reported and fixed."""
    return Problem(f"internal error while {doing}: {exc.__class__.__name__}: {exc}", REPORT)


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words (for reasons shown to people)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_file_bytes(file: SubmissionFile) -> bytes:
    """The file's bytes; raises OSError with a reason for anything that is not a readable notebook file.

    Plain files are opened without blocking and checked to be regular files before reading, so a
    FIFO or a device put where a notebook should be is refused instead of hanging or reading forever.
    """
    if file.size > MAX_FILE:  # as the source lists it (an archive member's declared size): not even opened
        raise OSError(f"{file.size:,} bytes, more than the {MAX_FILE:,} a notebook may have")
    if file.entry:
        return read_member(file.path, file.entry)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(file.path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{file_kind(info.st_mode)}, not a notebook file, so it is not read")
        if info.st_size > MAX_FILE:
            raise OSError(f"{info.st_size:,} bytes, more than the {MAX_FILE:,} a notebook may have")
        return handle.read(MAX_FILE + 1)


def load_submission(file: SubmissionFile, keep_data: bool = False, readings: Readings | None = None) -> Loaded:
    """Read and extract one submission; every failure is the returned file's problem, never an exception.

    With ``readings``, its saved quiz, sorter and stance answers are re-graded against its reading.
    """
    try:
        data = read_file_bytes(file)
    except OSError as exc:
        reason = exc.strerror or (str(exc.args[0]) if exc.args else str(exc))
        return Loaded(file, _failed(file, Problem(f"cannot read the file: {reason}", PERMISSIONS)))
    except Exception as exc:  # noqa: BLE001 - e.g. a damaged archive member; one file never stops a run
        return Loaded(
            file, _failed(file, Problem(f"cannot read the file: {exc.__class__.__name__}: {exc}", PERMISSIONS))
        )
    try:
        extracted = extract(data, Path(file.name).stem, readings)
        extracted.file_hash = hashlib.sha256(data).hexdigest()
    except Exception as exc:  # noqa: BLE001 - a bug of ours on one file must not stop the run
        return Loaded(file, _failed(file, internal_error(exc)))
    return Loaded(file, extracted, data if keep_data else None)


def _failed(file: SubmissionFile, problem: Problem) -> Extracted:
    return Extracted(notebook="", problems=[problem])
