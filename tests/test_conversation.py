"""The class discussion end to end: week 1 posts, a published feed, week 2 replies and likes, the site."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ROOT, filled_notebook, student_answers, with_saved, write_notebook

from coursekit.cli import main
from coursekit.discussion.feed import assigned_roots, find_feed, rotation
from coursekit.log.collect import collect
from coursekit.log.frames import open_log
from coursekit.notebook.widgets import PeerFeed

STUDENTS = ["ann", "bob", "cem"]


def cli(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def peer_record(course, reading, student: str, act) -> dict:
    """Drive the PeerFeed widget as the student would and return what the notebook would save."""
    widget = PeerFeed(find_feed(1, reading, start=course), answer_id="w2-peers")
    widget.who.value = student
    widget.show_button.click()
    act(widget)
    return widget.answer_record()


def week2(reading, student: str, record: dict) -> dict:
    notebook = filled_notebook(reading, 2, student_answers(reading, 2, student))
    return with_saved(notebook, {"widgets.PeerFeed": record})


def box_for(widget: PeerFeed, author_post: str):
    return next(b for b in widget.area.children if b.post_id == author_post)


def reply_in(box, text: str, target: str | None = None) -> None:
    _, _, picker, area, send, _ = box.children
    if target:
        picker.value = target
    area.value = text
    send.click()


@pytest.fixture
def course(tmp_path, reading):
    root = tmp_path / "course"
    for n, student in enumerate(STUDENTS):
        notebook = filled_notebook(reading, 1, student_answers(reading, 1, student))
        write_notebook(root / "subs1" / student / "week01.ipynb", notebook, mtime=1_700_000_000 + n)
    db = root / "class.db"
    assert collect(root / "subs1", db).count("collected") == 3
    cli("publish", "--feed", "--week", "1", "--db", str(db), "--out", str(root / "feed"))
    return root


def test_rotation_gives_every_author_the_same_number_of_readers():
    authors = [f"s{i}" for i in range(10)]
    assigned = rotation(authors, "salt")
    readers = {a: sum(a in peers for peers in assigned.values()) for a in authors}
    assert set(readers.values()) == {3}
    assert all(a not in peers for a, peers in assigned.items())


def test_feed_file_is_pseudonymous_and_assigns_peers(course, reading):
    document = json.loads((course / "feed" / "week01.json").read_text())
    text = json.dumps(document)
    assert not any(re.search(rf"\b{s}\b", json.dumps([p["author"] for p in document["posts"]])) for s in STUDENTS)
    assert "ann thinks about" in text  # the reflections themselves are there
    feed = find_feed(1, reading, start=course)
    assert not feed.sample
    mine = assigned_roots(feed, "ann")
    assert len(mine) == 2 * len(reading.prompts_for(1))  # both other students' posts, none of ann's
    log = open_log(course / "class.db")
    own = set(log.posts(1).query("author == 'ann'").post_id)
    assert not own & {p.id for p in mine}


def test_republishing_a_week_keeps_every_students_classmates(tmp_path, reading):
    """The assignment's salt is kept in the log: a republished feed assigns the same classmates."""
    class_ = [f"st{i:02d}" for i in range(8)]
    root, db = tmp_path / "course", tmp_path / "course" / "class.db"

    def hand_in(students):
        for n, student in enumerate(students):
            notebook = filled_notebook(reading, 1, student_answers(reading, 1, student))
            write_notebook(root / "subs1" / student / "week01.ipynb", notebook, mtime=1_700_000_000 + n)
        collect(root / "subs1", db)

    def published() -> dict[str, list[str]]:
        cli("publish", "--feed", "--week", "1", "--db", str(db), "--out", str(root / "feed"))
        feed = find_feed(1, reading, start=root)
        return {s: sorted(p.id for p in assigned_roots(feed, s)) for s in [*class_, "late1"]}

    hand_in(class_)
    first = published()
    assert published() == first  # the same log, republished: nobody's classmates change
    hand_in(["late1"])  # a late author joins the rotation
    later = published()
    moved = [s for s in class_ if later[s] != first[s]]
    assert len(moved) <= 3, moved  # only the few just before the newcomer in the rotation read someone new


def test_without_a_feed_the_sample_class_is_shown_and_labelled(tmp_path, reading):
    widget = PeerFeed(find_feed(1, reading, start=tmp_path))
    assert widget.feed.sample and "Sample class" in widget.children[0].value
    assert widget.show("anyone")


