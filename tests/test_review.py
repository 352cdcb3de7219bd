"""The review desk against a real log on each backend: filter, score, comment, next; two reviewers at once."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

import pandas as pd
import pytest
from backends import fresh_database
from classgen import make_class, roster_rows
from conftest import ROOT

from coursekit.course.deadlines import is_late, late_column
from coursekit.course.settings import load_settings
from coursekit.log.frames import open_log
from coursekit.review.desk import ReviewDesk, open_desk
from coursekit.review.filters import Filters, filter_reviews, matching_positions, review_table


@pytest.fixture(scope="module")
def course(tmp_path_factory, reading, backend):
    folder = tmp_path_factory.mktemp("course")
    with fresh_database(backend, folder) as url:
        db = make_class(reading, folder, students=12, db=url)
        roster = pd.DataFrame(roster_rows(12))
        roster["student"] = roster["SIS Login ID"]
        yield dataclasses.replace(load_settings(ROOT / "course.toml"), database=str(db)), roster


def desk(course, reading, reviewer="prof-a") -> ReviewDesk:
    settings, roster = course
    return ReviewDesk(open_log(settings.database), settings, reading, reviewer, roster)


def test_filters_narrow_the_table(course, reading):
    settings, roster = course
    table = review_table(open_log(settings.database), settings, reading, roster)
    assert len(filter_reviews(table, Filters())) == len(table)
    week2 = filter_reviews(table, Filters(week=2))
    assert len(week2) and set(week2.week) == {2}
    late = filter_reviews(table, Filters(late=True))
    assert len(late) and late.late.all()
    assert 0 < len(filter_reviews(table, Filters(section="Section 1"))) < len(table)
    hits = filter_reviews(table, Filters(text="ACCOUNTABILITY"))
    assert len(hits) and hits.text.str.lower().str.contains("accountability").all()
    row = table.iloc[len(table) // 2]
    one = filter_reviews(table, Filters(student=row.student.upper(), week=row.week, prompt=row.prompt_id))
    assert list(one.index) == [row.name]  # exactly that student's reflection, found case-insensitively
    some = filter_reviews(table, Filters(student="s00"))
    assert 0 < len(some) < len(table) and some.student.str.startswith("s00").all()


def test_drive_the_desk_score_comment_next_and_read_back(course, reading):
    one = desk(course, reading)
    one.week.value = 1
    one.prompt.value = "w1-consensus"
    assert set(one.matched.week) == {1} and set(one.matched.prompt_id) == {"w1-consensus"}
    assert f"1 of {len(one.matches)} matching" in one.summary.value
    first = one.current
    assert first["student"] in one.body.value
    one.scores["understanding"].value = 3
    one.scores["evidence"].value = 2
    one.comment.value = "Good use of the abstract; say who makes the claim."
    assert "Saved at" in one.saved.value
    one.next_button.click()
    second = one.current
    assert second["student"] != first["student"]
    one.flag.value = True
    one.status.value = "flagged"
    assert list(one.matched.student) == [second["student"]]

    reviews = open_log(course[0].database).reviews()
    mine = reviews[(reviews.student == first["student"]) & (reviews.prompt_id == "w1-consensus")].iloc[0]
    assert mine.scores == {"understanding": 3, "evidence": 2}
    assert mine.comment == "Good use of the abstract; say who makes the claim."
    assert mine.reviewer == "prof-a"
    reviewed = len(open_log(course[0].database).reviews())  # reflections with a review
    assert reviewed >= 2
    assert f"· {reviewed} of {len(one.table)} reviewed overall" in one.summary.value

    fresh = desk(course, reading)  # a new kernel reads back what was saved
    fresh.status.value = "reviewed"
    assert first["student"] in set(fresh.matched.student)


def test_two_reviewers_both_survive_and_the_conflict_is_shown(course, reading):
    one, two = desk(course, reading, "prof-a"), desk(course, reading, "ta-b")
    for d in (one, two):
        d.week.value = 3
    assert one.current["student"] == two.current["student"]
    one.scores["voice"].value = 1
    two.scores["voice"].value = 3
    assert "⚠ prof-a saved a review" in two.saved.value
    log = open_log(course[0].database)
    key = (one.current["student"], one.current["notebook"], one.current["prompt_id"])
    everything = log.reviews(latest=False)
    rows = everything[
        (everything.student == key[0]) & (everything.notebook == key[1]) & (everything.prompt_id == key[2])
    ]
    assert list(rows.reviewer) == ["prof-a", "ta-b"]
    assert [r["voice"] for r in rows.scores] == [1, 3]
    latest = log.reviews()
    assert latest[(latest.student == key[0]) & (latest.prompt_id == key[2])].iloc[0].reviewer == "ta-b"


def test_hostile_reflection_is_shown_as_text_in_the_desk(course, reading):
    one = desk(course, reading)
    one.table.loc[0, "text"] = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    one.apply_filters()
    assert "<script" not in one.body.value and "<img" not in one.body.value


def test_saving_again_or_after_a_colleague_finished_is_no_conflict(course, reading):
    """A conflict is a review someone else saved while this one was on screen, and nothing else."""
    one = desk(course, reading, "prof-a")
    one.week.value, one.status.value = 4, "unreviewed"
    key = one.current[["student", "notebook", "prompt_id"]].tolist()
    one.scores["voice"].value = 2
    assert "Saved at" in one.saved.value and "⚠" not in one.saved.value  # the first review
    one.scores["voice"].value = 3
    one.comment.value = "Clearer now."
    assert "Saved at" in one.saved.value and "⚠" not in one.saved.value  # prof-a again, twice

    two = desk(course, reading, "ta-b")  # opened after prof-a saved: prof-a's review is on screen
    two.week.value = 4
    two.student.value = key[0]
    while two.current[["student", "notebook", "prompt_id"]].tolist() != key:
        two.next_button.click()
    assert two.comment.value == "Clearer now."
    two.scores["voice"].value = 1
    assert "Saved at" in two.saved.value and "⚠" not in two.saved.value
    again = desk(course, reading, "ta-b")  # the same reviewer in a second tab, opened before the save below
    again.week.value, again.student.value = 4, key[0]
    while again.current[["student", "notebook", "prompt_id"]].tolist() != key:
        again.next_button.click()
    two.scores["voice"].value = 2
    again.scores["evidence"].value = 1  # ta-b's own earlier save is no colleague's
    assert "Saved at" in again.saved.value and "⚠" not in again.saved.value

    everything = open_log(course[0].database).reviews(latest=False)
    saved = everything[(everything.student == key[0]) & (everything.prompt_id == key[2])]
    assert list(saved.reviewer) == ["prof-a", "prof-a", "prof-a", "ta-b", "ta-b", "ta-b"]


def test_the_desk_finds_course_toml_above_it_and_removes_its_demo_class(tmp_path, reading):
    course_folder = tmp_path / "course"
    (course_folder / "notebooks" / "instructor").mkdir(parents=True)
    (course_folder / "course.toml").write_text(
        (ROOT / "course.toml").read_text().replace('"readings/kreiss-finn-turner-2011"', f'"{reading.path}"')
    )
    demo = open_desk(course_folder / "notebooks" / "instructor", reviewer="prof")  # class.db does not exist yet
    assert demo.settings.path == course_folder / "course.toml"
    assert "demo course" in demo.children[0].value and demo.demo_folder.is_dir()
    assert len(demo.table) > 0
    demo.close()
    assert not demo.demo_folder.exists()
    assert not (course_folder / "class.db").exists()

    with pytest.raises(FileNotFoundError, match="no course.toml"):
        open_desk(tmp_path / "elsewhere", reviewer="prof")


def test_desk_shows_roster_names_minute_times_and_wide_score_selectors(course, reading):
    one = desk(course, reading, reviewer="prof-c")
    _, roster = course
    row = one.current
    name = roster.set_index("student").loc[row["student"], "Student"]
    assert f"{name} ({row['student']})" in one.body.value  # roster name with the id
    one.student.value = name  # the roster name finds the student too
    assert row["student"] in set(one.matched.student) and one.matched.name.str.contains(name, regex=False).all()
    one.student.value = ""
    assert "Submitted " in one.body.value
    one.scores["understanding"].value = 2
    one.show()
    stamp = one.saved.value.split(" at ")[-1].split("<")[0]
    assert len(stamp) == len("2026-01-01 12:00"), stamp  # to the minute, no microseconds
    for control in one.scores.values():
        assert control.options[0][0] == "Choose…" and (control.label == "Choose…") == (control.value == -1)
        assert control.layout.width == "32em" and control.style.description_width == "22em"


def _searched_by_hand(table: pd.DataFrame, filters: Filters) -> list[int]:
    """The rows a search from scratch finds, one row at a time: what the desk's cached masks must agree with."""
    text, student = filters.text.strip().lower(), filters.student.strip().lower()
    return [
        i
        for i, r in enumerate(table.itertuples())
        if (filters.week is None or r.week == filters.week)
        and text in f"{r.student}\n{r.name}\n{r.text}".lower()
        and student in f"{r.student} {r.name}".lower()
    ]


