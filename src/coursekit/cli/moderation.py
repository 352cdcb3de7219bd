"""``coursekit moderate`` and ``coursekit erase``: argument parsing and printing only.

The work is in ``coursekit.log.moderation`` and ``coursekit.log.erase``, reached through ``Course``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from coursekit.api.options import EraseOptions
from coursekit.cli.options import BY_OPTION, DB_OPTION, SETTINGS_OPTION, open_course
from coursekit.cli.output import errors, fail, say
from coursekit.log import erase as erasing
from coursekit.log import moderation
from coursekit.log.export import write_csv

BACKUP_WARNING = (
    "warning: erasing cannot be undone. Back the log up first: 'coursekit db backup FILE' (SQLite) or "
    "pg_dump (PostgreSQL). Files written before (site, feed, exports, collect reports, backups) still hold "
    "the student's work until you publish again or delete them."
)


@click.group()
def moderate() -> None:
    """Hide, restore or withdraw a post; the audit trail of every action (coursekit moderate log)."""


def _act(action, post_id: str, by: str | None, settings_path: Path | None, db: str | None, **values) -> None:
    course = open_course(settings_path, db)
    state = course.moderate(action, post_id, actor=course.actor(by), **values)
    say(f"{post_id.strip()} is now {state}: the site and feeds change when you publish them again")


@moderate.command()
@click.argument("post_id")
@click.option("--reason", required=True, help="Why it is hidden (kept in the audit trail).")
@BY_OPTION
@SETTINGS_OPTION
@DB_OPTION
def hide(post_id: str, reason: str, by: str | None, settings_path: Path | None, db: str | None) -> None:
    """Hide a post or reply (and the replies under it) from the site, the feed and "Replies to you"."""
    _act(moderation.hide, post_id, by, settings_path, db, reason=reason)


@moderate.command()
@click.argument("post_id")
@click.option("--reason", default="", help="Why it is shown again (optional).")
@BY_OPTION
@SETTINGS_OPTION
@DB_OPTION
def restore(post_id: str, reason: str, by: str | None, settings_path: Path | None, db: str | None) -> None:
    """Show a hidden or withdrawn post again."""
    _act(moderation.restore, post_id, by, settings_path, db, reason=reason)


@moderate.command()
@click.argument("post_id")
@click.option("--requested-by", required=True, help="Who asked for the withdrawal (usually the student).")
@click.option("--reason", default="the author asked to withdraw it", show_default=True)
@BY_OPTION
@SETTINGS_OPTION
@DB_OPTION
def withdraw(
    post_id: str, requested_by: str, reason: str, by: str | None, settings_path: Path | None, db: str | None
) -> None:
    """Record a withdrawal someone asked for: hidden until the student writes a later version."""
    _act(moderation.withdraw, post_id, by, settings_path, db, requested_by=requested_by, reason=reason)


@moderate.command("log")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="CSV file (default: standard output).")
@SETTINGS_OPTION
@DB_OPTION
def audit_log(out: Path | None, settings_path: Path | None, db: str | None) -> None:
    """The audit trail as CSV: every hide, restore, withdrawal and erasure, with who, when and why."""
    frame = open_course(settings_path, db).audit()
    write_csv(frame, out or sys.stdout)
    if out:
        say(f"wrote {len(frame)} action(s) to {out}", to=errors)


def interactive() -> bool:
    """Whether someone at a terminal can answer a question."""
    return sys.stdin.isatty()


def _confirmed(question: str, yes: bool) -> bool:
    """--yes, or an answer typed at a terminal; never a guess when nobody is there to ask."""
    if yes:
        return True
    if not interactive():
        fail("not a terminal, so nobody can confirm: add --yes to erase without being asked")
    return click.confirm(question, default=False)


@click.command()
@click.option("--student", "students", multiple=True, help="The student to erase (repeatable), as the log stores them.")
@click.option("--term-ended", is_flag=True, help="Erase every student whose last submission is older than DAYS.")
@click.option("--older-than", type=click.IntRange(min=0), help="With --term-ended: days since the last submission.")
@click.option("--apply", is_flag=True, help="With --term-ended: erase (without it, only say what would be erased).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@BY_OPTION
@SETTINGS_OPTION
@DB_OPTION
def erase(
    students: tuple[str, ...],
    term_ended: bool,
    older_than: int | None,
    apply: bool,
    yes: bool,
    by: str | None,
    settings_path: Path | None,
    db: str | None,
) -> None:
    """Remove students' reflections, versions, replies, likes, images, reviews and file records from the log.

    Replies others wrote to them are kept, under "a post by a former student, removed". With
    --term-ended the whole class is considered, and nothing changes without --apply.
    """
    asked = EraseOptions(students, term_ended, older_than, apply)
    course = open_course(settings_path, db)
    course.open_log()  # no log is said before anything else
    if term_ended:
        assert older_than is not None
        students = tuple(course.expired(older_than))
        if not students:
            say(f"no student's last submission is older than {older_than} day(s): nothing to erase")
            return
        why = f"retention: no submission in the last {older_than} day(s)"
    else:
        why = "erased on request"
    say(BACKUP_WARNING, "yellow", errors)
    plan = course.erase(students, course.actor(by), why, apply=False)
    _report(plan)
    if asked.term_ended and not asked.apply:
        say("dry run: nothing changed. Add --apply to erase them.")
        return
    if not _confirmed(f"Erase {len(plan.students)} student(s) for good?", yes):
        fail("nothing erased", code=1)
    _report(course.erase(students, course.actor(by), why))
    say("run 'coursekit db check', then publish the site and feeds again to remove them from the files")


def _report(erasure: erasing.Erasure) -> None:
    verb = "erased" if erasure.applied else "would erase"
    say(f"{verb} {len(erasure.students)} student(s): {', '.join(erasure.students)}")
    for table, count in erasure.counts.items():
        if count:
            say(f"  {table}: {count} row(s)")
    say(f"  {erasure.total} row(s) in all")
    if erasure.placeholders:
        say(f"  {erasure.placeholders} post(s) that others answered kept as 'a post by a former student, removed'")


COMMANDS = [moderate, erase]
