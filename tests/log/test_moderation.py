"""Moderation, withdrawal and erasure: hidden posts leave every output, erased students leave no trace."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from backends import POSTGRESQL, every_stored_value, rows
from click.testing import CliRunner
from conftest import course_toml, filled_notebook, student_answers, with_saved, write_notebook
from images import reflection_cell

from coursekit.cli import main
from coursekit.course.settings import load_settings
from coursekit.discussion.feed import find_feed, replies_to_you
from coursekit.discussion.names import pseudonym
from coursekit.discussion.removal import FORMER_STUDENT, REMOVED_MESSAGE
from coursekit.intake.sources import gather
from coursekit.log import moderation
from coursekit.log.check import check_log
from coursekit.log.collect import collect
from coursekit.log.erase import answered
from coursekit.log.frames import open_log
from coursekit.log.moderation import HIDE, RESTORE, TAG_ACTOR, WITHDRAW, Mark, is_hidden, tag_change, with_replies
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.log.tables import metadata
from coursekit.notebook import answers
from coursekit.notebook.cells import WITHDRAW_TAG
from coursekit.review.analytics import participation
from coursekit.review.desk import ReviewDesk

STUDENTS = ["ann", "bob", "cem"]
BOB_REPLY = "Which rules do the moderators follow here?"
CEM_REPLY = "The ones the founders wrote down, I think."


def cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def hand_in(root: Path, db: str, reading, student: str, week: int, when: int, peer: dict | None = None, edit=None):
    """One student's notebook of ``week`` (with their replies and likes), collected at once."""
    notebook = filled_notebook(reading, week, student_answers(reading, week, student))
    if peer:
        state = {"feed": f"week{week - 1:02d}", "sample": False, "student": student, **peer}
        notebook = with_saved(notebook, {"widgets.PeerFeed": answers.record("peer", f"w{week}-peers", state)})
    if edit:
        edit(notebook)
    write_notebook(root / f"w{week}-{when}" / student / f"week{week:02d}.ipynb", notebook, mtime=when)
    report = collect(gather(root / f"w{week}-{when}"), db)
    assert not report.failed, report.results
    return report.results[0]


@pytest.fixture
def thread(tmp_path, reading, db):
    """Week 1 posts by ann, bob and cem; in week 2 bob answers ann (and likes her post), cem answers bob."""
    root = tmp_path / "course"
    for n, student in enumerate(STUDENTS):
        hand_in(root, db, reading, student, 1, 1_700_000_000 + n)
    log = open_log(db)
    first = reading.prompts_for(1)[0].id
    post = {s: log.posts(1).query(f"author == '{s}' and prompt_id == '{first}'").post_id.iloc[0] for s in STUDENTS}
    bob = {"likes": [post["ann"]], "replies": [{"parent_id": post["ann"], "text": BOB_REPLY}]}
    hand_in(root, db, reading, "bob", 2, 1_700_600_000, bob)
    bob_reply = log.posts(1).query("author == 'bob' and kind == 'reply'").post_id.iloc[0]
    cem = {"likes": [bob_reply], "replies": [{"parent_id": bob_reply, "text": CEM_REPLY}]}
    hand_in(root, db, reading, "cem", 2, 1_700_600_060, cem)
    return dict(root=root, log=log, post=post, bob_reply=bob_reply, first=first)


def publish(db: str, root: Path) -> str:
    """The site and both feeds, as an instructor republishes them; what the commands said."""
    said = cli("publish", "--db", db, "--out", str(root / "site"), "--names", "real")
    for week in (1, 2):
        said += cli("publish", "--feed", "--week", str(week), "--db", db, "--out", str(root / "feed"))
    return said


def written(root: Path) -> str:
    """Every file publishing wrote, as one text."""
    return "\n".join(p.read_text() for folder in ("site", "feed") for p in sorted((root / folder).glob("*")))


def conversation_of(root: Path, reading, student: str) -> str:
    """What "Replies to you" shows ``student`` in the week-3 notebook (from the published week-2 feed)."""
    feed = find_feed(2, reading, start=root)
    return json.dumps([[p.message for p in (post, *answers)] for post, answers in replies_to_you(feed, student)])


