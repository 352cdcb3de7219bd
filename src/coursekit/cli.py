"""The ``coursekit`` command line: argument parsing and printing only; the work is done elsewhere."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from coursekit.course.reading import ReadingError, Readings, load_reading
from coursekit.intake.sources import LAYOUTS
from coursekit.intake.submission import IntakeError
from coursekit.log import collect as collecting
from coursekit.log.export import thread_table, to_markdown, write_csv
from coursekit.log.frames import DiscussionLog, open_log
from coursekit.log.results import STATUSES, FileResult, Status, default_report_path, write_report
from coursekit.log.schema import LogError
from coursekit.validation.runner import DEFAULT_MEMORY

DEFAULT_DB = "class.db"  # the same default as course.toml's [course] database
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


def _append(line: Text, text: object, style: str = "") -> None:
    line.append(printable(text), style=style)


def _fail(message: str, code: int = 2) -> NoReturn:
    say(f"error: {message}", "red", errors)
    sys.exit(code)


class _Commands(click.Group):
    """Every command: a log that cannot be used as it is (too old, too new) ends with its message."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LogError as exc:
            _fail(str(exc))


# What a command runs in another process (so no import here would notice it missing), and how to get it.
NEEDS = {
    "lab": (("jupyterlab",), "pip install 'coursekit[lab]'"),
    "validate": (("pytest", "nbval", "ipykernel"), "pip install --force-reinstall coursekit"),
    "validate --scheduler/--cluster": (("dask", "distributed"), "pip install 'coursekit[cluster]'"),
}


def _require(command: str) -> None:
    """Stop with what to install when a command's tools are missing from this Python environment."""
    import importlib.util

    modules, install = NEEDS[command]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        _fail(f"coursekit {command} needs {', '.join(missing)}, not installed in {sys.prefix}: {install}")


# Annotated: cli_moderation imports them while this module is still loading (mypy cannot infer them then).
SETTINGS_OPTION: Callable[[Any], Any] = click.option(
    "--settings", "settings_path", type=click.Path(path_type=Path), help="course.toml (default: found from the cwd)."
)
DB_OPTION: Callable[[Any], Any] = click.option(
    "--db", help="SQLite file or PostgreSQL URL of the log (default: the database in course.toml, else class.db)."
)


def _settings(settings_path: Path | None):
    """The course settings: --settings, else course.toml in the working folder or above it (or None)."""
    from coursekit.course.settings import SettingsError, find_settings, load_settings

    try:
        return load_settings(settings_path) if settings_path else find_settings()
    except SettingsError as exc:
        _fail(str(exc))


def _database(settings_path: Path | None, db: str | None) -> str:
    """The log every command uses: --db, else course.toml's database, else class.db here."""
    if db:
        return db
    settings = _settings(settings_path)
    return settings.database if settings else DEFAULT_DB


def _open(settings_path: Path | None, db: str | None) -> DiscussionLog:
    """The existing log (see ``_database``); a clear error, and no new empty log, when there is none."""
    target = _database(settings_path, db)
    try:
        return open_log(target)
    except FileNotFoundError as exc:
        _fail(str(exc))


@click.group(cls=_Commands)
@click.version_option(package_name="coursekit")
def main() -> None:
    """coursekit: reading notebooks, reflections and the class discussion log."""


def _source_options(command):
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


def _gather(
    source: Path | None,
    layout: str | None,
    homes: Path | None,
    pattern: str,
    roster: Path | None,
    moodle_worksheet: Path | None,
    deadline_only: bool,
    settings_path: Path | None,
):
    """The source's intake (files matched to the roster) and the options used; exits 2 on an unusable source."""
    from coursekit.course.roster import RosterError, read_roster
    from coursekit.course.settings import SettingsError, find_settings, load_settings
    from coursekit.intake.base import Options
    from coursekit.intake.identity import Roster
    from coursekit.intake.sources import gather

    if homes is not None:
        source, layout = homes, layout or "homes"
    if source is None:
        _fail("give the submissions: a folder, a Canvas or Moodle zip, an nbgrader exchange, or --homes /home")
    try:
        settings = load_settings(settings_path) if settings_path else find_settings()
    except SettingsError as exc:
        _fail(str(exc))
    roster_file = roster or (settings.roster if settings else None)
    if roster is None and roster_file is not None and not roster_file.exists():
        say(f"warning: {roster_file} (course.toml [roster] file) does not exist: no roster match", "yellow", errors)
        roster_file = None
    people = None
    if roster_file is not None:
        try:
            people = Roster.from_frame(
                read_roster(roster_file, settings.student_column if settings else "SIS Login ID")
            )
        except RosterError as exc:
            _fail(str(exc))
    options = Options(
        pattern=pattern,
        moodle_worksheet=moodle_worksheet,
        deadline_only=deadline_only,
        settings=settings,
    )
    try:
        intake = gather(source, layout, people, options)
    except IntakeError as exc:
        _fail(str(exc))
    where = f"{intake.layout} layout" + (f", matched to {roster_file}" if people is not None else ", no roster")
    say(f"{source}: {where}", to=errors)
    return intake, options


