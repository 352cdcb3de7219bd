"""One way in for every source: detect the layout (or take ``--layout``), list the files, match the roster.

``gather`` hands on an ``Intake``: the files whose sender is known (``student`` = the roster's key,
or the source's own id when there is no roster), the files whose sender is not (with the roster
students it could be), and everything not read, each with a reason and what to do.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.intake import canvas, folder, homes, moodle, nbgrader
from coursekit.intake.archive import member_text
from coursekit.intake.base import Found, Options, as_student
from coursekit.intake.identity import Roster
from coursekit.intake.submission import IntakeError, LayoutProblem, SubmissionFile

Finder = Callable[[Path, Options], tuple[list[Found], list[LayoutProblem]]]


def _folder(root: Path, options: Options) -> tuple[list[Found], list[LayoutProblem]]:
    """Today's layout, SUBMISSIONS/<student>/<notebook>.ipynb: the folder name is the source id."""
    files, problems = folder.find_submissions(root)
    return [Found(f) for f in files], problems


FINDERS: dict[str, Finder] = {
    "folder": _folder,
    canvas.NAME: canvas.find,
    moodle.NAME: moodle.find,
    nbgrader.EXCHANGE: nbgrader.find_exchange,
    nbgrader.SUBMITTED: nbgrader.find_submitted,
    homes.NAME: homes.find,
}
LAYOUTS = tuple(FINDERS)


def _top_names(source: Path) -> list[str]:
    """The names at the top of a folder or zip, which is all detection looks at."""
    if source.is_dir():
        return sorted(p.name for p in source.iterdir() if not p.name.startswith((".", "__MACOSX")))
    try:
        with zipfile.ZipFile(source) as archive:
            names = {member_text(i).split("/")[0] for i in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{source}: not a folder or a readable zip ({exc}); download it again") from exc
    return sorted(n for n in names if n and n != "__MACOSX" and not n.startswith("."))


def detect(source: Path) -> str:
    """Which layout a folder or zip follows, from its top-level names."""
    if not source.exists():
        raise IntakeError(f"{source}: no such folder or zip; give the folder or the downloaded zip of submissions")
    names = _top_names(source)
    if source.is_dir():
        if nbgrader.detect_exchange(source, names):
            return nbgrader.EXCHANGE
        if nbgrader.detect_submitted(source, names):
            return nbgrader.SUBMITTED
        if homes.detect(names):
            return homes.NAME
    for module in (canvas, moodle):
        if module.detect(names):
            return module.NAME
    if source.is_dir():
        return "folder"
    raise IntakeError(
        f"{source}: a zip whose names follow neither Canvas nor Moodle; pass --layout ({', '.join(LAYOUTS)})"
    )


def _unwrapped(root: Path) -> Path:
    """The folder inside ``root`` when it holds nothing else and is a download unpacked one level deep.

    Some unzip tools put a Canvas or Moodle download in a folder of its own; read as today's folder
    layout, every file would land on one "student" named after it.
    """
    if not root.is_dir():
        return root
    inside = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if len(inside) == 1 and inside[0].is_dir() and not inside[0].is_symlink():
        if detect(inside[0]) in (canvas.NAME, moodle.NAME):
            return inside[0]
    return root


@dataclass(frozen=True)
class Unmatched:
    """A file whose sender fits no roster student, or several: reported, never stored under a guess."""

    file: SubmissionFile
    reason: str
    candidates: tuple[str, ...] = ()
    hint: str = ""

    @property
    def detail(self) -> str:
        """The reason with the roster students it could be, as one line."""
        return self.reason + (f"; could be: {'; '.join(self.candidates)}" if self.candidates else "")


@dataclass
class Intake:
    layout: str
    root: Path
    files: list[SubmissionFile] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    skipped: list[LayoutProblem] = field(default_factory=list)

    @property
    def problems(self) -> list[LayoutProblem]:
        """What stops a student's work from being read (clutter such as __MACOSX left out)."""
        return [p for p in self.skipped if p.serious]


def gather(
    source: str | Path, layout: str | None = None, roster: Roster | None = None, options: Options | None = None
) -> Intake:
    """Every submission in ``source`` with its roster student; raises IntakeError when the source is unusable."""
    root = Path(source)
    if layout is None:
        root = _unwrapped(root)
    layout = layout or detect(root)
    if layout not in FINDERS:
        raise IntakeError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    found, skipped = FINDERS[layout](root, options or Options())
    intake = Intake(layout, root, skipped=list(skipped))
    for item in found:
        if roster is None:
            intake.files.append(item.file)
            continue
        match = roster.match(item.sender())
        if match.student is None:
            intake.unmatched.append(Unmatched(item.file, match.reason, match.candidates, match.hint))
        else:
            intake.files.append(as_student(item.file, match.student, match.rule))
    if not intake.files and not intake.unmatched and not intake.skipped:
        raise IntakeError(f"{root}: no notebooks found in the {layout} layout; check the folder or pass --layout")
    return intake
