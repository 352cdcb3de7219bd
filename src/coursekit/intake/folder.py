"""Find the submitted notebooks in a folder laid out as ``SUBMISSIONS/<student>/<notebook>.ipynb``.

This only looks at the file system: who submitted which file, and when. Reading the files is
``extract``'s job. Folders that do not fit the layout are reported, not skipped silently.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from coursekit.intake.submission import IntakeError, LayoutProblem, SubmissionFile

IGNORED_NAMES = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") or part in IGNORED_NAMES for part in path.relative_to(root).parts)


def _file(student: str, path: Path) -> SubmissionFile:
    """The record of one notebook file; its modification time stands for the submission time."""
    stat = path.stat()
    submitted = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
    return SubmissionFile(student, path, submitted, size=stat.st_size, stamp=str(stat.st_mtime_ns), source_id=student)


def find_submissions(root: str | Path) -> tuple[list[SubmissionFile], list[LayoutProblem]]:
    """Every student notebook under ``root``, and every place that does not fit the layout."""
    root = Path(root)
    if not root.exists():
        raise IntakeError(f"{root}: no such folder; give the folder that holds one folder per student")
    if not root.is_dir():
        raise IntakeError(f"{root}: is a file; give the folder that holds one folder per student")
    entries = [e for e in sorted(root.iterdir()) if not _hidden(e, root)]
    if any(e.suffix == ".ipynb" and e.is_file() for e in entries) and not any(e.is_dir() for e in entries):
        raise IntakeError(
            f"{root}: looks like one student's folder (notebooks, no student folders in it); "
            f"give the class folder that holds one folder per student, e.g. {root.resolve().parent}"
        )
    found: list[SubmissionFile] = []
    problems: list[LayoutProblem] = []
    for entry in entries:
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
        notebooks = sorted(p for p in entry.rglob("*.ipynb") if p.is_file() and not _hidden(p, root))
        if not notebooks:
            problems.append(
                LayoutProblem(
                    entry,
                    "student folder holds no .ipynb notebook",
                    "check the student's upload (a zip still packed, or a different file type?)",
                )
            )
        found.extend(_file(entry.name, path) for path in notebooks)
    if not found and not problems:
        raise IntakeError(f"{root}: empty folder; expected one folder per student holding their .ipynb")
    return found, problems
