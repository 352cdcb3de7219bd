"""The options several commands share, and the option objects they build from them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from coursekit.api import DEFAULT_DB, Course
from coursekit.api.options import SourceOptions
from coursekit.cli.output import tell
from coursekit.intake.sources import LAYOUTS

SETTINGS_OPTION: Callable[[Any], Any] = click.option(
    "--settings", "settings_path", type=click.Path(path_type=Path), help="course.toml (default: found from the cwd)."
)
DB_OPTION: Callable[[Any], Any] = click.option(
    "--db", help="SQLite file or PostgreSQL URL of the log (default: the database in course.toml, else class.db)."
)
LOG_OPTION = click.option("--db", help=f"SQLite file or database URL (default: course.toml's, else {DEFAULT_DB}).")
BY_OPTION = click.option(
    "--by", help="Who is doing it, for the audit trail (default: who the review desk saves reviews as)."
)


def open_course(settings_path: Path | None = None, db: str | None = None) -> Course:
    """The course every command works on, telling the person at the terminal what it says on the way."""
    return Course.open(settings_path, db, notify=tell)


def source_options(command):
    """The options every command reading submissions takes: where they are and how to match them."""
    options = [
        click.argument("source", required=False, type=click.Path(path_type=Path)),
        click.option("--layout", type=click.Choice(LAYOUTS), help="Override the detected layout of SOURCE."),
        click.option(
            "--homes", type=click.Path(file_okay=False, path_type=Path), help="JupyterHub homes (e.g. /home)."
        ),
        click.option("--pattern", default="week*.ipynb", show_default=True, help="With --homes: notebooks in a home."),
        click.option("--roster", type=click.Path(path_type=Path), help="Roster CSV (default: [roster] file)."),
        click.option("--moodle-worksheet", type=click.Path(path_type=Path), help="Moodle grading worksheet CSV."),
        click.option("--deadline-only", is_flag=True, help="nbgrader exchange: newest submission before the deadline."),
        click.option("--settings", "settings_path", type=click.Path(path_type=Path), help="course.toml to use."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def source_of(settings_path: Path | None = None, **source) -> tuple[SourceOptions, Path | None]:
    """The ``source_options`` a command was given, as SourceOptions and the course.toml to use."""
    return SourceOptions(**source), settings_path
