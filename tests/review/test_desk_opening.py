"""The review desk opens on its first page and reads every row behind it.

What the instructor sees must not depend on it: the first page is exactly the first rows of the
whole table (replies, hidden ones, reviews, an unknown prompt and a reflection without a week
included), the filters offer what the whole table has, the summary counts the whole class from the
start, and the reflection on screen stays on screen when every row is taken on, on both backends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading

import pandas as pd
import pytest
from backends import fresh_database
from classgen import desk_roster, make_class
from conftest import ROOT
from sqlalchemy import insert, select, update

from coursekit.course.settings import load_settings
from coursekit.log import moderation
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.log.schema import open_database
from coursekit.log.tables import reflections, replies
from coursekit.review import desk as desk_module
from coursekit.review.desk import ReviewDesk
from coursekit.review.desk_rows import all_rows, choices, first_rows


@pytest.fixture(scope="module")
def course(tmp_path_factory, reading, backend):
    """A generated class with reviews (some twice), a reply to a reply, a hidden reply, a reflection to a prompt
    the reading no longer has and one without a week."""
    folder = tmp_path_factory.mktemp("opening")
    with fresh_database(backend, folder) as url:
        db = make_class(reading, folder, students=12, seed=5, db=url)
        log = open_log(db)
        table = all_rows(log, load_settings(ROOT / "course.toml"), reading).table
        first, second = table.iloc[0], table.iloc[1]
        engine = open_database(db, create=False)
        with engine.begin() as conn:
            conn.execute(update(reflections).where(reflections.c.post_id == second.post_id).values(prompt_id="gone"))
            last = table.iloc[-1]
            conn.execute(update(reflections).where(reflections.c.post_id == last.post_id).values(week=None))
            reply = conn.execute(select(replies).limit(1)).one()._asdict()
            reply_to_reply = {k: v for k, v in reply.items() if k != "id"}
            conn.execute(
                insert(replies).values(
                    {**reply_to_reply, "post_id": "r-nested", "parent_id": reply["post_id"], "reply_key": "nested"}
                )
            )
            conn.execute(
                insert(replies).values(
                    {**reply_to_reply, "post_id": "r-first", "parent_id": first.post_id, "reply_key": "first"}
                )
            )
        for n, row in enumerate(table.itertuples()):
            if n % 3 == 0:
                draft = ReviewDraft(row.student, row.notebook, row.prompt_id, "ta", {"understanding": 1}, "first")
                save_review(engine, draft)
            if n % 6 == 0:
                draft = ReviewDraft(row.student, row.notebook, row.prompt_id, "prof", {}, "again", flagged=True)
                save_review(engine, draft)
        moderation.hide(engine, "r-first", "prof", "off topic")
        engine.dispose()
        roster = desk_roster(12)
        yield dataclasses.replace(load_settings(ROOT / "course.toml"), database=str(db)), roster


def test_the_first_page_is_the_whole_tables_first_rows(course, reading):
    settings, roster = course
    log = open_log(settings.database)
    every = all_rows(log, settings, reading, roster)
    table = every.table
    assert "gone" in set(table["prompt_id"]) and table["week"].isna().iloc[-1]  # the odd rows are there
    assert every.reviewed == (table["status"] != "unreviewed").sum() and every.total == len(table)
    for page in (1, 2, 7, 50, len(table) + 5):
        rows = first_rows(log, settings, reading, roster, page)
        assert not rows.complete and (rows.reviewed, rows.total) == (every.reviewed, every.total)
        pd.testing.assert_frame_equal(rows.table, table.head(page))
        for post in rows.table.itertuples():
            key = (post.student, post.notebook, post.prompt_id)
            shown = rows.replies.iloc[slice(*rows.threads.get(post.post_id, (0, 0)))]
            whole = every.replies.iloc[slice(*every.threads.get(post.post_id, (0, 0)))]
            pd.testing.assert_frame_equal(shown.reset_index(drop=True), whole.reset_index(drop=True))
            theirs = rows.reviews.iloc[rows.review_rows.get(key, [])]["id"].tolist()
            assert theirs == every.reviews.iloc[every.review_rows.get(key, [])]["id"].tolist()
    page = first_rows(log, settings, reading, roster, 1)
    thread = page.replies["post_id"].tolist()
    assert "r-first" in thread and page.replies.set_index("post_id").loc["r-first", "hidden"]
    nested = every.replies.set_index("post_id").loc["r-nested"]
    assert nested["thread_id"] != nested["parent_id"]  # a reply to a reply hangs from the reflection


def test_the_filters_offer_what_the_whole_table_has(course, reading):
    settings, roster = course
    log = open_log(settings.database)
    table = all_rows(log, settings, reading, roster).table
    offered = choices(log, reading, roster)
    assert offered.weeks == sorted(int(w) for w in table["week"].dropna().unique())
    assert offered.sections == sorted(s for s in table["section"].unique() if s)
    prompts = table.drop_duplicates("prompt_id")
    expected = [
        (f"No week: {r.prompt_title}" if pd.isna(r.week) else f"Week {r.week}: {r.prompt_title}", r.prompt_id)
        for r in prompts.itertuples()
    ]
    assert offered.prompts == expected
    assert ("Week 1: gone", "gone") in offered.prompts  # a prompt the reading lost is offered under its id


@contextlib.contextmanager
def held_desk(course, reading, monkeypatch, step: str = "all_rows"):
    """A desk whose background ``step`` (``all_rows`` or ``TextIndex``) waits until the yielded event is set."""
    settings, roster = course
    release = threading.Event()
    made = getattr(desk_module, step)

    def held(*args, **kwargs):
        assert release.wait(30), f"the test never let the desk go on past {step}"
        return made(*args, **kwargs)

    monkeypatch.setattr(desk_module, step, held)
    desk = ReviewDesk(open_log(settings.database), settings, reading, "prof", roster)
    try:
        yield desk, release
    finally:
        release.set()
        desk.close()


def release_soon(release: threading.Event) -> None:
    """Let the background read go on in a moment, while the desk's next change waits for it."""
    threading.Timer(0.2, release.set).start()


