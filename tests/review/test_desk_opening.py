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
from sqlalchemy import insert, select, text, update

from coursekit.course.settings import load_settings
from coursekit.log import moderation
from coursekit.log.erase import erase
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.log.schema import open_database
from coursekit.log.tables import reflections, replies, submissions
from coursekit.review import desk as desk_module
from coursekit.review.desk import NO_SCORE, ReviewDesk
from coursekit.review.desk_rows import all_rows, choices, first_rows
from coursekit.review.filters import Filters, Matcher


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


def score_anew(desk: ReviewDesk) -> tuple[str, int]:
    """Give the reflection on screen a score it does not show yet (the shared class has been scored before)."""
    criterion, control = next(iter(desk.scores.items()))
    points = next(p for _, p in control.options if p not in (control.value, NO_SCORE))
    control.value = points
    return criterion, points


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
        release_soon(release)
        criterion, points = score_anew(desk)  # saved once every row is read, on the same reflection's row
        assert desk.current["post_id"] == shown["post_id"]
        row = desk.table.set_index("post_id").loc[shown["post_id"]]
        assert row["scores"][criterion] == points and row["status"] == ("flagged" if desk.flag.value else "reviewed")
        saved = desk.discussion.reviews().set_index(["student", "notebook", "prompt_id"])
        assert saved.loc[(shown["student"], shown["notebook"], shown["prompt_id"]), "scores"][criterion] == points
        assert "✔ Saved" in desk.saved.value


def test_a_log_out_of_reach_behind_the_first_page_says_so_keeps_the_score_and_is_tried_again(
    course, reading, monkeypatch
):
    settings, roster = course
    log = open_log(settings.database)
    reachable = threading.Event()

    def flaky(*args, **kwargs):
        if not reachable.is_set():
            raise OSError("could not connect to server")
        return all_rows(*args, **kwargs)

    monkeypatch.setattr(desk_module, "all_rows", flaky)
    desk = ReviewDesk(log, settings, reading, "prof-flaky", roster)
    try:
        shown = desk.current
        assert shown is not None  # the first page was read
        with pytest.raises(OSError, match="could not connect"):
            desk.week.value = 1  # read again for this change, and still out of reach
        assert "could not be read: could not connect to server" in desk.summary.value
        assert "each change tries again" in desk.summary.value
        criterion, points = score_anew(desk)  # not saved, and said so; the score stays on screen
        assert "Not saved" in desk.saved.value and desk.scores[criterion].value == points
        assert "prof-flaky" not in set(log.reviews(latest=False)["reviewer"])
        reachable.set()  # the server is back: the next change reads every row and saves
        desk.comment.value = "Say who makes the claim."
        assert "✔ Saved" in desk.saved.value
        mine = log.reviews(latest=False).query("reviewer == 'prof-flaky'")
        assert mine[["student", "notebook", "prompt_id"]].values.tolist() == [
            [shown["student"], shown["notebook"], shown["prompt_id"]]
        ]
        assert mine["scores"].tolist() == [{criterion: points}]
        assert mine["comment"].tolist() == ["Say who makes the claim."]
        desk.week.value = 2  # and the filters work from now on
        assert set(desk.matched["week"]) == {2}
    finally:
        desk.close()


def test_a_colleagues_review_saved_while_the_desk_opens_is_a_conflict(course, reading, monkeypatch):
    with held_desk(course, reading, monkeypatch) as (desk, release):
        shown = desk.current
        ta = ReviewDraft(shown.student, shown.notebook, shown.prompt_id, "ta", {"understanding": 0}, "TA: redo this")
        save_review(desk.discussion.engine, ta)  # after the desk showed the reflection, before it read every row
        release.set()
        score_anew(desk)
        assert "while you had it open" in desk.saved.value and "TA: redo this" in desk.saved.value
        assert desk.history.value.count("TA: redo this") == 1  # in the history once, beside the new review


def test_a_score_is_never_saved_on_another_reflection_than_the_one_scored(tmp_path, reading, backend, monkeypatch):
    with fresh_database(backend, tmp_path) as db:
        make_class(reading, tmp_path, students=6, seed=3, db=db)
        settings = dataclasses.replace(load_settings(ROOT / "course.toml"), database=str(db))
        with held_desk((settings, None), reading, monkeypatch) as (desk, release):
            shown = desk.current
            erase(desk.discussion.engine, [shown.student], "prof", "asked to be forgotten")  # while the desk opens
            release.set()
            desk.comment.value = f"feedback for {shown.student}"
            assert "Not saved: the reflection you scored is no longer in the log" in desk.saved.value
            assert f"feedback for {shown.student}" not in set(desk.discussion.reviews(latest=False)["comment"])
            assert desk.current["student"] != shown.student and desk.comment.value != f"feedback for {shown.student}"


