"""One way in for every source: detect the layout (or take ``--layout``), list the files, match the roster.

``SOURCES`` is the registry, in the order detection tries them: the first whose ``detect`` says yes
reads the folder or zip, and ``--layout NAME`` picks one by name. Adding a source is one module
with a class shaped like ``base.Source`` and one line here. ``gather`` hands on an ``Intake``: the
files whose sender is known (``student`` = the roster's key, or the source's own id when there is
no roster), the files whose sender is not (with the roster students it could be), and everything
not read, each with a reason and what to do.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from coursekit.intake import canvas, folder, homes, moodle, nbgrader
from coursekit.intake.archive import member_text
from coursekit.intake.base import Options, Source, as_student
from coursekit.intake.identity import Roster
from coursekit.intake.submission import Intake, IntakeError, Unmatched

SOURCES: tuple[Source, ...] = (  # first match wins: the folder layout reads any folder, so it comes last
    nbgrader.Exchange(),
    nbgrader.Submitted(),
    homes.Homes(),
    canvas.Canvas(),
    moodle.Moodle(),
    folder.Folder(),
)
LAYOUTS = tuple(source.name for source in SOURCES)  # what --layout offers
DOWNLOADS = (canvas.NAME, moodle.NAME)  # an LMS download some unzip tools put in a folder of its own

__all__ = ["LAYOUTS", "SOURCES", "Intake", "Unmatched", "detect", "gather"]


def _names() -> str:
    """The sources' names, as an error message offers them."""
    return ", ".join(source.name for source in SOURCES)


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
    """Which layout a folder or zip follows, from its top-level names: the first source in ``SOURCES`` that fits."""
    if not source.exists():
        raise IntakeError(f"{source}: no such folder or zip; give the folder or the downloaded zip of submissions")
    names = _top_names(source)
    for candidate in SOURCES:
        if candidate.detect(source, names):
            return candidate.name
    raise IntakeError(f"{source}: a zip whose names follow neither Canvas nor Moodle; pass --layout ({_names()})")


def _unwrapped(root: Path) -> Path:
    """The folder inside ``root`` when it holds nothing else and is a download unpacked one level deep.

    Some unzip tools put a Canvas or Moodle download in a folder of its own; read as today's folder
    layout, every file would land on one "student" named after it.
    """
    if not root.is_dir():
        return root
    inside = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if len(inside) == 1 and inside[0].is_dir() and not inside[0].is_symlink():
        if detect(inside[0]) in DOWNLOADS:
            return inside[0]
    return root


def gather(
    source: str | Path, layout: str | None = None, roster: Roster | None = None, options: Options | None = None
) -> Intake:
    """Every submission in ``source`` with its roster student; raises IntakeError when the source is unusable."""
    root = Path(source)
    if layout is None:
        root = _unwrapped(root)
    layout = layout or detect(root)
    chosen = next((s for s in SOURCES if s.name == layout), None)
    if chosen is None:
        raise IntakeError(f"unknown layout {layout!r}; choose one of {_names()}")
    found, skipped = chosen.find(root, options or Options())
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
