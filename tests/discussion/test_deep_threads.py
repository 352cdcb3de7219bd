"""A chain of replies hundreds deep (a long back-and-forth, or a hostile notebook) publishes, exports and reviews.

The week page nested every reply under the one it answers: past about 250 levels the template hit
Python's recursion limit and the whole site failed to publish, and long before that a reply was a
column too narrow to read. Pages now nest ``DEEPEST`` levels and line the rest up under the last,
each saying whom it answers, in reading order.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from backends import fresh_database
from classgen import make_class
from conftest import course_toml
from sqlalchemy import insert, select

from coursekit.api import Course
from coursekit.api.options import ExportOptions, FeedOptions, SiteOptions
from coursekit.discussion.site import DEEPEST
from coursekit.log.schema import open_database
from coursekit.log.tables import reflections, replies, submissions

LEVELS = 400


@pytest.fixture
def deep_course(tmp_path, reading, backend):
    """A generated class, and under its first week-1 reflection a chain of 400 replies between two students."""
    with fresh_database(backend, tmp_path) as db:
        make_class(reading, tmp_path, students=6, seed=4, db=db)
        engine = open_database(db, create=False)
        with engine.begin() as conn:
            top = conn.execute(select(reflections).where(reflections.c.week == 1).limit(1)).one()
            subs = {s.student: s for s in conn.execute(select(submissions).where(submissions.c.week == 2))}
            pair = sorted(subs)[:2]
            rows, parent = [], top.post_id
            for n in range(LEVELS):
                student = pair[n % 2]
                when = datetime(2026, 9, 20) + timedelta(minutes=n)
                post_id = f"deep-{n:04d}"
                rows.append(
                    dict(
                        submission_id=subs[student].id,
                        student=student,
                        notebook=subs[student].notebook,
                        week=1,
                        reply_key=f"deep#{n}",
                        post_id=post_id,
                        parent_id=parent,
                        text=f"Level {n} of the back-and-forth.",
                        word_count=6,
                        content_hash="-",
                        version=1,
                        submitted_at=when,
                        collected_at=when,
                    )
                )
                parent = post_id
            conn.execute(insert(replies), rows)
        engine.dispose()
        course_toml(tmp_path, reading, db)
        yield Course.open(tmp_path / "course.toml"), top.post_id


def test_a_chain_hundreds_deep_publishes_nested_as_deep_as_a_page_reads(deep_course, tmp_path):
    course, top = deep_course
    course.publish_site(SiteOptions(out=tmp_path / "site"))
    page = (tmp_path / "site" / "week01.html").read_text()
    levels = [int(n) for n in re.findall(r"Level (\d+) of the back-and-forth", page)]
    assert levels == list(range(LEVELS))  # every reply, in the order the conversation went
    depth = nesting(page)
    assert [depth[n] for n in range(DEEPEST)] == list(range(1, DEEPEST + 1))  # each answer under the one it answers
    assert {depth[n] for n in range(DEEPEST, LEVELS)} == {DEEPEST}  # then lined up under the last nested one
    thread = page[page.index(f"id='{top}'") :]
    flattened = thread[thread.index("Level 10 ") - 600 : thread.index("Level 10 ")]
    assert "replying to <b>" in flattened  # past DEEPEST, each reply says whom it answers
    assert "replying to" not in thread[: thread.index("Level 2 ")]  # nested ones do not need to


def nesting(page: str) -> dict[int, int]:
    """How many reply lists each "Level N" reply sits in, as a browser would nest the page's divs."""
    depths: dict[int, int] = {}

    class Divs(HTMLParser):
        stack: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "div":
                self.stack.append(dict(attrs).get("class") or "")

        def handle_endtag(self, tag):
            if tag == "div":
                self.stack.pop()

        def handle_data(self, data):
            found = re.search(r"Level (\d+) of the back-and-forth", data)
            if found:
                depths[int(found.group(1))] = self.stack.count("replies")

    Divs().feed(page)
    return depths


def test_a_chain_hundreds_deep_goes_into_the_feed_the_export_and_the_desk(deep_course, tmp_path):
    course, top = deep_course
    course.publish_feed(FeedOptions(week=1, out=tmp_path / "feed"))
    assert any((tmp_path / "feed").iterdir())
    exported = course.export(ExportOptions(threads=True, out=tmp_path / "threads.csv"))
    assert exported is not None and "Level 399 of the back-and-forth." in (tmp_path / "threads.csv").read_text()
    desk = course.desk()
    try:
        while desk.current["post_id"] != top:
            desk.next_button.click()
        assert desk.body.value.count("of the back-and-forth.") == LEVELS
    finally:
        desk.close()
