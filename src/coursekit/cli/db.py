"""``coursekit db``: upgrade the log's schema, back it up, check it."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.text import Text

from coursekit.cli import output
from coursekit.cli.options import LOG_OPTION, open_course


@click.group()
def db() -> None:
    """Look after the discussion log: upgrade its schema, back it up, check it."""


@db.command()
@LOG_OPTION
def upgrade(db: str | None) -> None:
    """Bring a log made by an earlier coursekit to this one's schema (a SQLite log is backed up first)."""
    before, after, copy = open_course(db=db).upgrade_log()
    if before == after:
        output.console.print(f"the log is already at schema {after}: nothing to do")
        return
    if copy:
        output.console.print(f"backed up the log to {copy}", soft_wrap=True)
    output.console.print(f"upgraded the log from schema {before} to {after}")


@db.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@LOG_OPTION
def backup(path: Path, db: str | None) -> None:
    """Copy a SQLite log to PATH while others may be using it (PostgreSQL: use pg_dump)."""
    shown, copy = open_course(db=db).backup_log(path)
    output.console.print(f"backed up {shown} to {copy}", soft_wrap=True)


@db.command()
@LOG_OPTION
def check(db: str | None) -> None:
    """Check the log: storage, rows pointing nowhere, versions out of step, current rows vs history."""
    checked = open_course(db=db).check_log()
    for problem in checked.problems:
        output.console.print(Text(f"problem: {problem}", style="bold red"), soft_wrap=True)
    if checked.problems:
        output.errors.print(f"{len(checked.problems)} problem(s) in {checked.shown}")
        sys.exit(1)
    output.console.print(f"{checked.shown}: sound (schema {checked.schema})", soft_wrap=True)


COMMANDS = [db]
