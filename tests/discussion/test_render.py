"""Safe Markdown: what cmark-gfm's safe mode lets through, the nh3 sanitizer must still stop.

Each input below passes the renderer as live HTML (an image, a checkbox, a data: or ftp: link);
only the sanitizer removes it, so these tests fail if the sanitizer is ever dropped or loosened.
Policy: pages shown to students never load a remote image. An image's host would learn who read
which post and when (a tracking pixel), and what it shows can change after the post was reviewed.
"""

from __future__ import annotations

import re

import cmarkgfm
import pandas as pd
import pytest

from coursekit.discussion.pages import POST_IMAGES, content_policy
from coursekit.discussion.render import safe_html
from coursekit.discussion.site import Site, publish_site

THROUGH_THE_RENDERER = [
    # (student's Markdown, what the renderer alone emits, the safe result)
    (
        "![pixel](https://tracker.example/p.png?who=ann)",
        '<img src="https://tracker.example/p.png',
        "<p><span class='image-dropped'>[image: pixel]</span></p>\n",  # its alt text, never the image
    ),
    (
        "![x](//tracker.example/p.png)",
        '<img src="//tracker.example/p.png"',
        "<p><span class='image-dropped'>[image: x]</span></p>\n",
    ),
    ("[a](data:image/png;base64,AAAA)", 'href="data:image/png', '<p><a rel="nofollow noopener noreferrer">a</a></p>\n'),
    ("[f](ftp://files.example/a)", 'href="ftp://files.example', '<p><a rel="nofollow noopener noreferrer">f</a></p>\n'),
    ("- [x] done", '<input type="checkbox"', "<ul>\n<li> done</li>\n</ul>\n"),
    ("<div onclick='steal()'>hi</div>", "<!-- raw HTML omitted -->", "\n"),  # a raw HTML block
    ("a <span style='position:fixed'>b</span>", "<!-- raw HTML omitted -->", "<p>a b</p>\n"),  # inline raw HTML
]


@pytest.mark.parametrize("markdown, rendered, safe", THROUGH_THE_RENDERER)
def test_the_sanitizer_stops_what_the_renderer_lets_through(markdown, rendered, safe):
    assert rendered in cmarkgfm.github_flavored_markdown_to_html(markdown)  # the renderer alone lets it through
    assert safe_html(markdown) == safe


def test_links_keep_their_text_and_get_a_safe_rel():
    assert safe_html("[the article](https://example.org/a?b=1)") == (
        '<p><a href="https://example.org/a?b=1" rel="nofollow noopener noreferrer">the article</a></p>\n'
    )


@pytest.mark.parametrize(
    "markdown",
    [
        "![x](https://tracker.example/p.png)",
        '<img src="https://tracker.example/p.png">',
        "![x](http://t.example/a.gif)",
    ],
)
def test_no_remote_image_reaches_a_page_shown_to_students(markdown):
    html = safe_html(markdown)
    assert not re.search(r"<img[^>]+src=[\"']?(https?:)?//", html), html


def test_student_pages_forbid_remote_images_in_their_policy(tmp_path):
    for images in ("'none'", "'self'", POST_IMAGES):  # no images, the report's plots beside it, posts' own
        policy = content_policy("body{}", "", images)
        sources = re.search(r"img-src ([^;]+)", policy).group(1).split()
        assert all(s in ("'none'", "'self'", "data:") for s in sources), policy
    post = dict(post_id="r-1", parent_id=None, author="ann", thread_week=1, prompt_id="p", like_count=0, created_at="")
    posts = pd.DataFrame([dict(post, message="![x](https://tracker.example/p.png)")])
    for page in publish_site(Site("t", {}, {}), posts, tmp_path):
        assert "tracker.example" not in page.read_text()
