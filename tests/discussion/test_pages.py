"""The one Jinja2 environment every page comes from: one escaper, strict names, and a CSP that follows the code."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError
from markupsafe import Markup
from pageparts import PageParts

from coursekit.discussion.pages import csp_hash, environment, markdown, render


def page_with(script: str, body: str = "") -> str:
    """A page extending base.html with its own inline script, as any future page would."""
    child = "{% extends 'base.html' %}{% block script %}" + script + "{% endblock %}{% block body %}" + body
    return environment().from_string(child + "{% endblock %}").render(title="t")


def test_the_policy_allows_exactly_the_inline_code_the_page_carries():
    for script in ("console.log('a');", "console.log('b') && 1 < 2;"):  # a changed script: a changed hash
        parts = PageParts(page_with(script))
        assert parts.inline[-1] == ("script", script)
        assert parts.uncovered() == [] and parts.policy["script-src"] == [csp_hash(script)]
    assert "script-src" not in PageParts(page_with("")).policy  # no script, no script-src at all


def test_the_coverage_check_catches_code_the_policy_does_not_allow():
    page = page_with("ok();", body="<script>planted();</script><style>p{}</style>")
    assert PageParts(page).uncovered() == ["<script> 'planted();'", "<style> 'p{}'"]


def test_every_value_is_escaped_and_template_text_in_it_stays_text():
    shown = environment().from_string("<p title='{{ v }}'>{{ v }}</p>").render(v="'><script>{{ 7*7 }}</script>")
    escaped = "&#39;&gt;&lt;script&gt;{{ 7*7 }}&lt;/script&gt;"
    assert shown == f"<p title='{escaped}'>{escaped}</p>"


def test_a_name_the_page_was_not_given_fails_the_render_instead_of_showing_a_blank():
    with pytest.raises(UndefinedError, match="title"):
        render("index.html", nav=[], weeks=[])


def test_markdown_is_marked_safe_only_after_sanitising():
    shown = markdown("*hi* <script>x()</script> <img src=x onerror=y()> [a](javascript:z())")
    assert isinstance(shown, Markup)
    assert "<em>hi</em>" in shown and "script" not in shown and "onerror" not in shown and "javascript" not in shown


def test_dates_are_shown_as_readers_see_them_and_anything_else_as_escaped_text():
    template = environment().from_string("{{ when|date }}")
    assert template.render(when="2026-09-01 08:05") == "01 Sep 2026, 08:05 UTC"
    assert template.render(when="<b>soon</b>") == "&lt;b&gt;soon&lt;/b&gt;"
