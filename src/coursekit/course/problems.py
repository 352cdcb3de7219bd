"""What goes wrong, said one way everywhere: a Problem (reason, hint, where) and the lookup error.

A course author's typo, a broken submission and a failed notebook run are all told to a person who
has to fix something, so they share one shape: what is wrong, what to do, and where (a file and a
field or cell, when known). Lookups by id in the course data raise one error, ``UnknownItem``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing to fix: ``reason`` (what is wrong), ``hint`` (what to do), and where, when known."""

    reason: str
    hint: str = ""
    file: str = ""
    field: str = ""  # a field path ("items[2].options") or a cell

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        text = f"{where}: {self.reason}" if where else self.reason
        return f"{text} ({self.hint})" if self.hint else text


class UnknownItem(LookupError):
    """A week, prompt, quiz item, sorter, case, stance or glossary term that the course data does not have.

    Every lookup by id (``Reading.week``, ``.prompt``, ``.sorter``, ``.stance``, ``.terms``,
    ``Sorter.case``, ``Settings.week``) raises this, never StopIteration or a bare KeyError.
    """

    def __init__(self, kind: str, key: object, where: str):
        self.kind, self.key, self.where = kind, key, where
        super().__init__(f"{where} has no {kind} {key!r}")

    def __str__(self) -> str:
        return str(self.args[0])
