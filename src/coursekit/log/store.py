"""The class discussion log: its database schema and every write to it (SQLAlchemy Core).

A SQLite file is the default; a PostgreSQL server is the other backend (``schema.database_url``).
Submissions are written many to a transaction (``Batch``), each inside its own savepoint, so a
failure in one never undoes another student's work. Reflections and widget answers keep every
version: ``reflections`` and ``answers`` hold the current value, and ``reflection_versions`` and
``answer_versions`` all of them.
``collected_files`` remembers what each stored file was (size, change stamp, hash), so a rerun can
skip files that did not change without opening them.
"""

from __future__ import annotations

import enum
import functools
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    RootTransaction,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError

from coursekit.course.problems import CoursekitError
from coursekit.discussion.images import PostImage
from coursekit.discussion.names import public_id
from coursekit.discussion.threads import decide, mentioned
from coursekit.intake.extract import Extracted, post_hash, reply_key
from coursekit.log import schema
from coursekit.log.schema import LogError, database_url
from coursekit.notebook.cells import content_hash, word_count

__all__ = ["LogError", "database_url", "open_database"]  # re-exported: callers open logs from here

metadata = MetaData()
T = TypeVar("T")

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


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _save_versions(
    conn,
    table: Versioned,
    owner: dict,
    items: dict[str, dict],
    stamps: dict,
    new_row: Callable[[str], dict] | None = None,
    first: bool = False,
) -> list[str]:
    """Write items whose content hash changed as a new version; return the keys that changed.

    ``new_row(key)`` gives extra columns for a first version (a post's public id). ``first`` says
    the notebook is new to the log, so there is nothing stored to compare with.
    """
    if not items:
        return []
    current = (
        {}
        if first
        else {
            row[table.key]: row
            for row in conn.execute(
                select(table.current).where(
                    table.current.c.student == owner["student"], table.current.c.notebook == owner["notebook"]
                )
            ).mappings()
        }
    )
    changed: list[str] = []
    new_rows: list[dict] = []
    history: list[dict] = []
    for key, item in items.items():
        row = current.get(key)
        if row is not None and row["content_hash"] == item["content_hash"]:
            continue
        changed.append(key)
        values = {**item, **stamps, "version": 1 if row is None else row["version"] + 1}
        if row is None:
            new_rows.append(
                fits(table.current, **owner, **{table.key: key}, **(new_row(key) if new_row else {}), **values)
            )
        else:
            conn.execute(_update_by_id(table.current), {"row_id": row["id"], **values})
            history.append({table.history_link: row["id"], **values})
    if new_rows:
        inserted = table.current.insert().returning(table.current.c.id, sort_by_parameter_order=True)
        ids = conn.execute(inserted, new_rows).scalars().all()
        history.extend(
            {table.history_link: row_id, **{c: row[c] for c in history_columns(table)}}
            for row_id, row in zip(ids, new_rows, strict=True)
        )
    if history:
        conn.execute(table.history.insert(), history)
    return changed


@functools.cache
def _update_by_id(table: Table):
    """``UPDATE table ... WHERE id = :row_id``, built once so every call reuses its compiled form."""
    return table.update().where(table.c.id == bindparam("row_id"))


@functools.cache
def history_columns(table: Versioned) -> tuple[str, ...]:
    """The columns a history row copies from its current row."""
    return tuple(c.name for c in table.history.columns if c.name not in ("id", table.history_link))


def open_database(target: str | Path, create: bool = True) -> Engine:
    """An engine on the log at this coursekit's schema, creating a new log when ``create`` (the default).

    Raises ``LogError`` (with the command to run) for a log that needs upgrading or is too new.
    SQLite engines say BEGIN themselves (``schema.make_engine``), which makes per-file savepoints real.
    """
    return schema.connect(target, create)


@dataclass(frozen=True)
class Source:
    """Where a submission came from, kept beside the roster's student."""

    name: str = "folder"
    id: str = ""
    late: bool | None = None