def test_replies_likes_threads_and_site(course, reading, tmp_path):
    db = course / "class.db"
    log = open_log(db)
    posts = log.posts(1)
    post_of = {s: posts.query(f"author == '{s}'").post_id.iloc[0] for s in STUDENTS}

    # ann replies to bob's post and likes it twice over (a like is a set), and likes her own post
    def ann_acts(widget):
        reply_in(box_for(widget, post_of["bob"]), "Good point, **bob**: who writes the rules?")
        widget.like(post_of["bob"])
        widget.like(post_of["bob"])

    ann = peer_record(course, reading, "ann", ann_acts)
    ann["state"]["likes"].append(post_of["ann"])  # a hand-edited like of her own post
    ann["state"]["replies"].append({"parent_id": "r-000000000000", "text": "to nowhere"})
    write_notebook(course / "subs2" / "ann" / "week02.ipynb", week2(reading, "ann", ann), mtime=1_700_100_000)
    report = collect(course / "subs2", db)
    assert report.count("collected") == 1
    detail = report.results[0].detail
    assert "own post" in detail and "no such post" in detail

    # the feed is republished with ann's reply; bob answers ann's reply and likes cem's post
    cli("publish", "--feed", "--week", "1", "--db", str(db), "--out", str(course / "feed"))
    ann_reply = log.posts(1).query("kind == 'reply'").post_id.iloc[0]

    def bob_acts(widget):
        reply_in(box_for(widget, post_of["cem"]), "Nice example, cem.")
        widget.like(post_of["cem"])

    bob = peer_record(course, reading, "bob", bob_acts)
    bob["state"]["replies"].append({"parent_id": ann_reply, "text": "Thanks ann: the moderators write them."})
    write_notebook(course / "subs2" / "bob" / "week02.ipynb", week2(reading, "bob", bob), mtime=1_700_100_001)

    def cem_acts(widget):
        widget.like(post_of["bob"])

    cem = peer_record(course, reading, "cem", cem_acts)
    write_notebook(course / "subs2" / "cem" / "week02.ipynb", week2(reading, "cem", cem), mtime=1_700_100_002)
    report = collect(course / "subs2", db)
    assert report.count("unchanged") == 1 and report.count("collected") == 2

    posts = log.posts(1).set_index("post_id")
    assert posts.loc[post_of["bob"], "like_count"] == 2  # ann (once) and cem
    assert posts.loc[post_of["cem"], "like_count"] == 1
    assert posts.loc[post_of["ann"], "like_count"] == 0  # her own like was refused
    replies = posts[posts.kind == "reply"]
    assert len(replies) == 3
    nested = replies[replies.parent_id == ann_reply]
    assert len(nested) == 1 and nested.iloc[0].author == "bob" and nested.iloc[0].thread_id == post_of["bob"]
    assert set(replies.prompt_id) <= {p.id for p in reading.prompts_for(1)}
    assert collect(course / "subs2", db).changed == 0  # liking twice, collecting twice: nothing changes

    site = tmp_path / "site"
    cli("publish", "--db", str(db), "--out", str(site), "--names", "real", "--reading", str(reading.path))
    page = (site / "week01.html").read_text()
    for student in STUDENTS:
        assert f"{student} thinks about" in page
    assert "Good point, <strong>bob</strong>: who writes the rules?" in page
    assert "Liked by 2 people" in page and "Liked by 1 person" in page
    assert page.index(f"id='{post_of['bob']}'") < page.index("Good point") < page.index("Thanks ann")
    assert re.search(r"<div class='replies'>.*Good point.*<div class='replies'>.*Thanks ann", page, re.S)
    index = (site / "index.html").read_text()
    assert "week01.html" in index and "3 replies" in index

    flat = tmp_path / "threads.csv"
    cli("export", "--db", str(db), "--threads", "--out", str(flat))
    frame = pd.read_csv(flat)
    assert list(frame.columns[:6]) == ["id", "parent_id", "author", "message", "created_at", "like_count"]
    assert len(frame) == 3 * (len(reading.prompts_for(1)) + len(reading.prompts_for(2))) + 3  # posts + replies


def test_publish_takes_name_display_from_course_settings(course, reading, tmp_path, monkeypatch):
    (course / "course.toml").write_text(
        (ROOT / "course.toml")
        .read_text()
        .replace('reading = "readings/kreiss-finn-turner-2011"', f'reading = "{reading.path}"')
        .replace('names = "pseudonym"', 'names = "real"')
    )
    monkeypatch.chdir(course)
    cli("publish", "--db", str(course / "class.db"), "--out", str(tmp_path / "real"))
    assert "<b>ann</b>" in (tmp_path / "real" / "week01.html").read_text()
    cli("publish", "--db", str(course / "class.db"), "--out", str(tmp_path / "pseudo"), "--names", "pseudonym")
    assert "<b>ann</b>" not in (tmp_path / "pseudo" / "week01.html").read_text()
