"""The class discussion end to end: week 1 posts, a published feed, week 2 replies and likes, the site."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from backends import every_stored_value
from click.testing import CliRunner
from conftest import ROOT, course_toml, filled_notebook, student_answers, with_saved, write_notebook
from images import DESCRIPTION, SVG, attach, data_uris, has_gps, jpeg_with_gps, reflection_cell

from coursekit.cli import main
from coursekit.course.settings import load_settings
from coursekit.discussion.feed import assigned_roots, find_feed, rotation, student_key
from coursekit.intake.sources import gather
from coursekit.log.collect import collect
from coursekit.log.frames import open_log
from coursekit.notebook.widgets import PeerFeed
from coursekit.review.analytics import participation
from coursekit.review.desk import ReviewDesk

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
    if target:
        box.target.value = target
    box.text.value = text
    box.send.click()


@pytest.fixture
def course(tmp_path, reading, db):
    root = tmp_path / "course"
    for n, student in enumerate(STUDENTS):
        notebook = filled_notebook(reading, 1, student_answers(reading, 1, student))
        write_notebook(root / "subs1" / student / "week01.ipynb", notebook, mtime=1_700_000_000 + n)
    assert collect(gather(root / "subs1"), db).count("collected") == 3
    cli("publish", "--feed", "--week", "1", "--db", str(db), "--out", str(root / "feed"))
    return root


def test_rotation_gives_every_author_the_same_number_of_readers():
    authors = [f"s{i}" for i in range(10)]
    assigned = rotation(authors, "salt")
    readers = {a: sum(a in peers for peers in assigned.values()) for a in authors}
    assert set(readers.values()) == {3}
    assert all(a not in peers for a, peers in assigned.items())


def test_feed_file_is_pseudonymous_and_assigns_peers(course, reading, db):
    document = json.loads((course / "feed" / "week01.json").read_text())
    text = json.dumps(document)
    assert not any(re.search(rf"\b{s}\b", json.dumps([p["author"] for p in document["posts"]])) for s in STUDENTS)
    assert "ann thinks about" in text  # the reflections themselves are there
    feed = find_feed(1, reading, start=course)
    assert not feed.sample
    mine = assigned_roots(feed, "ann")
    assert len(mine) == 2 * len(reading.prompts_for(1))  # both other students' posts, none of ann's
    log = open_log(db)
    own = set(log.posts(1).query("author == 'ann'").post_id)
    assert not own & {p.id for p in mine}


def test_republishing_a_week_keeps_every_students_classmates(tmp_path, reading, db):
    """The assignment's salt is kept in the log: a republished feed assigns the same classmates."""
    class_ = [f"st{i:02d}" for i in range(8)]
    root = tmp_path / "course"

    def hand_in(students):
        for n, student in enumerate(students):
            notebook = filled_notebook(reading, 1, student_answers(reading, 1, student))
            write_notebook(root / "subs1" / student / "week01.ipynb", notebook, mtime=1_700_000_000 + n)
        collect(gather(root / "subs1"), db)

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


def test_replies_likes_threads_and_site(course, reading, tmp_path, db):
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
    report = collect(gather(course / "subs2"), db)
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
    report = collect(gather(course / "subs2"), db)
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
    assert collect(gather(course / "subs2"), db).changed == 0  # liking twice, collecting twice: nothing changes

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


def test_publish_takes_name_display_from_course_settings(course, reading, tmp_path, monkeypatch, db):
    (course / "course.toml").write_text(
        (ROOT / "course.toml")
        .read_text()
        .replace('reading = "readings/kreiss-finn-turner-2011"', f'reading = "{reading.path}"')
        .replace('names = "pseudonym"', 'names = "real"')
    )
    monkeypatch.chdir(course)
    cli("publish", "--db", str(db), "--out", str(tmp_path / "real"))
    assert "<b>ann</b>" in (tmp_path / "real" / "week01.html").read_text()
    cli("publish", "--db", str(db), "--out", str(tmp_path / "pseudo"), "--names", "pseudonym")
    assert "<b>ann</b>" not in (tmp_path / "pseudo" / "week01.html").read_text()


