"""The review desk against a real log on each backend: filter, score, comment, next; two reviewers at once."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

import pandas as pd
import pytest
from backends import fresh_database
from classgen import desk_roster, make_class
from conftest import ROOT, course_toml

from coursekit.api import Course
from coursekit.course.deadlines import is_late, late_column
from coursekit.course.settings import SettingsError, load_settings
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.review.desk import ReviewDesk
from coursekit.review.filters import Filters, Matcher, filter_reviews, matching_positions, review_table


@pytest.fixture(scope="module")
def course(tmp_path_factory, reading, backend):
    folder = tmp_path_factory.mktemp("course")
    with fresh_database(backend, folder) as url:
        db = make_class(reading, folder, students=12, db=url)
        roster = desk_roster(12)
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
    # class.db does not exist yet
    demo = Course.open(start=course_folder / "notebooks" / "instructor").desk(reviewer="prof")
    assert demo.settings.path == course_folder / "course.toml"
    assert "demo course" in demo.children[0].value and demo.demo_folder.is_dir()
    assert len(demo.table) > 0
    demo.close()
    assert not demo.demo_folder.exists()
    assert not (course_folder / "class.db").exists()

    with pytest.raises(FileNotFoundError, match="no course.toml"):
        Course.open(start=tmp_path / "elsewhere").desk(reviewer="prof")


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
    """The matcher keeps its answers and its word index between keystrokes; the answer must not change."""
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
    matcher = Matcher(table)
    sizes = set()
    for filters in steps:
        expected = _searched_by_hand(table, filters)
        assert matching_positions(table, filters, matcher).tolist() == expected, filters
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


def test_reviewer_is_the_hub_user_or_a_staff_login_never_a_shared_one():
    from coursekit.review.reviewers import reviewer_login, reviewer_name, saved_as

    staff = {"dsmith": "Dana Smith", "jovyan": "Jo Lee"}  # a one-person server may map its shared login
    assert reviewer_login(staff, "alice", "jovyan") == "alice"  # JupyterHub says who this server is for
    assert reviewer_login(staff, None, "root") == ""  # everyone is root: nobody in particular
    assert reviewer_login({}, "", "jovyan") == ""
    assert reviewer_login(staff, None, "jovyan") == "jovyan" and reviewer_login({}, None, "kim") == "kim"
    assert saved_as(" dana SMITH ", staff) == "dsmith" and saved_as("DSmith", staff) == "dsmith"
    assert saved_as("  Visiting TA ", staff) == "Visiting TA"
    assert reviewer_name("dsmith", staff) == "Dana Smith" and reviewer_name("Visiting TA", staff) == "Visiting TA"
    assert reviewer_name("root", staff) is None and reviewer_name("jovyan", {}) is None


def test_default_reviewer_reads_jupyterhub_user(monkeypatch, course):
    from coursekit.review import desk as desk_module

    settings = dataclasses.replace(course[0], staff={"dsmith": "Dana Smith"})
    monkeypatch.setattr(desk_module.getpass, "getuser", lambda: "jovyan")
    monkeypatch.setenv("JUPYTERHUB_USER", "dsmith")
    assert desk_module.default_reviewer(settings) == "dsmith"
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert desk_module.default_reviewer(settings) == ""


def test_desk_on_a_shared_login_asks_for_a_name_and_saves_under_it(course, reading):
    settings, roster = course
    staff = dataclasses.replace(settings, staff={"dsmith": "Dana Smith"})
    one = ReviewDesk(open_log(settings.database), staff, reading, "", roster)
    one.week.value, one.status.value = 4, "unreviewed"
    assert "Type your name in Reviewer first" in one.saved.value
    assert all(c.disabled for c in (*one.scores.values(), one.comment, one.flag))  # nothing looks saved
    before = len(open_log(settings.database).reviews(latest=False))
    one.save()
    assert len(open_log(settings.database).reviews(latest=False)) == before

    one.who.value = "dana smith"
    assert one.reviewer == "dsmith" and not one.scores["voice"].disabled
    one.scores["voice"].value = 2
    assert "by Dana Smith" in one.saved.value
    key = one.current[["student", "notebook", "prompt_id"]].tolist()
    saved = open_log(settings.database).reviews(latest=False)
    mine = saved[(saved.student == key[0]) & (saved.notebook == key[1]) & (saved.prompt_id == key[2])]
    assert mine.iloc[-1].reviewer == "dsmith"
    one.scores["voice"].value = 3
    assert "Review history (2)" in one.history.value and one.history.value.count("Dana Smith") == 2

    shared = ReviewDesk(open_log(settings.database), staff, reading, "root", roster)
    assert shared.reviewer == "" and shared.scores["voice"].disabled  # root names no one: the desk asks too
    save_review(open_log(settings.database).engine, ReviewDraft(*key, "root", {"evidence": 1}))  # as before
    again = ReviewDesk(open_log(settings.database), staff, reading, "dsmith", roster)
    again.student.value = key[0]
    again.week.value, again.prompt.value = 4, key[2]
    assert again.current[["student", "notebook", "prompt_id"]].tolist() == key
    assert "Review history (3)" in again.history.value
    assert "root (a shared login: reviewer unknown)" in again.history.value


def test_desk_shows_prompt_titles_in_notebook_order(course, reading):
    one = desk(course, reading)
    week1 = reading.prompts_for(1)
    labels = [label for label, value in one.prompt.options if value in {p.id for p in week1}]
    assert labels == [f"Week 1: Reflection {n}" for n in range(1, len(week1) + 1)]
    assert list(one.table[one.table.week == 1].drop_duplicates("prompt_id").prompt_id) == [p.id for p in week1]
    one.week.value, one.prompt.value = 1, week1[1].id
    assert "· Reflection 2</h4>" in one.body.value and "<code>" not in one.body.value


def test_staff_list_in_course_toml(tmp_path, reading):
    toml = course_toml(tmp_path, reading, "class.db")
    text = toml.read_text()
    toml.write_text(text + '\n[staff]\ndsmith = "Dana Smith"\njlee = " Jordan Lee (TA) "\n')
    assert load_settings(toml).staff == {"dsmith": "Dana Smith", "jlee": "Jordan Lee (TA)"}
    toml.write_text(text + '\n[staff]\ndsmith = "Dana Smith"\nroot = ""\njlee = 3\nkim = "dana smith"\n')
    with pytest.raises(SettingsError) as refused:
        load_settings(toml)
    for expected in (
        "course.toml: staff.root: is empty",
        "course.toml: staff.jlee: expected str, found int",
        "course.toml: staff.kim: duplicate staff name",
    ):
        assert expected in str(refused.value), refused.value
