"""``coursekit db``: upgrade the log's schema, back it up, check it."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.text import Text

from coursekit.cli import output
from coursekit.cli.options import LOG_OPTION, open_course
from coursekit.cli.output import fail


def _log_target(db: str | None) -> str:
    """--db, else the database in course.toml (found from the cwd), else the default file."""
    return open_course(db=db).database


@click.group()
def db() -> None:
    """Look after the discussion log: upgrade its schema, back it up, check it."""


@db.command()
@LOG_OPTION
def upgrade(db: str | None) -> None:
    """Bring a log made by an earlier coursekit to this one's schema (a SQLite log is backed up first)."""
    from coursekit.log import schema

    before, after, copy = schema.upgrade(_log_target(db))
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
    from coursekit.log import schema

    engine = schema.make_engine(_log_target(db))
    if schema.sqlite_path(engine) is not None and not Path(str(engine.url.database)).is_file():
        fail(f"no discussion log at {engine.url.database}: nothing to back up")
    output.console.print(f"backed up {schema.shown(engine)} to {schema.backup(engine, path)}", soft_wrap=True)


@db.command()
@LOG_OPTION
def check(db: str | None) -> None:
    """Check the log: storage, rows pointing nowhere, versions out of step, current rows vs history."""
    from coursekit.log import schema
    from coursekit.log.check import check_log

    target = _log_target(db)
    engine = schema.make_engine(target)
    if schema.sqlite_path(engine) is not None and not Path(str(engine.url.database)).is_file():
        fail(f"no discussion log at {engine.url.database}: run 'coursekit collect' first")
    problems = check_log(engine)
    for problem in problems:
        output.console.print(Text(f"problem: {problem}", style="bold red"), soft_wrap=True)
    if problems:
        output.errors.print(f"{len(problems)} problem(s) in {schema.shown(engine)}")
        sys.exit(1)
    output.console.print(f"{schema.shown(engine)}: sound (schema {schema.head()})", soft_wrap=True)


COMMANDS = [db]
