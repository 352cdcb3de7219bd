"""Schema versions: a log made by the first schema upgrades with nothing lost, newer logs are refused,
migrations match the models, creation is safe to race, and `db check` / `db backup` work."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from backends import fresh_database, rows
from click.testing import CliRunner
from conftest import ROOT
from sqlalchemy import select
from sqlalchemy.engine import make_url

from coursekit.cli import main
from coursekit.course.settings import SettingsError, load_settings
from coursekit.log import schema
from coursekit.log.check import check_log
from coursekit.log.frames import open_log
from coursekit.log.schema import open_database
from coursekit.log.tables import images, likes, metadata, reflections, reviews

FIRST_SCHEMA = ROOT / "tests" / "data" / "log-schema1.db"  # made by the code on main before versions (6 students)
with sqlite3.connect(FIRST_SCHEMA) as _first:  # the first schema's tables (later revisions add more)
    TABLES = sorted(row[0] for row in _first.execute("select name from sqlite_master where type = 'table'"))


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def dump(path: Path, like: Path | None = None) -> dict[str, list[tuple]]:
    """Every row of every table; with ``like``, only the columns that log's tables have (later revisions add some)."""
    with sqlite3.connect(like or path) as conn:
        columns = {t: [row[1] for row in conn.execute(f"pragma table_info({t})")] for t in TABLES}
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"select {', '.join(columns[t])} from {t} order by 1").fetchall() for t in TABLES}


def test_a_log_of_the_first_schema_is_refused_then_upgraded_with_nothing_lost(tmp_path):
    db = tmp_path / "class.db"
    shutil.copy(FIRST_SCHEMA, db)
    before = dump(db)
    assert sum(map(len, before.values())) > 200 and before["reviews"] and before["likes"]

    with pytest.raises(schema.LogError, match="coursekit db upgrade"):
        open_log(db)
    refused = cli("export", "--db", str(db))
    assert refused.exit_code == 2 and "older schema" in refused.output and "coursekit db upgrade" in refused.output
    assert cli("collect", str(tmp_path), "--db", str(db)).exit_code == 2  # collect refuses too
    assert dump(db) == before

    result = cli("db", "upgrade", "--db", str(db))
    assert result.exit_code == 0, result.output
    backups = list(tmp_path.glob("class.db.before-*"))
    assert len(backups) == 1 and dump(backups[0]) == before  # the copy made before upgrading
    assert dump(db, like=backups[0]) == before  # every row of every table kept (new columns aside)
    assert rows(db, "select source, source_id, source_late from submissions limit 1") == [(None, None, None)]
    assert rows(db, "select version_num from alembic_version") == [(schema.head(),)]
    assert rows(db, "select count(*) from collected_files") == [(0,)]  # 0002: a new, empty table
    assert rows(db, "select count(*) from images") == [(0,)]  # 0004: another
    assert check_log(open_database(db)) == []
    assert len(open_log(db).reflections()) == len(before["reflections"])
    assert "already at schema" in cli("db", "upgrade", "--db", str(db)).output


def test_db_upgrade_backs_up_and_migrates_under_one_lock_a_racing_collect_waits_for(tmp_path, monkeypatch):
    """A collect committing between the backup and the migration would be in the upgraded log and not in the backup.

    The racer is an older coursekit's collect (a newer one refuses the old log), storing a submission
    the moment the backup is made, without waiting for a lock: under the upgrade's lock it is refused
    (it would have waited), and the backup holds every row the upgraded log has.
    """
    db = tmp_path / "class.db"
    shutil.copy(FIRST_SCHEMA, db)
    raced = []

    def backup_then_race(engine, destination, made=schema.backup):
        copy = made(engine, destination)
        racer = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            racer.execute("BEGIN IMMEDIATE")
            racer.execute(
                "INSERT INTO submissions (student, notebook, week, path, file_hash, submitted_at, collected_at) "
                "VALUES ('late-lou', 'week01', 1, 'late-lou/week01.ipynb', 'f00d', '2026-09-01', '2026-09-01')"
            )
            racer.execute("COMMIT")
            raced.append("committed")
        except sqlite3.OperationalError as exc:
            raced.append(str(exc))
        finally:
            racer.close()
        return copy

    monkeypatch.setattr(schema, "backup", backup_then_race)
    before, after, copy = schema.upgrade(db)
    assert (before, after) == (schema.UNVERSIONED, schema.head()) and copy is not None
    assert dump(db, like=copy) == dump(copy)  # nothing in the upgraded log that the backup lacks
    assert raced == ["database is locked"]