class Outcome(enum.StrEnum):
    NEW = "collected"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Stored:
    outcome: Outcome
    changed_reflections: int  # reflections, answers, replies and likes that changed
    notes: tuple[str, ...] = ()


def _inserted_id(result: CursorResult) -> int:
    """The primary key of the row an INSERT just made."""
    key = result.inserted_primary_key
    assert key is not None, "an INSERT always returns its primary key"
    return int(key[0])


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@functools.cache
def _stored_submission():
    """The stored submission of student ``:of`` for notebook ``:in``, if any (built once, run per file)."""
    s = submissions.c
    return select(s.id, s.file_hash, s.source, s.source_id, s.source_late).where(
        s.student == bindparam("of"), s.notebook == bindparam("in")
    )


def store_submission(
    conn: Connection,
    student: str,
    extracted: Extracted,
    path: str,
    file_hash: str,
    submitted_at: datetime,
    secret: str | None = None,
    source: Source | None = None,
) -> Stored:
    """Write one extracted submission; unchanged text is left alone, changed text gets a version.

    Runs on ``conn`` inside the caller's transaction (a ``Batch`` savepoint), so an error here
    undoes this submission only. ``secret`` is the course secret, when the caller already has it.
    """
    source = source or Source(id=student)
    collected_at = now()
    s = submissions.c
    existing = conn.execute(_stored_submission(), {"of": student, "in": extracted.notebook}).first()
    origin = dict(source=source.name, source_id=source.id, source_late=source.late)
    if existing is not None and existing.file_hash == file_hash:
        if (existing.source, existing.source_id, existing.source_late) != tuple(origin.values()):
            conn.execute(submissions.update().where(s.id == existing.id).values(**origin))  # same file, new source
        return Stored(Outcome.UNCHANGED, 0)
    values = dict(
        week=extracted.week,
        path=path,
        file_hash=file_hash,
        submitted_at=submitted_at,
        collected_at=collected_at,
        **origin,
    )
    if existing is None:
        submission_id = _inserted_id(
            conn.execute(
                submissions.insert(), fits(submissions, student=student, notebook=extracted.notebook, **values)
            )
        )
    else:
        submission_id = existing.id
        conn.execute(_update_by_id(submissions), {"row_id": submission_id, **values})

    owner = dict(submission_id=submission_id, student=student, notebook=extracted.notebook, week=extracted.week)
    stamps = dict(submitted_at=submitted_at, collected_at=collected_at)
    reflection_items = {
        r.prompt_id: dict(text=r.text, word_count=r.word_count, content_hash=r.content_hash)
        for r in extracted.reflections
    }
    reflection_images = {r.prompt_id: r.images for r in extracted.reflections}
    answer_items = {
        a.answer_id: dict(kind=a.kind, payload=_json(a.state), content_hash=content_hash(_json(a.state)))
        for a in extracted.answers
    }
    course = secret or course_secret(conn)
    first = existing is None  # a new submission has no earlier items to compare with

    def reflection_id(key: str) -> str:
        return public_id(course, "r", student, extracted.notebook, key)

    changed_keys = _save_versions(
        conn, REFLECTIONS, owner, reflection_items, stamps, lambda key: {"post_id": reflection_id(key)}, first
    )
    for key in changed_keys:
        _replace_images(conn, reflection_id(key), reflection_images[key], first)
    changed = len(changed_keys) + len(_save_versions(conn, ANSWERS, owner, answer_items, stamps, None, first))
    peer_states = [(a.answer_id, a.state) for a in extracted.answers if a.kind == "peer"]
    thread_changes, notes = _store_thread(conn, course, owner, peer_states, extracted.reply_images, stamps, first)
    changed += thread_changes
    notes = [*extracted.notes, *notes]

    if existing is None:
        return Stored(Outcome.NEW, changed, tuple(notes))
    return Stored(Outcome.UPDATED if changed else Outcome.UNCHANGED, changed, tuple(notes))


