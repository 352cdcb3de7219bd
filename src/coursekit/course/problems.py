"""What goes wrong, said one way everywhere: a Problem (reason, hint, where) and the lookup error.

A course author's typo, a broken submission and a failed notebook run are all told to a person who
has to fix something, so they share one shape: what is wrong, what to do, and where (a file and a
field or cell, when known). Lookups by id in the course data raise one error, ``UnknownItem``.
Every error meant for a person derives from ``CoursekitError``, so the command line (and a script)
catches one class and shows its message.
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


class CoursekitError(Exception):
    """An error whose message is for a person: what went wrong and what to do, nothing to debug.

    Each error class keeps its second base (ValueError, OSError, LookupError) for callers that catch
    that. ``exit_code`` is what the command line exits with after printing the message: 2, like a
    usage error, for input it cannot use; 1 for a run that did its work but found something wrong.
    """

    exit_code = 2

    def __init__(self, *args: object, exit_code: int | None = None):
        super().__init__(*args)
        if exit_code is not None:
            self.exit_code = exit_code


class UnknownItem(CoursekitError, LookupError):
    """A week, prompt, quiz item, sorter, case, stance or glossary term that the course data does not have.

    Every lookup by id (``Reading.week``, ``.prompt``, ``.sorter``, ``.stance``, ``.terms``,
    ``Sorter.case``, ``Settings.week``) raises this, never StopIteration or a bare KeyError.
    """

    def __init__(self, kind: str, key: object, where: str):
        self.kind, self.key, self.where = kind, key, where
        super().__init__(f"{where} has no {kind} {key!r}")

    def __str__(self) -> str:
        return str(self.args[0])