def test_a_hidden_reply_vanishes_from_site_feed_and_replies_to_you_then_comes_back(thread, reading, db, tmp_path):
    root, log, reply = thread["root"], thread["log"], thread["bob_reply"]
    publish(db, root)
    assert BOB_REPLY in written(root) and CEM_REPLY in written(root)
    assert BOB_REPLY in conversation_of(root, reading, "ann")
    assert participation(log.posts()).loc["bob", "likes_received"] == 1  # cem's like of bob's reply

    said = cli("moderate", "hide", reply, "--reason", "off topic", "--by", "tutor", "--db", db)
    assert "is now hidden" in said
    assert reply not in set(log.posts()["post_id"])
    assert participation(log.posts()).loc["bob", "likes_received"] == 0  # likes of a hidden reply stop counting
    assert log.posts(hidden=True).set_index("post_id").loc[reply, "hidden"]  # the desk still sees it
    said = publish(db, root)
    assert f"{root / 'site'} was out of date: 2 post(s)" in said  # bob's reply and cem's answer under it
    assert "week01.json was out of date" in said
    assert "week02.json (republished) was out of date" in said  # the later feed carried them too
    assert BOB_REPLY not in written(root)
    assert CEM_REPLY not in written(root)  # a reply under a hidden reply goes with it
    assert BOB_REPLY not in conversation_of(root, reading, "ann")
    assert CEM_REPLY not in conversation_of(root, reading, "bob")

    cli("moderate", "restore", reply, "--by", "tutor", "--db", db)
    publish(db, root)
    assert BOB_REPLY in written(root) and CEM_REPLY in written(root)
    assert BOB_REPLY in conversation_of(root, reading, "ann") and CEM_REPLY in conversation_of(root, reading, "bob")
    assert participation(log.posts()).loc["bob", "likes_received"] == 1

    audit = tmp_path / "audit.csv"
    cli("moderate", "log", "--db", db, "--out", str(audit))
    trail = pd.read_csv(audit)
    assert list(trail["action"]) == [HIDE, RESTORE]
    assert set(trail["post_id"]) == {reply} and set(trail["actor"]) == {"tutor"}
    assert trail.loc[0, "reason"] == "off topic" and trail["at"].notna().all()


def test_a_stale_site_page_is_deleted_and_an_older_feed_republished(thread, db):
    root, log = thread["root"], thread["log"]
    publish(db, root)
    week1 = set(log.posts(1)["post_id"])
    cli("publish", "--db", db, "--out", str(root / "site"))
    (root / "site" / "week09.html").write_text("<div class='post' id='r-gone'>a week nobody posts in now</div>")
    said = cli("publish", "--db", db, "--out", str(root / "site"))
    assert not (root / "site" / "week09.html").exists() and "deleted" in said
    cli("moderate", "hide", thread["post"]["cem"], "--reason", "personal details", "--db", db)
    said = cli("publish", "--feed", "--week", "2", "--db", db, "--out", str(root / "feed"))
    assert "week01.json (republished)" in said  # the older feed carried the hidden post too
    feed1 = {p["id"] for p in json.loads((root / "feed" / "week01.json").read_text())["posts"]}
    assert feed1 == week1 - {thread["post"]["cem"]}


def test_the_review_desk_hides_and_restores_a_reply(thread, reading, db):
    root, log, reply = thread["root"], thread["log"], thread["bob_reply"]
    desk = ReviewDesk(log, load_settings(course_toml(root, reading, db)), reading, "tutor")
    desk.student.value, desk.prompt.value = "ann", thread["first"]
    assert [value for _, value in desk.target.options][:2] == [thread["post"]["ann"], reply]  # and cem's answer
    desk.target.value = reply
    desk.hide_button.click()
    assert "needs a reason" in desk.moderation_note.value
    desk.target.value, desk.reason.value = reply, "off topic"
    desk.hide_button.click()
    assert "is now hidden" in desk.moderation_note.value
    with log.engine.connect() as conn:
        assert moderation.hidden(conn) == {reply}
    assert "Hidden (hide by tutor" in desk.body.value and "off topic" in desk.body.value
    assert BOB_REPLY in desk.body.value  # the desk still shows it, to restore it
    desk.restore_button.click()
    with log.engine.connect() as conn:
        assert moderation.hidden(conn) == set()
    assert "Hidden (" not in desk.body.value
    assert list(moderation.audit(log.engine)["actor"]) == ["tutor", "tutor"]


