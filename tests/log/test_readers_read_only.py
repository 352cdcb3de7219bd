"""Readers never write: every one of them runs on a log opened read-only, on both backends.

SQLite is opened through a ``mode=ro`` URI, PostgreSQL with ``default_transaction_read_only`` on
the connection, so any CREATE, migration, INSERT or commit of a change a reader tried would fail
the test; and the stored values are compared before and after, byte for byte.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from backends import every_stored_value, fresh_database
from classgen import make_class, roster_rows
from click.testing import CliRunner
from conftest import ROOT, course_toml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from coursekit.cli import main
from coursekit.course.settings import load_settings
from coursekit.log import moderation
from coursekit.log.check import check_log
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.log.schema import LogError, open_database
from coursekit.review.desk import ReviewDesk
from coursekit.review.filters import review_table


def read_only(db: str) -> str:
    """The same log, as a URL every connection of which can only read."""
    if "://" not in db:
        return f"sqlite:///file:{Path(db).resolve()}?mode=ro&uri=true"
    url = make_url(db)
    options = f"{url.query.get('options', '')} -cdefault_transaction_read_only=on".strip()
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def term(tmp_path_factory, reading, backend):
    """A generated class with reviews and a hidden post, and a course.toml pointing at it read-only."""
    folder = tmp_path_factory.mktemp("read-only")
    with fresh_database(backend, folder) as url:
        db = str(make_class(reading, folder, students=8, seed=3, db=url))
        log = open_log(db)
        for n, row in enumerate(log.reflections().itertuples()):
            if n % 2:
                draft = ReviewDraft(row.student, row.notebook, row.prompt_id, "prof", {"understanding": 3}, "Good.")
                save_review(log.engine, draft)
        replies = log.posts().query("kind == 'reply'")
        moderation.hide(log.engine, replies["post_id"].iloc[0], "prof", "off topic")
        log.engine.dispose()
        pd.DataFrame(roster_rows(8)).to_csv(folder / "roster.csv", index=False)
        course_toml(folder, reading, read_only(db))
        yield folder, db


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_read_only_log_refuses_a_write(term):
    """The setting is real: a write on it fails (so the readers below cannot pass by writing)."""
    _, db = term
    engine = open_database(read_only(db), create=False)
    post = open_log(db).posts()["post_id"].iloc[0]
    with pytest.raises(DBAPIError, match="(?i)read.?only"):
        moderation.hide(engine, post, "prof", "a write")
    engine.dispose()


def test_every_reader_runs_on_a_read_only_log_and_changes_nothing(term, reading):
    folder, db = term
    before = every_stored_value(db)
    log = open_log(read_only(db))
    frames = [
        log.reflections(),
        log.reflections(week=1),
        log.history(),
        log.answers(),
        log.answers("stance"),
        log.posts(),
        log.posts(hidden=True),
        log.posts(public=True),
        log.posts_as_seen("pseudonym"),
        log.posts_as_seen("real", week=2),
        log.reviews(),
        log.reviews(latest=False),
        log.likes(),
        log.submissions(),
        moderation.audit(log.engine),
    ]
    assert all(len(frame) for frame in frames)
    assert log.images() is not None and len(log.course_secret()) == 64
    assert moderation.states(log.engine, log.posts(hidden=True)["post_id"])  # the hidden reply
    assert check_log(log.engine) == []

    toml, db_ro = str(folder / "course.toml"), read_only(db)
    assert "student" in run("export", "--db", db_ro)
    assert run("export", "--db", db_ro, "--format", "markdown").startswith("# ")
    assert "hidden" in run("export", "--db", db_ro, "--threads")
    assert "current" in run("export", "--db", db_ro, "--history")
    assert "sound" in run("db", "check", "--db", db_ro)
    roster = str(folder / "roster.csv")
    run("grades", "--settings", toml, "--roster", roster, "--out", str(folder / "grades.csv"), "--allow-unreviewed")
    run("feedback", "--settings", toml, "--out", str(folder / "feedback"))
    run("report", "--settings", toml, "--out", str(folder / "report"))
    run("publish", "--settings", toml, "--out", str(folder / "site"))
    assert (folder / "feedback" / "index.csv").is_file() and (folder / "report" / "index.html").is_file()

    settings = dataclasses.replace(load_settings(ROOT / "course.toml"), database=db_ro)
    roster_frame = pd.DataFrame(roster_rows(8)).assign(student=lambda f: f["SIS Login ID"])
    assert len(review_table(log, settings, reading, roster_frame))
    desk = ReviewDesk(log, settings, reading, "prof", roster_frame)  # the desk's whole data load
    desk.close()
    log.engine.dispose()
    assert every_stored_value(db) == before


def test_a_reader_on_a_log_with_nothing_collected_says_so(backend, tmp_path):
    with fresh_database(backend, tmp_path) as db:
        open_database(db).dispose()  # a new log: tables, but no collect has made the course secret
        log = open_log(read_only(db))
        assert log.posts_as_seen().empty  # nothing to name
        with pytest.raises(LogError, match="no course secret yet: run 'coursekit collect' first"):
            log.course_secret()
        log.engine.dispose()


def test_a_reader_on_a_file_that_is_no_log_says_so(tmp_path):
    junk = tmp_path / "class.db"
    junk.write_bytes(b"not a database, just bytes " * 100)
    with pytest.raises(LogError, match=r"cannot open the log at .*class\.db: file is not a database"):
        open_log(read_only(str(junk)))
    with pytest.raises(LogError, match=r"cannot open the log at .*class\.db: file is not a database"):
        open_log(junk)