def test_models_and_migrations_agree(db):
    """A forgotten migration fails here: the migrated database must match tables.py's tables."""
    engine = open_database(db)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert schema.revision(conn) == schema.head()


def test_the_head_coursekit_expects_is_the_newest_migration():
    """``schema.HEAD`` spares every command importing Alembic; a new migration must move it too."""
    assert schema.scripts_head() == schema.HEAD, "add the new migration's revision to schema.HEAD"


def test_opening_an_up_to_date_log_does_not_import_alembic(tmp_path):
    db = tmp_path / "class.db"
    open_database(db).dispose()  # made (Alembic runs here, in this process)
    code = (
        f"import sys; from coursekit.log.schema import open_database; open_database({str(db)!r}); "
        "print('alembic' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_the_upgraded_first_schema_matches_the_models(tmp_path):
    db = tmp_path / "class.db"
    shutil.copy(FIRST_SCHEMA, db)
    schema.upgrade(db)
    with open_database(db).connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_a_log_from_a_newer_coursekit_is_refused(db, make_class):
    folder = make_class(1)
    open_database(db).dispose()
    engine = schema.make_engine(db)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    for args in (["export", "--db", db], ["collect", str(folder), "--db", db], ["db", "upgrade", "--db", db]):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert "newer coursekit" in result.output and "upgrade coursekit" in result.output
    assert "newer coursekit" in cli("db", "check", "--db", db).output


RACERS = 8


def _open_at_once(db: str, barrier, results) -> None:
    barrier.wait()  # every process looks at the empty log at the same moment
    try:
        open_database(db).dispose()
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
        results.put(f"{type(exc).__name__}: {exc}")


def test_creating_a_log_is_safe_to_race(db):
    barrier, results = multiprocessing.Barrier(RACERS), multiprocessing.Queue()
    racers = [multiprocessing.Process(target=_open_at_once, args=(db, barrier, results)) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    outcomes = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join()
    assert outcomes == ["ok"] * RACERS
    assert rows(db, "select count(*) from alembic_version") == [(1,)]


def test_db_check_finds_what_is_out_of_step(db, make_class, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a PostgreSQL log's collect report lands in the working folder
    assert cli("collect", str(make_class(3)), "--db", db).exit_code == 0
    assert cli("db", "check", "--db", db).exit_code == 0
    engine = schema.make_engine(db)
    with engine.begin() as conn:
        first = conn.exec_driver_sql("SELECT min(id) FROM reflections").scalar_one()
        conn.exec_driver_sql(f"UPDATE reflections SET text = 'edited behind our back' WHERE id = {first}")
        last = conn.exec_driver_sql("SELECT max(id) FROM reflections").scalar_one()
        conn.exec_driver_sql(f"DELETE FROM reflection_versions WHERE reflection_id = {last}")
    result = cli("db", "check", "--db", db)
    assert result.exit_code == 1
    assert f"1 reflections that disagree with their latest row in reflection_versions (ids {first})" in result.output
    assert f"1 reflections whose versions are out of step with reflection_versions (ids {last})" in result.output


def test_db_check_finds_a_gap_in_the_version_history(db, make_class, tmp_path, monkeypatch):
    """Versions 2..n with the latest matching the current row: only the count of versions shows version 1 is gone."""
    monkeypatch.chdir(tmp_path)
    assert cli("collect", str(make_class(2)), "--db", db).exit_code == 0
    engine = schema.make_engine(db)
    with engine.begin() as conn:
        gap = conn.exec_driver_sql("SELECT min(id) FROM reflections").scalar_one()
        conn.exec_driver_sql(f"UPDATE reflection_versions SET version = version + 1 WHERE reflection_id = {gap}")
        conn.exec_driver_sql(f"UPDATE reflections SET version = version + 1 WHERE id = {gap}")
    result = cli("db", "check", "--db", db)
    assert result.exit_code == 1
    assert f"1 reflections whose versions are out of step with reflection_versions (ids {gap})" in result.output
    assert "disagree" not in result.output  # the latest version still matches: the gap alone is found


def test_db_check_finds_orphans_and_damage_in_sqlite(tmp_path, make_class):
    db = tmp_path / "log.db"
    cli("collect", str(make_class(2)), "--db", str(db))
    with sqlite3.connect(db) as conn:  # SQLite lets a careless tool break references
        conn.execute("DELETE FROM reflections WHERE id = (SELECT min(id) FROM reflections)")
        conn.execute("UPDATE submissions SET id = 99 WHERE id = (SELECT max(id) FROM submissions)")
    result = cli("db", "check", "--db", str(db))
    assert result.exit_code == 1
    assert "reflection_versions rows point at a missing reflections row" in result.output
    assert "reflections rows point at a missing submissions row" in result.output
    assert "submissions with no reflection or answer stored (ids 99)" in result.output

    damaged = tmp_path / "damaged.db"
    data = bytearray(db.read_bytes())
    data[4096 * 2 : 4096 * 2 + 200] = b"\xff" * 200
    damaged.write_bytes(bytes(data))
    damage = cli("db", "check", "--db", str(damaged))
    assert damage.exit_code == 1 and "problem" in damage.output


def test_db_check_finds_orphan_images_likes_and_reviews(db, make_class, tmp_path, monkeypatch):
    """Images, likes and reviews name their post, notebook or reflection without a foreign key: checked all the same."""
    monkeypatch.chdir(tmp_path)  # a PostgreSQL log's collect report lands in the working folder
    assert cli("collect", str(make_class(2)), "--db", db).exit_code == 0
    engine = schema.make_engine(db)
    with engine.begin() as conn:
        r = reflections.c
        post_id, *key = conn.execute(
            select(r.post_id, r.student, r.notebook, r.prompt_id).order_by(r.id).limit(1)
        ).one()
        of_ann = dict(zip(("student", "notebook", "prompt_id"), key, strict=True))  # her reflection is post_id
        notebook = of_ann["notebook"]
        when = datetime(2026, 9, 1)
        image = dict(mime="image/png", width=1, height=1, data=b"png")
        review = dict(reviewer="ta", scores="{}", comment="", flagged=False, created_at=when)
        conn.execute(images.insert(), [dict(post_id=post_id, name="a.png", **image)])
        conn.execute(likes.insert(), [dict(student="student01", notebook=notebook, post_id=post_id, created_at=when)])
        first = conn.execute(reviews.insert().values(**of_ann, **review)).inserted_primary_key[0]
        conn.execute(reviews.insert().values(**of_ann, **review, based_on=first))
    assert check_log(engine) == []  # each points at a row that is there

    with engine.begin() as conn:
        gone = "r-no-such-post"
        image_id = conn.execute(images.insert().values(post_id=gone, name="b.png", **image)).inserted_primary_key[0]
        like_of_nothing = conn.execute(
            likes.insert().values(student="student01", notebook=notebook, post_id=gone, created_at=when)
        ).inserted_primary_key[0]
        like_from_nowhere = conn.execute(  # given in a notebook the log has no submission of
            likes.insert().values(student="student09", notebook=notebook, post_id=post_id, created_at=when)
        ).inserted_primary_key[0]
        of_nothing = dict(of_ann, prompt_id="no-such-prompt")
        review_of_nothing = conn.execute(reviews.insert().values(**of_nothing, **review)).inserted_primary_key[0]
        based_on_nothing = conn.execute(
            reviews.insert().values(**of_ann, **review, based_on=9999)
        ).inserted_primary_key[0]
    assert sorted(check_log(engine)) == sorted(
        [
            f"1 images rows point at a missing reflections or replies row (ids {image_id})",
            f"1 likes rows point at a missing reflections or replies row (ids {like_of_nothing})",
            f"1 likes rows point at a missing submissions row (ids {like_from_nowhere})",
            f"1 reviews rows point at a missing reflections row (ids {review_of_nothing})",
            f"1 reviews rows point at a missing reviews row (ids {based_on_nothing})",
        ]
    )
    engine.dispose()
    assert cli("db", "check", "--db", db).exit_code == 1


@pytest.mark.parametrize("offset", [100, 4096 * 2, 4096 * 5], ids=["schema page", "page 3", "page 6"])
def test_db_check_reports_a_file_sqlite_cannot_read_without_a_traceback(tmp_path, offset):
    """Damage that stops SQLite itself (at connecting, or inside its integrity check) is a problem, not a crash."""
    db = tmp_path / "log.db"
    open_database(db).dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
    data = bytearray(db.read_bytes())
    data[offset : offset + 400] = b"\xff" * 400
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(bytes(data))
    result = cli("db", "check", "--db", str(damaged))
    assert result.exit_code == 1  # (``cli`` lets a crash through as the exception it is)
    assert "problem: SQLite" in result.output, result.output


def test_db_backup_copies_a_sqlite_log_and_points_postgresql_to_pg_dump(db, make_class, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a PostgreSQL log's collect report lands in the working folder
    cli("collect", str(make_class(3)), "--db", db)
    copy = tmp_path / "backups" / "copy.db"
    result = cli("db", "backup", str(copy), "--db", db)
    if db.startswith("postgresql"):
        assert result.exit_code == 2 and "pg_dump" in result.output
        return
    assert result.exit_code == 0, result.output
    assert len(open_log(copy).reflections()) == len(open_log(db).reflections()) > 0
    assert check_log(open_database(copy)) == []
    again = cli("db", "backup", str(copy), "--db", db)
    assert again.exit_code == 2 and "already exists" in again.output


def test_postgresql_urls_use_psycopg_3():
    assert schema.database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert schema.database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert schema.database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    engine = schema.make_engine("postgresql://ta:s3cret@db.example.edu/course")
    assert "s3cret" not in schema.shown(engine)


def test_a_database_other_than_sqlite_or_postgresql_is_refused_with_what_to_give(tmp_path):
    """Only the two tested backends: collected_files' upsert, the reviewers' lock and the types rely on them."""
    with pytest.raises(schema.LogError, match=r"mysql:// is not a database .*postgresql://user@host/database"):
        schema.database_url("mysql://ta@db.example.edu/course")
    result = CliRunner().invoke(main, ["collect", str(tmp_path), "--db", "mysql://ta@db.example.edu/course"])
    assert result.exit_code == 2 and "error: mysql:// is not a database coursekit keeps" in result.output
    assert "Traceback" not in result.output
    assert schema.database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


@pytest.mark.timeout(300)
def test_the_package_build_ships_the_migrations(tmp_path):
    """setuptools' build_py is what goes into the wheel: the migrations must be in it."""
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py", "--build-lib", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    built = tmp_path / "coursekit" / "log" / "migrations"
    assert (built / "env.py").is_file() and (built / "script.py.mako").is_file()
    shipped = {p.name for p in (built / "versions").glob("*.py")}
    assert shipped == {p.name for p in (schema.SCRIPTS / "versions").glob("*.py")} and "0001_baseline.py" in shipped


def test_course_toml_refuses_a_database_password(tmp_path):
    toml = (
        (ROOT / "course.toml")
        .read_text()
        .replace('database = "class.db"', 'database = "postgresql://ta:hunter2@db.example.edu/course"')
    )
    (tmp_path / "course.toml").write_text(toml.replace('reading = "readings/', f'reading = "{ROOT}/readings/'))
    with pytest.raises(SettingsError, match="PGPASSWORD"):
        load_settings(tmp_path / "course.toml")


@pytest.mark.postgres
def test_the_postgresql_password_comes_from_the_environment(make_class, tmp_path):
    """course.toml names the database without a password; each TA's PGPASSWORD supplies it."""
    with fresh_database("postgresql", tmp_path) as db:
        assert make_url(db).password is None
        folder = make_class(2)
        command = [sys.executable, "-m", "coursekit.cli", "collect", str(folder), "--db", db]
        wrong = {**os.environ, "PGPASSWORD": "not-the-password"}
        refused = subprocess.run(command, env=wrong, capture_output=True, text=True, cwd=tmp_path)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert "cannot open the log at" in refused.stderr and "PGPASSWORD" in refused.stderr
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)  # its report lands here
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(open_log(db).reflections()) > 0