def test_class_blog_thread_end_to_end(tmp_path, reading, backend, db):
    """Week 1 post with a pasted photo; week 2 replies and a like on a reply; week 3 "Replies to you"; the site."""
    root = tmp_path / "course"
    first = reading.prompts_for(1)[0].id
    submitted = {"ann": 1_757_000_000, "bob": 1_757_000_060, "cem": 1_757_000_120}  # 04 Sep 2025, 15:33 UTC ...
    for student in STUDENTS:
        notebook = filled_notebook(reading, 1, student_answers(reading, 1, student))
        if student == "ann":
            cell = reflection_cell(notebook, first)
            attach(cell, "My screenshot of the wiki's talk page:", {"image.png": jpeg_with_gps(), "evil.png": SVG})
        write_notebook(root / "w1" / student / "week01.ipynb", notebook, mtime=submitted[student])
    report = collect(gather(root / "w1"), db)
    ann_line = next(r for r in report.results if r.student == "ann")
    assert ann_line.status == "collected" and "'evil.png' in " + first + " not kept: not a PNG" in ann_line.detail
    assert all("evil" not in r.detail for r in report.results if r.student != "ann")
    cli("publish", "--feed", "--week", "1", "--db", str(db), "--out", str(root / "feed"))
    log = open_log(db)
    ann_post = log.posts(1).query(f"author == 'ann' and prompt_id == '{first}'").post_id.iloc[0]
    assert "My screenshot" in log.posts(1).set_index("post_id").loc[ann_post, "message"]  # text kept
    assert list(log.images()[ann_post]) == ["image.png"]

    def week2(student: str, act, when: int) -> None:
        widget = PeerFeed(find_feed(1, reading, start=root), answer_id="w2-peers")
        widget.show(student)
        act(widget)
        notebook = with_saved(
            filled_notebook(reading, 2, student_answers(reading, 2, student)),
            {"widgets.PeerFeed": widget.answer_record()},
        )
        write_notebook(root / "w2" / student / "week02.ipynb", notebook, mtime=when)
        collect(gather(root / "w2"), db)
        cli("publish", "--feed", "--week", "1", "--db", str(db), "--out", str(root / "feed"))

    week2("bob", lambda w: reply_in(box_for(w, ann_post), "Which page was that, ann?"), 1_757_600_000)
    bob_reply = log.posts(1).query("author == 'bob' and kind == 'reply'").post_id.iloc[0]

    def cem_acts(widget):
        assert bob_reply in widget.like_buttons  # replies have a Like too
        assert not widget.yours.children  # "Replies to you" starts in week 3
        widget.like_buttons[bob_reply].value = True
        reply_in(box_for(widget, ann_post), "Great screenshot.")

    week2("cem", cem_acts, 1_757_600_060)
    cli("publish", "--feed", "--week", "2", "--db", str(db), "--out", str(root / "feed"))

    # Week 3: ann sees both replies under "Replies to you" and answers bob's.
    feed = find_feed(2, reading, start=root)
    widget = PeerFeed(feed, answer_id="w3-peers")
    widget.show("ann")
    yours = "".join(e.children[0].value for box in widget.yours.children[1:] for e in box.children[0].children)
    assert "Replies to you" in widget.yours.children[0].value
    assert "Which page was that, ann?" in yours and "Great screenshot." in yours
    assert "data:image/jpeg;base64," in yours  # her post, with its image, heads the conversation
    box = next(b for b in widget.yours.children[1:] if b.post_id == ann_post)
    assert ann_post not in widget.like_buttons  # never a Like on one's own post
    reply_in(box, "The talk page of the 'Bureaucracy' article.", target=bob_reply)
    week3 = with_saved(
        filled_notebook(reading, 3, student_answers(reading, 3, "ann")), {"widgets.PeerFeed": widget.answer_record()}
    )
    write_notebook(root / "w3" / "ann" / "week03.ipynb", week3, mtime=1_758_200_000)
    assert collect(gather(root / "w3"), db).count("collected") == 1

    counts = participation(log.posts())
    assert counts.loc["bob", "likes_received"] == 1  # the like on bob's reply counts in the report
    site = tmp_path / "site"
    cli("publish", "--db", str(db), "--out", str(site), "--names", "real", "--reading", str(reading.path))
    page = (site / "week01.html").read_text()
    post = re.search(rf"<div class='post' id='{ann_post}'>.*?</article>", page, re.S).group(0)
    assert re.search(r'<img src="data:image/jpeg;base64,[^"]+" alt="image.png">', post)
    assert "[image: evil.png]" in post  # the refused file shows as its name, never as markup
    bob_div = post[post.index(f"id='{bob_reply}'") :]
    assert bob_div.index("Which page was that") < bob_div.index("Liked by 1 person") < bob_div.index("The talk page")
    assert re.search(r"Which page was that.*<div class='replies'>.*The talk page", bob_div, re.S)
    assert "Great screenshot." in post and post.count("Liked by") == 1
    assert "04 Sep 2025, 15:33 UTC" in post and "11 Sep 2025, 14:13 UTC" in post  # when each was submitted

    # The feedback page and the review desk show the image too.
    course_toml(root, reading, db)
    cli("feedback", "--settings", str(root / "course.toml"), "--out", str(tmp_path / "feedback"))
    pages = [p.read_text() for p in (tmp_path / "feedback").glob("*.html")]
    assert sum('<img src="data:image/jpeg;base64,' in p for p in pages) == 1
    assert all("img-src data:" in p for p in pages)
    desk = ReviewDesk(log, load_settings(root / "course.toml"), reading, "tester")
    desk.student.value, desk.prompt.value = "ann", first
    assert '<img src="data:image/jpeg;base64,' in desk.body.value and "Which page was that" in desk.body.value

    # The photo's GPS position is in no output: log, site, feeds, feedback, review desk, exports.
    outputs = [page, desk.body.value, *pages, *(p.read_text() for p in (root / "feed").glob("*.json"))]
    uris = [u for text in outputs for u in data_uris(text)]
    assert uris and not any(has_gps(u) for u in uris)
    stored = [base64.b64decode(u.split(",", 1)[1]) for images in log.images().values() for u in images.values()]
    assert stored and not any(has_gps(d) for d in stored)
    dump = every_stored_value(db)
    assert b"My screenshot" in dump and stored[0] in dump  # it sees texts and image bytes...
    assert DESCRIPTION.encode() not in dump  # ...and no trace of the photo's description
    if backend == "sqlite":  # nor in the file's free pages
        assert DESCRIPTION.encode() not in Path(db).read_bytes()
    flat = tmp_path / "threads.csv"
    cli("export", "--db", str(db), "--threads", "--out", str(flat))
    frame = pd.read_csv(flat).set_index("id")
    assert frame.loc[ann_post, "images"] == 1 and frame["images"].sum() == 1
    assert "1 image (see the site)" in cli("export", "--db", str(db), "--format", "markdown")