def _file_line(result: FileResult, root: Path) -> Text:
    """One file's line: where it is (a member of the source zip by its name), whose it is, what happened."""
    try:
        shown = result.path.relative_to(root).as_posix()
    except ValueError:
        shown = str(result.path)
    if result.entry:
        shown = result.entry if shown == "." else f"{shown}:{result.entry}"
    line = Text(f"{result.status:<10}", style=STATUS_STYLE.get(result.status, ""))
    _append(line, f" {shown}")
    if result.student and result.status == Status.UNMATCHED:
        _append(line, f"  (source id {result.student})", "dim")
    elif result.student and result.student not in shown:
        _append(line, f"  → {result.student}")  # the roster student a downloaded file landed on
    if result.notebook:
        _append(line, f"  [{result.notebook}]", "dim")
    if result.detail:
        _append(line, f"  {result.detail}")
    if result.hint:
        _append(line, f"  → {result.hint}", "italic")
    return line


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} files/s" if task.speed else "", style="progress.data.speed")


class _CollectDisplay:
    """Shows a collect as it runs: one progress line, and a line for each file worth one.

    On a terminal the line is a rich progress bar (rate, time left); otherwise, in a log file or
    CI, a plain line every PLAIN_EVERY seconds. Per-file lines: failed, duplicate and updated
    files and files stored only in part, or every file with ``verbose``.
    """

    PLAIN_EVERY = 10.0

    def __init__(self, root: Path, verbose: bool) -> None:
        self.root = root
        self.verbose = verbose
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.started = time.monotonic()
        self.last_line = self.started

    def __enter__(self) -> _CollectDisplay:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, result: FileResult, done: int, total: int) -> None:
        if self.verbose or result.noteworthy:
            console.print(_file_line(result, self.root), soft_wrap=True)
        if console.is_terminal:
            if self.bar is None:  # started at the first file, once collect's workers are running
                self.bar = Progress(
                    TextColumn("collecting"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    _RateColumn(),
                    TimeRemainingColumn(),
                    console=console,
                )
                self.bar.start()
                self.task = self.bar.add_task("collect", total=total)
            assert self.task is not None
            self.bar.update(self.task, completed=done)
            return
        now = time.monotonic()
        if now - self.last_line >= self.PLAIN_EVERY and done < total:
            self.last_line = now
            rate = done / (now - self.started)
            console.print(
                f"… {done:,} of {total:,} files ({done / total:.0%}), {rate:,.0f} files/s, "
                f"about {(total - done) / rate:,.0f} s left"
            )


def _summary(report: collecting.CollectReport) -> Table:
    """Files by status (rows) and week (columns)."""
    weeks = report.weeks
    table = Table()
    table.add_column("status")
    for week in weeks:
        table.add_column("no week" if week is None else f"week {week}", justify="right")
    table.add_column("total", justify="right", style="bold")
    for status, counts in report.by_week().items():
        cells = [f"{counts.get(week, 0):,}" for week in weeks]
        table.add_row(Text(status, style=STATUS_STYLE.get(status, "")), *cells, f"{sum(counts.values()):,}")
    return table


INTAKE_FULL_WIDTH = 120  # narrower terminals get the intake table without notebook and source id


def _intake_shown(ok, width: int) -> Table:
    """The files that would be collected, one line each where the terminal allows.

    The file name is what a TA looks for, so it gets the room: every other column stays on one line,
    and below ``INTAKE_FULL_WIDTH`` columns the rule that matched, the notebook and source id (all in the CSV)
    are left out.
    """
    import pandas as pd

    full = width >= INTAKE_FULL_WIDTH
    shown = Table(box=None, show_edge=False, pad_edge=False)
    shown.add_column("file", overflow="fold", ratio=None if full else 1)
    shown.add_column("student", overflow="fold")
    if full:
        shown.add_column("matched by", overflow="fold")
        shown.add_column("notebook", overflow="fold")
    for column in ("week", "submitted", "late"):
        shown.add_column(column, no_wrap=True)
    if full:
        shown.add_column("source id", overflow="fold")
    for row in ok.itertuples():
        late = Text("late", style="bold red") if row.late is not None and bool(row.late) else Text("")
        week = "" if row.week is None or row.week is pd.NA else str(row.week)
        cells = [Text(printable(row.file)), Text(printable(row.student))]
        cells += [Text(printable(row.matched_by)), Text(printable(row.notebook))] if full else []
        cells += [Text(week), Text(f"{row.submitted_at:%Y-%m-%d %H:%M}"), late]
        cells += [Text(printable(row.source_id))] if full else []
        shown.add_row(*cells)
    return shown


@main.command()
@_source_options
@click.option(
    "--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), default=Path("intake.csv"), show_default=True
)
def intake(csv_out: Path, **source) -> None:
    """Dry run: show where every file in SOURCE would land (student, notebook, week, time, late); store nothing."""
    from coursekit.intake.table import STATUSES as VERDICTS
    from coursekit.intake.table import intake_table
    from coursekit.log.export import write_csv

    gathered, options = _gather(**source)
    table = intake_table(gathered, options)
    ok = table[table["status"] == "ok"]
    console.print(_intake_shown(ok, console.width))
    if len(ok) and console.width < INTAKE_FULL_WIDTH:
        say(
            f"(matched by, notebook and source id: in {csv_out}, or in a terminal {INTAKE_FULL_WIDTH} columns wide)",
            "dim",
        )
    rest = table[~table["status"].isin(["ok"])]
    if len(rest):
        say("Not collected as they are:", "bold")
        for row in rest.itertuples():
            line = Text(f"{row.status:<10}", style=STATUS_STYLE.get(row.status, "bold red"))
            _append(line, f" {row.file}")
            if row.source_id:
                _append(line, f"  (source id {row.source_id})", "dim")
            _append(line, f"  {row.reason}")
            if row.hint:
                _append(line, f"  → {row.hint}", "italic")
            console.print(line, soft_wrap=True)
    write_csv(table, csv_out)
    counts = table["status"].value_counts()
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in VERDICTS)
    say(f"{len(table)} file(s): {summary}. Wrote {csv_out}; nothing was stored.")