def test_moderation_says_what_to_do_with_bad_input(thread, db):
    reply = thread["bob_reply"]
    assert "no post r-nothing in the log" in cli("moderate", "hide", "r-nothing", "--reason", "x", "--db", db, code=2)
    assert "needs a reason" in cli("moderate", "hide", reply, "--reason", " ", "--db", db, code=2)
    assert "Missing option '--reason'" in cli("moderate", "hide", reply, "--db", db, code=2)
    assert "is not hidden" in cli("moderate", "restore", reply, "--db", db, code=2)
    cli("moderate", "hide", reply, "--reason", "spam", "--db", db)
    assert "hidden already" in cli("moderate", "hide", reply, "--reason", "spam", "--db", db, code=2)
    assert "Missing option '--requested-by'" in cli("moderate", "withdraw", reply, "--db", db, code=2)


def test_a_withdrawal_holds_until_a_later_version_and_a_tag_withdraws_too(thread, reading, db, tmp_path):
    root, log, post, first = thread["root"], thread["log"], thread["post"]["ann"], thread["first"]

    def shown() -> bool:
        return post in set(log.posts()["post_id"])

    cli("moderate", "withdraw", post, "--requested-by", "ann (email of 3 May)", "--by", "tutor", "--db", db)
    assert not shown()
    hand_in(root, db, reading, "ann", 1, 1_700_000_000)  # the same notebook again: the same version
    assert not shown()

    def rewritten(notebook):
        reflection_cell(notebook, first)["source"] = "I rewrote this after the discussion: rules need owners."

    hand_in(root, db, reading, "ann", 1, 1_700_000_100, edit=rewritten)  # a later version is shown again
    assert shown()

    def tagged(notebook):
        rewritten(notebook)
        reflection_cell(notebook, first)["metadata"]["tags"].append(WITHDRAW_TAG)

    line = hand_in(root, db, reading, "ann", 1, 1_700_000_200, edit=tagged)  # only the tag changed
    assert not shown() and f"{first}: withdrawn (tag)" in line.detail
    line = hand_in(root, db, reading, "ann", 1, 1_700_000_300, edit=rewritten)  # the tag taken off again
    assert shown() and f"{first}: shown again (tag)" in line.detail

    cli("moderate", "hide", post, "--reason", "names a classmate", "--db", db)

    def again(notebook):
        reflection_cell(notebook, first)["source"] = "A third version, still naming them."

    hand_in(root, db, reading, "ann", 1, 1_700_000_400, edit=again)
    assert not shown()  # a hide lasts until an instructor restores it, whatever the student resubmits
    audit = tmp_path / "audit.csv"
    cli("moderate", "log", "--db", db, "--out", str(audit))
    trail = pd.read_csv(audit)
    assert list(trail["action"]) == [WITHDRAW, WITHDRAW, RESTORE, HIDE]
    assert list(trail["actor"])[1:3] == [TAG_ACTOR, TAG_ACTOR]
    assert trail.loc[0, "requested_by"] == "ann (email of 3 May)" and trail.loc[0, "version"] == 1


