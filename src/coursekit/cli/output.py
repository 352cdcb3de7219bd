"""What the command line prints, and how: user-supplied text escaped, errors in one shape."""

from __future__ import annotations

import re
from typing import NoReturn

from rich.console import Console
from rich.text import Text

from coursekit.course.problems import CoursekitError
from coursekit.log.results import Status

STATUS_STYLE = {
    Status.COLLECTED: "green",
    Status.UPDATED: "cyan",
    Status.UNCHANGED: "dim",
    Status.DUPLICATE: "yellow",
    Status.FAILED: "bold red",
    Status.UNMATCHED: "bold magenta",
    Status.SKIPPED: "dim",
    "problem": "red",  # the dry run's (``intake.table``) own status
}

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

# C0 and C1 controls (newline, ESC, OSC...), bidirectional overrides, and surrogates (non-UTF-8 file names).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: object) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``): a name cannot forge a line or drive the terminal.

    Every piece of user-supplied text the command line prints goes through here.
    """
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def say(text: object, style: str = "", to: Console = console) -> None:
    """Print one line with its user-supplied parts escaped and no Rich markup read from them."""
    to.print(Text(printable(text), style=style), soft_wrap=True)


def tell(text: str) -> None:
    """What an operation says on the way (``Course``'s notify): to standard error, warnings in yellow."""
    say(text, "yellow" if text.startswith("warning:") else "", errors)


def append(line: Text, text: object, style: str = "") -> None:
    line.append(printable(text), style=style)


class CommandError(CoursekitError):
    """Options the command line itself refuses; printed and exited with like every CoursekitError."""


def fail(message: str, code: int = 2) -> NoReturn:
    """Stop the command: ``error: message`` on standard error, exit ``code`` (see ``coursekit.cli.Commands``)."""
    raise CommandError(message, exit_code=code)


def show_error(exc: CoursekitError) -> NoReturn:
    """The one way a command ends on an error meant for a person."""
    import sys

    problems = getattr(exc, "problems", None)  # a reading's or course.toml's problems: one line each
    if problems:
        say(f"error: {str(exc).splitlines()[0]}", "red", errors)
        for problem in problems:
            say(f"  {problem}", "red", errors)
    else:
        say(f"error: {exc}", "red", errors)
    sys.exit(exc.exit_code)