def test_feed_checks_the_typed_id_and_never_shows_own_posts(course, reading):
    feed = find_feed(1, reading, start=course)
    widget = PeerFeed(feed, answer_id="w2-peers")
    assert widget.show("zed") == [] and not widget.area.children
    assert "<b>zed</b> is not a student ID this feed knows" in widget.status.value
    assert feed.id_hint in widget.status.value
    widget.show("  ann ")  # spaces around a known id are forgiven
    assert widget.posts and not any(feed.is_by(p, "ann") for p in widget.posts)
    own_key = feed.authors[next(p.id for p in feed.posts if feed.is_by(p, "ann"))]
    forged = dataclasses.replace(feed, assignments={**feed.assignments, student_key(feed.salt, "ann"): [own_key]})
    assert assigned_roots(forged, "ann") == []  # even a feed that assigns a student to themselves


def test_publish_names_the_id_from_course_settings(course, reading, monkeypatch, db):
    (course / "course.toml").write_text(
        (ROOT / "course.toml")
        .read_text()
        .replace('reading = "readings/kreiss-finn-turner-2011"', f'reading = "{reading.path}"')
    )
    monkeypatch.chdir(course)
    cli("publish", "--feed", "--week", "1", "--db", str(db), "--out", str(course / "feed"))
    feed = find_feed(1, reading, start=course)
    assert feed.id_hint.startswith("your SIS Login ID")
    widget = PeerFeed(feed)
    widget.show("nobody")
    assert "your SIS Login ID" in widget.status.value


