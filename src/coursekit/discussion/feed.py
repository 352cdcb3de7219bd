"""The peer feed: last week's posts, published as one JSON file for the next week's notebooks.

The instructor writes ``feed/weekNN.json`` with ``coursekit publish --feed``; a notebook of the
following week reads it and shows each student the posts of a few assigned classmates. The
assignment is a rotation over the authors in a shuffled order, so every author is read by the same
number of classmates and nobody is assigned their own posts. Assignments are keyed by a salted hash
of the student id, so the file does not list who is in the class; a typed id is checked against
those keys, so a mistyped id is told which id to use instead of being shown posts.

From the third week's notebook on, the feed also carries the conversation so far: every earlier
thread that has replies, with the replies written up to the notebook that reads the feed, so a
student sees under "Replies to you" what classmates answered to their posts and replies. Each post
carries only what the published site shows (name as the course displays it, text, time, likes,
its re-encoded images) and a salted author key, never a student id.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

from coursekit.course.folders import find_upwards
from coursekit.course.problems import CoursekitError
from coursekit.course.reading import Reading, in_prompt_order
from coursekit.discussion.names import as_seen
from coursekit.discussion.removal import REMOVED

SCHEMA_VERSION = 2
PEERS_PER_STUDENT = 3
SAMPLE_FILE = "sample-class.yaml"
CONVERSATIONS_FROM_WEEK = 3  # the first notebook that shows "Replies to you"
DEFAULT_ID_HINT = "the student ID your instructor collects your notebooks under (as on the course roster)"
_OUR_IMAGE_URI = re.compile(r"^data:image/(png|jpeg);base64,[A-Za-z0-9+/]*={0,2}$")


class FeedError(CoursekitError, ValueError):
    """A feed file that cannot be used, with the file named."""


@dataclass(frozen=True)
class FeedPost:
    id: str
    parent_id: str | None
    author: str  # as students may see it: a pseudonym or a real name, by the course setting
    prompt_id: str | None
    created_at: str  # when the student submitted it
    message: str
    likes: int
    week: int | None = None  # the week of the reflection its thread hangs from (None: the feed's week)
    images: tuple[tuple[str, str], ...] = ()  # (attachment name, data URI of our re-encoded copy)
    prompt_title: str = ""  # what the student's notebook called the prompt ("Reflection 2"), for a reflection


@dataclass(frozen=True)
class Feed:
    week: int
    sample: bool
    salt: str
    posts: tuple[FeedPost, ...]
    assignments: dict[str, list[str]]  # hashed student id -> assigned author keys
    authors: dict[str, str]  # post id (reflections and replies) -> author key
    id_hint: str = DEFAULT_ID_HINT

    @property
    def id(self) -> str:
        return f"{'sample-' if self.sample else ''}week{self.week:02d}"

    @property
    def shows_conversations(self) -> bool:
        """Whether the notebook reading this feed shows "Replies to you" (week 3 on)."""
        return not self.sample and self.week + 1 >= CONVERSATIONS_FROM_WEEK

    def replies_to(self, post_id: str) -> list[FeedPost]:
        return [p for p in self.posts if p.parent_id == post_id]

    def roots(self) -> list[FeedPost]:
        """This week's reflections (earlier weeks' threads are there for conversations only)."""
        return [p for p in self.posts if p.parent_id is None and p.week in (None, self.week)]

    def knows(self, student: str) -> bool:
        """Whether ``student`` is an id this feed was published for (the sample class takes anyone)."""
        return self.sample or student_key(self.salt, student) in self.assignments

    def is_by(self, post: FeedPost, student: str) -> bool:
        return self.authors.get(post.id) == author_key(self.salt, student)


def student_key(salt: str, student: str) -> str:
    return hashlib.sha256(f"{salt}\x1f{student.strip().lower()}".encode()).hexdigest()[:16]


def author_key(salt: str, student: str) -> str:
    """The key that marks a student's posts in a feed: salted, and not the key their assignment is filed under."""
    return student_key(salt, "author:" + student.strip())


def rotation(authors: list[str], salt: str, k: int = PEERS_PER_STUDENT) -> dict[str, list[str]]:
    """Each author reads the next ``k`` authors in a salted shuffle: everyone is read ``k`` times."""
    order = sorted(set(authors), key=lambda a: student_key(salt, a))
    k = min(k, len(order) - 1)
    return {a: [order[(i + j) % len(order)] for j in range(1, k + 1)] for i, a in enumerate(order)}