def test_searches_typed_a_keystroke_at_a_time_find_what_a_fresh_search_finds(course, reading):
    """The cache reads only rows earlier keystrokes and other filters left unsettled; the answer must not change."""
    settings, roster = course
    table = review_table(open_log(settings.database), settings, reading, roster)
    word, who = "accountability", f"{table.iloc[5].student} {table.iloc[5]['name']}"
    steps = [
        *(Filters(week=2, text=word[:n]) for n in range(1, len(word) + 1)),  # typed with a week chosen
        *(Filters(text=word[:n]) for n in range(len(word), 0, -1)),  # the week cleared, then erased
        Filters(text="the rules"),  # pasted: nothing cached says anything about it
        Filters(text="rules"),  # shorter than a cached needle: its hits are hits
        Filters(text="the rules of"),
        *(Filters(student=who[:n].upper()) for n in range(1, len(who) + 1)),  # across the id and the name
        Filters(student=who, text="the"),
    ]
    cache: dict = {}
    sizes = set()
    for filters in steps:
        expected = _searched_by_hand(table, filters)
        assert matching_positions(table, filters, cache).tolist() == expected, filters
        sizes.add(len(expected))
    assert len(sizes) > 3 and min(sizes) < len(table)  # the steps narrow and widen


def test_lateness_of_a_table_is_is_late_of_each_row(course):
    """``late_column`` works column-wise; it must say what ``is_late`` says of each row (flags, gaps, no deadline)."""
    settings, _ = course
    rng = random.Random(2)
    frame = pd.DataFrame(
        {
            "week": [rng.choice([1, 2, 3, 4, 9, None]) for _ in range(400)],
            "submitted_at": [
                None if rng.random() < 0.05 else datetime(2026, 9, 5) + timedelta(hours=rng.randint(0, 900))
                for _ in range(400)
            ],
            "source_late": [rng.choice([None, True, False, float("nan"), pd.NA]) for _ in range(400)],
        }
    )
    for each in (settings, None):
        for part in (frame, frame.drop(columns="source_late"), frame.iloc[:0]):
            flags = part["source_late"] if "source_late" in part else [None] * len(part)
            expected = [
                is_late(each, w, t, f) for w, t, f in zip(part["week"], part["submitted_at"], flags, strict=True)
            ]
            assert late_column(part, each).tolist() == expected
    assert 0 < late_column(frame, settings).sum() < len(frame)


def test_posts_without_messages_leave_out_only_the_reflections_text(course):
    log = open_log(course[0].database)
    full, light = log.posts(hidden=True), log.posts(hidden=True, messages=False)
    roots = full["kind"] == "reflection"
    assert roots.any() and (~roots).any()
    assert light["message"][roots].isna().all()
    pd.testing.assert_frame_equal(full.drop(columns="message"), light.drop(columns="message"))
    assert light["message"][~roots].tolist() == full["message"][~roots].tolist()
