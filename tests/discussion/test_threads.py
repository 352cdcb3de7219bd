"""The discussion's reply and like rules: plain functions over one whole submission, one author lookup."""

from __future__ import annotations

import pandas as pd
from conftest import filled_notebook, student_answers, with_saved, write_notebook
from sqlalchemy import event

from coursekit.discussion.feed import Feed, FeedPost, author_key, build_feed, replies_to_you, student_key
from coursekit.discussion.threads import decide, mentioned
from coursekit.intake.sources import gather
from coursekit.log.collect import collect
from coursekit.log.frames import open_log
from coursekit.log.schema import open_database
from coursekit.notebook import answers
from coursekit.notebook.widgets import PeerFeed

AUTHORS = {"r-ann": "ann", "r-bob": "bob", "c-bob-reply": "bob", "c-ann-reply": "ann"}


def peer(replies=(), likes=(), sample=False) -> tuple[str, dict]:
    return "w2-peers", {
        "sample": sample,
        "replies": [{"parent_id": p, "text": t} for p, t in replies],
        "likes": list(likes),
    }


def test_rules_over_a_whole_submission():
    states = [
        peer(
            replies=[("r-bob", " first "), ("r-bob", "second"), ("c-bob-reply", "deeper"), ("r-gone", "to nowhere")],
            likes=["r-bob", "r-bob", "c-bob-reply", "c-ann-reply", "r-ann", "r-gone"],
        )
    ]
    assert mentioned(states) == {"r-bob", "c-bob-reply", "r-gone", "c-ann-reply", "r-ann"}
    decided = decide("ann", states, AUTHORS)
    assert [(r.key, r.parent_id, r.text) for r in decided.replies] == [
        ("r-bob#0", "r-bob", "first"),
        ("r-bob#1", "r-bob", "second"),
        ("c-bob-reply#0", "c-bob-reply", "deeper"),  # a reply to a reply: chains of any depth
    ]
    assert decided.likes == {"r-bob", "c-bob-reply"}  # liked twice: once; her own post and reply: refused
    assert decided.notes == [
        "reply to r-gone not stored: no such post in the log",
        "like of c-ann-reply not stored: it is the student's own post",
        "like of r-ann not stored: it is the student's own post",
        "like of r-gone not stored: no such post in the log",
    ]


def test_sample_class_practice_is_not_kept():
    decided = decide("ann", [peer(replies=[("r-bob", "hi")], likes=["r-bob"], sample=True)], AUTHORS)
    assert decided.replies == [] and decided.likes == set()
    assert decided.notes == ["replies and likes on the sample class are practice and were not stored"]
    assert mentioned([peer(replies=[("r-bob", "hi")], sample=True)]) == set()


def test_collect_looks_up_every_mentioned_post_in_one_query(tmp_path, reading, db):
    for n, student in enumerate(["ann", "bob", "cem"]):
        notebook = filled_notebook(reading, 1, student_answers(reading, 1, student))
        write_notebook(tmp_path / "w1" / student / "week01.ipynb", notebook, mtime=1_700_000_000 + n)
    collect(gather(tmp_path / "w1"), db)
    others = list(open_log(db).posts(1).query("author != 'ann'").post_id)
    state = {
        "feed": "week01",
        "sample": False,
        "student": "ann",
        "likes": others,
        "replies": [{"parent_id": p, "text": f"reply to {p}"} for p in others],
    }
    notebook = with_saved(
        filled_notebook(reading, 2, {}), {"widgets.PeerFeed": answers.record("peer", "w2-peers", state)}
    )
    write_notebook(tmp_path / "w2" / "ann" / "week02.ipynb", notebook, mtime=1_700_100_000)

    engine = open_database(db)
    lookups: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: lookups.append(statement) if "post_id IN" in statement else None,
    )
    report = collect(gather(tmp_path / "w2"), engine)
    assert report.count("collected") == 1 and len(others) >= 4
    author_lookups = [s for s in lookups if "FROM reflections" in s and "FROM replies" in s]
    assert len(author_lookups) == 1, lookups
    assert len(open_log(db).posts(1).query("kind == 'reply'")) == len(others)


