"""``Course``: one course's settings, reading, roster and log, each opened once, and its operations."""

from __future__ import annotations

import contextlib
import getpass
import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from coursekit.api import runs
from coursekit.api.options import (
    CollectOptions,
    ExportOptions,
    FeedOptions,
    GradesOptions,
    ReleaseOptions,
    SiteOptions,
    SourceOptions,
    ValidateOptions,
)
from coursekit.api.results import (
    Collected,
    Exported,
    FeedPublished,
    Gathered,
    GradesWritten,
    LogChecked,
    NoCourse,
    NoLog,
    Notify,
    Refused,
    Released,
    SitePublished,
    Validated,
    WeekLeft,
)
from coursekit.course.reading import Reading, Readings, load_reading
from coursekit.course.settings import Settings, find_settings, load_settings

if TYPE_CHECKING:
    from coursekit.log.collect import Progress
    from coursekit.log.erase import Erasure
    from coursekit.log.frames import DiscussionLog
    from coursekit.review.desk import ReviewDesk
    from coursekit.validation.checks import NotebookReport

DEFAULT_DB = "class.db"  # the same default as course.toml's [course] database


def _quiet(_: str) -> None:
    """The default ``notify``: a script that does not ask is told nothing."""


class Course:
    """One course: ``course.toml`` (found once), its reading, roster and log, each opened when first needed."""

    def __init__(
        self,
        settings_path: Path | None = None,
        db: str | None = None,
        *,
        start: str | Path | None = None,
        notify: Notify = _quiet,
    ):
        self.settings_path, self.db, self.start, self.notify = settings_path, db, start, notify

    @classmethod
    def open(
        cls,
        settings_path: str | Path | None = None,
        db: str | None = None,
        *,
        start: str | Path | None = None,
        notify: Notify = _quiet,
    ) -> Course:
        """The course of ``settings_path``, else of the ``course.toml`` in ``start`` (default: the cwd) or above.

        ``db`` (a SQLite file or PostgreSQL URL) overrides the settings' database. Nothing is read yet:
        each part is loaded when an operation first needs it, so a command that needs no settings
        works beside a broken ``course.toml``.
        """
        return cls(Path(settings_path) if settings_path else None, db, start=start, notify=notify)

    # The course's parts, each loaded once.

    @cached_property
    def settings(self) -> Settings | None:
        """``course.toml`` (None when there is none); SettingsError when it is broken."""
        return load_settings(self.settings_path) if self.settings_path else find_settings(self.start)

    def required_settings(self) -> Settings:
        if self.settings is None:
            raise NoCourse("no course.toml in this folder or above it; pass --settings (see docs/course-settings.md)")
        return self.settings

    @cached_property
    def database(self) -> str:
        """The log every operation uses: ``db``, else course.toml's database, else class.db here."""
        if self.db:
            return self.db
        return self.settings.database if self.settings else DEFAULT_DB

    def database_url(self) -> str:
        """The log's SQLAlchemy URL; LogError for a kind of database coursekit cannot use."""
        from coursekit.log.schema import database_url

        return database_url(self.database)

    def open_log(self) -> DiscussionLog:
        """The log, opened now: NoLog before anything else is said or done when there is none."""
        return self.log

    @cached_property
    def log(self) -> DiscussionLog:
        """The existing log; NoLog, and no new empty log, when there is none."""
        from coursekit.log.frames import open_log

        try:
            return open_log(self.database)
        except FileNotFoundError as exc:
            raise NoLog(str(exc)) from exc

    @cached_property
    def reading(self) -> Reading | None:
        """course.toml's reading, else the only one under ./readings, else None."""
        return self.find_reading(None)

    def find_reading(self, path: Path | None) -> Reading | None:
        """The reading at ``path``, else the course's (see ``reading``); ReadingError when it is broken."""
        if path is None and self.settings is not None:
            path = self.settings.reading
        elif path is None:
            found = sorted(p for p in Path("readings").glob("*") if (p / "reading.yaml").is_file())
            path = found[0] if len(found) == 1 else None
        return load_reading(path) if path is not None else None

    def required_reading(self) -> Reading:
        """The reading of course.toml (which must exist), for the operations that grade against it."""
        self.required_settings()
        reading = self.reading
        assert reading is not None  # course.toml always names one
        return reading

    def roster(self, path: Path | None = None) -> pd.DataFrame | None:
        """The roster at ``path``, else course.toml's [roster] file (None: none given); RosterError when broken."""
        settings = self.settings
        path = path or (settings.roster if settings else None)
        return self._roster_at(path) if path else None

    def _roster_at(self, path: Path) -> pd.DataFrame:
        from coursekit.course.roster import read_roster

        return read_roster(path, self.settings.student_column if self.settings else "SIS Login ID")

    @property
    def names(self) -> str:
        """How students see each other, as the course settings say (pseudonyms when there are none)."""
        return self.settings.names if self.settings else "pseudonym"

    # Looking after the log.

    def upgrade_log(self) -> tuple[str, str, Path | None]:
        """Bring the log to this coursekit's schema: (schema before, after, the SQLite backup made first or None)."""
        from coursekit.log import schema

        return schema.upgrade(self.database)

    def _missing_log_file(self) -> Path | None:
        """The SQLite file the log would be, when there is none yet (None: it exists, or is a server's)."""
        from coursekit.log import schema

        file = schema.sqlite_file(self.database)
        return file if file is not None and not file.is_file() else None

    def _existing_engine(self, otherwise: str):
        from coursekit.log import schema

        file = self._missing_log_file()
        if file is not None:
            raise NoLog(f"no discussion log at {file}: {otherwise}")
        return schema.make_engine(self.database)

    def backup_log(self, path: Path) -> tuple[str, Path]:
        """Copy a SQLite log to ``path`` while others may be using it: (the log as shown, the copy)."""
        from coursekit.log import schema

        engine = self._existing_engine("nothing to back up")
        return schema.shown(engine), schema.backup(engine, path)

    def check_log(self) -> LogChecked:
        """``db check``: storage, rows pointing nowhere, versions out of step, current rows against history."""
        from coursekit.log import schema
        from coursekit.log.check import check_log

        engine = self._existing_engine("run 'coursekit collect' first")
        return LogChecked(schema.shown(engine), schema.head(), check_log(engine))

    # Submissions.

    def gather(self, source: SourceOptions) -> Gathered:
        """The source's submissions matched to the roster; IntakeError for a source that cannot be read."""
        from coursekit.intake.base import Options
        from coursekit.intake.identity import Roster
        from coursekit.intake.sources import gather

        where, layout = source.source, source.layout
        if source.homes is not None:
            where, layout = source.homes, layout or "homes"
        if where is None:
            raise Refused(
                "give the submissions: a folder, a Canvas or Moodle zip, an nbgrader exchange, or --homes /home"
            )
        settings = self.settings
        roster_file = source.roster or (settings.roster if settings else None)
        if source.roster is None and roster_file is not None and not roster_file.exists():
            self.notify(f"warning: {roster_file} (course.toml [roster] file) does not exist: no roster match")
            roster_file = None
        people = Roster.from_frame(self._roster_at(roster_file)) if roster_file is not None else None
        options = Options(
            pattern=source.pattern,
            moodle_worksheet=source.moodle_worksheet,
            deadline_only=source.deadline_only,
            settings=settings,
        )
        intake = gather(where, layout, people, options)
        matched = f", matched to {roster_file}" if people is not None else ", no roster"
        self.notify(f"{where}: {intake.layout} layout{matched}")
        return Gathered(intake, options, roster_file if people is not None else None)

    def intake(self, source: SourceOptions, csv: Path | None = None) -> pd.DataFrame:
        """The dry run: where every file would land (one row per file), written to ``csv`` when given."""
        from coursekit.intake.table import intake_table
        from coursekit.log.export import write_csv

        gathered = self.gather(source)
        table = intake_table(gathered.intake, gathered.options)
        if csv is not None:
            write_csv(table, csv)
        return table

    def collect(self, gathered: Gathered, options: CollectOptions, progress: Progress | None = None) -> Collected:
        """Collect the gathered submissions into the log (made when there is none yet); a report per file."""
        from coursekit.log import collect as collecting
        from coursekit.log.results import default_report_path, write_report

        if self._missing_log_file() is not None:  # (LogError first for a kind of database coursekit cannot use)
            self.notify(f"no discussion log at {self.database} yet: creating a new, empty one")
        readings = Readings(options.course) if options.course else None
        report = collecting.collect(
            gathered.intake, self.database, jobs=options.jobs, full=options.full, progress=progress, readings=readings
        )
        self.__dict__.pop("log", None)  # opened again when next needed, now that it may exist
        return Collected(report, write_report(report, options.report or default_report_path(self.database)))

    # What students and the public see.

    def export(self, options: ExportOptions) -> Exported:
        """The log as one frame (reflections, their history, or threads), with its Markdown when asked for."""
        from coursekit.log.export import thread_table, to_markdown, write_csv

        log = self.log
        if options.threads:
            frame = thread_table(log.posts(hidden=True))
        else:
            frame = log.history() if options.history else log.reflections()
        text = None
        if options.format == "markdown":
            reading = self.reading
            text = to_markdown(frame, prompt_titles=reading.prompt_titles() if reading else None)
        if options.out is not None:
            if text is None:
                write_csv(frame, options.out)
            else:
                options.out.write_text(text, encoding="utf-8")
        return Exported(frame, text)

    def publish_feed(self, options: FeedOptions) -> FeedPublished:
        """Write one week's peer feed for the next notebook, and republish older feeds that show posts taken down."""
        from coursekit.discussion import removal
        from coursekit.discussion.feed import build_feed, feed_path, write_feed
        from coursekit.log import meta

        log, names, week, folder = self.log, options.names or self.names, options.week, options.out
        posts = log.posts(public=True)
        week_posts = posts[posts["thread_week"] == week]
        if week_posts.empty:
            raise Refused(f"no reflections for week {week} in {self.database}: collect that week first")
        students, id_hint = self._feed_identity(log.submissions()["student"].unique())
        secret, pictures = log.course_secret(), log.images()
        reading = self.find_reading(options.reading)
        titles = reading.prompt_titles() if reading else {}

        def publish_week(number: int) -> tuple[Path, dict]:
            salt = meta.feed_salt(log.engine, number)
            document = build_feed(posts, number, secret, names, students, salt, pictures, id_hint, titles)
            return write_feed(document, folder), document

        before = removal.feed_post_ids(feed_path(folder, week))
        path, document = publish_week(week)
        published = FeedPublished(
            path,
            reflections=int(week_posts["parent_id"].isna().sum()),
            replies=sum(1 for p in document["posts"] if p["parent_id"]),
            students=len(students),
        )
        published.gone += _gone(before - {p["id"] for p in document["posts"]}, str(path))
        shown = set(posts["post_id"])
        for stale in removal.stale_feeds(folder, shown, skip=week):
            gone = removal.feed_post_ids(stale) - shown
            publish_week(removal.feed_week(stale))
            published.gone += _gone(gone, f"{stale} (republished)")
        return published

    def _feed_identity(self, submitted) -> tuple[list[str], str]:
        """Who a feed is for (everyone who submitted, and the roster when there is one) and which id they type."""
        from coursekit.course.roster import RosterError
        from coursekit.discussion.feed import DEFAULT_ID_HINT

        settings = self.settings
        students = set(submitted)
        if settings is None:
            return sorted(students), DEFAULT_ID_HINT
        try:
            roster = self.roster()
        except RosterError as exc:
            self.notify(f"note: {exc}; the feed knows only the students who submitted")
        else:
            students |= set(roster["student"]) if roster is not None else set()
        hint = f"your {settings.student_column} as on the course roster (your notebooks are filed under it)"
        return sorted(students), hint

    def publish_site(self, options: SiteOptions) -> SitePublished:
        """Write the static discussion site; pages of weeks with nothing left to show are deleted."""
        from coursekit.discussion import removal
        from coursekit.discussion.site import Site, publish_site

        log = self.log
        names = options.names or self.names
        reading = self.find_reading(options.reading)
        site = Site(
            title=options.title,
            prompts={p.id: p.text for p in reading.prompts} if reading else {},
            week_titles={w.number: w.title for w in reading.weeks} if reading else {},
            prompt_titles=reading.prompt_titles() if reading else {},
        )
        posts = log.posts_as_seen(names)
        folder = options.out
        before = removal.site_post_ids(folder)
        written = publish_site(site, posts, folder, log.images())
        return SitePublished(
            folder,
            written,
            len(posts),
            _gone(before - set(posts["post_id"]), str(folder)),
            list(removal.sweep_site(folder, written)),
        )

    # The instructor's term.

    def _graded(self) -> tuple[Settings, DiscussionLog, Reading]:
        """What grading needs: the settings (required), the log and the settings' reading, in that order."""
        settings = self.required_settings()
        return settings, self.log, self.required_reading()

    def scores(self) -> pd.DataFrame:
        """Every submission's week scores (rubric, replies, lateness), as grades and feedback count them."""
        return self._scores(*self._graded())

    def _scores(self, settings: Settings, log: DiscussionLog, reading: Reading) -> pd.DataFrame:
        from coursekit.review.grades import week_scores

        return week_scores(log.submissions(), log.reviews(), log.posts(), settings, _prompt_counts(reading))

    def grades(self, options: GradesOptions) -> GradesWritten:
        """Write the Canvas gradebook import (and a plain CSV); refused while reflections are unscored unless told."""
        from coursekit.log.export import write_csv
        from coursekit.review.grades import canvas_gradebook, partial_weeks, plain_grades, unreviewed

        settings, log, reading = self._graded()
        people = self.roster(options.roster)
        if people is None:
            raise Refused("no roster: pass --roster ROSTER.csv or set [roster] file in course.toml")
        scores = self._scores(settings, log, reading)
        waiting = unreviewed(scores)
        if waiting and not options.allow_unreviewed:
            raise Refused(
                f"{waiting} reflection(s) are not scored yet: review them (notebooks/instructor/review.ipynb), "
                "or pass --allow-unreviewed to write the file anyway (unscored and partly scored weeks blank)",
                exit_code=1,
            )
        counts = _prompt_counts(reading)
        write_csv(canvas_gradebook(scores, people, settings, counts, options.score_partial_weeks), options.out)
        if options.plain:
            write_csv(plain_grades(scores, people), options.plain)
        left = []
        if waiting:
            unscored = scores[scores["total"].isna()].groupby("week").size()
            partial = partial_weeks(scores)
            for week in sorted(set(unscored.index) | set(partial["week"])):
                group = partial[partial["week"] == week]
                partly = [(r.student, r.scored_prompts, r.prompts) for r in group.itertuples()]
                left.append(WeekLeft(int(week), int(unscored.get(week, 0)), partly))
        return GradesWritten(
            options.out,
            len(people),
            len(settings.weeks),
            options.plain,
            sorted(set(log.submissions()["student"]) - set(people["student"])),
            waiting,
            left,
        )

    def feedback(self, out: Path) -> Path:
        """One HTML feedback page per student, named by a per-student secret; returns the private index.csv."""
        from coursekit.review.feedback import write_feedback

        settings, log, reading = self._graded()
        scores = self._scores(settings, log, reading)
        return write_feedback(
            log.reflections(), log.reviews(), scores, settings, reading, log.course_secret(), out, log.images()
        )

    def report(self, out: Path) -> Path:
        """The participation report for instructors (it shows real names); returns its page."""
        from coursekit.review.report import write_report

        settings, log, reading = self._graded()
        return write_report(log, settings, reading, out)

    def desk(self, reviewer: str | None = None) -> ReviewDesk:
        """The review desk over this course's log; a labelled demo course until the log exists."""
        from coursekit.course.folders import searched
        from coursekit.review.desk import ReviewDesk, default_reviewer, demo_desk

        settings = self.settings
        if settings is None:
            raise NoCourse(
                f"no course.toml in {searched(self.start)}: open the review notebook inside the course folder, "
                "or pass Course.open(start=COURSE_FOLDER) (see docs/course-settings.md)"
            )
        reviewer = reviewer or default_reviewer(settings)
        reading = self.required_reading()
        if self._missing_log_file() is not None:
            return demo_desk(settings, reading, reviewer)
        roster = self.roster() if settings.roster and settings.roster.is_file() else None
        return ReviewDesk(self.log, settings, reading, reviewer, roster)

    # Moderation.

    def actor(self, by: str | None = None) -> str:
        """Who acts, for the audit trail: ``by``, else the reviewer rule of the desk, else the machine login."""
        from coursekit.review.reviewers import reviewer_login

        if by and by.strip():
            return by.strip()
        settings = self.settings
        login = getpass.getuser()
        return reviewer_login(settings.staff if settings else {}, os.environ.get("JUPYTERHUB_USER"), login) or login

    def moderate(self, action: Callable[..., str], post_id: str, **values) -> str:
        """Hide, restore or withdraw (``log.moderation.hide``...) a post; returns its state now."""
        return action(self.log.engine, post_id, **values)

    def audit(self) -> pd.DataFrame:
        """The audit trail: every hide, restore, withdrawal and erasure, with who, when and why."""
        from coursekit.log.moderation import audit

        return audit(self.log.engine)

    def erase(self, students: tuple[str, ...], actor: str, why: str, apply: bool = True) -> Erasure:
        """Erase students from the log (``apply=False``: only count what would go)."""
        from coursekit.log import erase as erasing

        return erasing.erase(self.log.engine, students, actor, why, apply=apply)

    def expired(self, days: int) -> list[str]:
        """Students whose last submission is older than ``days``."""
        from coursekit.log.erase import expired

        return expired(self.log.engine, days)

    # The TA's checks and the student's week.

    def validate(
        self,
        source: SourceOptions,
        options: ValidateOptions,
        progress: Callable[[NotebookReport, int, int], None] | None = None,
    ) -> Validated:
        """Check and run every notebook of ``source`` (STUDENT CODE, sandboxed unless told not to); reports written.

        The course folder and the sandbox are checked before the source is read, and the reports are
        written after every notebook, so they survive a run that kills this process.
        """
        from coursekit.validation import reports as reporting
        from coursekit.validation import sandbox as sandboxing
        from coursekit.validation.validate import validate as validate_all

        sandbox = runs.sandboxed(options, self.notify)
        gathered = self.gather(source)
        submissions, out = gathered.intake.root, options.out
        for path in options.allowed if sandbox else ():
            refused = sandboxing.allow_problem(path, keep=(submissions, out.absolute()))
            if refused:
                raise Refused(refused)

        def write_reports(reports: list[NotebookReport]) -> None:
            reporting.write_junit(reports, out / "report.xml", submissions)
            reporting.write_report_csv(reports, out / "report.csv", submissions)

        where = "in a sandbox" if sandbox else "in temporary copies, NOT sandboxed"
        limits = f"each stopped after {options.timeout:g} s and limited to {options.memory:,} MiB per process"
        with contextlib.ExitStack() as stack:
            execute = None
            if options.on_dask:
                execute = runs.on_cluster(stack, options, sandbox, f"{where}, {limits}", self.notify)
            else:
                self.notify(f"running notebooks {where}, {options.jobs} at a time, {limits}")
            reports = validate_all(
                submissions,
                options.course,
                options.week,
                options.jobs,
                options.timeout,
                sandbox,
                progress,
                options.memory,
                write_reports,
                intake=gathered.intake,
                allowed=tuple(path.absolute() for path in options.allowed),  # as notebooks name it
                execute=execute,
            )
        write_reports(reports)
        return Validated(reports, submissions, out / "report.xml", out / "report.csv")

    def release(self, options: ReleaseOptions) -> Released:
        """Week N for students: a folder and a zip, optionally nbgrader outbound/ and an nbgitpuller link."""
        from coursekit.notebook import release as releasing

        reading = self.find_reading(options.reading)
        if reading is None:
            raise Refused("no reading: pass --reading readings/<reading>")
        if options.problem():
            raise Refused(options.problem())
        plan = releasing.plan_release(reading, options.week, options.notebooks, options.feeds)
        folder = releasing.write_folder(plan, options.out)
        zipped = releasing.write_zip(folder)
        outbound = None
        if options.nbgrader_exchange and options.course_id:
            outbound = releasing.write_outbound(folder, options.nbgrader_exchange, options.course_id)
        link = path = None
        if options.git_url and options.hub:
            here, notebook = Path.cwd().resolve(), plan.notebook.resolve()
            path = notebook.relative_to(here).as_posix() if notebook.is_relative_to(here) else plan.notebook.as_posix()
            link = releasing.nbgitpuller_link(options.hub, options.git_url, options.branch, path)
        return Released(plan, folder, zipped, outbound, link, path)


def _prompt_counts(reading: Reading) -> dict[int, int]:
    return {w.number: len(reading.prompts_for(w.number)) for w in reading.weeks}


def _gone(gone: set[str], where: str) -> list[tuple[str, int]]:
    """Files published before that carried posts taken down since: (where, how many), when any."""
    return [(where, len(gone))] if gone else []
