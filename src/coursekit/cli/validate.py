"""``coursekit validate``: the TA's checks of every notebook in a source, and a run of each with nbval."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.text import Text

from coursekit.api.options import ValidateOptions
from coursekit.cli import output
from coursekit.cli.options import open_course, source_of, source_options
from coursekit.cli.output import append, errors, printable, say
from coursekit.validation.runner import DEFAULT_MEMORY


@click.command()
@source_options
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
    from coursekit.cli.needs import require
    from coursekit.validation import checks
    from coursekit.validation import reports as reporting

    require("validate")
    options = ValidateOptions(week, jobs, timeout, course, out, sandbox, allowed, memory, scheduler, cluster, workers)
    if options.on_dask:
        require("validate --scheduler/--cluster")

    def progress(report: checks.NotebookReport, done: int, total: int) -> None:
        say(f"[{done}/{total}] {report.student}/{report.path.name}: {report.status}", to=errors)

    given, settings_path = source_of(**source)
    validated = open_course(settings_path).validate(given, options, progress)
    styles = {checks.PASS: "green", checks.SKIP: "yellow"}
    for report in validated.reports:
        line = Text(f"{report.status:<5}", style=styles.get(report.status, "bold red"))
        append(line, f" {report.student or '(no student)'}")
        append(line, f"  {report.notebook or '-'}", "dim")
        append(line, f"  {reporting.relative(report.path, validated.submissions)}")
        if report.problems and not report.ran:
            line.append("  (not run)", style="dim")
        output.console.print(line, soft_wrap=True)
        for problem in report.reasons:
            reason = Text(f"      - {printable(problem.reason)}")
            append(reason, f"  → {problem.hint}", "italic")
            output.console.print(reason, soft_wrap=True)
    failed, skipped = validated.failed, validated.skipped
    say(
        f"{len(validated.reports)} notebook(s): {len(validated.reports) - failed - skipped} passed, {failed} failed"
        + (f", {skipped} skipped" if skipped else "")
        + f". Reports: {validated.junit}, {validated.csv}"
    )
    if failed:
        sys.exit(1)


COMMANDS = [validate]
