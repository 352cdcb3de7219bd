"""The published discussion page in real Chromium: hostile posts run nothing, Markdown renders."""

from __future__ import annotations

import pytest
from browser import chromium
from click.testing import CliRunner
from conftest import ARTIFACTS, filled_notebook, write_notebook
from pageparts import PageParts

from coursekit.cli import main
from coursekit.discussion.feed import Feed, FeedPost, student_key
from coursekit.intake.sources import gather
from coursekit.log.collect import collect
from coursekit.notebook.widgets import PeerFeed

PAYLOADS = [
    "<script>window.__pwned = 'script'; alert('script')</script>",
    "<img src=x onerror=\"window.__pwned = 'onerror'; alert('img')\">",
    "<a href=\"javascript:window.__pwned = 'anchor'\">click me</a>",
    "<iframe src=\"javascript:window.__pwned = 'iframe'\"></iframe>",
    "[a markdown link](javascript:window.__pwned='markdown')",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
]
ORDINARY = (
    "I *really* liked this, for **two** reasons:\n\n- rules protect people\n- records make people answerable\n\n"
    "> Bureaucracy is a technology too.\n\nSee [Duguid's paper](https://journals.uic.edu/ojs/index.php/fm) for more."
)
HOSTILE_NAME = "<img src=x onerror=alert('name')>"


@pytest.fixture
def site(tmp_path, reading):
    prompts = [p.id for p in reading.prompts_for(1)]
    root = tmp_path / "subs"
    write_notebook(
        root / HOSTILE_NAME / "week01.ipynb",
        filled_notebook(reading, 1, {prompts[0]: "\n\n".join(PAYLOADS), prompts[1]: '=HYPERLINK("x")'}),
        mtime=1_700_000_000,
    )
    write_notebook(root / "maya" / "week01.ipynb", filled_notebook(reading, 1, {prompts[0]: ORDINARY}), 1_700_000_100)
    db = tmp_path / "class.db"
    assert collect(gather(root), db).count("collected") == 2
    out = tmp_path / "site"
    result = CliRunner().invoke(
        main, ["publish", "--db", str(db), "--out", str(out), "--names", "real", "--reading", str(reading.path)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_site_html_has_no_live_payload(site):
    page = (site / "week01.html").read_text()
    parts = PageParts(page)
    assert parts.dangerous == []
    assert parts.tags.count("script") == 1 and parts.uncovered() == []  # ours, allowed by its hash
    assert not {"img", "iframe", "svg", "object", "embed"} & set(parts.tags)
    assert "window.__pwned = 'script'" not in page  # raw HTML is dropped, not shown


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_hostile_posts_run_nothing_in_chromium_and_markdown_renders(site):
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        dialogs, violations = [], []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto((site / "week01.html").as_uri())
        page.wait_for_load_state("load")
        for link in page.locator("a").all():
            href = link.get_attribute("href") or ""
            assert not href.lower().startswith("javascript"), href
        page.wait_for_timeout(500)
        assert page.evaluate("window.__pwned === undefined")
        assert dialogs == []
        assert page.locator("script").count() == 1  # ours, allowed by its hash; no other
        assert page.locator("iframe, img, svg, embed, object").count() == 0

        post = page.locator(".post", has_text="I really liked this")
        assert post.locator("em", has_text="really").count() == 1
        assert post.locator("strong", has_text="two").count() == 1
        assert post.locator("ul > li").count() == 2
        assert post.locator("blockquote", has_text="Bureaucracy is a technology too.").count() == 1
        link = post.locator("a", has_text="Duguid's paper")
        assert link.get_attribute("href").startswith("https://journals.uic.edu")
        assert page.locator(".meta b", has_text=HOSTILE_NAME).count() >= 1  # the name shows as text

        search = page.locator("#search")
        search.fill("technology too")
        assert page.locator("article.thread:not(.hidden)").count() == 1
        assert "1 of" in page.locator("#count").inner_text()
        search.fill("")
        assert violations == [], violations  # our own inline style and script pass the CSP
        page.screenshot(path=str(ARTIFACTS / "site-week01.png"), full_page=True)

        phone = browser.new_page(viewport={"width": 375, "height": 800})
        phone.goto((site / "week01.html").as_uri())
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        phone.screenshot(path=str(ARTIFACTS / "site-week01-phone.png"))


def test_peer_feed_widget_sanitizes_posts():
    hostile = FeedPost("r-1", None, "<b>x</b>", "w1", "", "\n\n".join(PAYLOADS), 0)
    feed = Feed(1, False, "salt", (hostile,), {student_key("salt", "someone"): ["k"]}, {"r-1": "k"})
    widget = PeerFeed(feed)
    widget.show("someone")
    shown = widget.area.children[0].children[0].children[0].children[0].value  # box > thread > entry > text
    parts = PageParts(shown)
    assert parts.dangerous == [] and not {"script", "img", "iframe", "svg"} & set(parts.tags)
    assert "&lt;b&gt;x&lt;/b&gt;" in shown
