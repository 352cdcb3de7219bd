"""``coursekit publish`` (the static site, or a week's peer feed) and ``coursekit export``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from coursekit.api.options import ExportOptions, FeedOptions, SiteOptions
from coursekit.cli.options import DB_OPTION, SETTINGS_OPTION, open_course
from coursekit.cli.output import errors, fail, say
from coursekit.log.export import write_csv


@click.command()
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
    options = ExportOptions(format=fmt, out=out, history=history, threads=threads)
    exported = open_course(settings_path, db).export(options)
    if out:
        say(f"wrote {len(exported.frame)} row(s) to {out}", to=errors)
    elif exported.text is None:
        write_csv(exported.frame, sys.stdout)
    else:
        click.echo(exported.text)


@click.command()
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
    reading_dir: Path | None,
    title: str,
) -> None:
    """Publish the discussion log as a static site (default) or, with --feed, as a week's peer feed."""
    if week is not None and not as_feed:
        fail("--week applies only to --feed: add --feed to publish one week's peer feed, or drop --week for the site")
    context = click.get_current_context()
    site_only = {"title": "--title"}
    given = [
        flag for name, flag in site_only.items() if context.get_parameter_source(name) == ParameterSource.COMMANDLINE
    ]
    if as_feed and given:
        fail(f"{' and '.join(given)} apply only to the site: drop them with --feed")
    course = open_course(settings_path, db)
    course.open_log()  # no log is the first thing to say
    if as_feed:
        if week is None:
            fail("--feed needs --week N: the week whose reflections the next notebook shows")
        feed = course.publish_feed(FeedOptions(week, out or Path("feed"), names, reading_dir))
        say(
            f"wrote {feed.path}: {feed.reflections} reflections, {feed.replies} replies "
            f"in the conversation so far, {feed.students} students"
        )
        _say_gone(feed.gone)
        return
    site = course.publish_site(SiteOptions(out or Path("site"), names, reading_dir, title))
    say(f"wrote {len(site.pages)} page(s) to {site.folder}: {site.posts} posts; open {site.pages[0]}")
    _say_gone(site.gone)
    for page in site.deleted:
        say(f"deleted {page}: its week has nothing left to show")


def _say_gone(gone: list[tuple[str, int]]) -> None:
    """Tell the instructor that files published before carried posts taken down since."""
    for where, count in gone:
        say(f"{where} was out of date: {count} post(s) hidden, withdrawn or erased since are no longer in it")


COMMANDS = [publish, export]