@main.command()
@_source_options
@DB_OPTION
@click.option(
    "--course",
    type=click.Path(file_okay=False, path_type=Path),
    help="Course folder with readings/ (default: found above SUBMISSIONS, else above the working folder).",
)
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes reading files  [default: one per core]")
@click.option("--full", is_flag=True, help="Read every file again, also those whose size and time did not change.")
@click.option("--verbose", "-v", is_flag=True, help="A line for every file, not only failed, duplicate and changed.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with one row per file  [default: beside the log, LOG-collect.csv]",
)
def collect(
    db: str | None,
    course: Path | None,
    jobs: int | None,
    full: bool,
    verbose: bool,
    report_path: Path | None,
    **source,
) -> None:
    """Collect SOURCE into the discussion log: a folder of student folders, a Canvas or Moodle download
    (zip or unpacked), an nbgrader exchange or submitted/ folder, or JupyterHub homes (--homes).

    Each file lands on its roster student (course.toml [roster], or --roster); files that match no
    student, or several, and files not read are listed first and not stored. Reruns are safe and
    fast: files whose size and modification time did not change are not opened; a changed file
    keeps its earlier version. Prints a line for each failed, unmatched, skipped, duplicate or
    updated file and a table by status and week; every file is in the CSV report. Quiz, sorter and
    stance answers are re-graded against the reading; a file whose saved answers claim otherwise
    fails. Exits 1 when any file failed or was unmatched, after collecting all the others.
    """
    from coursekit.log.schema import database_url

    db = _database(source["settings_path"], db)
    url = database_url(db)  # a URL coursekit cannot use is refused first
    gathered, _ = _gather(**source)  # then a bad source, before any log is made
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        say(f"no discussion log at {db} yet: creating a new, empty one", to=errors)
    with _CollectDisplay(gathered.root, verbose) as display:
        readings = Readings(course) if course else None
        report = collecting.collect(gathered, db, jobs=jobs, full=full, progress=display, readings=readings)
    console.print("files by status and week:")
    console.print(_summary(report))
    counts = ", ".join(f"{report.count(status)} {status}" for status in STATUSES)
    say(f"{len(report.results)} file(s): {counts}.")
    if report.changed == 0 and not report.failed:
        say("0 changed: the log already held everything in these files.")
    elif report.changed == 0:
        say("0 changed.")
    else:
        say(f"{report.changed} changed.")
    written = write_report(report, report_path or default_report_path(db))
    say(f"every file's outcome: {written}")
    if report.failed:
        say(
            f"{len(report.failed)} file(s) failed or unmatched; nothing of them was stored. See the hints above.",
            to=errors,
        )
        sys.exit(1)


