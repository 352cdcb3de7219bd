"""The review desk opens without the reflections' text: Search through a word index, texts read a page at a time.

What must not change is what the instructor sees: Search finds exactly the rows the old substring
filter found (``needle in "student\\nname\\ntext"``, lower-cased), on both backends, and the reflection
on screen shows its own text after every filter change, Next and Previous.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from backends import fresh_database
from classgen import desk_roster, make_class
from conftest import ROOT
from sqlalchemy import insert, select, update

from coursekit.course.settings import load_settings
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.log.schema import open_database
from coursekit.log.tables import answers, reflections, replies, reviews, submissions
from coursekit.review.desk import ReviewDesk
from coursekit.review.search import TextIndex

ODD_TEXTS = [
    "Weber's  RULES\tand\nthe commons — «bureaucracy» (e.g., Wikipedia!)",
    "ÉCOLE Straße ΣΟΦΙΑ ΟΔΟΣ: charisma, charisma; CHARISMA.",
    "  leading and trailing spaces  ",
    "naïve café 日本語のテキスト emoji 🙂 end",
    "",
]


def _old_search(texts: list[str], needle: str) -> list[int]:
    """The filter the desk had: a substring of each lower-cased text."""
    needle = needle.strip().lower()
    return [i for i, text in enumerate(texts) if needle in text.lower()]


def test_word_index_finds_every_substring_a_scan_finds():
    rng = random.Random(4)
    words = "the rules weber's charisma commons e.g., «bureaucracy» naïve 日本語 🙂 ΣΟΦΙΑ".split()
    texts = [
        *ODD_TEXTS,
        *(" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(300)),
        *(rng.choice([" ", "  ", "\n", "\t", ""]).join(rng.sample(words, 3)) for _ in range(100)),
    ]
    lowered = [text.lower() for text in texts]
    index = TextIndex(lowered)
    needles = {"", "e", "the", "zzz", "s rules", "rules  weber", "  ", " ", "é", "ß", "σοφια", ".", ", (", "🙂 end"}
    for text in rng.sample(lowered, 60):  # substrings of the texts themselves, across spaces and not
        for _ in range(4):
            start = rng.randrange(len(text) + 1)
            needles.add(text[start : start + rng.randint(1, 20)])
    for needle in sorted(needles):
        assert np.flatnonzero(index.rows(needle)).tolist() == [i for i, t in enumerate(lowered) if needle in t], needle
    assert index.rows("the rules").any() and not index.rows("zzz").any()


@pytest.fixture(scope="module")
def course(tmp_path_factory, reading, backend):
    """A generated class whose first reflections say odd things (accents, punctuation, scripts, case)."""
    folder = tmp_path_factory.mktemp("course")
    with fresh_database(backend, folder) as url:
        db = make_class(reading, folder, students=8, db=url)
        engine = open_database(db, create=False)
        with engine.begin() as conn:
            ids = [row.id for row in conn.execute(reflections.select().order_by(reflections.c.id).limit(5))]
            for row_id, text in zip(ids, ODD_TEXTS, strict=True):
                conn.execute(update(reflections).where(reflections.c.id == row_id).values(text=text))
        engine.dispose()
        roster = desk_roster(8)
        yield dataclasses.replace(load_settings(ROOT / "course.toml"), database=str(db)), roster


def test_desk_search_finds_what_the_substring_filter_found(course, reading):
    settings, roster = course
    desk = ReviewDesk(open_log(settings.database), settings, reading, "prof", roster)
    assert desk.table["text"].isna().sum() >= len(desk.table) - 50  # opened without the texts but a page's
    desk.wait_until_indexed()
    frame = open_log(settings.database).reflections()  # read as before, through SQLAlchemy
    texts = dict(zip(frame["post_id"], frame["text"], strict=True))
    searched = [f"{r.student}\n{r.name}\n{texts[r.post_id]}" for r in desk.table.itertuples()]
    common = pd.Series(" ".join(texts.values()).lower().split()).value_counts().index[0]  # in nearly every row
    student = desk.table.iloc[3]
    needles = [common, f"{common} ", "zzqqx", "RULES\tAND", "weber's  rules", "ΣΟΦΙΑ", "straße", "ß", "«", "e.g.,"]
    needles += ["CHARISMA", "🙂", student["student"].upper(), f"{student['student']}\n{student['name'][:3]}", "", "   "]
    sizes = set()
    for needle in needles:
        expected = _old_search(searched, needle)
        desk.search.value = needle
        assert desk.matches.tolist() == expected, needle
        sizes.add(len(expected))
    assert 0 in sizes and len(desk.table) in sizes and len(sizes) > 4
    desk.search.value, desk.week.value = "", 2  # with another filter set, and a Student box too
    desk.search.value, desk.student.value = common, student["name"][:5]
    week2 = [i for i in _old_search(searched, common) if desk.table.iloc[i]["week"] == 2]
    assert desk.matches.tolist() == [i for i in week2 if student["name"][:5].lower() in searched[i].lower()]


def _big_class(db: str, reading, students: int) -> None:
    """``students`` students' reflections for every prompt, written straight into the log (no notebooks)."""
    rng = random.Random(8)
    engine = open_database(db)
    subs, rows = [], []
    for student in range(students):
        for week in reading.weeks:
            when = datetime(2026, 9, 10) + timedelta(weeks=week.number - 1, hours=rng.randint(0, 60))
            subs.append(
                dict(
                    id=len(subs) + 1,
                    student=f"s{student:04d}",
                    notebook=f"week{week.number:02d}",
                    week=week.number,
                    path="-",
                    file_hash="-",
                    submitted_at=when,
                    collected_at=when,
                )
            )
            for prompt in reading.prompts_for(week.number):
                text = f"Reflection {len(rows)} by s{student:04d} on {prompt.id}: " + " ".join(
                    rng.choice(["rules", "weber", "charisma", "commons"]) for _ in range(rng.randint(5, 40))
                )
                rows.append(
                    dict(
                        submission_id=len(subs),
                        student=f"s{student:04d}",
                        notebook=f"week{week.number:02d}",
                        week=week.number,
                        prompt_id=prompt.id,
                        post_id=f"r-{len(rows):08d}",
                        text=text,
                        word_count=len(text.split()),
                        content_hash="-",
                        version=1,
                        submitted_at=when,
                        collected_at=when,
                    )
                )
    with engine.begin() as conn:
        conn.execute(insert(submissions), subs)
        conn.execute(insert(reflections), rows)
    engine.dispose()