def stable_pick(salt: str, student: str, authors, k: int = PEERS_PER_STUDENT) -> list[str]:
    """For a student who wrote nothing to be read: ``k`` authors, the same ones every time."""
    return sorted(authors, key=lambda a: student_key(salt, student + a))[:k]


def assigned_roots(feed: Feed, student: str, k: int = PEERS_PER_STUDENT) -> list[FeedPost]:
    """The reflections a student should read: their assigned authors', or a stable pick otherwise.

    A student's own posts are never among them, whatever the assignment says.
    """
    roots = feed.roots()
    authors = sorted({feed.authors[p.id] for p in roots if p.id in feed.authors})
    assigned = feed.assignments.get(student_key(feed.salt, student))
    if assigned is None:  # not an author last week: a stable choice among all authors
        assigned = stable_pick(feed.salt, student, authors, k)
    wanted = set(assigned) - {author_key(feed.salt, student)}
    return [p for p in roots if feed.authors.get(p.id) in wanted]


def replies_to_you(feed: Feed, student: str) -> list[tuple[FeedPost, list[FeedPost]]]:
    """The student's posts that classmates answered, each with those answers (oldest thread first).

    Only other students' replies count; the student's own answers show threaded under them.
    """
    if not feed.shows_conversations:
        return []
    parent = {p.id: p.parent_id for p in feed.posts}
    found: list[tuple[FeedPost, list[FeedPost]]] = []
    listed: set[str] = set()
    for post in feed.posts:
        if not feed.is_by(post, student):
            continue
        answers = [r for r in feed.replies_to(post.id) if not feed.is_by(r, student)]
        above, seen = parent.get(post.id), set()
        while above and above not in listed and above not in seen:  # already shown inside an earlier conversation?
            seen.add(above)
            above = parent.get(above)
        if answers and not above:
            found.append((post, answers))
            listed.add(post.id)
    return found


def conversation_posts(posts: pd.DataFrame, week: int) -> pd.DataFrame:
    """What the feed of ``week`` carries: that week's threads and every earlier thread with replies.

    Replies count when written in a notebook up to the one that reads this feed (week + 1), so
    republishing an old week never shows what was written later.
    """
    written = posts[posts["parent_id"].isna() | (posts["week"] <= week + 1)]
    with_replies = set(written.loc[written["parent_id"].notna(), "thread_id"])
    keep = (written["thread_week"] == week) | (
        (written["thread_week"] < week) & written["thread_id"].isin(with_replies)
    )
    return written[keep]


def build_feed(
    posts: pd.DataFrame,
    week: int,
    secret: str,
    names: str,
    students,
    salt: str,
    images: dict[str, dict[str, str]] | None = None,
    id_hint: str = DEFAULT_ID_HINT,
    prompt_titles: Mapping[str, str] | None = None,
) -> dict:
    """The feed document for one week from ``DiscussionLog.posts()`` (every week's posts).

    ``names`` is "pseudonym" or "real"; ``students`` are everyone to assign (the class); authors of the
    week are always included. ``salt`` (``log.meta.feed_salt``, kept in the log) seeds the
    assignment: the same salt over the same authors gives every student the same classmates, and a
    late author joining the rotation changes only the few students just before them in it.
    ``images`` is ``DiscussionLog.images()``; ``id_hint`` tells a student which id to type.
    ``prompt_titles`` (``Reading.prompt_titles()``) names each reflection's prompt as the notebook does
    and orders the posts as the notebook orders its prompts.
    """
    titles = prompt_titles or {}
    posts = in_prompt_order(conversation_posts(posts, week), titles, first=("thread_week",))
    placeholder = posts["kind"] == REMOVED  # an erased post others answered: nobody's, never assigned
    roots = posts[posts["parent_id"].isna() & (posts["thread_week"] == week) & ~placeholder]
    author_of = dict(zip(roots["post_id"], roots["author"], strict=True))

    def shown(student: str) -> str:
        return as_seen(secret, names, student) if student in key_of else student  # a placeholder is nobody

    authors = sorted(set(author_of.values()))
    order = rotation(authors, salt)
    for student in sorted(set(students) - set(authors)):
        order[student] = stable_pick(salt, student, authors)
    key_of = {a: author_key(salt, a) for a in set(posts.loc[~placeholder, "author"])}
    pictures = images or {}
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "coursekit-feed",
        "week": week,
        "sample": False,
        "names": names,
        "id_hint": id_hint,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "salt": salt,
        "posts": [
            {
                "id": row.post_id,
                "parent_id": row.parent_id if isinstance(row.parent_id, str) else None,
                "author": shown(row.author),
                "prompt_id": row.prompt_id if isinstance(row.prompt_id, str) else None,
                "created_at": pd.Timestamp(row.created_at).isoformat(timespec="minutes"),
                "message": row.message,
                "likes": int(row.like_count),
                "week": int(row.thread_week),
                "images": pictures.get(row.post_id, {}),
                "prompt_title": titles.get(row.prompt_id, "") if not isinstance(row.parent_id, str) else "",
            }
            for row in posts.itertuples()
        ],
        "authors": {row.post_id: key_of[row.author] for row in posts.itertuples() if row.author in key_of},
        "assignments": {student_key(salt, s): [key_of[a] for a in assigned] for s, assigned in order.items()},
    }