class TrackedFile(NamedTuple):
    """What a stored file was when it was last read (a row of ``collected_files``).

    A named tuple: a rerun makes one per file of the class, and a tuple costs a fraction of a dataclass.
    """

    student: str
    notebook: str
    week: int | None
    size: int
    stamp: str
    file_hash: str


def tracked_files(conn: Connection, origins: Sequence[str]) -> dict[str, TrackedFile]:
    """The remembered state of each of ``origins`` that the log has seen.

    One range scan of the ``origin`` index between the least and greatest of ``origins``: files of
    one folder sort together, so asking for a few thousand neighbours at once reads little else,
    and costs far less than an ``IN`` list of them.
    """
    if not origins:
        return {}
    wanted = set(origins)
    rows = conn.execute(_tracked_between(conn.dialect.name), {"low": min(wanted), "high": max(wanted)})
    return {row[0]: TrackedFile._make(row[1:]) for row in rows.all() if row[0] in wanted}  # all(): one fetch


@functools.cache
def _tracked_between(dialect: str):
    """The range query, comparing as Python's ``min`` and ``max`` do: by code point.

    SQLite compares text that way; a PostgreSQL server may compare by a language's rules
    ("alice" < "Zoe"), under which Python's least origin can sort after its greatest and the range
    would miss remembered files, so there the comparison is made in the "C" collation, which the
    column has since schema 0005 (so the comparison uses its index).
    """
    c = collected_files.c
    origin = c.origin.collate("C") if dialect == "postgresql" else c.origin
    return select(c.origin, c.student, c.notebook, c.week, c.size, c.stamp, c.file_hash).where(
        origin.between(bindparam("low", type_=Text()), bindparam("high", type_=Text()))
    )


def track_file(conn: Connection, origin: str, tracked: TrackedFile) -> None:
    """Remember what the file at ``origin`` was, replacing what was remembered before.

    One INSERT … ON CONFLICT DO UPDATE (both backends have it), so two collects of the same folder
    at once both succeed (the later one's row wins) instead of one failing on the other's row.
    """
    values = dict(
        student=tracked.student,
        notebook=tracked.notebook,
        week=tracked.week,
        size=tracked.size,
        stamp=tracked.stamp,
        file_hash=tracked.file_hash,
        checked_at=now(),
    )
    conn.execute(_upsert_file(conn.dialect.name), {"origin": origin, **values})


@functools.cache
def _upsert_file(dialect: str):
    """``collected_files``' INSERT … ON CONFLICT (origin) DO UPDATE, built once per dialect.

    Built once and run with parameters, so each file costs one execution and no statement building.
    A log is SQLite or PostgreSQL (``schema.database_url`` refuses any other URL).
    """
    if dialect == "postgresql":
        pg = postgresql_insert(collected_files)
        return pg.on_conflict_do_update(index_elements=["origin"], set_=_refreshed(pg.excluded))
    lite = sqlite_insert(collected_files)
    return lite.on_conflict_do_update(index_elements=["origin"], set_=_refreshed(lite.excluded))


def _refreshed(excluded) -> dict:
    """What an upsert of ``collected_files`` takes from the row it was asked to insert: all but its key."""
    return {c.name: excluded[c.name] for c in collected_files.c if c.name not in ("id", "origin")}