def test_an_erased_student_leaves_no_trace_in_the_log_or_its_outputs(thread, reading, backend, db, tmp_path):
    root, log = thread["root"], thread["log"]
    secret = log.course_secret()
    bob_texts = [t for t in log.reflections().query("student == 'bob'")["text"]] + [BOB_REPLY]
    save_review(log.engine, ReviewDraft("bob", "week01-the-promise", thread["first"], "tutor", {}, "Good."))
    cli("moderate", "hide", thread["post"]["bob"], "--reason", "bob's post, hidden", "--db", db)
    publish(db, root)
    assert "bob" in written(root)
    before = every_stored_value(db)

    refused = cli("erase", "--student", "bob", "--db", db, code=2)
    assert "Back the log up first" in refused and "add --yes" in refused
    assert every_stored_value(db) == before  # refused without confirmation: nothing changed
    assert "no student zed in the log" in cli("erase", "--student", "zed", "--yes", "--db", db, code=2)

    said = cli("erase", "--student", "bob", "--yes", "--db", db)
    assert "reflections: " in said and "replies: 1 row(s)" in said and "likes: " in said and "reviews: 1" in said
    assert "1 post(s) that others answered kept" in said
    traces = [b"bob", pseudonym(secret, "bob").encode(), *(t.encode() for t in bob_texts)]
    dump = every_stored_value(db)
    assert CEM_REPLY.encode() in dump  # what others wrote to him stays...
    assert not [t for t in traces if t in dump]  # ...and nothing of his, in any column of any table
    if backend == "sqlite":  # nor in the file's free pages or its write-ahead log
        stored = b"".join(p.read_bytes() for p in Path(db).parent.glob(Path(db).name + "*"))
        assert not [t for t in traces[2:] if t in stored]
    assert check_log(log.engine) == []
    assert rows(db, "select count(*) from submissions where student = 'bob'") == [(0,)]

    posts = log.posts(public=True).set_index("post_id")
    removed = posts.loc[thread["bob_reply"]]
    assert removed.author == FORMER_STUDENT and removed.message == REMOVED_MESSAGE
    cem = posts[posts["message"] == CEM_REPLY].iloc[0]
    assert cem.parent_id == thread["bob_reply"] and cem.thread_id == thread["post"]["ann"]

    for names in ("real", "pseudonym"):
        cli("publish", "--db", db, "--out", str(root / "site"), "--names", names)
        for week in (1, 2):
            cli("publish", "--feed", "--week", str(week), "--db", db, "--out", str(root / "feed"), "--names", names)
        text = written(root).encode()
        assert CEM_REPLY.encode() in text and REMOVED_MESSAGE.encode() in text
        assert not [t for t in traces if t in text]
    assert REMOVED_MESSAGE in conversation_of(root, reading, "ann")  # ann's thread keeps its shape...
    feed = find_feed(2, reading, start=root)
    assert [p.message for p in feed.replies_to(thread["bob_reply"])] == [CEM_REPLY]  # ...and cem's answer in it

    audit = tmp_path / "audit.csv"
    cli("moderate", "log", "--db", db, "--out", str(audit))
    trail = pd.read_csv(audit)
    assert list(trail["action"]) == ["erase"] and "erased a student" in trail.loc[0, "reason"]
    assert b"bob" not in audit.read_bytes()


def test_retention_dry_run_changes_nothing_and_apply_erases_the_class(thread, db, monkeypatch):
    before = every_stored_value(db)
    monkeypatch.setattr("coursekit.cli.moderation.interactive", lambda: True)  # as at a terminal
    apply = ["erase", "--term-ended", "--older-than", "30", "--apply", "--db", db]
    answered_no = CliRunner().invoke(main, apply, "n\n")
    assert answered_no.exit_code == 1 and "Erase 3 student(s) for good?" in answered_no.output
    assert "nothing erased" in answered_no.output
    said = cli("erase", "--term-ended", "--older-than", "30", "--db", db)
    assert "would erase 3 student(s): ann, bob, cem" in said and "dry run: nothing changed" in said
    assert every_stored_value(db) == before  # neither the dry run nor the "no" changed anything
    assert "nothing to erase" in cli("erase", "--term-ended", "--older-than", "100000", "--db", db)
    assert "--older-than DAYS" in cli("erase", "--term-ended", "--db", db, code=2)
    assert "give --student" in cli("erase", "--db", db, code=2)
    cli("erase", "--term-ended", "--older-than", "30", "--apply", "--yes", "--db", db)
    left = {t.name: rows(db, f"select count(*) from {t.name}")[0][0] for t in metadata.sorted_tables}
    assert {name for name, n in left.items() if n} == {"course_meta", "moderation"}  # the secret and the erase row
    assert check_log(thread["log"].engine) == []


