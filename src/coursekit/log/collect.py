"""Collect submitted notebooks into the discussion log: only what changed, parsed in parallel, stored in batches.

Every file ends up in the report as collected, updated, unchanged, duplicate, failed (with a
reason and a hint), unmatched (its sender fits no roster student, or several: never stored under a
guess) or skipped (not a notebook, or clutter). A failure never stops the run and never touches
what is already stored. The caller gathers the files from any intake source once
(``intake.sources.gather``) and hands the ``Intake`` over, each file with its roster student; what
is set aside is reported before anything is stored.

A rerun does not open a file whose size and change stamp match what the log remembers
(``collected_files``); a file whose stamp changed but whose bytes hash the same is unchanged.
Files are read and extracted in worker processes (``intake.reader``) while this process stores
the results as they come, many per transaction and each in its own savepoint. Nothing grows with
the number of files but the small per-file results.

Two files for the same student and notebook (a re-upload, "week01-1.ipynb"): the newest wins
(``intake.duplicates``, the rule the dry run follows too). Files are handled newest first within
each student, so the first readable file for a notebook is the one stored and any later one is an
older copy; only the winners' names are remembered.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from operator import attrgetter
from pathlib import Path

from sqlalchemy import Connection, Engine

from coursekit.course.reading import Readings
from coursekit.discussion.names import reflection_id
from coursekit.discussion.threads import decide, mentioned
from coursekit.intake.duplicates import Claims, newest_first
from coursekit.intake.extract import Extracted, week_in_name
from coursekit.intake.reader import read_all
from coursekit.intake.submission import Intake, LayoutProblem, SubmissionFile, Unmatched
from coursekit.log import meta, moderation, schema
from coursekit.log.batch import Batch
from coursekit.log.files import TrackedFile, track_file, tracked_files
from coursekit.log.results import CollectReport, FileResult, Status
from coursekit.log.schema import open_database
from coursekit.log.submissions import Source, Stored, post_authors, store_submission
from coursekit.log.tables import TooLong

__all__ = ["CollectReport", "FileResult", "collect", "collect_files"]

BATCH = 200  # submissions per transaction at most...
BATCH_SECONDS = 1.0  # ...and held open this long at most: SQLite's write lock blocks the review desk
LOOKUP = 2000  # files asked about per query of ``collected_files``
YOUNG = 50_000  # new objects between the garbage collector's young collections during a run
Progress = Callable[[FileResult, int, int], None]  # (result, files done, files in all)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector off everything that existed before the run, and rarer during it.

    A collect makes a few objects per file, and every so often Python's collector walks every
    object in the process: SQLAlchemy, pandas and the rest, hundreds of thousands of them. Frozen,
    they are not walked (a rerun of 2,000 unchanged files takes half the time), while what the run
    itself makes is still collected, in young collections every ``YOUNG`` new objects instead of
    every 700 (a tenth of a 20,000-file rerun went to 300 collections; what a run makes is freed by
    reference counting, so memory stays as flat). Worker processes forked meanwhile inherit both.
    Left alone when something else froze the heap (or a run is already inside one).
    """
    global _freezing
    if _freezing or gc.get_freeze_count():  # (counting walks the frozen objects: asked only when none are ours)
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG, *thresholds[1:])
    _freezing = True
    try:
        yield
    finally:
        _freezing = False
        gc.set_threshold(*thresholds)
        gc.unfreeze()


_freezing = False  # a run in this process has frozen the heap (``frozen_heap``)


@frozen_heap()
def collect(
    intake: Intake,
    db: Engine | str | Path,
    *,
    jobs: int | None = None,
    full: bool = False,
    progress: Progress | None = None,
    readings: Readings | None = None,
) -> CollectReport:
    """Collect every notebook of an ``intake`` already gathered into the log ``db`` (an engine, a path or a URL).

    The caller gathers the source (``intake.sources.gather``) before the database is opened, so a
    mistyped folder leaves no empty log behind. ``jobs``: worker processes (default one per core);
    ``full``: read every file even when the log says it did not change. Saved widget answers are
    re-graded against the reading each notebook names, found in ``readings`` (default:
    ``Intake.readings``, ``readings/<id>`` in or above the source, else in or above the working folder).
    """
    engine = db if isinstance(db, Engine) else open_database(db)
    return collect_files(
        intake.files,
        engine,
        intake.skipped,
        intake.unmatched,
        jobs=jobs,
        full=full,
        progress=progress,
        readings=readings or intake.readings(),
    )


