"""The peer feed: last week's posts, published as one JSON file for the next week's notebooks.

The instructor writes ``feed/weekNN.json`` with ``coursekit publish --feed``; a notebook of the
following week reads it and shows each student the posts of a few assigned classmates. The
assignment is a rotation over the authors in a shuffled order, so every author is read by the same
number of classmates and nobody is assigned their own posts. Assignments are keyed by a salted hash
of the student id, so the file does not list who is in the class.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

from coursekit.course.folders import find_upwards
from coursekit.course.reading import Reading
from coursekit.discussion.names import pseudonym

SCHEMA_VERSION = 1
PEERS_PER_STUDENT = 3
SAMPLE_FILE = "sample-class.yaml"


class FeedError(ValueError):
    """A feed file that cannot be used, with the file named."""


@dataclass(frozen=True)
class FeedPost:
    id: str
    parent_id: str | None
    author: str  # as students may see it: a pseudonym or a real name, by the course setting
    prompt_id: str | None
    created_at: str
    message: str
    likes: int


@dataclass(frozen=True)
class Feed:
    week: int
    sample: bool
    salt: str
    posts: tuple[FeedPost, ...]
    assignments: dict[str, list[str]]  # hashed student id -> assigned author keys
    authors: dict[str, str]  # root post id -> author key

    @property
    def id(self) -> str:
        return f"{'sample-' if self.sample else ''}week{self.week:02d}"

    def replies_to(self, post_id: str) -> list[FeedPost]:
        return [p for p in self.posts if p.parent_id == post_id]

    def roots(self) -> list[FeedPost]:
        return [p for p in self.posts if p.parent_id is None]


def student_key(salt: str, student: str) -> str:
    return hashlib.sha256(f"{salt}\x1f{student.strip().lower()}".encode()).hexdigest()[:16]


def rotation(authors: list[str], salt: str, k: int = PEERS_PER_STUDENT) -> dict[str, list[str]]:
    """Each author reads the next ``k`` authors in a salted shuffle: everyone is read ``k`` times."""
    order = sorted(set(authors), key=lambda a: student_key(salt, a))
    k = min(k, len(order) - 1)
    return {a: [order[(i + j) % len(order)] for j in range(1, k + 1)] for i, a in enumerate(order)}


def stable_pick(salt: str, student: str, authors, k: int = PEERS_PER_STUDENT) -> list[str]:
    """For a student who wrote nothing to be read: ``k`` authors, the same ones every time."""
    return sorted(authors, key=lambda a: student_key(salt, student + a))[:k]


def assigned_roots(feed: Feed, student: str, k: int = PEERS_PER_STUDENT) -> list[FeedPost]:
    """The reflections a student should read: their assigned authors', or a stable pick otherwise."""
    authors = sorted(set(feed.authors.values()))
    assigned = feed.assignments.get(student_key(feed.salt, student))
    if assigned is None:  # not an author last week: a stable choice among all authors
        assigned = stable_pick(feed.salt, student, authors, k)
    wanted = set(assigned)
    return [p for p in feed.roots() if feed.authors.get(p.id) in wanted]


def build_feed(posts: pd.DataFrame, week: int, secret: str, names: str, students, salt: str) -> dict:
    """The feed document for one week from ``DiscussionLog.posts(week)``.

    ``names`` is "pseudonym" or "real"; ``students`` are everyone to assign (the class); authors of the
    week are always included. ``salt`` (``DiscussionLog.feed_salt(week)``, kept in the log) seeds the
    assignment: the same salt over the same authors gives every student the same classmates, and a
    late author joining the rotation changes only the few students just before them in it.
    """
    roots = posts[posts["parent_id"].isna()]
    author_of = dict(zip(roots["post_id"], roots["author"], strict=True))

    def shown(student: str) -> str:
        return pseudonym(secret, student) if names == "pseudonym" else student

    authors = sorted(set(author_of.values()))
    order = rotation(authors, salt)
    for student in sorted(set(students) - set(authors)):
        order[student] = stable_pick(salt, student, authors)
    author_key = {a: student_key(salt, "author:" + a) for a in authors}
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "coursekit-feed",
        "week": week,
        "sample": False,
        "names": names,
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
            }
            for row in posts.itertuples()
        ],
        "authors": {post: author_key[a] for post, a in author_of.items()},
        "assignments": {
            student_key(salt, s): [author_key[a] for a in assigned if a in author_key] for s, assigned in order.items()
        },
    }


def parse_feed(data: object, source: str) -> Feed:
    """A Feed from parsed JSON, or FeedError naming ``source`` and what is wrong."""
    if not isinstance(data, dict) or data.get("kind") != "coursekit-feed":
        raise FeedError(f"{source}: not a coursekit feed file")
    if data.get("schema_version") != SCHEMA_VERSION:
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
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FeedError(f"{source}: damaged feed ({exc.__class__.__name__}: {exc}); publish it again") from exc


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
    for n, post in enumerate(p for p in data.get("posts", []) if p.get("week") == week):
        post_id = f"sample-w{week}-{n}"
        authors[post_id] = post["author"]
        posts.append(FeedPost(post_id, None, post["author"], post.get("prompt_id"), "", post["message"], 0))
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
