"""Moodle 4.x "Download all submissions" (``mod/assign``): the zip, or the folder it was unpacked into.

With "Download submissions in folders" (the default since 3.1) each student has a folder
``{Full Name}_{participant id}_assignsubmission_file/``; without it names are flat,
``{Full Name}_{participant id}_assignsubmission_file_{file name}``. Blind marking writes
``Participant`` for the name. The participant id is the assignment's own number for the student,
not the Moodle user id: the grading worksheet CSV (``Identifier`` = ``Participant {id}``) maps it
to a name and e-mail, which are then matched to the roster.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

from coursekit.intake.archive import Entry, source_entries
from coursekit.intake.base import Finding, Found, Options, not_notebook, outside, record
from coursekit.intake.identity import Claim
from coursekit.intake.submission import IntakeError, LayoutProblem

NAME = "moodle"
FOLDER = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)$")
FLAT = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$")
BLIND = "Participant"
EXPECTED = "Full Name_participantid_assignsubmission_file/ or ..._file_name.ipynb"
WORKSHEET_IDS = ("Username", "ID number")  # shown when the site lists them as identity fields
WORKSHEET_EMAIL = "Email address"
BLIND_HINT = "blind marking hides the student: pass Moodle's grading worksheet with --moodle-worksheet"


def read_worksheet(path: Path) -> dict[str, dict[str, str]]:
    """Participant id -> that row of Moodle's grading worksheet (Assignment > Download grading worksheet)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IntakeError(f"{path}: cannot read the grading worksheet ({exc}); download it again as CSV") from exc
    if not rows or "Identifier" not in rows[0]:
        raise IntakeError(
            f"{path}: no Identifier column; this is not Moodle's grading worksheet "
            "(Assignment > View all submissions > Download grading worksheet)"
        )
    people = {}
    for row in rows:
        match = re.search(r"(\d+)\s*$", row.get("Identifier") or "")
        if match:
            people[match.group(1)] = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    return people


def _claim(name: str, pid: str, worksheet: dict[str, dict[str, str]]) -> Claim:
    person = worksheet.get(pid)
    if person is not None:
        ids = tuple(person[c] for c in WORKSHEET_IDS if person.get(c))
        emails = (person[WORKSHEET_EMAIL],) if person.get(WORKSHEET_EMAIL) else ()
        return Claim(ids=ids, emails=emails, names=(person.get("Full name", ""),))
    if name == BLIND:
        return Claim(hint=BLIND_HINT)
    return Claim(names=(name,), hint="pass Moodle's grading worksheet with --moodle-worksheet to match by e-mail")


def parse(entry: Entry, worksheet: dict[str, dict[str, str]]) -> Found | LayoutProblem | None:
    parts = entry.parts
    match = FOLDER.match(parts[0]) if len(parts) > 1 else None
    match = match or FLAT.match(parts[0])
    if match is None:
        return None
    if match["plugin"] != "file":
        return not_notebook(entry, f"Moodle {match['plugin']} (typed into Moodle)")
    if not entry.is_notebook:
        return not_notebook(entry)
    name = match["name"].replace("_", " ").strip()
    return Found(record(entry, NAME, match["pid"]), _claim(name, match["pid"], worksheet))


class Moodle:
    """The Moodle download as an intake source (``base.Source``)."""

    name = NAME

    def detect(self, root: Path, names: Sequence[str]) -> bool:
        """Most top-level names are Moodle's student folders or files (a zip, or the folder it was unpacked into)."""
        hits = sum(1 for n in names if FOLDER.match(n) or FLAT.match(n))
        return bool(names) and hits * 2 > len(names)

    def find(self, root: Path, options: Options) -> Finding:
        worksheet = read_worksheet(options.moodle_worksheet) if options.moodle_worksheet else {}
        found: list[Found] = []
        problems: list[LayoutProblem] = []
        for item in source_entries(root):
            if isinstance(item, LayoutProblem):
                problems.append(item)
                continue
            one = parse(item, worksheet)
            if isinstance(one, Found):
                found.append(one)
            elif isinstance(one, LayoutProblem):
                problems.append(one)
            elif item.is_notebook:
                problems.append(outside(item, NAME, EXPECTED))
            else:
                problems.append(not_notebook(item))
        return found, problems