def set_aside(layout_problems: Sequence[LayoutProblem], unmatched: Sequence[Unmatched] = ()) -> list[FileResult]:
    """The report lines of what a source held but will not be stored: not read, skipped, unmatched."""
    results = [
        FileResult(
            u.file.path,
            u.file.source_id,
            "",
            Status.UNMATCHED,
            u.detail,
            u.hint,
            week_in_name(Path(u.file.name).stem),
            u.file.entry,
        )
        for u in unmatched
    ]
    for problem in layout_problems:
        name = Path(problem.entry or problem.path.name)
        week = week_in_name(name.stem) if name.suffix == ".ipynb" else None
        status = Status.FAILED if problem.serious else Status.SKIPPED
        results.append(FileResult(problem.path, "", "", status, problem.reason, problem.hint, week, problem.entry))
    return results


@frozen_heap()
def collect_files(
    files: Sequence[SubmissionFile],
    engine: Engine,
    layout_problems: Sequence[LayoutProblem] = (),
    unmatched: Sequence[Unmatched] = (),
    *,
    jobs: int | None = None,
    full: bool = False,
    progress: Progress | None = None,
    readings: Readings | None = None,
) -> CollectReport:
    """Collect ``files`` (from any intake source) into the log; ``collect`` hands on a gathered intake's.

    ``readings``: where the readings that saved answers are re-graded against are found (default:
    the working folder or above it).
    """
    readings = readings or Readings(None)
    total = len(files) + len(layout_problems) + len(unmatched)
    results: list[FileResult] = []

    def finish(result: FileResult) -> None:
        results.append(result)
        if progress:
            progress(result, len(results), total)

    secret = meta.make_course_secret(engine)  # made before anything is stored: post ids derive from it
    ordered = newest_first(files)
    known = _remembered(engine, ordered, full)
    # Workers start here, before the first progress report (which may start a display thread).
    skip = [_skippable(file, seen) for file, seen in zip(ordered, known, strict=True)]
    to_read = [file for file, skipped in zip(ordered, skip, strict=True) if not skipped]
    parsed = read_all(to_read, jobs, readings)
    for result in set_aside(layout_problems, unmatched):  # reported before anything is stored
        finish(result)

    winners = Claims()  # (student, notebook) -> the file used
    writer = _Writer(engine, finish)
    try:
        for file, seen, skipped in zip(ordered, known, skip, strict=True):
            if skipped:
                assert seen is not None
                if not _claim(winners, file, seen.notebook, seen.week, finish):
                    finish(_result(file, seen.notebook, seen.week, Status.UNCHANGED))
                continue
            extracted = next(parsed)
            if not extracted.ok:
                first = extracted.problems[0]
                week = extracted.week if extracted.week is not None else week_in_name(Path(file.name).stem)
                finish(_result(file, extracted.notebook, week, Status.FAILED, first.reason, first.hint))
            elif not _claim(winners, file, extracted.notebook, extracted.week, finish):
                writer.store(file, extracted, secret)
        writer.commit()
    finally:
        writer.close()
        parsed.close()
    results.sort(key=attrgetter("origin"))
    return CollectReport(results)


def origin_key(file: SubmissionFile) -> str:
    """How ``collected_files`` names a file: its absolute path, and the member for an archive."""
    path = str(file.path)
    if not (path.startswith(os.sep) and ".." not in path):  # (a Path is otherwise already normal)
        path = os.path.abspath(path)
    return f"{path}:{file.entry}" if file.entry else path


def _remembered(engine: Engine, files: list[SubmissionFile], full: bool) -> list[TrackedFile | None]:
    """What the log remembers of each file (None: nothing, or ``full`` asks to read it anyway)."""
    if full:
        return [None] * len(files)
    keys = [origin_key(file) for file in files]
    in_order = sorted(keys) if len(keys) > LOOKUP else keys  # neighbours asked together: one stretch each
    known: dict[str, TrackedFile] = {}
    with engine.connect() as conn:
        for start in range(0, len(in_order), LOOKUP):
            known |= tracked_files(conn, in_order[start : start + LOOKUP])
    return [known.get(key) for key in keys]


def _skippable(file: SubmissionFile, seen: TrackedFile | None) -> bool:
    """The file is what it was when last stored: same student, same size, same change stamp."""
    return (
        seen is not None
        and file.size >= 0
        and bool(file.stamp)
        and (seen.student, seen.size, seen.stamp) == (file.student, file.size, file.stamp)
    )


def _result(file: SubmissionFile, notebook: str, week: int | None, status: Status, detail="", hint="", notes=()):
    return FileResult(
        file.path, file.student, notebook, status, detail, hint, week, file.entry, tuple(notes), file.matched_by
    )


