"""Canvas "Download Submissions": the zip, or the folder it was unpacked into.

File names follow canvas-lms ``lib/content_zipper.rb``:
``{sortable name squeezed}[_LATE]_{user id}_{attachment id}_{file name}``; with anonymous grading
``[LATE_]anon_{anonymous id}_{attachment id}_{file name}``; text and link entries
``{prefix}_text.html`` / ``_link.html``. ``LATE`` is Canvas's own late flag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from coursekit.intake.archive import Entry, source_entries
from coursekit.intake.base import Finding, Found, Options, not_notebook, outside, record
from coursekit.intake.identity import Claim
from coursekit.intake.submission import LayoutProblem

NAME = "canvas"
ANONYMOUS = re.compile(r"^(?:(?P<late>LATE)_)?anon_(?P<anon>[^_]+)_(?P<att>\d+)_(?P<file>.+)$")
NAMED = re.compile(r"^(?P<name>.+?)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?P<att>\d+)_(?P<file>.+)$")
TEXT = re.compile(r"^.+_(?:text|link)\.html$")
EXPECTED = "name_[LATE_]userid_attachmentid_file.ipynb"
ANONYMOUS_HINT = "anonymous grading hides the student: grade it in Canvas, or turn anonymity off and download again"


def parse(entry: Entry) -> Found | None:
    """Who sent a file, from its top-level name (the rest is inside a zip the student uploaded)."""
    top = entry.parts[0]
    if match := ANONYMOUS.match(top):
        anon = f"anon_{match['anon']}"
        claim = Claim(hint=ANONYMOUS_HINT)
        return Found(record(entry, NAME, anon, late=bool(match["late"])), claim)
    if match := NAMED.match(top):
        claim = Claim(ids=(match["uid"],), id_columns=("ID",), squeezed=match["name"])
        return Found(record(entry, NAME, match["uid"], late=bool(match["late"])), claim)
    return None


class Canvas:
    """The Canvas download as an intake source (``base.Source``)."""

    name = NAME

    def detect(self, root: Path, names: Sequence[str]) -> bool:
        """Most top-level names parse as Canvas submission files (a zip, or the folder it was unpacked into)."""
        hits = sum(1 for n in names if ANONYMOUS.match(n) or NAMED.match(n) or TEXT.match(n))
        return bool(names) and hits * 2 > len(names)

    def find(self, root: Path, options: Options) -> Finding:
        found: list[Found] = []
        problems: list[LayoutProblem] = []
        for item in source_entries(root):
            if isinstance(item, LayoutProblem):
                problems.append(item)
            elif TEXT.match(item.parts[0]):
                problems.append(not_notebook(item, "a text or link entry typed into Canvas"))
            elif not item.is_notebook:
                problems.append(not_notebook(item))
            elif (one := parse(item)) is not None:
                found.append(one)
            else:
                problems.append(outside(item, NAME, EXPECTED))
        return found, problems
