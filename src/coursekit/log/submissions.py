"""Writing one collected submission: its reflections, widget answers, replies, likes and images.

Every write runs on the caller's connection, inside its transaction (a ``Batch`` savepoint), so a
failure in one submission never undoes another student's work. Unchanged items are left alone;
a changed one becomes a new version (``tables.Versioned``). What of a student's replies and likes
is kept is decided before the write, by ``discussion.threads`` (``collect`` asks it): the write
takes that decision as plain data and never reaches back into the discussion's rules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, union_all

from coursekit.discussion.images import PostImage
from coursekit.discussion.names import reflection_id, reply_id
from coursekit.discussion.threads import Decided
from coursekit.intake.extract import Extracted, post_hash, reply_key
from coursekit.log.results import Status
from coursekit.log.tables import (
    ANSWERS,
    REFLECTIONS,
    REPLIES,
    Versioned,
    as_json,
    fits,
    images,
    inserted_id,
    likes,
    now,
    reflections,
    replies,
    submissions,
    update_by_id,
)
from coursekit.notebook.cells import content_hash, word_count


@dataclass(frozen=True)
class Source:
    """Where a submission came from, kept beside the roster's student."""

    name: str = "folder"
    id: str = ""
    late: bool | None = None


@dataclass(frozen=True)
class Stored:
    outcome: Status  # collected, updated or unchanged
    changed_reflections: int  # reflections, answers, replies and likes that changed
    notes: tuple[str, ...] = ()


def post_authors(conn: Connection, post_ids: Iterable[str]) -> dict[str, str]:
    """The author of each of ``post_ids`` that exists (a reflection or a reply), in one query.

    Read on the writer's connection, so a post stored earlier in the same batch counts.
    """
    ids = sorted(set(post_ids))
    if not ids:
        return {}
    query = union_all(
        *(select(table.c.post_id, table.c.student).where(table.c.post_id.in_(ids)) for table in (reflections, replies))
    )
    return {row.post_id: row.student for row in conn.execute(query)}


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
    thread: Decided,
    path: str,
    file_hash: str,
    submitted_at: datetime,
    secret: str,
    source: Source | None = None,
) -> Stored:
    """Write one extracted submission; unchanged text is left alone, changed text gets a version.

    ``thread`` is what ``discussion.threads.decide`` keeps of the notebook's replies and likes;
    ``secret`` is the course secret (``meta.course_secret``) the posts' public ids derive from.
    """
    source = source or Source(id=student)
    collected_at = now()
    s = submissions.c
    existing = conn.execute(_stored_submission(), {"of": student, "in": extracted.notebook}).first()
    origin = dict(source=source.name, source_id=source.id, source_late=source.late)
    if existing is not None and existing.file_hash == file_hash:
        if (existing.source, existing.source_id, existing.source_late) != tuple(origin.values()):
            conn.execute(submissions.update().where(s.id == existing.id).values(**origin))  # same file, new source
        return Stored(Status.UNCHANGED, 0)
    values = dict(
        week=extracted.week,
        path=path,
        file_hash=file_hash,
        submitted_at=submitted_at,
        collected_at=collected_at,
        **origin,
    )
    if existing is None:
        submission_id = inserted_id(
            conn.execute(
                submissions.insert(), fits(submissions, student=student, notebook=extracted.notebook, **values)
            )
        )
    else:
        submission_id = existing.id
        conn.execute(update_by_id(submissions), {"row_id": submission_id, **values})

    owner = dict(submission_id=submission_id, student=student, notebook=extracted.notebook, week=extracted.week)
    stamps = dict(submitted_at=submitted_at, collected_at=collected_at)
    first = existing is None  # a new submission has no earlier items to compare with
    reflection_items = {
        r.prompt_id: dict(text=r.text, word_count=r.word_count, content_hash=r.content_hash)
        for r in extracted.reflections
    }
    shown = {r.prompt_id: r.images for r in extracted.reflections}
    changed = _save_posts(conn, REFLECTIONS, owner, reflection_items, shown, stamps, secret, first)
    answer_items = {
        a.answer_id: dict(kind=a.kind, payload=as_json(a.state), content_hash=content_hash(as_json(a.state)))
        for a in extracted.answers
    }
    changed += len(_save_versions(conn, ANSWERS, owner, answer_items, stamps, None, first))
    changed += _save_replies(conn, owner, thread, extracted.reply_images, stamps, secret, first)
    changed += _save_likes(conn, owner, thread.likes, stamps["submitted_at"], first)
    notes = (*extracted.notes, *thread.notes)
    if existing is None:
        return Stored(Status.COLLECTED, changed, notes)
    return Stored(Status.UPDATED if changed else Status.UNCHANGED, changed, notes)


