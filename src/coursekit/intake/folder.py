"""Find the submitted notebooks in a folder laid out as ``SUBMISSIONS/<student>/<notebook>.ipynb``.

This only looks at the file system: who submitted which file, and when. Reading the files is
``extract``'s job. Folders that do not fit the layout are reported, not skipped silently.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from coursekit.intake.submission import IntakeError, LayoutProblem, SubmissionFile

IGNORED_NAMES = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}


def _hidden_name(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_NAMES


def _notebooks(folder: Path) -> list[tuple[Path, os.stat_result]]:
    """Every visible ``.ipynb`` file under ``folder`` with its stat, sorted by path.

    One ``scandir`` per directory and one ``stat`` per notebook: at 20,000 files, listing is most
    of what a rerun with nothing changed costs. Like ``rglob``, symlinked folders are not entered.
    """
    found: list[tuple[str, os.stat_result]] = []
    folders = [str(folder)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if _hidden_name(entry.name):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif entry.name.endswith(".ipynb") and entry.is_file():
                    found.append((entry.path, entry.stat()))
    found.sort(key=lambda item: item[0])
    return [(Path(path), stat) for path, stat in found]


def _file(student: str, path: Path, stat: os.stat_result) -> SubmissionFile:
    """The record of one notebook file; its modification time stands for the submission time."""
    submitted = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
    return SubmissionFile(student, path, submitted, size=stat.st_size, stamp=str(stat.st_mtime_ns), source_id=student)


def find_submissions(root: str | Path) -> tuple[list[SubmissionFile], list[LayoutProblem]]:
    """Every student notebook under ``root``, and every place that does not fit the layout."""
    root = Path(root)
    if not root.exists():
        raise IntakeError(f"{root}: no such folder; give the folder that holds one folder per student")
    if not root.is_dir():
        raise IntakeError(f"{root}: is a file; give the folder that holds one folder per student")
    found: list[SubmissionFile] = []
    problems: list[LayoutProblem] = []
    for entry in sorted(root.iterdir()):
        if _hidden_name(entry.name):
            continue
        if entry.is_file():
            if entry.suffix == ".ipynb":
                problems.append(
                    LayoutProblem(
                        entry,
                        "notebook is not inside a student folder, so its author is unknown",
                        f"move it to {root}/<student>/{entry.name}",
                    )
                )
            continue
        notebooks = _notebooks(entry)
        if not notebooks:
            problems.append(
                LayoutProblem(
                    entry,
                    "student folder holds no .ipynb notebook",
                    "check the student's upload (a zip still packed, or a different file type?)",
                )
            )
        found.extend(_file(entry.name, path, stat) for path, stat in notebooks)
    if not found and not problems:
        raise IntakeError(f"{root}: empty folder; expected one folder per student holding their .ipynb")
    return found, problems
