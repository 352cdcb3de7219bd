"""Erasing students from the log: when a student asks, or for a whole class once the term is over.

Everything of theirs goes, on either backend and in one transaction: submissions, reflections and
widget answers with every version, their replies, the likes they gave and the likes of their
posts, images, reviews, collected-file records, and the moderation rows about their posts. The
replies others wrote to them stay: an erased post that others answered keeps its place as "a post
by a former student, removed" (``tables.removed_posts`` holds no name, id or text of theirs), so
the thread still reads. The audit trail gets one row saying an erasure happened and how many rows
it removed, never whom.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, Table, func, literal, or_, select, union_all

from coursekit.course.problems import Problem
from coursekit.log import moderation, schema
from coursekit.log.moderation import ModerationError
from coursekit.log.tables import (
    answer_versions,
    answers,
    collected_files,
    images,
    likes,
    now,
    reflection_versions,
    reflections,
    removed_posts,
    replies,
    reply_versions,
    reviews,
    submissions,
)
from coursekit.log.tables import moderation as moderation_rows


@dataclass(frozen=True)
class Erasure:
    """What an erasure removes (or, in a dry run, would remove): rows per table, and placeholders kept."""

    students: tuple[str, ...]
    counts: dict[str, int]
    placeholders: int  # erased posts others answered, kept as "a post by a former student, removed"
    applied: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _theirs(students: Sequence[str]) -> list[tuple[str, Table, ColumnElement[bool]]]:
    """(table name, table, which rows) of everything the students own, children before their parents."""
    their_posts = union_all(
        select(reflections.c.post_id).where(reflections.c.student.in_(students)),
        select(replies.c.post_id).where(replies.c.student.in_(students)),
    )
    m = moderation_rows.c
    return [
        ("images", images, images.c.post_id.in_(their_posts)),
        ("likes", likes, or_(likes.c.student.in_(students), likes.c.post_id.in_(their_posts))),
        ("reviews", reviews, reviews.c.student.in_(students)),
        ("moderation", moderation_rows, or_(m.author.in_(students), m.requested_by.in_(students))),
        *(
            (
                versions.name,
                versions,
                versions.c[link].in_(select(current.c.id).where(current.c.student.in_(students))),
            )
            for current, versions, link in (
                (reflections, reflection_versions, "reflection_id"),
                (answers, answer_versions, "answer_id"),
                (replies, reply_versions, "reply_id"),
            )
        ),
        ("reflections", reflections, reflections.c.student.in_(students)),
        ("answers", answers, answers.c.student.in_(students)),
        ("replies", replies, replies.c.student.in_(students)),
        ("submissions", submissions, submissions.c.student.in_(students)),
        ("collected_files", collected_files, collected_files.c.student.in_(students)),
    ]


def answered(parent: Mapping[str, str | None], theirs: set[str]) -> set[str]:
    """Those of ``theirs`` (posts being erased) that a post not being erased hangs from, at any depth."""
    kept: set[str] = set()
    for post in parent:
        if post in theirs:
            continue
        seen, above = {post}, parent.get(post)
        while above is not None and above not in seen:
            if above in theirs:
                kept.add(above)
            seen.add(above)
            above = parent.get(above)
    return kept


def _placeholders(conn: Connection, students: Sequence[str]) -> list[dict]:
    """The removed_posts rows an erasure of ``students`` leaves for the replies others wrote to them."""
    r, c, gone = reflections.c, replies.c, removed_posts.c
    query = union_all(
        select(r.post_id, r.student, r.week, r.prompt_id, r.submitted_at, literal(None).label("parent_id")),
        select(c.post_id, c.student, c.week, literal(None).label("prompt_id"), c.submitted_at, c.parent_id),
    )
    rows = {row.post_id: row for row in conn.execute(query)}
    parent: dict[str, str | None] = {post: row.parent_id for post, row in rows.items()}
    parent |= {row.post_id: row.parent_id for row in conn.execute(select(gone.post_id, gone.parent_id))}
    wanted = set(students)
    theirs = {post for post, row in rows.items() if row.student in wanted}
    stamp = now()
    return [
        dict(
            post_id=post,
            parent_id=parent[post],
            week=rows[post].week,
            prompt_id=rows[post].prompt_id,
            posted_at=rows[post].submitted_at,
            removed_at=stamp,
        )
        for post in sorted(answered(parent, theirs))
    ]


def _left_uncovered(conn: Connection, students: Sequence[str]) -> dict[str, str]:
    """Posts of others hidden only by hanging under a hidden post of ``students``: post id -> author.

    Erasing the students deletes the moderation rows of their posts, so without a row of their own
    these replies would be shown again under the placeholder.
    """
    everything = moderation.posts(conn)
    wanted = set(students)
    theirs = {post for post, p in everything.items() if p.author in wanted}
    hidden_now = moderation.hidden(conn)
    if not hidden_now & theirs:
        return {}
    parent: dict[str, str | None] = {post: None for post in conn.execute(select(reflections.c.post_id)).scalars()}
    for table in (replies, removed_posts):
        parent |= {row.post_id: row.parent_id for row in conn.execute(select(table.c.post_id, table.c.parent_id))}
    under = moderation.with_replies(hidden_now & theirs, parent) - theirs - hidden_now
    return {post: everything[post].author for post in sorted(under) if parent.get(post) in theirs}


def known(engine: Engine, students: Iterable[str]) -> list[str]:
    """Those of ``students`` the log holds anything of (a submission, a review, a file record)."""
    wanted = sorted(set(students))
    query = union_all(
        *(select(t.c.student).where(t.c.student.in_(wanted)) for t in (submissions, reviews, collected_files))
    )
    with engine.connect() as conn:
        return sorted({row.student for row in conn.execute(query)})


def expired(engine: Engine, days: int, today: datetime | None = None) -> list[str]:
    """The students whose last submission is more than ``days`` days old (retention at the end of term)."""
    cutoff = (today or now()) - timedelta(days=days)
    s = submissions.c
    query = select(s.student).group_by(s.student).having(func.max(s.submitted_at) < cutoff).order_by(s.student)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def erase(engine: Engine, students: Iterable[str], actor: str, why: str, apply: bool = True) -> Erasure:
    """Remove every row of ``students`` (``apply=False``: only count them; nothing changes).

    Raises ModerationError for a student the log holds nothing of, so a typo erases no one silently.
    """
    wanted = tuple(sorted(set(students)))
    missing = sorted(set(wanted) - set(known(engine, wanted)))
    if missing:
        raise ModerationError(
            Problem(
                f"no student {', '.join(missing)} in the log",
                "use the id collect stored (as 'coursekit export' lists it, the roster's student column)",
            )
        )
    if not apply:
        with engine.connect() as conn:
            counts = {
                name: conn.execute(select(func.count()).select_from(table).where(which)).scalar_one()
                for name, table, which in _theirs(wanted)
            }
            return Erasure(wanted, counts, len(_placeholders(conn, wanted)), applied=False)

    def work(conn: Connection) -> Erasure:
        kept = _placeholders(conn, wanted)
        uncovered = _left_uncovered(conn, wanted)
        if kept:
            conn.execute(removed_posts.insert(), kept)
        counts = {name: conn.execute(table.delete().where(which)).rowcount for name, table, which in _theirs(wanted)}
        for post, author in uncovered.items():
            moderation.record_hidden_under_erased(conn, post, author, actor)
        erasure = Erasure(wanted, counts, len(kept), applied=True)
        people = f"{len(wanted)} student(s)" if len(wanted) > 1 else "a student"
        moderation.record_erasure(conn, actor, f"{why}: erased {people}, {erasure.total} row(s)")
        return erasure

    erasure = schema.write(engine, work)
    scrub(engine, [name for name, _, _ in _theirs(wanted)])
    return erasure


def scrub(engine: Engine, tables: Sequence[str]) -> None:
    """Rewrite the storage the erased rows were in, so their bytes are gone from the files too.

    A deleted row stays on disk until its space is reused: SQLite's free pages and write-ahead log,
    PostgreSQL's dead tuples. SQLite's VACUUM rewrites the file; PostgreSQL's plain VACUUM only marks
    the dead tuples free to reuse, leaving their bytes in the table's file, so there it is VACUUM
    FULL, which writes each table (and its indexes) to a new file and drops the old one. Both run
    outside any transaction, as both require.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute("VACUUM")
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            conn.exec_driver_sql(f'VACUUM FULL "{table}"')