def _save_posts(
    conn: Connection,
    table: Versioned,
    owner: dict,
    items: dict[str, dict],
    shown: Mapping[str, Sequence[PostImage]],
    stamps: dict,
    secret: str,
    first: bool,
) -> int:
    """Save reflections or replies, with the images each changed post shows; return how many changed."""
    post_id = reflection_id if table is REFLECTIONS else reply_id

    def id_of(key: str) -> str:
        return post_id(secret, owner["student"], owner["notebook"], key)

    changed_keys = _save_versions(conn, table, owner, items, stamps, lambda key: {"post_id": id_of(key)}, first)
    for key in changed_keys:
        _replace_images(conn, id_of(key), shown[key], first)
    return len(changed_keys)


def _save_replies(
    conn: Connection,
    owner: dict,
    thread: Decided,
    reply_images: dict[str, list[PostImage]],
    stamps: dict,
    secret: str,
    first: bool,
) -> int:
    """Save the replies ``thread`` keeps, each with the images filed under it in the notebook."""
    items: dict[str, dict] = {}
    shown: dict[str, list[PostImage]] = {}
    for reply in thread.replies:
        shown[reply.key] = reply_images.get(reply_key(*reply.source), [])
        items[reply.key] = dict(
            parent_id=reply.parent_id,
            text=reply.text,
            word_count=word_count(reply.text),
            content_hash=post_hash(reply.parent_id + reply.text, shown[reply.key]),
        )
    return _save_posts(conn, REPLIES, owner, items, shown, stamps, secret, first)


def _save_likes(conn: Connection, owner: dict, wanted: set[str], given_at: datetime, first: bool) -> int:
    """Make the likes given in this notebook the ones it holds now; return how many were added or dropped.

    A post unliked in a resubmission loses that like; a post already liked in another notebook keeps
    that one (liking twice counts once).
    """
    if first and not wanted:
        return 0  # a new notebook holds no stored likes, and wants none
    student, notebook = owner["student"], owner["notebook"]
    given_here = {
        row.post_id
        for row in conn.execute(select(likes.c.post_id).where(likes.c.student == student, likes.c.notebook == notebook))
    }
    given_anywhere = {row.post_id for row in conn.execute(select(likes.c.post_id).where(likes.c.student == student))}
    added = wanted - given_anywhere
    for post in added:
        conn.execute(likes.insert().values(student=student, notebook=notebook, post_id=post, created_at=given_at))
    dropped = given_here - wanted
    if dropped:
        conn.execute(
            likes.delete().where(likes.c.student == student, likes.c.notebook == notebook, likes.c.post_id.in_(dropped))
        )
    return len(added) + len(dropped)


def _replace_images(conn: Connection, post_id: str, shown: Sequence[PostImage], first: bool = False) -> None:
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


def _save_versions(
    conn: Connection,
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
            conn.execute(update_by_id(table.current), {"row_id": row["id"], **values})
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
def history_columns(table: Versioned) -> tuple[str, ...]:
    """The columns a history row copies from its current row."""
    return tuple(c.name for c in table.history.columns if c.name not in ("id", table.history_link))
