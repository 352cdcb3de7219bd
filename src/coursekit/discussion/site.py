"""Publish the discussion as a static site: no server, no CDN; opening index.html is enough.

One page per week, posts grouped by prompt (each under its notebook title, "Reflection 2", in the
notebook's order), replies threaded under their parents, a search box that filters posts in the
page, styles for phones and for print. The pages are ``templates/index.html`` and ``week.html``
(through ``discussion.pages``): student text is escaped or, as Markdown, sanitised, and the
Content-Security-Policy allows only our own inline style and script (by hash), so even a sanitizer
bug could not run a student's script.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from coursekit.course.reading import in_prompt_order
from coursekit.discussion.pages import render


@dataclass(frozen=True)
class Site:
    title: str
    prompts: dict[str, str]  # prompt id -> prompt text (Markdown, ours)
    week_titles: dict[int, str]
    prompt_titles: dict[str, str] = field(default_factory=dict)  # id -> "Reflection 2", in notebook order

    def prompt_title(self, prompt_id: str) -> str:
        """What a reader sees for a prompt: its notebook title (the id only for a prompt the reading lost)."""
        return self.prompt_titles.get(prompt_id, f"Prompt {prompt_id}")


@dataclass(frozen=True)
class ShownPost:
    """A post as a week page shows it, its replies threaded under it."""

    post_id: str
    author: str
    created_at: object
    message: str  # Markdown, the student's
    images: Mapping[str, str]  # attachment name -> data URI
    likes: int
    replies: tuple[ShownPost, ...]
    replying_to: str = ""  # the author answered, said where the page stops nesting (see DEEPEST)


@dataclass(frozen=True)
class PromptPosts:
    """One prompt of a week page (or its line on the index): title, text and its threads."""

    id: str
    title: str
    text: str  # Markdown, the reading's
    posts: tuple[ShownPost, ...]


@dataclass(frozen=True)
class Week:
    """One week of the site: its page, its prompts with their threads, and how many replies it holds."""

    number: int
    page: str
    title: str
    prompts: list[PromptPosts]
    replies: int

    @property
    def heading(self) -> str:
        return f"Week {self.number}" + (f": {self.title}" if self.title else "")

    @property
    def reflections(self) -> int:
        return sum(len(prompt.posts) for prompt in self.prompts)


def week_page_name(week: int) -> str:
    return f"week{week:02d}.html"


DEEPEST = 6  # levels of replies a page nests; deeper ones line up under the sixth, each saying whom it answers


def threads(site: Site, posts: pd.DataFrame, images: Mapping[str, Mapping[str, str]]) -> list[PromptPosts]:
    """A week's posts by prompt, in notebook order, each reflection with its replies (to any depth) under it.

    Nesting stops at ``DEEPEST`` levels: a chain of replies hundreds deep would otherwise be a page
    too narrow to read (and, past about 250, deeper than the templates can go).
    """
    children: dict[str, list] = defaultdict(list)
    for post in posts[posts["parent_id"].notna()].itertuples():
        children[post.parent_id].append(post)

    def one(post, replies: tuple[ShownPost, ...] = (), replying_to: str = "") -> ShownPost:
        own = images.get(post.post_id, {})
        likes = int(post.like_count)
        return ShownPost(post.post_id, post.author, post.created_at, post.message, own, likes, replies, replying_to)

    def below(post) -> tuple[ShownPost, ...]:
        """Every reply under ``post``, in reading order (each after the one it answers), unnested."""
        found, todo = [], [(reply, post.author) for reply in reversed(children.get(post.post_id, []))]
        while todo:
            reply, answered = todo.pop()
            found.append(one(reply, replying_to=answered))
            todo.extend((answer, reply.author) for answer in reversed(children.get(reply.post_id, [])))
        return tuple(found)

    def shown(post, depth: int = 0) -> ShownPost:
        if depth == DEEPEST - 1:  # its replies are the last nested level: all below them line up there
            return one(post, below(post))
        return one(post, tuple(shown(reply, depth + 1) for reply in children.get(post.post_id, [])))

    roots = in_prompt_order(posts[posts["parent_id"].isna()], site.prompt_titles, first=())
    return [
        PromptPosts(pid, site.prompt_title(pid), site.prompts.get(pid, ""), tuple(map(shown, group.itertuples())))
        for pid, group in roots.groupby("prompt_id", sort=False)
    ]


def publish_site(
    site: Site, posts: pd.DataFrame, out: str | Path, images: Mapping[str, Mapping[str, str]] | None = None
) -> list[Path]:
    """Write ``index.html`` and one page per week into ``out``; return the files written.

    ``posts`` is ``DiscussionLog.posts()`` with ``author`` already set to the names students see;
    ``images`` is ``DiscussionLog.images()`` (post id → attachment name → data URI).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    numbers = sorted(int(w) for w in posts["thread_week"].dropna().unique())
    nav = [("index.html", "All weeks")] + [(week_page_name(n), f"Week {n}") for n in numbers]
    written = []
    weeks = []
    for number in numbers:
        week_posts = posts[posts["thread_week"] == number]
        prompts = threads(site, week_posts, images or {})
        replies = int(week_posts["parent_id"].notna().sum())
        week = Week(number, week_page_name(number), site.week_titles.get(number, ""), prompts, replies)
        path = folder / week.page
        path.write_text(render("week.html", title=f"{site.title}: week {number}", nav=nav, week=week), encoding="utf-8")
        written.append(path)
        weeks.append(week)
    index = folder / "index.html"
    index.write_text(render("index.html", title=site.title, nav=nav, weeks=weeks), encoding="utf-8")
    return [index, *written]
