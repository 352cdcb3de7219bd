"""Publish the discussion as a static site: no server, no CDN; opening index.html is enough.

One page per week, posts grouped by prompt (each under its notebook title, "Reflection 2", in the
notebook's order), replies threaded under their parents, a search box
that filters posts in the page, styles for phones and for print. Student text goes through
``render.safe_html``; a Content-Security-Policy allows only our own inline style and script (by
hash), so even a sanitizer bug could not run a student's script.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from coursekit.course.reading import in_prompt_order
from coursekit.discussion.render import posted_at, safe_html, text

STYLE = """
:root { --ink: #1d2433; --muted: #5b6475; --line: #d8dce3; --accent: #2857a4; }
* { box-sizing: border-box; }
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       max-width: 52rem; margin: 0 auto; padding: 1rem; }
a { color: var(--accent); }
header.site { border-bottom: 2px solid var(--line); margin-bottom: 1rem; }
nav a { margin-right: 0.75rem; }
.search { width: 100%; font-size: 1rem; padding: 0.5rem; margin: 0.5rem 0 1rem; border: 1px solid var(--line);
          border-radius: 4px; }
.prompt { margin-top: 2rem; }
.prompt > .text { color: var(--muted); }
.post { border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem 1rem; margin: 0.75rem 0; }
.post .meta { color: var(--muted); font-size: 0.875rem; }
.post .likes { color: var(--muted); font-size: 0.875rem; margin: 0.25rem 0 0; }
.replies { margin-left: 1.25rem; border-left: 3px solid var(--line); padding-left: 0.75rem; }
.replies .post { border: none; padding: 0.25rem 0; margin: 0.5rem 0; }
.post img { max-width: 100%; height: auto; }
.post blockquote { border-left: 3px solid var(--line); margin-left: 0; padding-left: 0.75rem; color: var(--muted); }
.post pre { overflow-x: auto; background: #f5f6f8; padding: 0.5rem; }
.hidden { display: none; }
.count { color: var(--muted); font-size: 0.875rem; }
@media (max-width: 600px) { body { padding: 0.5rem; font-size: 15px; } .replies { margin-left: 0.5rem; } }
@media print { .search, nav, .count { display: none; } .post { break-inside: avoid; } a { color: inherit; } }
"""

SCRIPT = """
document.addEventListener('DOMContentLoaded', function () {
  var box = document.getElementById('search');
  var count = document.getElementById('count');
  if (!box) { return; }
  var threads = Array.prototype.slice.call(document.querySelectorAll('article.thread'));
  box.addEventListener('input', function () {
    var needle = box.value.trim().toLowerCase();
    var shown = 0;
    threads.forEach(function (thread) {
      var hit = !needle || thread.textContent.toLowerCase().indexOf(needle) !== -1;
      thread.classList.toggle('hidden', !hit);
      if (hit) { shown += 1; }
    });
    count.textContent = needle ? shown + ' of ' + threads.length + ' threads match' : '';
  });
});
"""


def csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


POST_IMAGES = "data:"  # posts show their re-encoded images inline; the sanitizer lets no other data: URI through


def content_policy(style: str, script: str = "", img_src: str = "'none'") -> str:
    """A Content-Security-Policy allowing only this page's own inline style and script (by hash).

    ``img_src`` is where images may come from: ``'self'`` for files beside the page (the report's
    plots), ``data:`` for pages with posts (their images are inline), ``'none'`` otherwise.
    """
    policy = f"default-src 'none'; img-src {img_src}; base-uri 'none'; form-action 'none'; style-src {csp_hash(style)}"
    return policy + (f"; script-src {csp_hash(script)}" if script else "")


def document(
    title: str, header: str, body: str, style: str = STYLE, script: str = SCRIPT, img_src: str = "'none'"
) -> str:
    """A complete static HTML page: no server, no CDN, and nothing runs but ``script``."""
    scripts = f"<script>{script}</script>" if script else ""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{content_policy(style, script, img_src)}\">"
        "<meta name='referrer' content='no-referrer'>"
        f"<title>{text(title)}</title><style>{style}</style>{scripts}</head><body>{header}{body}</body></html>\n"
    )


@dataclass(frozen=True)
class Site:
    title: str
    prompts: dict[str, str]  # prompt id -> prompt text (Markdown, ours)
    week_titles: dict[int, str]
    prompt_titles: dict[str, str] = field(default_factory=dict)  # id -> "Reflection 2", in notebook order

    def prompt_title(self, prompt_id: str) -> str:
        """What a reader sees for a prompt: its notebook title (the id only for a prompt the reading lost)."""
        return self.prompt_titles.get(prompt_id, f"Prompt {prompt_id}")


def page(title: str, body: str, nav: str) -> str:
    """A discussion-site page (also used for feedback pages): title, navigation, search script, post images."""
    header = f"<header class='site'><h1>{text(title)}</h1><nav>{nav}</nav></header>"
    return document(title, header, body, img_src=POST_IMAGES)


def _post_html(post, children: dict[str, list], images: Mapping[str, Mapping[str, str]]) -> str:
    count = int(post.like_count)
    liked = f"<p class='likes'>Liked by {count} {'person' if count == 1 else 'people'}</p>" if count else ""
    replies = children.get(post.post_id, [])
    thread = "".join(_post_html(reply, children, images) for reply in replies)
    nested = f"<div class='replies'>{thread}</div>" if replies else ""
    return (
        f"<div class='post' id='{text(post.post_id)}'><p class='meta'><b>{text(post.author)}</b> · "
        f"{posted_at(post.created_at)}</p>{safe_html(post.message, images.get(post.post_id))}{liked}{nested}</div>"
    )


def week_page_name(week: int) -> str:
    return f"week{week:02d}.html"


def render_week(
    site: Site, week: int, posts: pd.DataFrame, nav: str, images: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """One week's page: each prompt, its reflections, and every reply threaded under its parent."""
    children: dict[str, list] = defaultdict(list)
    for post in posts[posts["parent_id"].notna()].itertuples():
        children[post.parent_id].append(post)
    sections = []
    roots = in_prompt_order(posts[posts["parent_id"].isna()], site.prompt_titles, first=())
    for prompt_id, group in roots.groupby("prompt_id", sort=False):
        threads = "".join(
            f"<article class='thread'>{_post_html(post, children, images or {})}</article>"
            for post in group.itertuples()
        )
        prompt_text = site.prompts.get(prompt_id, "")
        sections.append(
            f"<section class='prompt' id='{text(prompt_id)}'><h2>{text(site.prompt_title(prompt_id))}</h2>"
            f"<div class='text'>{safe_html(prompt_text)}</div>{threads}</section>"
        )
    heading = f"Week {week}" + (f": {site.week_titles[week]}" if week in site.week_titles else "")
    body = (
        f"<h2>{text(heading)}</h2><input id='search' class='search' type='search' "
        "placeholder='Search this week’s posts' aria-label='Search posts'>"
        f"<p id='count' class='count' aria-live='polite'></p>{''.join(sections) or '<p>No posts yet.</p>'}"
    )
    return page(f"{site.title}: week {week}", body, nav)


def publish_site(
    site: Site, posts: pd.DataFrame, out: str | Path, images: Mapping[str, Mapping[str, str]] | None = None
) -> list[Path]:
    """Write ``index.html`` and one page per week into ``out``; return the files written.

    ``posts`` is ``DiscussionLog.posts()`` with ``author`` already set to the names students see;
    ``images`` is ``DiscussionLog.images()`` (post id → attachment name → data URI).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    weeks = sorted(int(w) for w in posts["thread_week"].dropna().unique())
    nav = "<a href='index.html'>All weeks</a>" + "".join(f"<a href='{week_page_name(w)}'>Week {w}</a>" for w in weeks)
    written = []
    rows = []
    for week in weeks:
        week_posts = posts[posts["thread_week"] == week]
        path = folder / week_page_name(week)
        path.write_text(render_week(site, week, week_posts, nav, images), encoding="utf-8")
        written.append(path)
        roots = week_posts[week_posts["parent_id"].isna()]
        prompts = "".join(
            f"<li><a href='{week_page_name(week)}#{text(pid)}'>{text(site.prompt_title(pid))}</a>: "
            f"{len(group)} reflection(s)</li>"
            for pid, group in in_prompt_order(roots, site.prompt_titles, first=()).groupby("prompt_id", sort=False)
        )
        title = site.week_titles.get(week, "")
        rows.append(
            f"<section><h2><a href='{week_page_name(week)}'>Week {week}</a>{': ' + text(title) if title else ''}"
            f"</h2><p class='count'>{len(roots)} reflections, {len(week_posts) - len(roots)} replies</p>"
            f"<ul>{prompts}</ul></section>"
        )
    index = folder / "index.html"
    index.write_text(page(site.title, "".join(rows) or "<p>No posts yet.</p>", nav), encoding="utf-8")
    return [index, *written]
