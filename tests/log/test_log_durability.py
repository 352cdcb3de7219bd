"""The log under crashes and concurrency, on SQLite and PostgreSQL, with real `coursekit` processes.

Kill test: `coursekit collect` is killed with SIGKILL at random moments over a few hundred small
submissions; after each kill the log passes `db check` and holds no half-stored notebook, and a
final rerun gives exactly the export of a clean run.

Concurrency test: four collects at once (different folders, and one folder twice), two reviewers
saving reviews and a reader exporting meanwhile: nothing lost or duplicated, no `failed` line,
and every "a colleague saved a review while you had it open" reported exactly when it happened.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from backends import fresh_database, rows
from conftest import ROOT, filled_notebook, write_notebook
from log_workers import KEYS, killed_at
from sqlalchemy import MetaData, create_engine, inspect, select, text

from coursekit.cli import main
from coursekit.intake.sources import gather
from coursekit.log import schema
from coursekit.log.check import check_log
from coursekit.log.collect import BATCH, collect
from coursekit.log.schema import open_database
from coursekit.log.tables import course_meta, metadata

COURSEKIT = [sys.executable, "-m", "coursekit.cli"]
KILLS = 10
SUBMISSIONS = 500  # two full batches and a part: kills can land between commits
PARTIAL = 3  # kills that must leave part of the class stored
REVIEW_ROUNDS = 40
FOLDER = 24  # submissions per collected folder


def write_class(reading, root: Path, prefix: str, n: int) -> Path:
    """``n`` small week-1 submissions under ``root``, students named ``<prefix>NNN``."""
    for i in range(n):
        texts = {p.id: f"{prefix}{i} on {p.id}: rules, time and accountability." for p in reading.prompts_for(1)}
        write_notebook(
            root / f"{prefix}{i:03d}" / "week01.ipynb", filled_notebook(reading, 1, texts), 1_700_000_000 + i
        )
    return root


def new_log(db: str, secret: str) -> None:
    """A new log with a fixed course secret, so two logs give the same post ids."""
    engine = open_database(db)
    with engine.begin() as conn:
        conn.execute(course_meta.insert().values(key="secret", value=secret))
    engine.dispose()


def export(db: str) -> str:
    result = subprocess.run([*COURSEKIT, "export", "--db", db, "--format", "csv"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def stored(db: str) -> int:
    return rows(db, "select count(*) from submissions")[0][0]


def assert_whole(db: str, prompts: int) -> None:
    """`db check` passes and every stored notebook has all its reflections, each with one version."""
    engine = schema.make_engine(db)
    try:
        assert check_log(engine) == []
    finally:
        engine.dispose()
    per_submission = rows(
        db,
        "select s.id, count(r.id) from submissions s left join reflections r on r.submission_id = s.id group by s.id",
    )
    assert {count for _, count in per_submission} <= {prompts}
    assert rows(db, "select count(*) from reflection_versions")[0][0] == len(per_submission) * prompts


def watch(process: subprocess.Popen, db: str, until: Callable[[int], bool]) -> list[tuple[float, int]]:
    """Poll the stored submissions while ``process`` runs, until ``until(count)``; return each (time, count) seen."""
    began, seen = time.monotonic(), [(0.0, -1)]
    engine = schema.make_engine(db)
    try:
        with engine.connect() as conn:
            while process.poll() is None:
                count = conn.execute(text("select count(*) from submissions")).scalar_one()
                conn.rollback()  # the next poll sees the next commit
                if count != seen[-1][1]:
                    seen.append((time.monotonic() - began, count))
                if until(count):
                    break
                time.sleep(0.005)
    finally:
        engine.dispose()
    return seen[1:]


@pytest.mark.slow
@pytest.mark.timeout(600)  # about 40 s on an idle machine; 260 to 300 s seen on a machine shared with other jobs
def test_sigkill_during_collect_never_leaves_a_half_stored_submission(backend, reading, tmp_path):
    """Each round: a new log, a collect killed at a random moment of a run, then `db check` and a rerun.

    Collect commits every BATCH submissions, so a class of several batches is stored in steps. A
    few kills land at start-up or while the first batch is written (nothing committed yet); most
    wait until the first batch is visible and then a random further time within the span the
    clean run took to commit the rest, so they land between commits and inside later batches. The
    test demands that at least PARTIAL kills left part of the class stored. A new log per round
    keeps every kill inside a run that still has files to store.
    """
    assert SUBMISSIONS > 2 * BATCH  # at least two commits before the last one
    folder = write_class(reading, tmp_path / "submissions", "s", SUBMISSIONS)
    prompts = len(reading.prompts_for(1))
    collect_command = [*COURSEKIT, "collect", str(folder), "--db"]
    with fresh_database(backend, tmp_path) as clean:
        new_log(clean, "a" * 64)
        process = subprocess.Popen([*collect_command, clean], stdout=subprocess.DEVNULL, cwd=tmp_path)
        commits = watch(process, clean, lambda _: False)
        assert process.wait() == 0
        visible = [at for at, count in commits if count > 0]
        assert commits[-1][1] == SUBMISSIONS and len(visible) >= 3, commits
        first, last = visible[0], visible[-1]  # when the first and the last batch became visible
        expected = export(clean)

    rng = random.Random(11)
    kills, partial, started = 0, 0, time.monotonic()
    for round_ in range(3 * KILLS):
        if kills == KILLS:
            break
        with fresh_database(backend, tmp_path) as db:
            new_log(db, "a" * 64)
            process = subprocess.Popen([*collect_command, db], stdout=subprocess.DEVNULL, cwd=tmp_path)
            if round_ % 3 == 0:  # starting up, reading files, writing the first batch
                time.sleep(rng.uniform(0.1, 1.0) * first)
            else:  # once a batch is committed: between commits, or inside a later batch
                watch(process, db, lambda count: count > 0)
                time.sleep(rng.uniform(0.0, last - first))
            if process.poll() is not None:
                continue  # it finished first: this round does not count
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            kills += 1
            count = stored(db)
            partial += 0 < count < SUBMISSIONS
            assert rows(db, "select count(*) from collected_files")[0][0] == count  # a file is remembered with its rows
            assert_whole(db, prompts)  # db check passes, no half-stored submission
            final = subprocess.run([*collect_command, db], capture_output=True, text=True, cwd=tmp_path)
            assert final.returncode == 0, final.stdout[-2000:] + final.stderr
            assert f"{SUBMISSIONS} file(s)" in final.stdout
            assert_whole(db, prompts)
            assert export(db) == expected  # the rerun finishes the job: exactly a clean run's log
    took = time.monotonic() - started
    print(f"{backend}: {kills} kills ({partial} with part of the class stored) in {took:.1f} s; commits {commits}")
    assert kills == KILLS, f"only {kills} kills landed before collect finished"
    assert partial >= PARTIAL, f"only {partial} of {kills} kills landed after a batch was committed"


def status_lines(output: str) -> dict[str, str]:
    """file (student/notebook.ipynb) -> status, from collect's one line per file."""
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("collected", "updated", "unchanged", "duplicate", "failed"):
            found[parts[1]] = parts[0]
    return found


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_four_collects_two_reviewers_and_a_reader_at_once(db, reading, tmp_path):
    prompts = len(reading.prompts_for(1))
    reviewed = write_class(reading, tmp_path / "reviewed", "r", 6)
    assert collect(gather(reviewed), db).count("collected") == 6
    folders = {name: write_class(reading, tmp_path / name, name, FOLDER) for name in ("a", "b", "c")}
    stop, go = tmp_path / "stop", tmp_path / "go"
    workers = str(ROOT / "tests" / "log_workers.py")

    def start(*args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)

    reader = start(sys.executable, workers, "read", db, str(prompts), str(stop), str(tmp_path / "read.json"))
    reviewers = [
        start(
            sys.executable,
            workers,
            "review",
            db,
            name,
            str(REVIEW_ROUNDS),
            str(go),
            str(tmp_path / f"{name}.json"),
            "r000",  # a student of the class collected above: both review the same reflection
            *extra,
        )
        for name, extra in (("ta1", ["patient"]), ("ta2", []))
    ]
    # cwd: a PostgreSQL log's collect report goes to the working folder
    collects = [
        start(*COURSEKIT, "collect", str(folders[f]), "--db", db, "--verbose", cwd=tmp_path)
        for f in ("a", "b", "c", "c")
    ]
    while not all((tmp_path / f"ready-{name}").exists() for name in ("ta1", "ta2")):
        assert all(p.poll() is None for p in reviewers), "a reviewer stopped before it started"
        time.sleep(0.01)
    go.touch()
    outputs = [p.communicate(timeout=200) for p in collects]
    for p in reviewers:
        assert p.wait(timeout=200) == 0, p.stderr.read() if p.stderr else ""
    stop.touch()
    assert reader.wait(timeout=60) == 0, reader.stderr.read() if reader.stderr else ""

    for process, (out, err) in zip(collects, outputs, strict=True):
        assert process.returncode == 0, out[-3000:] + err
        assert "failed" not in status_lines(out).values() and " 0 failed," in out
        assert "locked" not in out + err and "Traceback" not in err
    for out, _ in outputs[:2]:
        assert set(status_lines(out).values()) == {"collected"} and len(status_lines(out)) == FOLDER
    same_folder = [status_lines(out) for out, _ in outputs[2:]]
    assert same_folder[0].keys() == same_folder[1].keys() and len(same_folder[0]) == FOLDER
    for name in same_folder[0]:  # one process stored each file; the other found it there: unchanged
        assert sorted([same_folder[0][name], same_folder[1][name]]) == ["collected", "unchanged"], name

    students = 6 + 3 * FOLDER
    assert rows(db, "select count(*), count(distinct student) from submissions")[0] == (students, students)
    assert rows(db, "select count(*) from reflections")[0][0] == students * prompts
    assert_whole(db, prompts)

    read = json.loads((tmp_path / "read.json").read_text())
    assert read["problems"] == [] and read["reads"] > 0

    saves = [s for name in ("ta1", "ta2") for s in json.loads((tmp_path / f"{name}.json").read_text())]
    assert len(saves) == 2 * REVIEW_ROUNDS * KEYS
    reported = {s["id"]: s["conflict"] for s in saves}
    based = {s["id"]: s["based_on"] for s in saves}
    table = rows(db, "select id, student, notebook, prompt_id, reviewer from reviews order by id")
    assert sorted(reported) == [r[0] for r in table]  # every save stored once, nothing else
    previous: dict[tuple, tuple] = {}
    expected = {}
    for review_id, student, notebook, prompt_id, reviewer in table:
        key = (student, notebook, prompt_id)
        prior = previous.get(key)
        colleague = prior is not None and prior[1] != reviewer and prior[0] != based[review_id]
        expected[review_id] = prior[0] if colleague and prior else None
        previous[key] = (review_id, reviewer)
    assert reported == expected  # a colleague's save in between is always, and only then, reported
    spans = {s["id"]: s["at"] for s in saves}
    assert sum(v is not None for v in reported.values()) > 0, f"the reviewers never met: {spans}"