def test_the_desk_opens_on_its_first_page_and_keeps_its_place_when_every_row_comes(course, reading, monkeypatch):
    settings, roster = course
    log = open_log(settings.database)
    every = all_rows(log, settings, reading, roster)
    table = every.table
    with held_desk(course, reading, monkeypatch) as (desk, release):
        # On screen before any row past the first page was read: the first reflection, counted in the whole class.
        first = table.iloc[0]
        assert desk.current["post_id"] == first.post_id
        assert log.reflection_texts()[first.post_id].split(":")[0] in desk.body.value
        summary = f"1 of {len(table)} matching</b> · {every.reviewed} of {len(table)} reviewed overall"
        assert summary in desk.summary.value
        assert "Hidden" in desk.body.value  # its thread's hidden reply, marked for the instructor
        assert [value for _, value in desk.prompt.options[1:]] == [p for _, p in choices(log, reading, roster).prompts]
        release_soon(release)
        desk.next_button.click()  # waits for every row, then goes on from the first reflection
        assert desk.current["post_id"] == table.iloc[1].post_id
        assert f"2 of {len(table)} matching</b>" in desk.summary.value
        assert len(desk.table) == len(table) and desk.matches.tolist() == list(range(len(table)))
        desk.previous_button.click()
        desk.previous_button.click()  # round to the last: the reflection without a week
        assert desk.current["post_id"] == table.iloc[-1].post_id


def test_a_score_given_before_every_row_is_read_lands_on_its_row(course, reading, monkeypatch):
    with held_desk(course, reading, monkeypatch) as (desk, release):
        shown = desk.current
        criterion = next(iter(desk.scores))
        release_soon(release)
        desk.scores[criterion].value = 2  # saved once every row is read, on the same reflection's row
        assert desk.current["post_id"] == shown["post_id"]
        row = desk.table.set_index("post_id").loc[shown["post_id"]]
        assert row["scores"] == {criterion: 2} and row["status"] == ("flagged" if desk.flag.value else "reviewed")
        saved = desk.discussion.reviews().set_index(["student", "notebook", "prompt_id"])
        assert saved.loc[(shown["student"], shown["notebook"], shown["prompt_id"]), "scores"] == {criterion: 2}
        assert "✔ Saved" in desk.saved.value


def test_a_log_that_cannot_be_read_behind_the_first_page_says_so(course, reading, monkeypatch):
    settings, roster = course
    log = open_log(settings.database)

    def broken(*args, **kwargs):
        raise OSError("disk I/O error")

    monkeypatch.setattr(desk_module, "all_rows", broken)
    desk = ReviewDesk(log, settings, reading, "prof", roster)
    try:
        assert desk.current is not None  # the first page was read
        with pytest.raises(OSError, match="disk I/O error"):
            desk.week.value = 1
        assert "could not be read: disk I/O error" in desk.summary.value
        assert "run its cell again" in desk.summary.value
    finally:
        desk.close()


def test_a_change_that_waits_for_every_row_says_so_while_it_waits(course, reading, monkeypatch):
    with held_desk(course, reading, monkeypatch) as (desk, release):
        shown: list[str] = []
        desk.summary.observe(lambda change: shown.append(change["new"]), names="value")
        release_soon(release)
        desk.week.value = 2
        assert shown[0] == "<i>Reading every reflection of the class…</i>"
        assert "matching" in shown[-1] and set(desk.matched["week"]) == {2}


def test_a_search_that_waits_for_its_index_says_so_while_it_waits(course, reading, monkeypatch):
    with held_desk(course, reading, monkeypatch, step="TextIndex") as (desk, release):
        shown: list[str] = []
        desk.summary.observe(lambda change: shown.append(change["new"]), names="value")
        desk.wait_until_read()
        release_soon(release)
        desk.search.value = "s003"
        assert "<i>Indexing the reflections' texts for Search…</i>" in shown
        assert "matching" in shown[-1] and set(desk.matched["student"]) == {"s003"}