def test_a_page_shows_the_right_texts_at_a_few_thousand_reflections(tmp_path, reading, backend):
    with fresh_database(backend, tmp_path) as db:
        _big_class(db, reading, students=250)
        log = open_log(db)
        texts = log.reflection_texts()
        assert len(texts) > 2000
        settings = dataclasses.replace(load_settings(ROOT / "course.toml"), database=str(db))
        desk = ReviewDesk(log, settings, reading, "prof")

        def on_screen() -> str:
            row = desk.current
            assert row["text"] == texts[row["post_id"]]  # the row's own text, read for its page
            assert texts[row["post_id"]].split(":")[0] in desk.body.value
            return row["post_id"]

        on_screen()
        desk.week.value, desk.prompt.value = 3, reading.prompts_for(3)[-1].id
        seen = {on_screen()}
        for _ in range(60):  # past the first page of texts
            desk.next_button.click()
            seen.add(on_screen())
        assert len(seen) == 61
        desk.previous_button.click()
        desk.previous_button.click()
        on_screen()
        desk.prompt.value, desk.week.value = "any", "any"
        desk.search.value = "s0123"  # waits for the index, then shows that student's reflections
        assert set(desk.matched["student"]) == {"s0123"} and len(desk.matches) > 1
        on_screen()
        desk.next_button.click()
        on_screen()
        desk.status.value, desk.search.value = "unreviewed", "by s0200 on"
        assert len(desk.matches) and set(desk.matched["student"]) == {"s0200"}
        on_screen()
        read = desk.table["text"].notna().sum()
        assert read < len(desk.table) // 4  # only pages that were shown were read


def test_quick_reads_give_the_frames_sqlalchemy_gives(course):
    """The desk's reads skip SQLAlchemy's rows; the frames must come out the same, dtypes and missing values too."""
    settings, _ = course
    log = open_log(settings.database)
    post = log.reflections().iloc[0]
    save_review(log.engine, ReviewDraft(post.student, post.notebook, post.prompt_id, "prof", {"voice": 2}, "ok", True))
    with log.engine.begin() as conn:  # a source that said nothing, one that said "late" and one "on time"
        conn.execute(update(submissions).where(submissions.c.id == 1).values(source_late=None))
        conn.execute(update(submissions).where(submissions.c.id == 2).values(source_late=True))
        conn.execute(update(submissions).where(submissions.c.id == 3).values(source_late=False))
    for table in (submissions, reviews, answers, replies, reflections):
        query = select(table).order_by(table.c.id)
        pd.testing.assert_frame_equal(log._quick_frame(query), log._frame(query))
    light, full = log.reflections(text=False), log.reflections()
    pd.testing.assert_frame_equal(light, full.drop(columns="text"))
    assert log.reflection_texts(light["post_id"][:3]) == dict(zip(full["post_id"][:3], full["text"][:3], strict=True))
    threads, posts = log.reply_threads(), log.posts(hidden=True)
    assert len(threads) and set(threads.columns) <= set(posts.columns)
    expected = posts[posts["kind"] == "reply"].set_index("post_id")["thread_id"]
    assert threads.set_index("post_id")["thread_id"].sort_index().equals(expected.sort_index())
