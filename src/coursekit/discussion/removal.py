"""What was taken down since the last publish, so a republish removes it from the files themselves.

A post hidden, withdrawn or erased after the site or a feed was published is still in those files
until they are written again. Publishing compares what the folder holds (post ids in the site's
pages, in each feed file) with what may be shown now: pages of weeks with nothing left to show are
deleted, feed files carrying a post that is gone are republished, and the instructor is told.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

FORMER_STUDENT = "a former student"  # the author shown for an erased student's post that others had answered
REMOVED = "removed"  # the kind of that placeholder post in ``DiscussionLog.posts(public=True)``
REMOVED_MESSAGE = "A post by a former student, removed."
SITE_PAGES = "week[0-9][0-9].html"
FEED_FILES = "week[0-9][0-9].json"
_POST_DIV = re.compile(r"<div class='post' id='([^'<>]+)'>")


def site_post_ids(folder: str | Path) -> set[str]:
    """The post ids the site's week pages in ``folder`` show (none when nothing was published there)."""
    return {m for page in Path(folder).glob(SITE_PAGES) for m in _POST_DIV.findall(_read(page))}


def feed_post_ids(path: str | Path) -> set[str]:
    """The post ids a feed file carries (none when it is missing or unreadable: it is written again anyway)."""
    try:
        document = json.loads(_read(Path(path)) or "{}")
        return {str(p["id"]) for p in document.get("posts", [])}
    except (ValueError, TypeError, KeyError, AttributeError):
        return set()


def feed_week(path: Path) -> int:
    return int(path.stem.removeprefix("week"))


def stale_feeds(folder: str | Path, shown: set[str], skip: int | None = None) -> list[Path]:
    """The feed files in ``folder`` (but week ``skip``'s) that carry a post no longer in ``shown``."""
    return sorted(
        path for path in Path(folder).glob(FEED_FILES) if feed_week(path) != skip and feed_post_ids(path) - shown
    )


def sweep_site(folder: str | Path, written: list[Path]) -> list[Path]:
    """Delete the week pages in ``folder`` this publish did not write (their weeks have nothing left to show)."""
    kept = {p.resolve() for p in written}
    gone = [page for page in sorted(Path(folder).glob(SITE_PAGES)) if page.resolve() not in kept]
    for page in gone:
        page.unlink()
    return gone


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