def _claim(
    winners: Claims,
    file: SubmissionFile,
    notebook: str,
    week: int | None,
    finish: Callable[[FileResult], None],
) -> bool:
    """Report ``file`` as a duplicate if a newer file already stands for its notebook; else claim it."""
    older = winners.older_copy(file, notebook)
    if older is None:
        return False
    finish(_result(file, notebook, week, Status.DUPLICATE, older.reason, older.hint))
    return True


def _store(conn: Connection, file: SubmissionFile, extracted: Extracted, secret: str) -> Stored:
    """Store one submission and remember what its file was, in the caller's savepoint.

    The discussion's rules decide which replies and likes are kept (over the authors of the posts
    they name, read in this savepoint so posts stored earlier in the batch count); the store then
    writes that decision as it is.
    """
    source = Source(file.source, file.source_id, file.late)
    peer_states = [(a.answer_id, a.state) for a in extracted.answers if a.kind == "peer"]
    thread = decide(file.student, peer_states, post_authors(conn, mentioned(peer_states)))
    stored = store_submission(
        conn, file.student, extracted, thread, file.origin, extracted.file_hash, file.submitted_at, secret, source
    )
    tagged = {reflection_id(secret, file.student, extracted.notebook, r.prompt_id): r for r in extracted.reflections}
    followed = moderation.follow_tags(conn, file.student, {post: r.withdrawn for post, r in tagged.items()})
    if followed:
        said = [
            f"{tagged[p].prompt_id}: {'withdrawn' if tagged[p].withdrawn else 'shown again'} (tag)" for p in followed
        ]
        stored = dataclasses.replace(stored, notes=(*stored.notes, *said))
    if file.size >= 0 and file.stamp:
        seen = TrackedFile(file.student, extracted.notebook, extracted.week, file.size, file.stamp, extracted.file_hash)
        track_file(conn, origin_key(file), seen)
    return stored


class _Writer:
    """Stores submissions in batches and reports each file once its batch is committed.

    A database error on one file rolls back its savepoint only; if a commit itself fails, every
    file of that batch is reported failed (none of it was stored) and the run goes on.
    """

    def __init__(self, engine: Engine, finish: Callable[[FileResult], None]) -> None:
        self.engine = engine
        self.finish = finish
        self.batch = Batch(engine)
        self.started = time.monotonic()
        self.waiting: list[FileResult] = []

    def store(self, file: SubmissionFile, extracted: Extracted, secret: str) -> None:
        try:
            stored = self.batch.write(lambda conn: _store(conn, file, extracted, secret))
        except Exception as exc:  # noqa: BLE001 - a database error on one file must not stop the run
            self.finish(_database_error(file, extracted, exc))
            return
        detail = f"{stored.changed_reflections} item(s) changed" if stored.changed_reflections else ""
        notes = [*stored.notes, *(w.reason for w in extracted.warnings)]  # e.g. text in a stray cell
        if notes:
            detail = "; ".join([detail, *notes] if detail else notes)
        hint = extracted.warnings[0].hint if extracted.warnings else ""
        self.waiting.append(
            _result(file, extracted.notebook, extracted.week, stored.outcome, detail, hint, notes=notes)
        )
        if self.batch.pending >= BATCH or time.monotonic() - self.started >= BATCH_SECONDS:
            self.commit()

    def commit(self) -> None:
        try:
            self.batch.commit()
        except Exception as exc:  # noqa: BLE001 - the files of this batch fail; the next batch starts afresh
            self.batch.close()
            self.batch = Batch(self.engine)
            for result in self.waiting:
                self.finish(
                    replace(
                        result,
                        status=Status.FAILED,
                        detail=f"database error while saving: {exc.__class__.__name__}: {schema.driver_message(exc)}",
                        hint="nothing of this file was stored; fix the database and run collect again",
                        notes=(),
                    )
                )
        else:
            for result in self.waiting:
                self.finish(result)
        self.waiting = []
        self.started = time.monotonic()

    def close(self) -> None:
        self.batch.close()


def _database_error(file: SubmissionFile, extracted: Extracted, exc: Exception) -> FileResult:
    if isinstance(exc, TooLong):
        return _result(
            file, extracted.notebook, extracted.week, Status.FAILED, str(exc), "shorten that name and resubmit"
        )
    return _result(
        file,
        extracted.notebook,
        extracted.week,
        Status.FAILED,
        f"database error: {exc.__class__.__name__}: {schema.driver_message(exc)}",
        "nothing of this file was stored; fix the database and run collect again",
    )
