"""The shortcuts that make collect fast keep their answers: what the log remembers, the walk's order, the heap."""

from __future__ import annotations

import gc
import os
from datetime import datetime

import pytest
from backends import fresh_database, rows
from missing import missing
from sqlalchemy import text

from coursekit.intake.folder import find_submissions, walk_notebooks
from coursekit.intake.sources import gather
from coursekit.intake.submission import modified_at
from coursekit.log.collect import YOUNG, collect, frozen_heap, origin_key
from coursekit.log.files import TrackedFile, _tracked_between, track_file, tracked_files
from coursekit.log.schema import open_database


def remember(engine, origins: list[str]) -> None:
    with engine.begin() as conn:
        for n, origin in enumerate(origins):
            track_file(conn, origin, TrackedFile(f"s{n}", "week01", 1, n, str(n), "h" * 64))


def test_tracked_files_answers_only_what_was_asked(db):
    """One range scan serves the lookup: neighbours in the range that were not asked for stay out."""
    engine = open_database(db)
    remember(engine, ["/c/a/1.ipynb", "/c/a/2.ipynb", "/c/a/3.ipynb", "/c/b/1.ipynb", "/c/a/zip.zip:x/1.ipynb"])
    with engine.connect() as conn:
        found = tracked_files(conn, ["/c/a/3.ipynb", "/c/a/1.ipynb", "/c/a/9.ipynb"])
        assert sorted(found) == ["/c/a/1.ipynb", "/c/a/3.ipynb"]
        assert found["/c/a/3.ipynb"] == TrackedFile("s2", "week01", 1, 2, "2", "h" * 64)
        assert tracked_files(conn, []) == {}
        assert list(tracked_files(conn, ["/c/a/zip.zip:x/1.ipynb"])) == ["/c/a/zip.zip:x/1.ipynb"]


def test_a_second_upsert_replaces_what_was_remembered(db):
    engine = open_database(db)
    remember(engine, ["/c/a/1.ipynb"])
    with engine.begin() as conn:
        track_file(conn, "/c/a/1.ipynb", TrackedFile("s9", "week02", 2, 99, "stamp", "f" * 64))
    assert rows(db, "select student, notebook, week, size, stamp from collected_files") == [
        ("s9", "week02", 2, 99, "stamp")
    ]


def test_a_rerun_skips_by_what_the_log_remembers_of_each_file(make_class, db):
    root = make_class(3)
    first = collect(gather(root), db)
    assert first.count("collected") == 3
    engine = open_database(db)
    with engine.connect() as conn:
        files, _ = find_submissions(root)
        known = tracked_files(conn, [origin_key(f) for f in files])
    assert len(known) == 3 and {k.student for k in known.values()} == {f.student for f in files}
    assert collect(gather(root), db).count("unchanged") == 3


def test_the_walk_gives_files_in_path_order(tmp_path):
    for name in ("b/week01.ipynb", "a-c/week01.ipynb", "a/week02.ipynb", "a/week01.ipynb", "a/x/week03.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    found, problems = walk_notebooks(tmp_path)
    assert problems == []
    assert [str(f.path.relative_to(tmp_path)) for f in found] == [  # as the paths sort as text
        "a-c/week01.ipynb",
        "a/week01.ipynb",
        "a/week02.ipynb",
        "a/x/week03.ipynb",
        "b/week01.ipynb",
    ]
    assert all(f.text == str(f.path) for f in found)


def test_frozen_heap_freezes_for_the_run_and_leaves_an_outer_freeze_alone():
    assert gc.get_freeze_count() == 0
    before = gc.get_threshold()
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == YOUNG
        with frozen_heap():  # collect inside collect_files: the outer one decides
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with frozen_heap():
            pass
        assert gc.get_freeze_count() == frozen  # someone else's freeze is still in place
    finally:
        gc.unfreeze()


def test_collect_leaves_the_heap_as_it_found_it(make_class, tmp_path):
    before = gc.get_threshold()
    collect(gather(make_class(2)), tmp_path / "log.db")
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_modified_at_is_the_files_time_in_utc_to_the_microsecond(tmp_path):
    path = tmp_path / "week01.ipynb"
    path.write_text("{}")
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    assert modified_at(path.stat().st_mtime_ns) == datetime(2023, 11, 14, 22, 13, 20, 123456)
    assert modified_at(0) == datetime(1970, 1, 1)
    assert modified_at(-1_000_000) == datetime(1969, 12, 31, 23, 59, 59, 999000)  # a file from before 1970


@pytest.mark.postgres
def test_the_range_lookup_holds_on_a_postgresql_server_that_sorts_text_by_language(make_class, tmp_path):
    """Many servers compare text by a language's rules ("alice" < "Zoe"), not by code point as Python does.

    The test database sorts by code point, so the column is given English rules here, as a server
    created with an English locale would give it (ICU's, else the system's English locale).
    """
    with fresh_database("postgresql", tmp_path) as db:
        engine = open_database(db)
        english = rows(db, "SELECT collname FROM pg_collation WHERE collname IN ('en-x-icu', 'en_US.utf8') ORDER BY 1")
        if not english:
            missing("this PostgreSQL has no English collation: it was built without ICU and the system has no en_US")
        with engine.begin() as conn:
            conn.execute(text(f'ALTER TABLE collected_files ALTER COLUMN origin TYPE text COLLATE "{english[0][0]}"'))
        origins = ["/c/Zoe/week01.ipynb", "/c/alice/week01.ipynb", "/c/bob/week01.ipynb"]
        remember(engine, origins)
        with engine.connect() as conn:
            assert sorted(tracked_files(conn, origins)) == sorted(origins)
        root = make_class(2)
        (root / "student01").rename(root / "Student01")  # a folder name that sorts apart by the two rules
        assert collect(gather(root), engine).count("collected") == 2
        files, _ = find_submissions(root)
        with engine.connect() as conn:  # what a rerun asks: both are remembered, so neither is opened
            assert len(tracked_files(conn, [origin_key(f) for f in files])) == 2


@pytest.mark.postgres
def test_a_postgresql_log_from_0004_is_upgraded_so_the_range_lookup_uses_the_index(tmp_path):
    """Schema 0005 gives ``origin`` the "C" collation, so the lookup's code-point range is an index scan."""
    from alembic import command
    from alembic.config import Config

    from coursekit.log import schema

    with fresh_database("postgresql", tmp_path) as db:
        engine = schema.make_engine(db)
        with engine.begin() as conn:  # a log as the previous coursekit made it
            config = Config()
            config.set_main_option("script_location", str(schema.SCRIPTS))
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
        collation = (  # this test's schema only: other runs may share the database
            "select collation_name from information_schema.columns"
            " where column_name = 'origin' and table_schema = current_schema()"
        )
        assert rows(db, collation) == [(None,)]
        assert schema.upgrade(db)[1:] == (schema.HEAD, None)  # 0005 and every revision after it
        assert rows(db, collation) == [("C",)]

        engine = open_database(db)
        remember(engine, [f"/c/s{n:03d}/week01.ipynb" for n in range(300)])
        with engine.connect() as conn:
            conn.execute(text("SET enable_seqscan = off"))  # with few rows the planner would scan anyway
            query = _tracked_between("postgresql").params(low="/c/s010", high="/c/s020")
            sql = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            plan = " ".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
            assert "Index Scan" in plan or "Index Only Scan" in plan, plan
            found = tracked_files(conn, [f"/c/s{n:03d}/week01.ipynb" for n in (10, 11, 299)])
            assert len(found) == 3