class Batch:
    """Many writes per transaction, each in its own savepoint: fast, and an error undoes one write only.

    ``write(work)`` runs ``work(conn)`` inside a savepoint and re-raises its error after rolling
    back to that savepoint; the transaction goes on. ``commit()`` ends the transaction (the caller
    decides when: a batch holds SQLite's write lock, so keep it to a few hundred writes).

    The transaction starts at the first write and takes the write lock at once (SQLite: ``BEGIN
    IMMEDIATE``, waiting for another writer rather than failing half-way). A write that meets a row
    a concurrent process stored first (PostgreSQL), or a deadlock, is retried in a fresh savepoint,
    which sees that row: the file is then ``unchanged``, not failed.
    """

    def __init__(self, engine: Engine) -> None:
        self.conn = engine.connect()
        self.conn.execution_options(coursekit_write=True)
        self._transaction: RootTransaction | None = None
        self.pending = 0

    def write(self, work: Callable[[Connection], T]) -> T:
        if self._transaction is None:
            self._transaction = self.conn.begin()
        for attempt in range(schema.ATTEMPTS):
            try:
                with self.conn.begin_nested():
                    result = work(self.conn)
                break
            except (IntegrityError, OperationalError) as exc:
                if attempt == schema.ATTEMPTS - 1 or not schema.retryable(exc):
                    raise
        self.pending += 1
        return result

    def commit(self) -> None:
        if self._transaction is not None:
            self._transaction.commit()
            self._transaction = None
        self.pending = 0

    def close(self) -> None:
        """Roll back whatever was not committed and give the connection back."""
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()
        self.conn.close()


def _kept(conn, key: str, make: Callable[[], str]) -> str:
    """The value kept in ``course_meta`` under ``key``, made by ``make`` and stored on first use."""
    row = conn.execute(select(course_meta.c.value).where(course_meta.c.key == key)).first()
    if row is not None:
        return row.value
    value = make()
    conn.execute(course_meta.insert().values(key=key, value=value))
    return value


def course_secret(conn) -> str:
    """The course's secret for pseudonyms and post ids, made on first use and kept in the log."""
    return _kept(conn, "secret", lambda: secrets.token_hex(32))


def feed_salt(conn, week: int) -> str:
    """The salt of week ``week``'s peer-feed assignment, made when it is first published and kept.

    Republishing a week (after a late submission, or to fix a post) reuses it, so students keep the
    classmates they were given.
    """
    return _kept(conn, f"feed-salt:week{week}", lambda: secrets.token_hex(8))


def post_authors(conn, post_ids: set[str]) -> dict[str, str]:
    """The author of each of ``post_ids`` that exists (a reflection or a reply), in one query."""
    if not post_ids:
        return {}
    ids = sorted(post_ids)
    query = union_all(
        *(select(table.c.post_id, table.c.student).where(table.c.post_id.in_(ids)) for table in (reflections, replies))
    )
    return {row.post_id: row.student for row in conn.execute(query)}


def _replace_images(conn, post_id: str, shown, first: bool = False) -> None:
    """Make a post's stored images the ones its current version shows (``first``: it has none yet)."""
    if not first:
        conn.execute(images.delete().where(images.c.post_id == post_id))
    if shown:
        conn.execute(
            images.insert(),
            [
                dict(post_id=post_id, name=i.name, mime=i.mime, width=i.width, height=i.height, data=i.data)
                for i in shown
            ],
        )


