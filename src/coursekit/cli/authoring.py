"""``coursekit schema`` and ``coursekit new-reading``, for the course author (work in ``coursekit.course``)."""

from __future__ import annotations

from pathlib import Path

import click

from coursekit.cli.output import fail, say
from coursekit.course.reading import ReadingError


@click.command()
@click.option("--out", default="schemas", show_default=True, type=click.Path(file_okay=False, path_type=Path))
def schema(out: Path) -> None:
    """Write a JSON Schema for each course file (the reading's YAML files, course.toml) into OUT, for editors."""
    from coursekit.course.schemas import write_schemas

    for path in write_schemas(out):
        say(f"wrote {path}")


@click.command("new-reading")
@click.argument("name")
@click.option("--title", help="The reading's title (the citation's; default: a placeholder to replace).")
@click.option("--into", default="readings", show_default=True, type=click.Path(file_okay=False, path_type=Path))
def new_reading(name: str, title: str | None, into: Path) -> None:
    """Start a reading in INTO/NAME: every file, with example content to replace, that builds as it is."""
    from coursekit.course.scaffold import new_reading as scaffold

    try:
        reading = scaffold(name, into, title)
    except ReadingError as exc:  # one problem a line, without the "invalid reading" heading
        fail("\n".join(str(problem) for problem in exc.problems))
    say(f"wrote {reading.path}/ ({len(reading.weeks)} week); next: coursekit build {reading.path} --out notebooks")


COMMANDS = [schema, new_reading]
