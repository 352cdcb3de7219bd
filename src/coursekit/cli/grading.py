"""``coursekit grades``, ``coursekit feedback`` and ``coursekit report``: the instructor's term, written out."""

from __future__ import annotations

from pathlib import Path

import click

from coursekit.api.options import GradesOptions
from coursekit.cli.options import DB_OPTION, SETTINGS_OPTION, open_course
from coursekit.cli.output import errors, say


@click.command()
@click.option(
    "--roster", type=click.Path(path_type=Path), help="Canvas roster CSV (default: roster.file in course.toml)."
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("grades.csv"), show_default=True)
@click.option(
    "--plain", type=click.Path(dir_okay=False, path_type=Path), help="Also write a per-student, per-week CSV."
)
@click.option("--allow-unreviewed", is_flag=True, help="Write the file although some reflections are not scored yet.")
@click.option(
    "--score-partial-weeks",
    is_flag=True,
    help="With --allow-unreviewed: write a partly scored week's points so far instead of leaving it blank.",
)
@SETTINGS_OPTION
@DB_OPTION
def grades(
    roster: Path | None,
    out: Path,
    plain: Path | None,
    allow_unreviewed: bool,
    score_partial_weeks: bool,
    settings_path: Path | None,
    db: str | None,
) -> None:
    """Write a Canvas gradebook import file from rubric scores and participation rules.

    Refuses while reflections are unreviewed (--allow-unreviewed to write anyway); a week with
    nothing scored is blank, never 0, and so is a partly scored week (a number in a Canvas column
    reads as final) unless --score-partial-weeks; the output names the weeks left blank.
    """
    options = GradesOptions(out, roster, plain, allow_unreviewed, score_partial_weeks)
    course = open_course(settings_path, db)
    written = course.grades(options)
    say(f"wrote {out}: {written.students} students × {written.weeks} weeks (Canvas: Grades > Import)")
    if plain:
        say(f"wrote {plain}")
    if written.not_on_roster:
        column = course.required_settings().student_column
        say(f"not on the roster, so not in {out}: {', '.join(written.not_on_roster)} (check {column})", to=errors)
    if written.waiting:
        say(f"{written.waiting} reflection(s) not scored yet:", to=errors)
        done = "written with the points so far" if score_partial_weeks else "blank (--score-partial-weeks writes them)"
        for left in written.left:
            if left.unscored:
                say(f"  week {left.week}: {left.unscored} notebook(s) with nothing scored yet, blank", to=errors)
            if left.partly:
                who = ", ".join(f"{student} ({scored} of {prompts})" for student, scored, prompts in left.partly)
                say(f"  week {left.week}: {len(left.partly)} partly scored, {done}: {who}", to=errors)


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("feedback"), show_default=True)
@SETTINGS_OPTION
@DB_OPTION
def feedback(out: Path, settings_path: Path | None, db: str | None) -> None:
    """Write one HTML feedback page per student, named by a per-student secret; index.csv lists them."""
    index = open_course(settings_path, db).feedback(out)
    say(f"wrote feedback pages to {out}; {index} says which file is whose (keep it private)")


@click.command("report")
@SETTINGS_OPTION
@DB_OPTION
@click.option(
    "--out",
    default="report",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for index.html and its PNG plots.",
)
def participation_report(settings_path: Path | None, db: str | None, out: Path) -> None:
    """Write a participation report (OUT/index.html and plots) for instructors: it shows real names."""
    say(f"wrote {open_course(settings_path, db).report(out)}")


COMMANDS = [grades, feedback, participation_report]