def test_the_reflection_on_screen_keeps_its_text_and_the_matcher_is_there_from_the_start(course, reading):
    settings, roster = course
    desk = ReviewDesk(open_log(settings.database), settings, reading, "prof", roster)
    try:
        before = desk.current["text"]
        assert isinstance(before, str) and before
        assert desk.matcher.positions(Filters(week=1)).size  # the filters over every row, waited for
        assert desk.current["text"] == before  # the text read for the first page stays read
    finally:
        desk.close()


@pytest.mark.postgres
def test_the_first_page_is_the_head_under_a_linguistic_collation(tmp_path, reading, monkeypatch):
    """A database made with an en_US locale sorts "W1-old-b" before "w1-old-a"; the desk sorts by code point."""
    with fresh_database("postgresql", tmp_path) as db:
        make_class(reading, tmp_path, students=12, seed=5, db=db)
        engine = open_database(db, create=False)
        week1 = [p.id for p in reading.prompts_for(1)]
        with engine.begin() as conn:
            conn.execute(text('ALTER TABLE reflections ALTER COLUMN prompt_id TYPE varchar(200) COLLATE "en-US-x-icu"'))
            conn.execute(text('ALTER TABLE reflections ALTER COLUMN student TYPE varchar(200) COLLATE "en-US-x-icu"'))
            gone = ["W1-old-b", "w1-old-a", *(f"w1-old-c{n}" for n in range(len(week1) - 2))]  # the reading revised
            for old, new in zip(week1, gone, strict=True):
                conn.execute(update(reflections).where(reflections.c.prompt_id == old).values(prompt_id=new))
        engine.dispose()
        settings = dataclasses.replace(load_settings(ROOT / "course.toml"), database=str(db))
        log = open_log(db)
        table = all_rows(log, settings, reading).table
        assert table["prompt_id"].iloc[0] == "W1-old-b"
        for page in (1, 5, 13, 50):
            pd.testing.assert_frame_equal(first_rows(log, settings, reading, None, page).table, table.head(page))


def test_one_student_answering_in_two_notebooks_comes_in_one_order(tmp_path, reading, backend):
    """A re-downloaded copy ("week01 (1)") answers the same prompts: the page and the table break the tie alike."""
    with fresh_database(backend, tmp_path) as db:
        make_class(reading, tmp_path, students=30, seed=2, db=db)
        engine = open_database(db, create=False)
        with engine.begin() as conn:
            originals = conn.execute(select(submissions).where(submissions.c.week == 1)).mappings().all()
            for copy in ("week01 (1)", "a-copy", "Week01"):
                for sub in originals:
                    values = {k: v for k, v in sub.items() if k != "id"}
                    values |= {"notebook": copy, "path": sub["path"] + copy}
                    new_id = conn.execute(insert(submissions).values(values).returning(submissions.c.id)).scalar_one()
                    rows = conn.execute(select(reflections).where(reflections.c.submission_id == sub["id"])).mappings()
                    for row in rows.all():
                        moved = {k: v for k, v in row.items() if k != "id"}
                        moved |= {"submission_id": new_id, "notebook": copy, "post_id": (row["post_id"] + copy)[:40]}
                        conn.execute(insert(reflections).values(moved))
        engine.dispose()
        settings = dataclasses.replace(load_settings(ROOT / "course.toml"), database=str(db))
        log = open_log(db)
        table = all_rows(log, settings, reading).table
        assert all_rows(log, settings, reading).table["post_id"].tolist() == table["post_id"].tolist()
        for page in (1, 2, 3, 5, 50, 120):
            got = first_rows(log, settings, reading, None, page).table["post_id"].tolist()
            assert got == table["post_id"].head(page).tolist(), page


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


def test_codes_made_while_a_save_changes_their_column_are_not_kept(monkeypatch):
    """The background makes each filter's codes while a save may change a row's status: stale codes are made again."""
    frame = pd.DataFrame({"status": ["unreviewed", "reviewed", "unreviewed"]})
    matcher = Matcher(frame)
    made = pd.factorize
    calls = []

    def saved_meanwhile(values, **kwargs):
        codes = made(values, **kwargs)
        if not calls:  # a save lands while the first codes are being made
            frame.loc[0, "status"] = "flagged"
            matcher.changed("status")
        calls.append(1)
        return codes

    monkeypatch.setattr(pd, "factorize", saved_meanwhile)
    assert matcher.positions(Filters(status="flagged")).tolist() == [0]
    assert matcher.positions(Filters(status="unreviewed")).tolist() == [2] and len(calls) == 2