NOW = datetime(2026, 9, 15, tzinfo=UTC)


def upload(name: str, data: bytes) -> tuple[dict, ...]:
    """What a FileUpload widget holds after the student picks a file."""
    return ({"name": name, "type": "image/png", "size": len(data), "content": memoryview(data), "last_modified": NOW},)


def test_a_reply_can_carry_an_image(course, reading, tmp_path, db):
    widget = PeerFeed(find_feed(1, reading, start=course), answer_id="w2-peers")
    widget.show("ann")
    box = widget.area.children[0]
    box.picture.value = upload("drawing.png", SVG)
    reply_in(box, "See my drawing.")
    assert "That image cannot be posted: not a PNG, JPEG, GIF or WebP" in box.mine.value
    assert widget.replies == []  # nothing half-posted
    box.picture.value = upload("photo.jpg", jpeg_with_gps())
    reply_in(box, "See my photo.")
    assert box.picture.value == () and '<img src="data:image/jpeg;base64,' in box.mine.value
    notebook = with_saved(filled_notebook(reading, 2, {}), {"widgets.PeerFeed": widget.answer_record()})
    write_notebook(course / "subs2" / "ann" / "week02.ipynb", notebook, mtime=1_700_100_000)
    assert collect(gather(course / "subs2"), db).count("collected") == 1
    log = open_log(db)
    reply = log.posts(1).query("kind == 'reply'").iloc[0]
    assert reply.image_count == 1 and reply.message.startswith("See my photo.")
    stored = base64.b64decode(next(iter(log.images()[reply.post_id].values())).split(",", 1)[1])
    assert not has_gps(stored)
    site = tmp_path / "site"
    cli("publish", "--db", str(db), "--out", str(site), "--names", "real")
    page = (site / "week01.html").read_text()
    assert re.search(rf"id='{reply.post_id}'>.*?<img src=\"data:image/jpeg;base64,", page, re.S)


def test_students_read_prompt_titles_in_notebook_order(course, reading, tmp_path, db):
    """Site, its index, the feed file and the feed widget say "Reflection 1", "Reflection 2" in that order, not ids.

    Week 1's ids sort w1-advocates < w1-consensus, the reverse of the notebook's order.
    """
    week1 = reading.prompts_for(1)
    assert sorted(p.id for p in week1) != [p.id for p in week1]  # the case this test is about
    titles = [f"Reflection {n}" for n in range(1, len(week1) + 1)]
    site = tmp_path / "site"
    cli("publish", "--db", str(db), "--out", str(site), "--reading", str(reading.path))
    for page in ((site / "week01.html").read_text(), (site / "index.html").read_text()):
        assert "Prompt <code>" not in page and "<code>w1-" not in page
        assert [page.index(t) for t in titles] == sorted(page.index(t) for t in titles)
    week = (site / "week01.html").read_text()
    assert f"<h2>{titles[0]}</h2><div class='text'>" in week and f"id='{week1[0].id}'" in week  # the id: anchors only

    out = tmp_path / "feed"
    cli("publish", "--feed", "--week", "1", "--db", str(db), "--out", str(out), "--reading", str(reading.path))
    document = json.loads((out / "week01.json").read_text())
    roots = [p for p in document["posts"] if not p["parent_id"]]
    assert [p["prompt_title"] for p in roots] == [t for t in titles for _ in STUDENTS]
    assert [p["prompt_id"] for p in roots] == [p.id for p in week1 for _ in STUDENTS]

    widget = PeerFeed(find_feed(1, reading, start=out.parent), answer_id="w2-peers")
    widget.who.value = "ann"
    widget.show_button.click()
    shown = [p.prompt_title for p in widget.posts]
    assert shown and shown == sorted(shown)  # the notebook's order
    assert f"week 1, {shown[0]}" in widget._post_html(widget.posts[0])
