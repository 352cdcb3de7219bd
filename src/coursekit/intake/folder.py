"""Find the submitted notebooks in a folder laid out as ``SUBMISSIONS/<student>/<notebook>.ipynb``.

This only looks at the file system: who submitted which file, and when. Reading the files is
``extract``'s job. ``walk_notebooks`` is the one safe way into a folder of untrusted uploads (every
intake source that unpacks or finds files calls it): it never follows a link out of the folder,
never opens a FIFO or a device, and reports every place it does not take instead of skipping it
silently. Only macOS resource forks (``._*``) and ``.ipynb_checkpoints`` are passed over quietly.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from coursekit.intake import base
from coursekit.intake.load import file_kind
from coursekit.intake.submission import IntakeError, LayoutProblem, SubmissionFile, modified_at

NAME = "folder"
QUIET = {".ipynb_checkpoints"}  # Jupyter's autosaves: never a submission
SKIPPED = {"__MACOSX", "__pycache__"}  # not a student's folder, but reported when notebooks are inside
SUFFIX = ".ipynb"
_RENAME = "rename it to plain letters, digits and dashes, then run again"


class Found(NamedTuple):
    """A notebook file the walk takes, with the file's stat (links inside the folder are followed once).

    A named tuple, as cheap to make as the walk needs: a class is thousands of files.
    """

    path: Path
    info: os.stat_result
    text: str  # the path as text, what the walk sorts by


def _quiet(name: str) -> bool:
    return name.startswith("._") or name in QUIET


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED


def _inside(target: str, root: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def _bad_name(name: str) -> bool:
    """A name that is not UTF-8 (Python keeps its bytes as surrogates): it cannot be stored or shown."""
    if name.isascii():  # nearly every name: no need to try encoding it
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _count_notebooks(folder: Path, root: str) -> int:
    """How many notebook files a skipped folder holds (walked as safely as any other)."""
    found, _ = walk_notebooks(folder, root, report_skipped=False)
    return len(found)


def walk_notebooks(
    folder: Path, root: str | Path | None = None, report_skipped: bool = True
) -> tuple[list[Found], list[LayoutProblem]]:
    """Every notebook file under ``folder`` that stays inside ``root`` (default: ``folder``), and every problem.

    Symbolic links are never followed out of ``root`` (a folder linked to ``/`` is not walked) and
    links to folders are never followed at all, so the walk cannot loop. FIFOs, devices and sockets
    named ``*.ipynb`` and folders named ``*.ipynb`` are reported, as are unreadable folders, names
    that are not UTF-8, and hidden or ``__MACOSX`` folders or files that hold notebooks.
    """
    real_root = os.path.realpath(root if root is not None else folder)
    found: list[Found] = []
    problems: list[LayoutProblem] = []
    todo = [str(folder)]  # paths stay text until one is taken or reported: a class has thousands
    while todo:
        current = todo.pop()
        try:
            with os.scandir(current) as listing:
                entries = list(listing)  # in the file system's order: what is found is sorted once, at the end
        except OSError as exc:
            problems.append(
                LayoutProblem(
                    Path(current), f"cannot open this folder: {exc.strerror or exc}", "check the folder's permissions"
                )
            )
            continue
        here: Path | None = None  # this folder as a Path, made once when a notebook is taken from it
        for entry in entries:
            name = entry.name
            if _quiet(name):
                continue
            if _bad_name(name):
                problems.append(
                    LayoutProblem(Path(entry.path), "its name is not UTF-8 text, so it is not read", _RENAME)
                )
                continue
            try:
                if entry.is_dir(follow_symlinks=False) and not _skipped(name):  # a folder to walk into:
                    if name.endswith(SUFFIX):  # known from the listing, so no system call per folder
                        problems.append(
                            LayoutProblem(
                                Path(entry.path),
                                "a folder named like a notebook, not a notebook file",
                                "check the student's upload; notebooks inside it are collected",
                            )
                        )
                    todo.append(entry.path)
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                problems.append(
                    LayoutProblem(Path(entry.path), f"cannot look at it: {exc.strerror or exc}", "check permissions")
                )
                continue
            mode = info.st_mode
            if stat.S_ISLNK(mode):
                problem, taken = _link(Path(entry.path), real_root)
                if problem:
                    problems.append(problem)
                if taken:
                    found.append(taken)
                continue
            if _skipped(name):
                if report_skipped and (problem := _skipped_problem(Path(entry.path), info, real_root)):
                    problems.append(problem)
                continue
            if stat.S_ISDIR(mode):  # became a folder since it was listed
                todo.append(entry.path)
            elif name.endswith(SUFFIX):
                if stat.S_ISREG(mode):
                    here = here or Path(current)
                    found.append(Found(here / name, info, entry.path))
                else:
                    problems.append(
                        LayoutProblem(
                            Path(entry.path), f"{file_kind(mode)} named like a notebook: not read", "remove it"
                        )
                    )
    found.sort(key=attrgetter("text"))
    problems.sort(key=lambda p: str(p.path))
    return found, problems


def _skipped_problem(path: Path, info: os.stat_result, real_root: str) -> LayoutProblem | None:
    """A hidden or system folder (or hidden file) is skipped, but said so when notebooks are in it."""
    if stat.S_ISDIR(info.st_mode):
        count = _count_notebooks(path, real_root)
        if not count:
            return None
        what = f"a hidden or system folder that holds {count} notebook(s)"
    elif path.name.endswith(SUFFIX):
        what = "a hidden notebook file"
    else:
        return None
    return LayoutProblem(
        path, f"skipped: {what}", "if it is a submission, move it out and rename it without a leading dot"
    )


def _link(path: Path, real_root: str) -> tuple[LayoutProblem | None, Found | None]:
    """A symbolic link: a notebook file inside the submissions is taken; anything else is reported."""
    target = os.path.realpath(path)
    if not _inside(target, real_root):
        return (
            LayoutProblem(
                path,
                "a link that leads outside the submissions folder: not followed",
                "copy the file or folder itself into the submissions folder if it is a submission",
            ),
            None,
        )
    try:
        info = os.stat(target)
    except OSError:
        return LayoutProblem(path, "a broken link", "remove it or copy the file itself in"), None
    if stat.S_ISDIR(info.st_mode):
        return (
            LayoutProblem(path, "a link to a folder: not followed", "copy the folder itself in if it is a submission"),
            None,
        )
    if not path.name.endswith(SUFFIX):
        return None, None
    if not stat.S_ISREG(info.st_mode):
        return LayoutProblem(path, f"a link to {file_kind(info.st_mode)}: not read", "remove it"), None
    return None, Found(path, info, str(path))


def _file(student: str, found: Found) -> SubmissionFile:
    """The record of one notebook file; its modification time stands for the submission time."""
    info = found.info
    ns = info.st_mtime_ns
    return SubmissionFile(student, found.path, modified_at(ns), "", info.st_size, str(ns), None, NAME, student)


def find_submissions(root: str | Path) -> tuple[list[SubmissionFile], list[LayoutProblem]]:
    """Every student notebook under ``root``, and every place that does not fit the layout."""
    root = Path(root)
    if not root.exists():
        raise IntakeError(f"{root}: no such folder; give the folder that holds one folder per student")
    if not root.is_dir():
        raise IntakeError(f"{root}: is a file; give the folder that holds one folder per student")
    with os.scandir(root) as listing:
        entries = [e for e in listing if not (_quiet(e.name) or _skipped(e.name))]
    if any(e.name.endswith(SUFFIX) and e.is_file() for e in entries) and not any(e.is_dir() for e in entries):
        raise IntakeError(
            f"{root}: looks like one student's folder (notebooks, no student folders in it); "
            f"give the class folder that holds one folder per student, e.g. {root.resolve().parent}"
        )
    found, problems = walk_notebooks(root)
    files: list[SubmissionFile] = []
    students: set[str] = set()  # the names of student folders that hold a notebook
    inside = len(os.path.join(str(root), ""))  # the walk's paths all start with the root's own text
    for notebook in found:
        student, inside_student, _ = notebook.text[inside:].partition(os.sep)
        if not inside_student:
            problems.append(
                LayoutProblem(
                    notebook.path,
                    "notebook is not inside a student folder, so its author is unknown",
                    f"move it to {root}/<student>/{notebook.path.name}",
                )
            )
            continue
        students.add(student)
        files.append(_file(student, notebook))
    reported = {p.path for p in problems}
    for name in sorted(os.listdir(root)):
        if name in students or _quiet(name) or _skipped(name) or (entry := root / name) in reported:
            continue
        if entry.is_dir() and not entry.is_symlink() and not any(p.path.is_relative_to(entry) for p in problems):
            problems.append(
                LayoutProblem(
                    entry,
                    "student folder holds no .ipynb notebook",
                    "check the student's upload (a zip still packed, or a different file type?)",
                )
            )
    if not files and not problems:
        raise IntakeError(f"{root}: empty folder; expected one folder per student holding their .ipynb")
    return files, problems


class Folder:
    """Today's layout as an intake source (``base.Source``): the student folder's name is the source id.

    Any folder can be read this way, so it is the last source the registry tries.
    """

    name = NAME

    def detect(self, root: Path, names: Sequence[str]) -> bool:
        return root.is_dir()

    def find(self, root: Path, options: base.Options) -> base.Finding:
        files, problems = find_submissions(root)
        return [base.Found(f) for f in files], problems
