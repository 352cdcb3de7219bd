"""Untrusted Markdown (reflections, replies) to HTML that is safe to put in a page or a widget.

cmark-gfm (GitHub's C Markdown renderer, through cmarkgfm) renders in its safe mode, which drops
raw HTML and ``javascript:`` links, and nh3 (the Ammonia sanitizer) then keeps only an allow-list
of tags, attributes and URL schemes. Both layers would each stop a ``<script>``; keeping both means
one library's bug is not enough to run a student's code in a reader's page. cmark-gfm is also about
30 times faster than a pure-Python renderer, which matters for a whole term's discussion.

Images: a post may show only its own re-encoded images (``![x](attachment:name)``, see
``discussion.images``), which become ``data:`` URIs of bytes we wrote. Every other image source, a
student's own ``data:`` URI or a remote image (a tracking pixel that would tell a stranger who read
the page), is dropped and its alt text shown instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote

import cmarkgfm
import nh3
import pandas as pd

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "del",
    "s",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}
ATTACHMENT = "attachment"
_SOURCELESS_IMAGE = re.compile(r'<img alt="([^"]*)">')


def safe_html(markdown_text: str, images: Mapping[str, str] | None = None) -> str:
    """Render Markdown written by a student to sanitized HTML.

    ``images`` maps the post's attachment names to the ``data:`` URIs of their re-encoded copies;
    an image whose source is anything else is shown as its alt text.
    """
    shown = images or {}

    def only_our_images(tag: str, attribute: str, value: str) -> str | None:
        is_attachment = value.lower().startswith(ATTACHMENT + ":")
        if tag == "img" and attribute == "src":
            return shown.get(unquote(value[len(ATTACHMENT) + 1 :])) if is_attachment else None
        return None if is_attachment else value  # a link to an attachment goes nowhere: drop it

    rendered = cmarkgfm.github_flavored_markdown_to_html(markdown_text or "")
    cleaned = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS | {"img"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES | {ATTACHMENT},  # checked first; the filter then keeps only our images
        attribute_filter=only_our_images,
        link_rel="nofollow noopener noreferrer",
    )
    return _SOURCELESS_IMAGE.sub(lambda m: f"<span class='image-dropped'>[image: {m.group(1)}]</span>", cleaned)


def posted_at(stamp: object) -> str:
    """When a student submitted a post (naive UTC, as the intake gives it), as readers see it; "" if unknown."""
    try:
        when = pd.Timestamp(stamp)
    except (TypeError, ValueError):
        return str(stamp or "")
    return "" if pd.isna(when) else when.strftime("%d %b %Y, %H:%M UTC")
