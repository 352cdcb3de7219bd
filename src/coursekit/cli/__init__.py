"""The ``coursekit`` command line: argument parsing and printing only; ``coursekit.api.Course`` does the work.

One module per workflow registers its commands on ``main``: ``authoring`` (schema, new-reading),
``intake`` (intake, collect), ``discussion`` (publish, export), ``grading`` (grades, feedback,
report), ``notebooks`` (build, lab, release), ``validate``, ``db`` and ``moderation`` (moderate,
erase). ``output`` prints, ``options`` holds the options commands share, and ``needs`` says what a
command needs installed. Every ``CoursekitError`` ends here, once, in ``Commands``.
"""

from __future__ import annotations

import click

from coursekit.api import DEFAULT_DB
from coursekit.cli.output import printable, say, show_error
from coursekit.course.problems import CoursekitError

__all__ = ["DEFAULT_DB", "main", "printable", "say"]


class Commands(click.Group):
    """Every command: an error meant for a person ends with its message and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CoursekitError as exc:
            show_error(exc)


@click.group(cls=Commands)
@click.version_option(package_name="coursekit")
def main() -> None:
    """coursekit: reading notebooks, reflections and the class discussion log."""


from coursekit.cli import authoring, db, discussion, grading, intake, moderation, notebooks, validate  # noqa: E402

for workflow in (authoring, intake, discussion, notebooks, validate, grading, db, moderation):
    for command in workflow.COMMANDS:
        main.add_command(command)