@main.command()
@SETTINGS_OPTION
@DB_OPTION
@click.option("--format", "fmt", type=click.Choice(["csv", "markdown"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of standard output.")
@click.option("--history", is_flag=True, help="CSV only: every version of every reflection.")
@click.option(
    "--threads", is_flag=True, help="CSV only: one row per post or reply (id, parent_id, author, ..., hidden)."
)
def export(
    settings_path: Path | None, db: str | None, fmt: str, out: Path | None, history: bool, threads: bool
) -> None:
    """Export the log as CSV (one row per reflection, spreadsheet-safe) or Markdown by prompt."""
    if threads and (history or fmt != "csv"):
        _fail("--threads is a CSV of its own: use it without --history and with --format csv")
    if history and fmt != "csv":
        _fail("--history is a CSV: use it with --format csv (the default)")
    log = _open(settings_path, db)
    frame = thread_table(log.posts(hidden=True)) if threads else log.history() if history else log.reflections()
    if fmt == "csv":
        if out:
            write_csv(frame, out)
        else:
            write_csv(frame, sys.stdout)
    else:
        reading = _reading_option(None, settings_path)
        text = to_markdown(frame, prompt_titles=reading.prompt_titles() if reading else None)
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            click.echo(text)
    if out:
        say(f"wrote {len(frame)} row(s) to {out}", to=errors)


def _names_setting(settings_path: Path | None) -> str:
    """How students see each other, as the course settings say (pseudonyms when there are none)."""
    settings = _settings(settings_path)
    return settings.names if settings else "pseudonym"


def _feed_identity(submitted, settings_path: Path | None) -> tuple[list[str], str]:
    """Who a feed is for (everyone who submitted, and the roster when there is one) and which id they type."""
    from coursekit.course.roster import RosterError, read_roster
    from coursekit.discussion.feed import DEFAULT_ID_HINT

    settings = _settings(settings_path)
    students = set(submitted)
    if settings is None:
        return sorted(students), DEFAULT_ID_HINT
    if settings.roster is not None:
        try:
            students |= set(read_roster(settings.roster, settings.student_column)["student"])
        except RosterError as exc:
            say(f"note: {exc}; the feed knows only the students who submitted", to=errors)
    hint = f"your {settings.student_column} as on the course roster (your notebooks are filed under it)"
    return sorted(students), hint


def _reading_option(path: Path | None, settings_path: Path | None = None):
    """The reading named by --reading, else course.toml's, else the only one under ./readings, else None."""
    settings = _settings(settings_path) if path is None else None
    if settings is not None:
        path = settings.reading
    elif path is None:
        found = sorted(p for p in Path("readings").glob("*") if (p / "reading.yaml").is_file())
        path = found[0] if len(found) == 1 else None
    if path is None:
        return None
    try:
        return load_reading(path)
    except ReadingError as exc:
        _fail(str(exc))


@main.command()
@SETTINGS_OPTION
@DB_OPTION
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder to write (site/ or feed/).")
@click.option("--feed", "as_feed", is_flag=True, help="Write the peer feed JSON of one week for the next notebook.")
@click.option("--week", type=int, help="With --feed: the week whose posts to publish.")
@click.option(
    "--names",
    type=click.Choice(["pseudonym", "real"]),
    help="How authors appear to students (default: names in course.toml, else pseudonym).",
)
@click.option(
    "--reading",
    "reading_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Reading for prompt and week titles (default: course.toml's, else the only one in ./readings).",
)
@click.option("--title", default="Class discussion", show_default=True)
def publish(
    settings_path: Path | None,
    db: str | None,
    out: Path | None,
    as_feed: bool,
    week: int | None,
    names: str | None,
    reading_dir,
    title: str,
) -> None:
    """Publish the discussion log as a static site (default) or, with --feed, as a week's peer feed."""
    from coursekit.discussion import removal
    from coursekit.discussion.feed import build_feed, feed_path, write_feed
    from coursekit.discussion.site import Site, publish_site
    from coursekit.log import meta

    if week is not None and not as_feed:
        _fail("--week applies only to --feed: add --feed to publish one week's peer feed, or drop --week for the site")
    context = click.get_current_context()
    site_only = {"title": "--title"}
    given = [
        flag for name, flag in site_only.items() if context.get_parameter_source(name) == ParameterSource.COMMANDLINE
    ]
    if as_feed and given:
        _fail(f"{' and '.join(given)} apply only to the site: drop them with --feed")
    log = _open(settings_path, db)
    names = names or _names_setting(settings_path)
    if as_feed:
        if week is None:
            _fail("--feed needs --week N: the week whose reflections the next notebook shows")
        posts = log.posts(public=True)
        week_posts = posts[posts["thread_week"] == week]
        if week_posts.empty:
            _fail(f"no reflections for week {week} in {_database(settings_path, db)}: collect that week first")
        students, id_hint = _feed_identity(log.submissions()["student"].unique(), settings_path)
        secret, pictures, folder = log.course_secret(), log.images(), out or Path("feed")
        reading = _reading_option(reading_dir, settings_path)
        titles = reading.prompt_titles() if reading else {}

        def publish_week(number: int) -> tuple[Path, dict]:
            salt = meta.feed_salt(log.engine, number)
            document = build_feed(posts, number, secret, names, students, salt, pictures, id_hint, titles)
            return write_feed(document, folder), document

        before = removal.feed_post_ids(feed_path(folder, week))
        path, document = publish_week(week)
        replies = sum(1 for p in document["posts"] if p["parent_id"])
        say(
            f"wrote {path}: {int(week_posts['parent_id'].isna().sum())} reflections, {replies} replies "
            f"in the conversation so far, {len(students)} students"
        )
        _say_gone(before - {p["id"] for p in document["posts"]}, str(path))
        shown = set(posts["post_id"])
        for stale in removal.stale_feeds(folder, shown, skip=week):
            gone = removal.feed_post_ids(stale) - shown
            publish_week(removal.feed_week(stale))
            _say_gone(gone, f"{stale} (republished)")
        return
    reading = _reading_option(reading_dir, settings_path)
    site = Site(
        title=title,
        prompts={p.id: p.text for p in reading.prompts} if reading else {},
        week_titles={w.number: w.title for w in reading.weeks} if reading else {},
        prompt_titles=reading.prompt_titles() if reading else {},
    )
    posts = log.posts_as_seen(names)
    folder = out or Path("site")
    before = removal.site_post_ids(folder)
    written = publish_site(site, posts, folder, log.images())
    say(f"wrote {len(written)} page(s) to {folder}: {len(posts)} posts; open {written[0]}")
    _say_gone(before - set(posts["post_id"]), str(folder))
    for page in removal.sweep_site(folder, written):
        say(f"deleted {page}: its week has nothing left to show")


def _say_gone(gone: set[str], where: str) -> None:
    """Tell the instructor that files published before carried posts taken down since."""
    if gone:
        say(f"{where} was out of date: {len(gone)} post(s) hidden, withdrawn or erased since are no longer in it")


@main.command()
@click.argument("reading_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", default="notebooks", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--week", "weeks", type=int, multiple=True, help="Only this week (repeatable). Default: all.")
@click.option("--no-run", is_flag=True, help="Do not execute the notebooks (they are saved without outputs).")
def build(reading_dir: Path, out: Path, weeks: tuple[int, ...], no_run: bool) -> None:
    """Build the weekly student notebooks from a reading's data files into OUT."""
    from coursekit.notebook.build import build_review, build_week

    try:
        reading = load_reading(reading_dir)
    except ReadingError as exc:
        _fail(str(exc))
    for week in weeks or [w.number for w in reading.weeks]:
        path = build_week(reading, week, out, run=not no_run)
        say(f"wrote {path}")
    if not weeks:
        say(f"wrote {build_review(out, run=not no_run)}")


def _course(settings_path: Path | None, db: str | None):
    """The course settings (given, or course.toml found from the cwd), its log and its reading."""
    settings = _settings(settings_path)
    if settings is None:
        _fail("no course.toml in this folder or above it; pass --settings (see docs/course-settings.md)")
    log = _open(settings_path, db)
    try:
        reading = load_reading(settings.reading)
    except ReadingError as exc:
        _fail(str(exc))
    return settings, log, reading


def _scores(settings, log, reading):
    from coursekit.review.grades import week_scores

    return week_scores(log.submissions(), log.reviews(), log.posts(), settings, _prompt_counts(reading))


def _prompt_counts(reading) -> dict[int, int]:
    return {w.number: len(reading.prompts_for(w.number)) for w in reading.weeks}


@main.command()
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
    from coursekit.course.roster import RosterError, read_roster
    from coursekit.review.grades import canvas_gradebook, partial_weeks, plain_grades, unreviewed

    if score_partial_weeks and not allow_unreviewed:
        _fail("--score-partial-weeks goes with --allow-unreviewed: without it, grades waits until all is scored")
    settings, log, reading = _course(settings_path, db)
    roster = roster or settings.roster
    if roster is None:
        _fail("no roster: pass --roster ROSTER.csv or set [roster] file in course.toml")
    try:
        people = read_roster(roster, settings.student_column)
    except RosterError as exc:
        _fail(str(exc))
    scores = _scores(settings, log, reading)
    waiting = unreviewed(scores)
    if waiting and not allow_unreviewed:
        _fail(
            f"{waiting} reflection(s) are not scored yet: review them (notebooks/instructor/review.ipynb), "
            "or pass --allow-unreviewed to write the file anyway (unscored and partly scored weeks blank)",
            code=1,
        )
    write_csv(canvas_gradebook(scores, people, settings, _prompt_counts(reading), score_partial_weeks), out)
    say(f"wrote {out}: {len(people)} students × {len(settings.weeks)} weeks (Canvas: Grades > Import)")
    if plain:
        write_csv(plain_grades(scores, people), plain)
        say(f"wrote {plain}")
    unknown = sorted(set(log.submissions()["student"]) - set(people["student"]))
    if unknown:
        say(f"not on the roster, so not in {out}: {', '.join(unknown)} (check {settings.student_column})", to=errors)
    if waiting:
        say(f"{waiting} reflection(s) not scored yet:", to=errors)
        unscored = scores[scores["total"].isna()].groupby("week").size()
        partial = partial_weeks(scores)
        done = "written with the points so far" if score_partial_weeks else "blank (--score-partial-weeks writes them)"
        for week in sorted(set(unscored.index) | set(partial["week"])):
            if week in unscored.index:
                say(f"  week {week}: {unscored[week]} notebook(s) with nothing scored yet, blank", to=errors)
            group = partial[partial["week"] == week]
            if len(group):
                who = ", ".join(f"{r.student} ({r.scored_prompts} of {r.prompts})" for r in group.itertuples())
                say(f"  week {week}: {len(group)} partly scored, {done}: {who}", to=errors)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("feedback"), show_default=True)
@SETTINGS_OPTION
@DB_OPTION
def feedback(out: Path, settings_path: Path | None, db: str | None) -> None:
    """Write one HTML feedback page per student, named by a per-student secret; index.csv lists them."""
    from coursekit.review.feedback import write_feedback

    settings, log, reading = _course(settings_path, db)
    index = write_feedback(
        log.reflections(),
        log.reviews(),
        _scores(settings, log, reading),
        settings,
        reading,
        log.course_secret(),
        out,
        log.images(),
    )
    say(f"wrote feedback pages to {out}; {index} says which file is whose (keep it private)")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--notebooks", default="notebooks", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def lab(ctx: click.Context, notebooks: Path) -> None:
    """Start JupyterLab on the course notebooks; extra options go to JupyterLab (e.g. --port 8890).

    Widget state is saved with each notebook and the news pop-up is off (coursekit.notebook.lab).
    This process becomes JupyterLab (exec), so Ctrl+C or SIGTERM stop it and its kernels.
    """
    from coursekit.notebook.lab import default_settings_folder, lab_command, write_settings

    _require("lab")
    if not notebooks.is_dir():
        _fail(f"{notebooks}: no such folder; run this from the course folder or pass --notebooks")
    folder = default_settings_folder()
    try:
        write_settings(folder)
    except OSError as exc:
        _fail(f"cannot write JupyterLab settings to {folder}: {exc} (set COURSEKIT_LAB_SETTINGS_DIR)")
    command = lab_command(notebooks, list(ctx.args), folder)
    sys.stdout.flush()
    sys.stderr.flush()
    if hasattr(os, "execv"):
        os.execv(command[0], command)
    import subprocess  # pragma: no cover - platforms without exec

    sys.exit(subprocess.call(command))


@main.command()
@_source_options
@click.option("--week", type=int, help="Only notebooks of this week (files whose week cannot be read are kept).")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1), help="Notebooks run at a time.")
@click.option(
    "--timeout", default=120.0, show_default=True, type=click.FloatRange(min=1), help="Seconds per notebook run."
)
@click.option(
    "--course", default=".", show_default=True, type=click.Path(path_type=Path), help="Course folder with readings/."
)
@click.option("--out", default="validation", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--sandbox/--no-sandbox",
    default=None,
    help="Run each notebook in bubblewrap, seeing only Python and its copy, offline (default: when bubblewrap works).",
)
@click.option(
    "--allow-path",
    "allowed",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A file or folder of this machine the sandbox shows read-only (the course's data); repeatable.",
)
@click.option(
    "--memory",
    default=DEFAULT_MEMORY,
    show_default=True,
    type=click.IntRange(min=64),
    help="MiB of memory each process of a notebook run may use.",
)
@click.option("--scheduler", metavar="ADDRESS", help="Run the notebooks on this Dask scheduler's workers (tcp://...).")
@click.option("--cluster", type=click.Choice(["local"]), help="Run them on a Dask cluster of processes started here.")
@click.option(
    "--workers", type=click.IntRange(min=1), help="With --cluster local: worker processes  [default: one per core]"
)
def validate(
    week: int | None,
    jobs: int,
    timeout: float,
    course: Path,
    out: Path,
    sandbox: bool | None,
    allowed: tuple[Path, ...],
    memory: int,
    scheduler: str | None,
    cluster: str | None,
    workers: int | None,
    **source,
) -> None:
    """Check every notebook in SOURCE: reflections, untouched prompts, and a run with nbval.

    SOURCE is any source collect reads (a folder of student folders, a Canvas or Moodle download,
    nbgrader, --homes), matched to the roster the same way.

    This RUNS STUDENT CODE, each notebook in a temporary copy, by default in a bubblewrap sandbox that
    shows it only Python and its copy, with no network. Writes OUT/report.xml (JUnit) and OUT/report.csv,
    updated as each notebook finishes. Exits 1 when any notebook failed.

    The course's own notebooks (SOURCE is notebooks/ or a release folder) are checked against a fresh
    build and run with their outputs compared.

    With --scheduler or --cluster local the notebooks run on Dask workers (each one at a time per
    worker thread, in the same sandbox), and the reports are written here; a notebook whose worker
    died is run once more, then reported failed.
    """
    from coursekit.validation import checks
    from coursekit.validation import reports as reporting
    from coursekit.validation import sandbox as sandboxing
    from coursekit.validation.validate import validate as validate_all

    _require("validate")
    if scheduler and cluster:
        _fail("give --scheduler ADDRESS or --cluster local, not both")
    if workers and not cluster:
        _fail("--workers is for --cluster local (a scheduler's workers are started with dask worker)")
    if scheduler or cluster:
        _require("validate --scheduler/--cluster")
    if not course.is_dir():
        _fail(f"{course}: no such folder; give the course folder that holds readings/ with --course")
    why = sandboxing.sandbox_problem() if sandbox is not False else ""
    if sandbox and why:
        _fail(why)
    if sandbox is None:
        sandbox = not why
        if why:
            say(f"warning: cannot sandbox ({why}); student code runs with your permissions", "yellow", errors)
    elif not sandbox:
        say("warning: --no-sandbox: student code runs with your permissions and sees your files", "yellow", errors)
    if allowed and not sandbox:
        say("note: --allow-path has no effect without the sandbox: the notebooks see everything", "yellow", errors)

    def progress(report: checks.NotebookReport, done: int, total: int) -> None:
        say(f"[{done}/{total}] {report.student}/{report.path.name}: {report.status}", to=errors)

    def write_reports(reports: list[checks.NotebookReport]) -> None:
        reporting.write_junit(reports, out / "report.xml", submissions)
        reporting.write_report_csv(reports, out / "report.csv", submissions)

    gathered, _ = _gather(**source)
    submissions = gathered.root
    for path in allowed if sandbox else ():
        refused = sandboxing.allow_problem(path, keep=(submissions, out.absolute()))
        if refused:
            _fail(refused)
    where = "in a sandbox" if sandbox else "in temporary copies, NOT sandboxed"
    limits = f"each stopped after {timeout:g} s and limited to {memory:,} MiB per process"
    with contextlib.ExitStack() as stack:
        execute = None
        if scheduler or cluster:
            execute = _cluster_execute(stack, scheduler, workers, bool(sandbox), f"{where}, {limits}")
        else:
            say(f"running notebooks {where}, {jobs} at a time, {limits}", to=errors)
        try:
            reports = validate_all(
                submissions,
                course,
                week,
                jobs,
                timeout,
                sandbox,
                progress,
                memory,
                write_reports,
                intake=gathered,
                allowed=tuple(path.absolute() for path in allowed),  # as notebooks name it; bound to its real path
                execute=execute,
            )
        except IntakeError as exc:
            _fail(str(exc))
    styles = {checks.PASS: "green", checks.SKIP: "yellow"}
    for report in reports:
        line = Text(f"{report.status:<5}", style=styles.get(report.status, "bold red"))
        _append(line, f" {report.student or '(no student)'}")
        _append(line, f"  {report.notebook or '-'}", "dim")
        _append(line, f"  {reporting.relative(report.path, submissions)}")
        if report.problems and not report.ran:
            line.append("  (not run)", style="dim")
        console.print(line, soft_wrap=True)
        for problem in report.reasons:
            reason = Text(f"      - {printable(problem.reason)}")
            _append(reason, f"  → {problem.hint}", "italic")
            console.print(reason, soft_wrap=True)
    failed = sum(1 for r in reports if r.problems)
    skipped = sum(1 for r in reports if r.status == checks.SKIP)
    write_reports(reports)
    say(
        f"{len(reports)} notebook(s): {len(reports) - failed - skipped} passed, {failed} failed"
        + (f", {skipped} skipped" if skipped else "")
        + f". Reports: {out / 'report.xml'}, {out / 'report.csv'}"
    )
    if failed:
        sys.exit(1)


def _cluster_execute(stack: contextlib.ExitStack, scheduler: str | None, workers: int | None, sandbox: bool, how: str):
    """Connect to the Dask cluster for the length of ``stack``, check its workers, and say how it runs."""
    from coursekit.validation import cluster as dask_cluster

    client = stack.enter_context(dask_cluster.connect(scheduler, workers or os.cpu_count() or 1))
    problem = dask_cluster.check_workers(client, sandbox)
    if problem:
        _fail(problem + ("; install bubblewrap there, or pass --no-sandbox" if sandbox else ""))
    count = len(client.scheduler_info(n_workers=-1)["workers"])
    say(f"running notebooks {how}, on {count} Dask worker(s) of {client.scheduler.address}", to=errors)
    retried = dask_cluster.scheduler_retries(client)
    if retried:
        say(
            f"note: this scheduler itself reruns a notebook until {retried + 1} workers died running it "
            f"(its distributed.scheduler.allowed-failures); start it with {dask_cluster.SCHEDULER_ENVIRONMENT} "
            "to rerun it once only",
            "yellow",
            errors,
        )
    return functools.partial(dask_cluster.run_on_cluster, client=client)


@main.command()
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
def release(
    week: int,
    out: Path,
    notebooks: Path,
    feeds: Path,
    reading_dir: Path | None,
    nbgrader_exchange: Path | None,
    course_id: str | None,
    git_url: str | None,
    branch: str,
    hub: str | None,
) -> None:
    """Release week N: a folder and a zip for the LMS, optionally nbgrader outbound/ and an nbgitpuller link.

    The folder holds the week's notebook, the previous week's published feed (feed/) and the reading,
    so the notebook shows the published feed as soon as a student opens it.
    """
    from coursekit.notebook import release as releasing

    reading = _reading_option(reading_dir)
    if reading is None:
        _fail("no reading: pass --reading readings/<reading>")
    if nbgrader_exchange and not course_id:
        _fail("--nbgrader-exchange needs --course-id (nbgrader's course id)")
    if git_url and not hub:
        _fail("--git-url needs --hub, the JupyterHub address students log in to")
    try:
        plan = releasing.plan_release(reading, week, notebooks, feeds)
        folder = releasing.write_folder(plan, out)
        say(f"wrote {folder}/ and {releasing.write_zip(folder)} (upload the zip as the assignment's file)")
        if nbgrader_exchange and course_id:
            say(f"wrote {releasing.write_outbound(folder, nbgrader_exchange, course_id)}")
    except releasing.ReleaseError as exc:
        _fail(str(exc))
    if plan.feed is None and week > 1:
        say(
            f"note: no {feeds}/week{week - 1:02d}.json yet: the notebook shows the sample class until you "
            f"run 'coursekit publish --feed --week {week - 1}' and release again",
            to=errors,
        )
    if git_url and hub:
        path = (
            plan.notebook.resolve().relative_to(Path.cwd().resolve()).as_posix()
            if plan.notebook.resolve().is_relative_to(Path.cwd().resolve())
            else plan.notebook.as_posix()
        )
        say(f"nbgitpuller link (opens {path}):")
        say(releasing.nbgitpuller_link(hub, git_url, branch, path))
        if plan.feed is not None:
            say(f"commit and push {plan.feed} to {branch} before sharing the link", to=errors)


@main.command("report")
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
    from coursekit.review.report import write_report

    settings, log, reading = _course(settings_path, db)
    say(f"wrote {write_report(log, settings, reading, out)}")


def _log_target(db: str | None) -> str:
    """--db, else the database in course.toml (found from the cwd), else the default file."""
    if db:
        return db
    from coursekit.course.settings import SettingsError, find_settings

    try:
        settings = find_settings()
    except SettingsError as exc:
        _fail(str(exc))
    return settings.database if settings else DEFAULT_DB


LOG_OPTION = click.option("--db", help=f"SQLite file or database URL (default: course.toml's, else {DEFAULT_DB}).")


@main.group()
def db() -> None:
    """Look after the discussion log: upgrade its schema, back it up, check it."""


@db.command()
@LOG_OPTION
def upgrade(db: str | None) -> None:
    """Bring a log made by an earlier coursekit to this one's schema (a SQLite log is backed up first)."""
    from coursekit.log import schema

    before, after, copy = schema.upgrade(_log_target(db))
    if before == after:
        console.print(f"the log is already at schema {after}: nothing to do")
        return
    if copy:
        console.print(f"backed up the log to {copy}", soft_wrap=True)
    console.print(f"upgraded the log from schema {before} to {after}")


@db.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@LOG_OPTION
def backup(path: Path, db: str | None) -> None:
    """Copy a SQLite log to PATH while others may be using it (PostgreSQL: use pg_dump)."""
    from coursekit.log import schema

    engine = schema.make_engine(_log_target(db))
    file = schema.sqlite_path(engine)
    if file is not None and not file.is_file():
        _fail(f"no discussion log at {file}: nothing to back up")
    console.print(f"backed up {schema.shown(engine)} to {schema.backup(engine, path)}", soft_wrap=True)


@db.command()
@LOG_OPTION
def check(db: str | None) -> None:
    """Check the log: storage, rows pointing nowhere, versions out of step, current rows vs history."""
    from coursekit.log import schema
    from coursekit.log.check import check_log

    target = _log_target(db)
    engine = schema.make_engine(target)
    file = schema.sqlite_path(engine)
    if file is not None and not file.is_file():
        _fail(f"no discussion log at {file}: run 'coursekit collect' first")
    problems = check_log(engine)
    for problem in problems:
        console.print(Text(f"problem: {problem}", style="bold red"), soft_wrap=True)
    if problems:
        errors.print(f"{len(problems)} problem(s) in {schema.shown(engine)}")
        sys.exit(1)
    console.print(f"{schema.shown(engine)}: sound (schema {schema.head()})", soft_wrap=True)


# ---- course files: JSON Schemas for the author's editor, and a new reading (logic in coursekit.course)
@main.command()
@click.option("--out", default="schemas", show_default=True, type=click.Path(file_okay=False, path_type=Path))
def schema(out: Path) -> None:
    """Write a JSON Schema for each course file (the reading's YAML files, course.toml) into OUT, for editors."""
    from coursekit.course.schemas import write_schemas

    for path in write_schemas(out):
        say(f"wrote {path}")


@main.command("new-reading")
@click.argument("name")
@click.option("--title", help="The reading's title (the citation's; default: a placeholder to replace).")
@click.option("--into", default="readings", show_default=True, type=click.Path(file_okay=False, path_type=Path))
def new_reading(name: str, title: str | None, into: Path) -> None:
    """Start a reading in INTO/NAME: every file, with example content to replace, that builds as it is."""
    from coursekit.course.scaffold import new_reading as scaffold

    try:
        reading = scaffold(name, into, title)
    except ReadingError as exc:
        _fail("\n".join(str(problem) for problem in exc.problems))
    say(f"wrote {reading.path}/ ({len(reading.weeks)} week); next: coursekit build {reading.path} --out notebooks")


if __name__ == "__main__":  # python -m coursekit.cli: run the module proper, which cli_moderation imports
    from coursekit.cli import main as command_line

    command_line()
else:
    from coursekit.cli_moderation import erase, moderate  # they use the helpers above

    main.add_command(moderate)
    main.add_command(erase)
