"""nbgrader: the exchange's ``inbound/`` folder, or a course's ``submitted/`` folder.

Exchange: ``inbound/{student}+{assignment}+{timestamp}+{random}/`` with the notebooks and a
``timestamp.txt``; a student who submitted several times has several folders, and the newest is
kept (with ``deadline_only``, the newest before the week's deadline, as ``nbgrader collect
--before-duedate`` does; when none was before it, the newest). Course folder:
``submitted/{student}/{assignment}/{notebook}.ipynb`` with ``timestamp.txt`` beside it.
The time in ``timestamp.txt`` is the submission time.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from coursekit.intake.archive import Entry, read_member, source_entries
from coursekit.intake.base import Finding, Found, Options, not_notebook, outside, record
from coursekit.intake.identity import Claim
from coursekit.intake.submission import LayoutProblem

EXCHANGE = "nbgrader-exchange"
SUBMITTED = "nbgrader-submitted"
TIMESTAMP_FILE = "timestamp.txt"
_TIME = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?)\s*(\S*)\s*$")
_WEEK = re.compile(r"week[ _-]?0*(\d+)", re.IGNORECASE)


def parse_timestamp(text: str) -> datetime | None:
    """nbgrader's timestamp ("2026-09-11 22:10:03.123456 UTC"), as naive UTC; None when unreadable."""
    match = _TIME.match(text.strip())
    if match is None:
        return None
    stamp, zone = match.groups()
    try:
        when = datetime.fromisoformat(stamp.replace(" ", "T"))
        if zone in ("", "UTC", "Z", "GMT"):
            return when
        if re.fullmatch(r"[+-]\d\d:?\d\d", zone):
            when = datetime.fromisoformat(stamp.replace(" ", "T") + zone[:3] + ":" + zone[-2:])
        else:
            when = when.replace(tzinfo=zoneinfo.ZoneInfo(zone))
        return when.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None


def assignment_week(assignment: str) -> int | None:
    match = _WEEK.search(assignment)
    return int(match.group(1)) if match else None


def _read_small(entry: Entry) -> str:
    try:
        data = read_member(entry.path, entry.member) if entry.member else entry.path.read_bytes()[:1000]
    except OSError:
        return ""
    return data[:1000].decode("utf-8", "replace")


@dataclass
class _Submission:
    """One nbgrader submission folder: who, which assignment, when, and its files."""

    student: str
    assignment: str
    folder: str
    when: datetime | None = None
    notebooks: list[Entry] = field(default_factory=list)
    others: list[Entry] = field(default_factory=list)


def _exchange_key(parts: tuple[str, ...]) -> tuple[str, str, str] | None:
    pieces = parts[0].split("+")
    if len(parts) < 2 or len(pieces) < 4:
        return None
    return pieces[0], pieces[1], "+".join(pieces[2:-1])


def _inbound(root: Path) -> Path:
    return root / "inbound" if (root / "inbound").is_dir() else root


def _submitted(root: Path) -> Path:
    return root / "submitted" if (root / "submitted").is_dir() else root


def _group(entries: list[Entry | LayoutProblem], exchange: bool) -> tuple[list[_Submission], list[LayoutProblem]]:
    groups: dict[str, _Submission] = {}
    problems: list[LayoutProblem] = []
    layout, expected = (
        (EXCHANGE, "student+assignment+timestamp+random/notebook.ipynb")
        if exchange
        else (SUBMITTED, "student/assignment/notebook.ipynb")
    )
    for item in entries:
        if isinstance(item, LayoutProblem):
            problems.append(item)
            continue
        parts = item.parts
        if exchange:
            key = _exchange_key(parts)
            if key is None:
                problems.append(outside(item, layout, expected) if item.is_notebook else not_notebook(item))
                continue
            student, assignment, stamp = key
            folder = parts[0]
        else:
            if len(parts) < 3:
                problems.append(outside(item, layout, expected) if item.is_notebook else not_notebook(item))
                continue
            student, assignment, stamp = parts[0], parts[1], ""
            folder = f"{student}/{assignment}"
        group = groups.setdefault(folder, _Submission(student, assignment, folder, parse_timestamp(stamp)))
        if parts[-1] == TIMESTAMP_FILE and len(parts) == (2 if exchange else 3):
            group.when = parse_timestamp(_read_small(item)) or group.when
        elif item.is_notebook:
            group.notebooks.append(item)
        else:
            group.others.append(item)
    return list(groups.values()), problems


def _chosen(subs: list[_Submission], options: Options) -> tuple[list[_Submission], list[_Submission]]:
    """The submission kept per student and assignment, and the earlier ones set aside."""
    by_key: dict[tuple[str, str], list[_Submission]] = {}
    for sub in subs:
        by_key.setdefault((sub.student, sub.assignment), []).append(sub)
    kept, older = [], []
    for group in by_key.values():
        group.sort(key=lambda s: (s.when or datetime.min, s.folder))
        pick = group[-1]
        deadline = options.deadline(assignment_week(pick.assignment)) if options.deadline_only else None
        if deadline is not None:
            before = [s for s in group if s.when is not None and s.when <= deadline]
            pick = before[-1] if before else pick
        kept.append(pick)
        older += [s for s in group if s is not pick]
    return kept, older


def _find(root: Path, options: Options, exchange: bool) -> Finding:
    source = EXCHANGE if exchange else SUBMITTED
    base = _inbound(root) if exchange else _submitted(root)
    subs, problems = _group(source_entries(base), exchange)
    kept, older = _chosen(subs, options)
    found = []
    for sub in kept:
        if not sub.notebooks:
            problems.append(
                LayoutProblem(base / sub.folder, "submission holds no notebook", "ask the student to submit again")
            )
        for entry in sub.notebooks:
            file = record(entry, source, sub.student, at=sub.when)
            found.append(Found(file, Claim(ids=(sub.student,))))
        problems += [not_notebook(e) for e in sub.others]
    for sub in older:
        problems.append(
            LayoutProblem(
                base / sub.folder,
                f"an earlier nbgrader submission of {sub.assignment} ({sub.when}); another one was kept",
                "nothing to do" if not options.deadline_only else "nothing to do: --deadline-only chose another",
                serious=False,
            )
        )
    return found, problems


class Exchange:
    """The exchange's ``inbound/`` folder as an intake source (``base.Source``)."""

    name = EXCHANGE

    def detect(self, root: Path, names: Sequence[str]) -> bool:
        """``inbound/`` itself, a folder holding it, or a folder of ``student+assignment+timestamp+random``."""
        if not root.is_dir():
            return False
        if root.name == "inbound" or (root / "inbound").is_dir():
            return True
        return bool(names) and all(n.count("+") >= 3 for n in names)

    def find(self, root: Path, options: Options) -> Finding:
        return _find(root, options, exchange=True)


class Submitted:
    """A course's ``submitted/`` folder as an intake source (``base.Source``)."""

    name = SUBMITTED

    def detect(self, root: Path, names: Sequence[str]) -> bool:
        """``submitted/`` itself, or the course folder holding it."""
        return root.is_dir() and (root.name == "submitted" or (root / "submitted").is_dir())

    def find(self, root: Path, options: Options) -> Finding:
        return _find(root, options, exchange=False)
