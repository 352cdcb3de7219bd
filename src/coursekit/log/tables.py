"""The log's tables (SQLAlchemy Core), the references no foreign key states, and the rules every row obeys.

Reflections and widget answers keep every version: ``reflections`` and ``answers`` hold the
current value, and ``reflection_versions`` and ``answer_versions`` all of them. ``db check``
(``log.check``) and the Alembic migrations read the schema from here.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    CursorResult,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
)

from coursekit.course.problems import CoursekitError

metadata = MetaData()

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("student", String(200), nullable=False),
    Column("notebook", String(200), nullable=False),
    Column("week", Integer),
    Column("path", Text, nullable=False),
    Column("file_hash", String(64), nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("collected_at", DateTime, nullable=False),
    # Where the file came from: the intake source, the student's id there, and its own late flag.
    Column("source", String(40)),
    Column("source_id", String(200)),
    Column("source_late", Boolean),  # None: the source does not say; the week's deadline decides
    UniqueConstraint("student", "notebook"),
)


# What each stored file was when it was last read: a rerun skips a file whose size and stamp (the
# modification time in ns, or an archive member's CRC) match, without opening it.
collected_files = Table(
    "collected_files",
    metadata,
    Column("id", Integer, primary_key=True),
    # the file's absolute path, or archive:member; ordered by code point on every backend, as Python
    # orders text (``tracked_files`` looks files up by range)
    Column("origin", Text().with_variant(Text(collation="C"), "postgresql"), nullable=False, unique=True),
    Column("student", String(200), nullable=False),
    Column("notebook", String(200), nullable=False),
    Column("week", Integer),
    Column("size", BigInteger, nullable=False),
    Column("stamp", String(64), nullable=False),
    Column("file_hash", String(64), nullable=False),
    Column("checked_at", DateTime, nullable=False),
)


def _text_columns() -> list[Column]:
    return [Column("text", Text, nullable=False), Column("word_count", Integer, nullable=False)]


def _answer_columns() -> list[Column]:
    return [Column("kind", String(40), nullable=False), Column("payload", Text, nullable=False)]  # state as JSON


def _reply_columns() -> list[Column]:
    return [Column("parent_id", String(40), nullable=False), *_text_columns()]


def _version_columns() -> list[Column]:
    return [
        Column("content_hash", String(64), nullable=False),
        Column("version", Integer, nullable=False),
        Column("submitted_at", DateTime, nullable=False),
        Column("collected_at", DateTime, nullable=False),
    ]


def _versioned(name: str, key: str, item: str, payload, public_id: bool = False) -> tuple[Table, Table]:
    """A table of current values per student notebook and ``key``, and its history table."""
    current = Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False),
        Column("student", String(200), nullable=False),
        Column("notebook", String(200), nullable=False),
        Column("week", Integer),
        Column(key, String(200), nullable=False),
        *([Column("post_id", String(40), nullable=False, unique=True)] if public_id else []),
        *payload(),
        *_version_columns(),
        UniqueConstraint("student", "notebook", key),
    )
    history = Table(
        f"{item}_versions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column(f"{item}_id", Integer, ForeignKey(f"{name}.id"), nullable=False),
        *payload(),
        *_version_columns(),
        UniqueConstraint(f"{item}_id", "version"),
    )
    return current, history


# Reflections and replies are posts (``post_id`` is their public id in feeds and on the site); a
# reply's key is "<parent post id>#<n>", the n-th reply the student wrote to that parent.
reflections, reflection_versions = _versioned("reflections", "prompt_id", "reflection", _text_columns, True)
answers, answer_versions = _versioned("answers", "widget_id", "answer", _answer_columns)
replies, reply_versions = _versioned("replies", "reply_key", "reply", _reply_columns, True)

likes = Table(
    "likes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("student", String(200), nullable=False),
    Column("notebook", String(200), nullable=False),  # the notebook the like was given in
    Column("post_id", String(40), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("student", "post_id"),  # liking twice changes nothing
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("student", String(200), nullable=False),
    Column("notebook", String(200), nullable=False),
    Column("prompt_id", String(200), nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("scores", Text, nullable=False),  # JSON: rubric criterion id -> points
    Column("comment", Text, nullable=False),
    Column("flagged", Boolean, nullable=False),
    Column("based_on", Integer),  # the review the reviewer was looking at when they saved
    Column("created_at", DateTime, nullable=False),
    Index("reviews_by_reflection", "student", "notebook", "prompt_id"),
)

# The images a post shows, re-encoded by ``discussion.images`` (never the bytes a student sent). Only the
# current version is kept: a new version of the post replaces them.
images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("post_id", String(40), nullable=False),
    Column("name", String(200), nullable=False),  # the attachment name its Markdown refers to
    Column("mime", String(40), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("post_id", "name"),
)

# The moderation audit trail: every hide, restore and withdrawal of a post, and every erasure,
# appended and never edited (``log.moderation`` reads a post's state from its latest row).
moderation = Table(
    "moderation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("action", String(20), nullable=False),  # hide, restore, withdraw, erase
    Column("post_id", String(40)),  # None for an erasure
    Column("author", String(200)),  # the post's author, so erasing them removes this row too
    Column("version", Integer),  # withdraw: the last version of the post it applies to
    Column("actor", String(200), nullable=False),  # who did it: an instructor, or the student's withdraw tag
    Column("requested_by", String(200)),  # withdraw: who asked for it
    Column("reason", Text, nullable=False),
    Column("at", DateTime, nullable=False),
    Index("moderation_by_post", "post_id"),
)

# Posts of erased students that others had answered: the replies stay, under "a post by a former
# student, removed". Nothing here names, identifies or quotes the erased student.
removed_posts = Table(
    "removed_posts",
    metadata,
    Column("post_id", String(40), primary_key=True),
    Column("parent_id", String(40)),  # None for a reflection
    Column("week", Integer),
    Column("prompt_id", String(200)),  # a reflection's prompt
    Column("posted_at", DateTime, nullable=False),
    Column("removed_at", DateTime, nullable=False),
)

course_meta = Table(
    "course_meta",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(frozen=True)
class Versioned:
    """A table of current values with a history table beside it, keyed per student notebook."""

    current: Table
    history: Table
    key: str  # the column naming the item within a notebook
    history_link: str  # the history column pointing at the current row


REFLECTIONS = Versioned(reflections, reflection_versions, "prompt_id", "reflection_id")
ANSWERS = Versioned(answers, answer_versions, "widget_id", "answer_id")
REPLIES = Versioned(replies, reply_versions, "reply_key", "reply_id")


VERSIONED = (REFLECTIONS, ANSWERS, REPLIES)  # every current/history pair (``db check`` walks them)


@dataclass(frozen=True)
class Reference:
    """Columns naming a row of one of ``targets`` (matching column for column) that no foreign key states.

    A post id is a reflection's or a reply's, which no single foreign key can say; a like and a
    review name their notebook and reflection by key, not by id. ``db check`` walks ``REFERENCES``
    as it walks the foreign keys; a row with a NULL in ``columns`` points at nothing, as with a key.
    """

    columns: tuple[Column, ...]
    targets: tuple[tuple[Column, ...], ...]


_POSTS = ((reflections.c.post_id,), (replies.c.post_id,))
REFERENCES = (
    Reference((images.c.post_id,), _POSTS),
    Reference((likes.c.post_id,), _POSTS),
    Reference((likes.c.student, likes.c.notebook), ((submissions.c.student, submissions.c.notebook),)),
    Reference(
        (reviews.c.student, reviews.c.notebook, reviews.c.prompt_id),
        ((reflections.c.student, reflections.c.notebook, reflections.c.prompt_id),),
    ),
    Reference((reviews.c.based_on,), ((reviews.c.id,),)),
    Reference((moderation.c.post_id,), _POSTS),  # an erasure takes the rows about its posts with them
    # a reply answers a post, or an erased one others had answered (its placeholder in removed_posts)
    Reference((replies.c.parent_id,), (*_POSTS, (removed_posts.c.post_id,))),
)


class TooLong(CoursekitError, ValueError):
    """A name or id longer than its column allows (PostgreSQL enforces lengths; SQLite would not)."""


def fits(table: Table, **values) -> dict:
    """``values`` unchanged, after checking each string against its column's length on every backend."""
    lengths = _lengths(table)
    for name, value in values.items():
        length = lengths.get(name)
        if length and isinstance(value, str) and len(value) > length:
            raise TooLong(f"{name} is {len(value)} characters long; the log keeps at most {length}: {value[:40]}…")
    return values


@functools.cache
def _lengths(table: Table) -> dict[str, int]:
    """The length limit of each of ``table``'s string columns that has one."""
    return {c.name: length for c in table.c if (length := getattr(c.type, "length", None))}


def as_json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@functools.cache
def update_by_id(table: Table):
    """``UPDATE table ... WHERE id = :row_id``, built once so every call reuses its compiled form."""
    return table.update().where(table.c.id == bindparam("row_id"))


def inserted_id(result: CursorResult) -> int:
    """The primary key of the row an INSERT just made."""
    key = result.inserted_primary_key
    assert key is not None, "an INSERT always returns its primary key"
    return int(key[0])


def now() -> datetime:
    """The time a row is written, as the log keeps times: UTC, without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)
