"""Read the class roster: a Canvas gradebook export (or any CSV with the same columns)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from coursekit.course.problems import CoursekitError

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


class RosterError(CoursekitError, ValueError):
    """A roster that cannot be used, with the file and what to do."""


def read_roster(path: str | Path, student_column: str = "SIS Login ID") -> pd.DataFrame:
    """The roster as text columns, one row per student, with ``student`` = the submission folder name.

    Canvas exports carry a "Points Possible" row and sometimes a "Test Student"; both are dropped.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise RosterError(f"{path}: no such roster file; export it from Canvas (Grades > Export)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise RosterError(f"{path}: not a readable CSV ({exc.__class__.__name__}); save it as CSV, UTF-8") from exc
    frame.columns = [c.strip() for c in frame.columns]
    needed = dict.fromkeys([*CANVAS_COLUMNS, student_column])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RosterError(f"{path}: missing column(s) {', '.join(missing)}; a Canvas gradebook export has them all")
    frame = frame[~frame["Student"].str.strip().isin(["Points Possible", "Test Student", "Student, Test"])]
    frame = frame[frame[student_column].str.strip() != ""].copy()
    frame["student"] = frame[student_column].str.strip()
    duplicated = frame[frame["student"].duplicated()]["student"].tolist()
    if duplicated:
        raise RosterError(f"{path}: {student_column} {duplicated[0]!r} appears twice; each student needs one row")
    return frame.reset_index(drop=True)