FIRST_SCHEMA = ROOT / "tests" / "data" / "log-schema1.db"  # a log made before schema versions


def killed(point: str, n: int, work: Callable[[], object]) -> int:
    """Run ``work`` in a forked process SIGKILLed at the ``n``-th ``point``; return the statements it ran."""
    seen = multiprocessing.Value("i", 0)
    process = multiprocessing.Process(target=killed_at, args=(point, n, work, seen))
    process.start()
    process.join(timeout=120)
    assert process.exitcode == -signal.SIGKILL, f"not killed at {point} {n}: it exited with {process.exitcode}"
    return seen.value


def kill_points(made: int) -> list[int]:
    """Statements to die before, out of the ``made`` run before the commit: the first two, two between, the last."""
    return sorted({1, 2, made // 3, 2 * made // 3, made})


def contents(target: str | Path, like: dict | None = None) -> dict[str, list[tuple]]:
    """Every row of every table (with ``like``, of that log's tables and columns only), in a stable order."""
    engine = create_engine(schema.database_url(target))
    try:
        with engine.connect() as conn:
            tables = MetaData()
            tables.reflect(conn)
            found = {}
            for name, table in tables.tables.items():
                if like is not None and name not in like:
                    continue
                columns = [c for c in table.columns if like is None or c.name in like[name]]
                found[name] = sorted(conn.execute(select(*columns)).all(), key=repr)
            return found
    finally:
        engine.dispose()


def columns_of(found: dict[str, list[tuple]], target: str | Path) -> dict[str, list[str]]:
    engine = create_engine(schema.database_url(target))
    try:
        with engine.connect() as conn:
            return {name: [c["name"] for c in inspect(conn).get_columns(name)] for name in found}
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_while_collect_makes_a_new_log_leaves_no_half_made_schema(backend, reading, tmp_path, monkeypatch):
    """A collect on a new log killed while it creates the tables (its first second): no table, or all of them.

    The first round dies just before the new schema commits and counts the statements run till
    then; the next die before the first, middle and last of them, and the last just after the
    commit. After each kill the log has no table at all (``db check`` says to run collect, not that
    anything is damaged) or the whole schema (``db check`` clean), and the next collect stores the
    class whole.
    """
    monkeypatch.chdir(tmp_path)  # a PostgreSQL log's collect report lands in the working folder
    folder = write_class(reading, tmp_path / "submissions", "s", 2)
    prompts = len(reading.prompts_for(1))

    def kill_then_collect(point: str, n: int) -> int:
        with fresh_database(backend, tmp_path) as db:
            made = killed(point, n, functools.partial(main, ["collect", str(folder), "--db", db]))
            engine = schema.make_engine(db)
            try:
                with engine.connect() as conn:
                    tables = set(inspect(conn).get_table_names())
                    rev = schema.revision(conn)
                if point == "after commit":
                    assert tables == {*metadata.tables, "alembic_version"} and rev == schema.head()
                    assert check_log(engine) == []
                else:
                    assert tables == set(), (point, n)  # nothing half-made
                    assert check_log(engine) == [schema.problem(None, schema.shown(engine))]  # "run collect first"
            finally:
                engine.dispose()
            assert collect(gather(folder), db).count("collected") == 2
            assert_whole(db, prompts)
            return made

    started = time.monotonic()
    made = kill_then_collect("commit", 1)
    assert made > 10, made  # the migrations ran: there were tables to half-make
    points = [*(("statement", n) for n in kill_points(made)), ("after commit", 1)]
    for point, n in points:
        kill_then_collect(point, n)
    print(f"{backend}: {len(points) + 1} kills while making a log in {time.monotonic() - started:.1f} s")


def older_log(backend: str, db: str, folder: Path) -> str | None:
    """A log of an older schema with a class in it; return its revision.

    SQLite: the first schema's own file (tests/data). PostgreSQL: a class collected now, its
    schema then migrated down to the first revision.
    """
    if backend == "sqlite":
        shutil.copy(FIRST_SCHEMA, db)
        return schema.UNVERSIONED
    collect(gather(folder), db)
    engine = schema.make_engine(db)
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(schema.SCRIPTS))
            config.attributes["connection"] = conn
            command.downgrade(config, schema.BASELINE)
    finally:
        engine.dispose()
    return schema.BASELINE


class Frozen(datetime):
    """A clock stopped at one second: every backup an upgrade makes gets the same stamp."""

    @classmethod
    def now(cls, tz=None):
        return cls(2026, 9, 1, 12, 0, 0, tzinfo=tz)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_during_db_upgrade_leaves_the_old_schema_or_the_new_and_a_rerun_finishes(
    backend, reading, tmp_path, monkeypatch
):
    """`db upgrade` killed before its first, middle and last statements, before its commit, inside its
    SQLite backup, and (run again) just after its commit.

    After each kill before the commit the log is at its old schema with every row as it was
    (``db check`` asks for the upgrade, nothing else); after the commit it is at the new one,
    every old row kept, ``db check`` clean, and a rerun has nothing to do. Each file named as a
    backup is a whole copy at every step (a copy cut short is left as ``.partial``). The clock is
    stopped, so every backup has the same stamp, as a rerun within the same second would.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(schema, "datetime", Frozen)
    folder = write_class(reading, tmp_path / "submissions", "s", 2)
    with fresh_database(backend, tmp_path) as db:
        old = older_log(backend, db, folder)
        before = contents(db)
        kept = {name: rows for name, rows in before.items() if name != "alembic_version"}
        old_columns = columns_of(kept, db)

        def kill(point: str, n: int) -> int:
            made = killed(point, n, functools.partial(main, ["db", "upgrade", "--db", db]))
            upgraded = point == "after commit"
            engine = schema.make_engine(db)
            try:
                with engine.connect() as conn:
                    assert schema.revision(conn) == (schema.head() if upgraded else old), (point, n)
                problems = [] if upgraded else [schema.problem(old, schema.shown(engine))]
                assert check_log(engine) == problems, (point, n)
            finally:
                engine.dispose()
            assert contents(db, like=old_columns if upgraded else None) == (kept if upgraded else before), (point, n)
            whole = [p for p in tmp_path.glob("*.before-*") if not p.name.endswith((".partial", "-journal"))]
            for copy in whole:
                assert contents(copy) == before, (point, n, copy.name)
            return made

        started = time.monotonic()
        made = kill("commit", 1)
        points = [("statement", n) for n in kill_points(made)]
        if backend == "sqlite":
            points += [("backup page", 1), ("backup page", 3)]
        points.append(("after commit", 1))  # this run, after all those kills, gets to the end
        for point, n in points:
            kill(point, n)
        took = time.monotonic() - started
        assert schema.upgrade(db) == (schema.head(), schema.head(), None)  # nothing left to do
    print(f"{backend}: {len(points) + 1} kills during db upgrade in {took:.1f} s")
