"""``coursekit intake`` (the dry run) and ``coursekit collect``: submissions into the discussion log."""

from __future__ import annotations

import time
from pathlib import Path

import click
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

from coursekit.api.options import CollectOptions
from coursekit.cli import output
from coursekit.cli.options import DB_OPTION, open_course, source_of, source_options
from coursekit.cli.output import STATUS_STYLE, append, errors, printable, say
from coursekit.log.collect import CollectReport
from coursekit.log.results import STATUSES, FileResult, Status


def _file_line(result: FileResult, root: Path) -> Text:
    """One file's line: where it is (a member of the source zip by its name), whose it is, what happened."""
    try:
        shown = result.path.relative_to(root).as_posix()
    except ValueError:
        shown = str(result.path)
    if result.entry:
        shown = result.entry if shown == "." else f"{shown}:{result.entry}"
    line = Text(f"{result.status:<10}", style=STATUS_STYLE.get(result.status, ""))
    append(line, f" {shown}")
    if result.student and result.status == Status.UNMATCHED:
        append(line, f"  (source id {result.student})", "dim")
    elif result.student and result.student not in shown:
        append(line, f"  → {result.student}")  # the roster student a downloaded file landed on
    if result.notebook:
        append(line, f"  [{result.notebook}]", "dim")
    if result.detail:
        append(line, f"  {result.detail}")
    if result.hint:
        append(line, f"  → {result.hint}", "italic")
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
            output.console.print(_file_line(result, self.root), soft_wrap=True)
        if output.console.is_terminal:
            if self.bar is None:  # started at the first file, once collect's workers are running
                self.bar = Progress(
                    TextColumn("collecting"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    _RateColumn(),
                    TimeRemainingColumn(),
                    console=output.console,
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
            output.console.print(
                f"… {done:,} of {total:,} files ({done / total:.0%}), {rate:,.0f} files/s, "
                f"about {(total - done) / rate:,.0f} s left"
            )


def _summary(report: CollectReport) -> Table:
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


@click.command()
@source_options
@click.option(
    "--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), default=Path("intake.csv"), show_default=True
)
def intake(csv_out: Path, **source) -> None:
    """Dry run: show where every file in SOURCE would land (student, notebook, week, time, late); store nothing."""
    from coursekit.intake.table import STATUSES as VERDICTS

    given, settings_path = source_of(**source)
    table = open_course(settings_path).intake(given, csv_out)
    ok = table[table["status"] == "ok"]
    output.console.print(_intake_shown(ok, output.console.width))
    if len(ok) and output.console.width < INTAKE_FULL_WIDTH:
        say(
            f"(matched by, notebook and source id: in {csv_out}, or in a terminal {INTAKE_FULL_WIDTH} columns wide)",
            "dim",
        )
    rest = table[~table["status"].isin(["ok"])]
    if len(rest):
        say("Not collected as they are:", "bold")
        for row in rest.itertuples():
            line = Text(f"{row.status:<10}", style=STATUS_STYLE.get(row.status, "bold red"))
            append(line, f" {row.file}")
            if row.source_id:
                append(line, f"  (source id {row.source_id})", "dim")
            append(line, f"  {row.reason}")
            if row.hint:
                append(line, f"  → {row.hint}", "italic")
            output.console.print(line, soft_wrap=True)
    counts = table["status"].value_counts()
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in VERDICTS)
    say(f"{len(table)} file(s): {summary}. Wrote {csv_out}; nothing was stored.")


@click.command()
@source_options
@DB_OPTION
@click.option(
    "--course",
    "course_folder",
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
    course_folder: Path | None,
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
    given, settings_path = source_of(**source)
    course = open_course(settings_path, db)
    course.database_url()  # a URL coursekit cannot use is refused first
    gathered = course.gather(given)  # then a bad source, before any log is made
    options = CollectOptions(course=course_folder, jobs=jobs, full=full, report=report_path)
    with _CollectDisplay(gathered.intake.root, verbose) as display:
        collected = course.collect(gathered, options, display)
    report = collected.report
    output.console.print("files by status and week:")
    output.console.print(_summary(report))
    counts = ", ".join(f"{report.count(status)} {status}" for status in STATUSES)
    say(f"{len(report.results)} file(s): {counts}.")
    if report.changed == 0 and not report.failed:
        say("0 changed: the log already held everything in these files.")
    elif report.changed == 0:
        say("0 changed.")
    else:
        say(f"{report.changed} changed.")
    say(f"every file's outcome: {collected.written}")
    if report.failed:
        say(
            f"{len(report.failed)} file(s) failed or unmatched; nothing of them was stored. See the hints above.",
            to=errors,
        )
        raise SystemExit(1)


COMMANDS = [intake, collect]
