"""JupyterHub home folders: one home per student (``jupyter-<name>`` or ``<name>``), notebooks found by a pattern.

Only files matching the pattern are looked at, so a home's other files are never read. A match that
is a symbolic link, or that resolves outside its home, is reported and not read: a student could
otherwise hand in a classmate's notebook.
"""

from __future__ import annotations

import re
import stat
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from coursekit.intake.archive import Entry, file_entry
from coursekit.intake.base import Finding, Found, Options, not_notebook, record
from coursekit.intake.identity import Claim
from coursekit.intake.submission import IntakeError, LayoutProblem

NAME = "homes"
PREFIX = "jupyter-"


def home_name(folder: str) -> str:
    """The student's name from a home folder's name (JupyterHub's DockerSpawner names them jupyter-<name>)."""
    return folder.removeprefix(PREFIX) or folder


def unescaped(name: str) -> str:
    """A name as spawners escape it undone: "mary-2eann" is "mary.ann" (escapism's '-' + hex byte)."""
    try:
        return re.sub(r"-([0-9a-f]{2})", lambda m: bytes.fromhex(m.group(1)).decode("latin-1"), name)
    except ValueError:
        return name


def _matches(home: Path, pattern: str) -> tuple[list[Entry], list[LayoutProblem]]:
    entries, problems = [], []
    inside = home.resolve()
    try:
        paths = sorted(home.glob(pattern))
    except (OSError, ValueError) as exc:
        return [], [LayoutProblem(home, f"cannot search it ({exc})", "check the home's permissions")]
    for path in paths:
        if ".ipynb_checkpoints" in path.parts:
            continue
        name = unicodedata.normalize("NFC", path.relative_to(home.parent).as_posix())
        try:
            mode = path.lstat().st_mode
            real = path.resolve()
        except OSError as exc:
            problems.append(LayoutProblem(path, f"cannot read it ({exc.strerror or exc})", "check its permissions"))
            continue
        if stat.S_ISLNK(mode) or not real.is_relative_to(inside):
            problems.append(
                LayoutProblem(path, "a symbolic link (or inside one); not read", "ask the student to save a real file")
            )
        elif not stat.S_ISREG(mode):
            problems.append(LayoutProblem(path, "not a regular file", "remove it or fix the pattern"))
        else:
            entries.append(file_entry(path, name))
    return entries, problems


class Homes:
    """JupyterHub's home folders as an intake source (``base.Source``)."""

    name = NAME

    def detect(self, root: Path, names: Sequence[str]) -> bool:
        """A folder whose every entry is a spawner's ``jupyter-<name>`` home."""
        return root.is_dir() and bool(names) and all(n.startswith(PREFIX) for n in names)

    def find(self, root: Path, options: Options) -> Finding:
        if not root.is_dir():
            raise IntakeError(f"{root}: not a folder; give the folder holding the JupyterHub homes (often /home)")
        found: list[Found] = []
        problems: list[LayoutProblem] = []
        for home in sorted(root.iterdir()):
            if home.name.startswith(".") or home.is_symlink() or not home.is_dir():
                continue
            entries, trouble = _matches(home, options.pattern)
            problems += trouble
            student = home_name(home.name)
            if not entries and not trouble:
                problems.append(
                    LayoutProblem(home, f"no file matches {options.pattern}; skipped", "nothing to do", serious=False)
                )
            for entry in entries:
                if entry.is_notebook:
                    ids = tuple(dict.fromkeys([student, unescaped(student)]))
                    found.append(Found(record(entry, NAME, student), Claim(ids=ids)))
                else:
                    problems.append(not_notebook(entry))
        return found, problems
