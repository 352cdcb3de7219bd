"""``coursekit build``, ``coursekit lab`` and ``coursekit release``: the student's notebooks, made and handed out."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from coursekit.api.options import ReleaseOptions
from coursekit.cli.options import open_course
from coursekit.cli.output import errors, fail, say
from coursekit.course.reading import load_reading


@click.command()
@click.argument("reading_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", default="notebooks", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--week", "weeks", type=int, multiple=True, help="Only this week (repeatable). Default: all.")
@click.option("--no-run", is_flag=True, help="Do not execute the notebooks (they are saved without outputs).")
def build(reading_dir: Path, out: Path, weeks: tuple[int, ...], no_run: bool) -> None:
    """Build the weekly student notebooks from a reading's data files into OUT."""
    from coursekit.notebook.build import build_review, build_week

    reading = load_reading(reading_dir)
    for week in weeks or [w.number for w in reading.weeks]:
        path = build_week(reading, week, out, run=not no_run)
        say(f"wrote {path}")
    if not weeks:
        say(f"wrote {build_review(out, run=not no_run)}")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--notebooks", default="notebooks", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def lab(ctx: click.Context, notebooks: Path) -> None:
    """Start JupyterLab on the course notebooks; extra options go to JupyterLab (e.g. --port 8890).

    Widget state is saved with each notebook and the news pop-up is off (coursekit.notebook.lab).
    This process becomes JupyterLab (exec), so Ctrl+C or SIGTERM stop it and its kernels.
    """
    from coursekit.cli.needs import require
    from coursekit.notebook.lab import default_settings_folder, lab_command, write_settings

    require("lab")
    if not notebooks.is_dir():
        fail(f"{notebooks}: no such folder; run this from the course folder or pass --notebooks")
    folder = default_settings_folder()
    try:
        write_settings(folder)
    except OSError as exc:
        fail(f"cannot write JupyterLab settings to {folder}: {exc} (set COURSEKIT_LAB_SETTINGS_DIR)")
    command = lab_command(notebooks, list(ctx.args), folder)
    sys.stdout.flush()
    sys.stderr.flush()
    if hasattr(os, "execv"):
        os.execv(command[0], command)
    import subprocess  # pragma: no cover - platforms without exec

    sys.exit(subprocess.call(command))


@click.command()
@click.option("--week", type=int, required=True, help="The week to release.")
@click.option("--out", default="release", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--notebooks", default="notebooks", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--feeds", default="feed", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--reading",
    "reading_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Reading folder (default: course.toml's, else the only one in ./readings).",
)
@click.option("--nbgrader-exchange", type=click.Path(path_type=Path), help="Also copy to EXCHANGE/COURSE/outbound/.")
@click.option("--course-id", help="With --nbgrader-exchange: nbgrader's course id.")
@click.option("--git-url", help="Print the nbgitpuller link for this git repository (the course folder, pushed).")
@click.option("--branch", default="main", show_default=True, help="With --git-url: the branch students pull.")
@click.option("--hub", help="With --git-url: the JupyterHub address, e.g. https://hub.example.edu.")
def release(reading_dir: Path | None, **options) -> None:
    """Release week N: a folder and a zip for the LMS, optionally nbgrader outbound/ and an nbgitpuller link.

    The folder holds the week's notebook, the previous week's published feed (feed/) and the reading,
    so the notebook shows the published feed as soon as a student opens it.
    """
    asked = ReleaseOptions(reading=reading_dir, **options)
    released = open_course().release(asked)
    say(f"wrote {released.folder}/ and {released.zip} (upload the zip as the assignment's file)")
    if released.outbound:
        say(f"wrote {released.outbound}")
    week, feeds = asked.week, asked.feeds
    if released.plan.feed is None and week > 1:
        say(
            f"note: no {feeds}/week{week - 1:02d}.json yet: the notebook shows the sample class until you "
            f"run 'coursekit publish --feed --week {week - 1}' and release again",
            to=errors,
        )
    if released.link:
        say(f"nbgitpuller link (opens {released.link_path}):")
        say(released.link)
        if released.plan.feed is not None:
            say(f"commit and push {released.plan.feed} to {asked.branch} before sharing the link", to=errors)


COMMANDS = [build, lab, release]