def _store_thread(
    conn,
    secret: str,
    owner: dict,
    peer_states: list[tuple[str, dict]],
    reply_images: dict[str, list[PostImage]],
    stamps: dict,
    first: bool = False,
) -> tuple[int, list[str]]:
    """Store the replies and likes a student gave in one notebook; return changes and notes.

    What is kept is decided by ``discussion.threads`` over the whole submission, after one query for
    the authors of every post it mentions. Likes mirror the notebook: a post unliked in a
    resubmission loses that like.
    """
    student, notebook = owner["student"], owner["notebook"]
    decided = decide(student, peer_states, post_authors(conn, mentioned(peer_states)))
    items: dict[str, dict] = {}
    shown: dict[str, list[PostImage]] = {}
    for reply in decided.replies:
        shown[reply.key] = reply_images.get(reply_key(*reply.source), [])
        items[reply.key] = dict(
            parent_id=reply.parent_id,
            text=reply.text,
            word_count=word_count(reply.text),
            content_hash=post_hash(reply.parent_id + reply.text, shown[reply.key]),
        )

    def reply_id(key: str) -> str:
        return public_id(secret, "c", student, notebook, key)

    changed_keys = _save_versions(conn, REPLIES, owner, items, stamps, lambda key: {"post_id": reply_id(key)}, first)
    for key in changed_keys:
        _replace_images(conn, reply_id(key), shown[key], first)
    changed = len(changed_keys)
    if not peer_states and first:
        return changed, decided.notes  # a new notebook with no peer section holds no likes to compare
    wanted = decided.likes
    given_here = {
        row.post_id
        for row in conn.execute(select(likes.c.post_id).where(likes.c.student == student, likes.c.notebook == notebook))
    }
    given_anywhere = {row.post_id for row in conn.execute(select(likes.c.post_id).where(likes.c.student == student))}
    for post in wanted - given_anywhere:
        conn.execute(
            likes.insert().values(student=student, notebook=notebook, post_id=post, created_at=stamps["submitted_at"])
        )
    dropped = given_here - wanted
    if dropped:
        conn.execute(
            likes.delete().where(likes.c.student == student, likes.c.notebook == notebook, likes.c.post_id.in_(dropped))
        )
    return changed + len(wanted - given_anywhere) + len(dropped), decided.notes


@dataclass(frozen=True)
class Review:
    id: int
    student: str
    notebook: str
    prompt_id: str
    reviewer: str
    scores: dict
    comment: str
    flagged: bool
    created_at: datetime


def _review(row) -> Review:
    return Review(
        row.id,
        row.student,
        row.notebook,
        row.prompt_id,
        row.reviewer,
        json.loads(row.scores),
        row.comment,
        bool(row.flagged),
        row.created_at,
    )


def latest_review(conn, student: str, notebook: str, prompt_id: str) -> Review | None:
    row = conn.execute(
        select(reviews)
        .where(reviews.c.student == student, reviews.c.notebook == notebook, reviews.c.prompt_id == prompt_id)
        .order_by(reviews.c.id.desc())
        .limit(1)
    ).first()
    return _review(row) if row is not None else None


@dataclass(frozen=True)
class ReviewDraft:
    """A review as the reviewer enters it, before the log gives it an id and a time."""

    student: str
    notebook: str
    prompt_id: str
    reviewer: str
    scores: dict  # rubric criterion id -> points
    comment: str = ""
    flagged: bool = False
    based_on: int | None = None  # the id of the review the reviewer had on screen (None: none yet)


def save_review(engine: Engine, draft: ReviewDraft) -> tuple[Review, Review | None]:
    """Append a review (never overwrite one); return it and any review someone else saved meanwhile.

    If another reviewer saved after the review the reviewer had on screen (``draft.based_on``), both
    rows are kept and theirs is returned as the conflict to show.
    """

    def append(conn) -> tuple[Review, Review | None]:
        if conn.dialect.name == "postgresql":  # SQLite's write lock already serialises reviewers
            key = _json([draft.student, draft.notebook, draft.prompt_id])
            conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
        latest = latest_review(conn, draft.student, draft.notebook, draft.prompt_id)
        others = latest is not None and latest.id != draft.based_on and latest.reviewer != draft.reviewer
        created_at = now()
        values = fits(
            reviews,
            student=draft.student,
            notebook=draft.notebook,
            prompt_id=draft.prompt_id,
            reviewer=draft.reviewer,
            scores=_json(draft.scores),
            comment=draft.comment,
            flagged=draft.flagged,
            based_on=draft.based_on,
            created_at=created_at,
        )
        review_id = _inserted_id(conn.execute(reviews.insert().values(**values)))
        saved = Review(
            review_id,
            draft.student,
            draft.notebook,
            draft.prompt_id,
            draft.reviewer,
            dict(draft.scores),
            draft.comment,
            draft.flagged,
            created_at,
        )
        return saved, latest if others else None

    return schema.write(engine, append)