def parse_feed(data: object, source: str) -> Feed:
    """A Feed from parsed JSON, or FeedError naming ``source`` and what is wrong."""
    if not isinstance(data, dict) or data.get("kind") != "coursekit-feed":
        raise FeedError(f"{source}: not a coursekit feed file")
    if data.get("schema_version") not in (1, SCHEMA_VERSION):
        raise FeedError(f"{source}: feed schema {data.get('schema_version')!r} is not supported; republish it")
    try:
        posts = tuple(
            FeedPost(
                id=str(p["id"]),
                parent_id=p.get("parent_id"),
                author=str(p["author"]),
                prompt_id=p.get("prompt_id"),
                created_at=str(p.get("created_at", "")),
                message=str(p["message"]),
                likes=int(p.get("likes", 0)),
                week=int(p.get("week", data["week"])),
                images=_our_images(p.get("images", {})),
                prompt_title=str(p.get("prompt_title") or ""),
            )
            for p in data["posts"]
        )
        return Feed(
            week=int(data["week"]),
            sample=bool(data.get("sample", False)),
            salt=str(data["salt"]),
            posts=posts,
            assignments={str(k): [str(a) for a in v] for k, v in data.get("assignments", {}).items()},
            authors={str(k): str(v) for k, v in data.get("authors", {}).items()},
            id_hint=str(data.get("id_hint") or DEFAULT_ID_HINT),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FeedError(f"{source}: damaged feed ({exc.__class__.__name__}: {exc}); publish it again") from exc


def _our_images(found: dict) -> tuple[tuple[str, str], ...]:
    """A post's images from a feed file: only data URIs of the types coursekit writes."""
    for name, uri in found.items():
        if not isinstance(uri, str) or not _OUR_IMAGE_URI.match(uri):
            raise ValueError(f"image {name!r} is not one coursekit wrote")
    return tuple((str(name), uri) for name, uri in found.items())


def feed_path(folder: str | Path, week: int) -> Path:
    return Path(folder) / f"week{week:02d}.json"


def write_feed(document: dict, folder: str | Path) -> Path:
    path = feed_path(folder, document["week"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def sample_feed(reading: Reading, week: int) -> Feed:
    """A clearly labelled sample class from the reading's ``sample-class.yaml``."""
    path = reading.path / SAMPLE_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FeedError(f"{path}: cannot read the sample class ({exc})") from exc
    posts, authors = [], {}
    titles = reading.prompt_titles()
    for n, post in enumerate(p for p in data.get("posts", []) if p.get("week") == week):
        post_id = f"sample-w{week}-{n}"
        authors[post_id] = post["author"]
        title = titles.get(post.get("prompt_id"), "")
        posts.append(
            FeedPost(post_id, None, post["author"], post.get("prompt_id"), "", post["message"], 0, prompt_title=title)
        )
        for m, reply in enumerate(post.get("replies", [])):
            posts.append(FeedPost(f"{post_id}-{m}", post_id, reply["author"], None, "", reply["message"], 0))
    return Feed(week, True, "sample", tuple(posts), {}, authors)


def find_feed(week: int, reading: Reading, start: str | Path | None = None) -> Feed:
    """The published feed of ``week`` from the course folder's ``feed/``, else the sample class."""
    path = find_upwards(feed_path("feed", week), start)
    if path is None:
        return sample_feed(reading, week)
    try:
        return parse_feed(json.loads(path.read_text(encoding="utf-8")), str(path))
    except json.JSONDecodeError as exc:
        raise FeedError(f"{path}: not valid JSON ({exc.msg}); publish it again") from exc