def test_the_rules_of_hiding_and_withdrawing():
    assert is_hidden(Mark(HIDE, None, "tutor"), 5)
    assert not is_hidden(Mark(RESTORE, None, "tutor"), 1)
    assert is_hidden(Mark(WITHDRAW, 2, "tutor"), 2) and not is_hidden(Mark(WITHDRAW, 2, "tutor"), 3)
    assert tag_change(True, None, 1) == WITHDRAW
    assert tag_change(True, Mark(WITHDRAW, 1, TAG_ACTOR), 1) is None  # already withdrawn
    assert tag_change(True, Mark(WITHDRAW, 1, TAG_ACTOR), 2) == WITHDRAW  # a new version, tagged again
    assert tag_change(True, Mark(HIDE, None, "tutor"), 1) is None
    assert tag_change(False, Mark(WITHDRAW, 1, TAG_ACTOR), 1) == RESTORE
    assert tag_change(False, Mark(WITHDRAW, 1, "tutor"), 1) is None  # an instructor's record is theirs to undo
    assert tag_change(False, None, 1) is None
    parent = {"r1": None, "c1": "r1", "c2": "c1", "c3": "r2", "r2": None}
    assert with_replies({"c1"}, parent) == {"c1", "c2"}
    assert answered(parent, {"r1", "c1"}) == {"r1", "c1"}  # c2 hangs from both
    assert answered(parent, {"r1", "c1", "c2"}) == set()  # nobody else answered
    assert moderation.ACTIONS == (HIDE, RESTORE, WITHDRAW, "erase")


def test_replies_hidden_under_an_erased_students_hidden_post_stay_hidden(thread, reading, db):
    root, log, reply = thread["root"], thread["log"], thread["bob_reply"]
    cli("moderate", "hide", reply, "--reason", "abusive", "--by", "tutor", "--db", db)
    publish(db, root)
    assert CEM_REPLY not in written(root)  # cem's answer under bob's hidden reply is hidden with it

    said = cli("erase", "--student", "bob", "--yes", "--by", "tutor", "--db", db)
    assert "1 post(s) that others answered kept" in said
    assert CEM_REPLY not in set(log.posts(public=True)["message"])  # not shown again under the placeholder
    publish(db, root)
    assert CEM_REPLY not in written(root) and CEM_REPLY not in conversation_of(root, reading, "ann")
    trail = moderation.audit(log.engine)
    assert set(trail["action"]) == {HIDE, "erase"} and "bob" not in trail.to_csv()
    cem = log.posts(hidden=True).query("author == 'cem' and kind == 'reply'").iloc[0]
    assert cem.hidden and cem.message == CEM_REPLY  # the desk still sees it, and can restore it


def test_the_instructors_threads_export_keeps_hidden_posts_flagged(thread, db, tmp_path):
    reply = thread["bob_reply"]
    cli("moderate", "hide", reply, "--reason", "off topic", "--by", "tutor", "--db", db)
    flat = tmp_path / "threads.csv"
    cli("export", "--db", db, "--threads", "--out", str(flat))
    frame = pd.read_csv(flat).set_index("id")
    cem = frame[frame["message"] == CEM_REPLY].index[0]
    assert frame.loc[cem, "parent_id"] == reply and reply in frame.index  # no reply points at a missing parent
    assert set(frame.index[frame["hidden"]]) == {reply, cem}  # the hidden reply and cem's answer under it
    assert frame.loc[thread["post"]["ann"], "hidden"] == False  # noqa: E712 - the rest is shown


@pytest.mark.parametrize("backend", [POSTGRESQL], indirect=True, scope="module")
def test_on_postgresql_erase_rewrites_the_tables_files_not_only_marks_the_rows_free(thread, backend, db):
    """SQLite's VACUUM rewrites the whole file (the no-trace test reads it); PostgreSQL's plain VACUUM would not."""
    tables = ("reflections", "reflection_versions", "replies", "likes")

    def files() -> dict[str, int]:  # each table's file on the server: a plain VACUUM keeps it, with the dead rows
        return {t: rows(db, f"select pg_relation_filenode('{t}')")[0][0] for t in tables}

    before = files()
    cli("erase", "--student", "bob", "--yes", "--db", db)
    after = files()
    assert all(after[t] != before[t] for t in tables), (before, after)


def test_without_by_the_audit_trail_names_who_the_desk_would_review_as(thread, db, tmp_path, monkeypatch):
    """On a JupyterHub everyone's login is "jovyan": the hub's user is who acted, as for reviews."""
    monkeypatch.setenv("JUPYTERHUB_USER", "dana")
    monkeypatch.setattr("getpass.getuser", lambda: "jovyan")
    cli("moderate", "hide", thread["bob_reply"], "--reason", "off topic", "--db", db)
    audit = tmp_path / "audit-by.csv"
    cli("moderate", "log", "--db", db, "--out", str(audit))
    assert pd.read_csv(audit)["actor"].tolist()[-1] == "dana"