def conversation_feed(week: int) -> Feed:
    """ann's week-1 post, answered in a chain, plus a reply she wrote to herself that cem answered."""
    salt = "salt"
    by = {"ann": author_key(salt, "ann"), "bob": author_key(salt, "bob"), "cem": author_key(salt, "cem")}
    posts = [
        ("r-ann", None, "ann", 1),
        ("c-bob", "r-ann", "bob", 1),
        ("c-ann", "c-bob", "ann", 1),
        ("c-bob2", "c-ann", "bob", 1),
        ("c-self", "r-ann", "ann", 1),
        ("c-cem", "c-self", "cem", 1),
        ("r-bob", None, "bob", week),
    ]
    feed_posts = tuple(
        FeedPost(i, p, a.title(), None, "2026-09-20T10:00", f"text of {i}", 0, w) for i, p, a, w in posts
    )
    assignments = {student_key(salt, s): [by["bob"]] for s in by}
    return Feed(week, False, salt, feed_posts, assignments, {i: by[a] for i, _, a, _ in posts})


def test_replies_to_you_follow_chains_of_any_depth_once():
    assert replies_to_you(conversation_feed(1), "ann") == []  # the week-2 notebook: not yet
    found = replies_to_you(conversation_feed(2), "ann")
    assert [(own.id, [a.id for a in answers]) for own, answers in found] == [("r-ann", ["c-bob"])]
    assert replies_to_you(conversation_feed(2), "bob") == [
        (conversation_feed(2).posts[1], [conversation_feed(2).posts[2]])
    ]

    widget = PeerFeed(conversation_feed(2), answer_id="w3-peers")
    widget.show("ann")
    box = widget.yours.children[1]
    shown = [entry.post_id for entry in box.children[0].children]
    assert shown == ["r-ann", "c-bob", "c-ann", "c-bob2", "c-self", "c-cem"]  # threaded, every depth, once
    assert set(widget.like_buttons) == {"c-bob", "c-bob2", "c-cem", "r-bob"}  # never her own
    assert [label for label, _ in box.target.options][:3] == ["your post", "Bob's reply", "your reply"]
    assert [p.id for p in widget.posts] == ["r-bob"]  # this week's assigned post below


def _post(post_id, author, week, parent=None, thread="r1", thread_week=1):
    return {
        "post_id": post_id,
        "parent_id": parent,
        "author": author,
        "kind": "reflection" if parent is None else "reply",
        "week": week,  # the notebook it was written in
        "prompt_id": "p1",
        "message": f"{post_id} by {author}",
        "created_at": pd.Timestamp(2026, 9, week * 7),
        "like_count": 0,
        "thread_id": thread,
        "thread_week": thread_week,
    }


def test_a_weeks_feed_carries_no_reply_written_after_the_notebook_that_reads_it():
    """Republishing week N's feed later shows replies written up to week N + 1's notebook, none after."""
    posts = pd.DataFrame(
        [
            _post("r1", "ann", 1),
            _post("r2", "bob", 2, thread="r2", thread_week=2),
            _post("c2", "bob", 2, parent="r1"),  # written in week 2's notebook, which reads week 1's feed
            _post("c3", "cem", 3, parent="r1"),  # week 3's notebook
            _post("c4", "ann", 4, parent="c2"),  # week 4's, to a reply
        ]
    )

    def carried(week: int) -> set[str]:
        return {p["id"] for p in build_feed(posts, week, "secret", "real", ["ann", "bob", "cem"], "salt")["posts"]}

    assert carried(1) == {"r1", "c2"}
    assert carried(2) == {"r2", "r1", "c2", "c3"}
    assert carried(3) == {"r1", "c2", "c3", "c4"}  # week 3 has no reflections; r2 has no replies
