"""A hostile value in every field that reaches a page comes out as inert text on each of the three page kinds.

The value carries a script, an attribute break-out with an event handler, Jinja2 template syntax
(a page that rendered a value as a template would lose it) and a spreadsheet formula. Plain-text fields
must appear exactly as the one escaper writes them; Markdown fields lose the raw HTML and keep the
rest as text. Every page is also checked for live parts, and for inline code its CSP does not allow.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import ROOT
from markupsafe import escape
from pageparts import PageParts

from coursekit.course.settings import Criterion, load_settings
from coursekit.discussion.site import Site, publish_site
from coursekit.review.feedback import student_page
from coursekit.review.report import PLOTS, draw_report

HOSTILE = (
    '<script>alert(1)</script>"><img src=x onerror=alert(2)>\'>{{ 7*7 }}{% raw %}=HYPERLINK("http://evil.example")'
)
NO_SLASH = "\"><img src=x onerror=alert(2)>'>{{ 7*7 }}=HYPERLINK("  # for a file name


def hostile(field: str) -> str:
    return f"{field}: {HOSTILE}"


def assert_inert(page: str, images: int = 0) -> PageParts:
    """No event handler, javascript: URL, style attribute or foreign element; only our own code, allowed by hash."""
    parts = PageParts(page)
    assert parts.dangerous == [] and parts.styled == []
    assert parts.tags.count("script") <= 1 and parts.tags.count("img") == images
    assert not {"iframe", "svg", "object", "embed", "form", "base"} & set(parts.tags)
    assert parts.uncovered() == []
    return parts


def assert_shown_as_text(page: str, *fields: str) -> None:
    for field in fields:
        assert str(escape(hostile(field))) in page, field


def assert_markdown_shown_safely(page: str, *fields: str) -> None:
    """Raw HTML is dropped by the renderer; the words around it and the template syntax stay text."""
    for field in fields:
        assert f"{field}: " in page and "{{ 7*7 }}{% raw %}=HYPERLINK(" in page, field


def post(post_id, parent_id, prompt_id, **fields):
    row = dict(post_id=post_id, parent_id=parent_id, thread_week=1, prompt_id=prompt_id, like_count=1)
    return row | dict(author=hostile("author"), message=hostile("message"), created_at=hostile("posted at")) | fields


def test_site_pages_show_every_hostile_field_as_text(tmp_path):
    site = Site(
        title=hostile("site title"),
        prompts={"w1-a": hostile("prompt text")},
        week_titles={1: hostile("week title")},
        prompt_titles={"w1-a": hostile("prompt title")},
    )
    posts = pd.DataFrame(
        [
            post("r-1", None, "w1-a"),
            post("c-1", "r-1", "w1-a", author=hostile("replier"), created_at=datetime(2026, 9, 1, 8, 5)),
            post("r-2", None, hostile("prompt id")),  # a prompt the reading does not know: its id is shown
        ]
    )
    index, week = publish_site(site, posts, tmp_path)
    for page in (index.read_text(), week.read_text()):
        assert_inert(page)
        assert_shown_as_text(page, "site title", "week title", "prompt title", "prompt id")
    page = week.read_text()
    assert_shown_as_text(page, "author", "replier", "posted at")
    assert_markdown_shown_safely(page, "message", "prompt text")
    assert f"id='{escape(hostile('prompt id'))}'" in page and "01 Sep 2026, 08:05 UTC" in page


def test_feedback_page_shows_every_hostile_field_as_text():
    settings = load_settings(ROOT / "course.toml")
    settings = dataclasses.replace(
        settings,
        name=hostile("course name"),
        rubric=(Criterion(id="understanding", label=hostile("criterion"), points=4),),
        staff={"dana": hostile("staff name")},
    )
    reading = SimpleNamespace(
        prompts=[SimpleNamespace(id="w1-a", text=hostile("prompt text"))],
        prompt_titles=lambda: {"w1-a": hostile("prompt title")},
    )
    reviewed = dict(week=1, post_id="r-1", word_count=3, text=hostile("reflection"), scores={"understanding": 3})
    reflections = pd.DataFrame(
        [
            reviewed | dict(prompt_id="w1-a", comment=hostile("comment"), reviewer="dana", reviewed_at="2026-09-02"),
            reviewed
            | dict(
                prompt_id=hostile("prompt id"),
                comment="",
                reviewer=hostile("reviewer login"),
                reviewed_at=hostile("reviewed at"),
            ),
        ]
    )
    scores = pd.DataFrame([dict(week=1, late=True, total=float("nan"), prompts=2, possible=20.0, replies=0)])
    page = student_page(hostile("student"), reflections, scores, settings, reading)
    assert_inert(page)
    assert_shown_as_text(
        page, "course name", "student", "prompt title", "prompt id", "criterion", "staff name", "reviewer login"
    )
    assert_shown_as_text(page, "reviewed at")
    assert_markdown_shown_safely(page, "prompt text", "reflection", "comment")
    assert "Reviewed by" in page and "02 Sep 2026, 00:00 UTC" in page


class HostileLog:
    """The DiscussionLog methods the report reads, for two students with hostile names."""

    ann, ben = hostile("student"), hostile("classmate")

    def submissions(self):
        when = [datetime(2026, 9, 1)] * 2
        return pd.DataFrame({"student": [self.ann, self.ben], "week": [1, 4], "submitted_at": when})

    def reflections(self):
        return pd.DataFrame({"text": [hostile("reflection"), ""], "word_count": [12, 0]})

    def posts(self):
        return pd.DataFrame(
            [("r1", None, self.ann, 1), ("x1", "r1", self.ben, 0), ("x2", "r1", self.ben, 0)],
            columns=["post_id", "parent_id", "author", "like_count"],
        )

    def answers(self, kind=None):
        rows = [(self.ann, 1, 1), (self.ann, 4, 5)]
        return pd.DataFrame(
            [{"student": s, "week": w, "widget_id": "s", "state": {"value": v, "steps": 7}} for s, w, v in rows]
        )


@pytest.fixture
def report(tmp_path):
    settings = load_settings(ROOT / "course.toml")
    settings = dataclasses.replace(settings, name=hostile("course name"), path=tmp_path / f"{NO_SLASH}.toml")
    reading = SimpleNamespace(
        glossary=[SimpleNamespace(term=hostile("term")), SimpleNamespace(term=hostile("other term"))],
        stances=[
            SimpleNamespace(id="s", weeks=(1, 4), left=hostile("left pole"), right=hostile("right pole"), steps=7)
        ],
    )
    return draw_report(HostileLog(), settings, reading, tmp_path / "report")


def test_report_page_and_its_notebook_view_show_every_hostile_field_as_text(report):
    page = report.page.read_text()
    assert_inert(page, images=len(PLOTS) + 1)  # the plots and the one stance
    assert_shown_as_text(page, "course name", "student", "classmate", "term", "other term", "left pole", "right pole")
    assert str(escape(NO_SLASH)) in page  # the settings file named in the caption
    bundle = report._repr_mimebundle_()["text/html"]
    assert_inert(bundle, images=len(PLOTS) + 1)
    for plot in report.plots:  # alt texts carry the names, terms and poles
        assert f"alt='{escape(plot.alt)}'" in page and f"alt='{escape(plot.alt)}'" in bundle
    assert any(hostile("classmate") in plot.alt for plot in report.plots)
