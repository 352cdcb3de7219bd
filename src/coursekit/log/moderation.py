"""Moderation: hiding, restoring and withdrawing posts, kept in the log as an audit trail.

A post's state is its latest row in ``tables.moderation`` (rows are appended, never edited):
hidden after ``hide`` until a ``restore``, whatever the student resubmits; after ``withdraw``,
hidden while the post is still at the version withdrawn, so a version the student writes later is
shown again unless it withdraws too. Hidden posts (and the replies under them) leave the site, the
peer feed and "Replies to you" at the next publish, and their likes stop counting; the log keeps
them, with who hid them, when and why.

A student withdraws a reflection themselves by tagging its cell ``coursekit-withdraw`` and
resubmitting (``follow_tags``, called by collect); an instructor records a request with ``withdraw``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd
from sqlalchemy import Connection, Engine, select, union_all

from coursekit.course.problems import CoursekitError, Problem
from coursekit.log import schema
from coursekit.log.tables import fits, moderation, now, reflections, replies
from coursekit.notebook.cells import WITHDRAW_TAG

HIDE, RESTORE, WITHDRAW, ERASE = "hide", "restore", "withdraw", "erase"
ACTIONS = (HIDE, RESTORE, WITHDRAW, ERASE)
TAG_ACTOR = f"the student ({WITHDRAW_TAG} tag)"
TAG_REASONS = {
    WITHDRAW: f"the student's resubmission tags the reflection {WITHDRAW_TAG}",
    RESTORE: f"the student's resubmission no longer tags the reflection {WITHDRAW_TAG}",
}
POST_HINT = "copy the post's id from the site (each post's anchor) or from 'coursekit export --threads'"


class ModerationError(CoursekitError, ValueError):
    """A moderation request that cannot be carried out; the message says what to do instead."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


class Mark(NamedTuple):
    """The latest moderation row of a post: what it says about the post now."""

    action: str
    version: int | None
    actor: str


class Post(NamedTuple):
    author: str
    version: int


def is_hidden(mark: Mark | None, version: int) -> bool:
    """Whether a post at ``version`` is hidden by its latest moderation row."""
    if mark is None:
        return False
    return mark.action == HIDE or (mark.action == WITHDRAW and version <= (mark.version or 0))


def hidden_posts(marks: Mapping[str, Mark], versions: Mapping[str, int]) -> set[str]:
    """The posts (of ``versions``: post id -> current version) their moderation hides now."""
    return {post for post, version in versions.items() if is_hidden(marks.get(post), version)}


def with_replies(hidden: set[str], parent: Mapping[str, str | None]) -> set[str]:
    """``hidden`` and every post under one of them, at any depth: a reply to what nobody sees is not shown."""
    under: set[str] = set()
    for post in parent:
        seen: set[str] = set()
        above: str | None = post
        while above is not None and above not in seen:
            if above in hidden:
                under.add(post)
                break
            seen.add(above)
            above = parent.get(above)
    return under | hidden


def tag_change(tagged: bool, mark: Mark | None, version: int) -> str | None:
    """What a reflection's withdraw tag (present or not) in a new submission asks for, or None.

    A tag withdraws the version it is on. Dropping the tag restores only what a tag withdrew: an
    instructor's hide, or a withdrawal they recorded, is theirs to undo.
    """
    if tagged:
        already = mark is not None and (mark.action == HIDE or is_hidden(mark, version))
        return None if already else WITHDRAW
    if mark is not None and mark.action == WITHDRAW and mark.actor == TAG_ACTOR and is_hidden(mark, version):
        return RESTORE
    return None


def _posts_query(post_ids: Iterable[str] | None = None):
    parts = []
    for table in (reflections, replies):
        query = select(table.c.post_id, table.c.student, table.c.version)
        if post_ids is not None:
            query = query.where(table.c.post_id.in_(sorted(set(post_ids))))
        parts.append(query)
    return union_all(*parts)


def posts(conn: Connection, post_ids: Iterable[str] | None = None) -> dict[str, Post]:
    """Every post (reflections and replies), or those of ``post_ids``: its author and current version."""
    return {row.post_id: Post(row.student, row.version) for row in conn.execute(_posts_query(post_ids))}


def marks(conn: Connection, post_ids: Iterable[str] | None = None) -> dict[str, Mark]:
    """The latest moderation row of every moderated post (or of ``post_ids``)."""
    m = moderation.c
    query = select(m.post_id, m.action, m.version, m.actor).where(m.post_id.is_not(None)).order_by(m.id)
    if post_ids is not None:
        query = query.where(m.post_id.in_(sorted(set(post_ids))))
    return {row.post_id: Mark(row.action, row.version, row.actor) for row in conn.execute(query)}


def hidden(conn: Connection) -> set[str]:
    """The posts hidden now (by a hide, or by a withdrawal of their current version)."""
    found = marks(conn)
    if not found:
        return set()
    return hidden_posts(found, {post: p.version for post, p in posts(conn, found).items()})


def _append(conn: Connection, action: str, post_id: str | None, author: str | None, **values) -> None:
    conn.execute(
        moderation.insert().values(
            **fits(moderation, action=action, post_id=post_id, author=author, **values), at=now()
        )
    )


def _act(engine: Engine, action: str, post_id: str, actor: str, reason: str, requested_by: str | None = None) -> str:
    """Record ``action`` on a post after checking it makes sense; return what the post is now."""
    if action in (HIDE, WITHDRAW) and not reason.strip():
        why = "the audit trail keeps why a post was taken down"
        raise ModerationError(Problem(f"a {action} needs a reason: {why}", "add --reason 'what was wrong'"))
    post_id = post_id.strip()

    def work(conn: Connection) -> str:
        post = posts(conn, [post_id]).get(post_id)
        if post is None:
            raise ModerationError(Problem(f"no post {post_id} in the log", POST_HINT))
        mark = marks(conn, [post_id]).get(post_id)
        shown = not is_hidden(mark, post.version)
        if action == RESTORE and shown:
            raise ModerationError(Problem(f"{post_id} is not hidden: nothing to restore"))
        if action != RESTORE and not shown:
            raise ModerationError(Problem(f"{post_id} is hidden already", "see 'coursekit moderate log'"))
        version = post.version if action == WITHDRAW else None
        _append(
            conn, action, post_id, post.author, version=version, actor=actor, requested_by=requested_by, reason=reason
        )
        return "shown" if action == RESTORE else "hidden"

    return schema.write(engine, work)


def hide(engine: Engine, post_id: str, actor: str, reason: str) -> str:
    """Hide a post (and the replies under it) from everything students see, until restored."""
    return _act(engine, HIDE, post_id, actor, reason)


def restore(engine: Engine, post_id: str, actor: str, reason: str = "") -> str:
    """Show a hidden or withdrawn post again at the next publish."""
    return _act(engine, RESTORE, post_id, actor, reason)


def withdraw(engine: Engine, post_id: str, actor: str, requested_by: str, reason: str) -> str:
    """Record a withdrawal someone asked for: hidden until the student writes a later version."""
    if not requested_by.strip():
        raise ModerationError(Problem("a withdrawal says who asked for it", "add --requested-by 'the student'"))
    return _act(engine, WITHDRAW, post_id, actor, reason, requested_by.strip())


def follow_tags(conn: Connection, student: str, tagged: Mapping[str, bool]) -> list[str]:
    """Withdraw or restore reflections as a new submission's withdraw tags say; return the changed post ids.

    ``tagged`` maps each of the submission's reflection post ids to whether its cell carries the
    tag. Runs in the collect's savepoint, after the reflections were stored.
    """
    if not any(tagged.values()) and not conn.execute(select(moderation.c.id).limit(1)).first():
        return []  # nothing withdrawn anywhere and nothing asked: the common case costs one query
    current = posts(conn, tagged)
    found = marks(conn, tagged)
    changed = []
    for post_id, flag in tagged.items():
        if post_id not in current:
            continue
        action = tag_change(flag, found.get(post_id), current[post_id].version)
        if action:
            version = current[post_id].version if action == WITHDRAW else None
            _append(
                conn,
                action,
                post_id,
                student,
                version=version,
                actor=TAG_ACTOR,
                requested_by=student if action == WITHDRAW else None,
                reason=TAG_REASONS[action],
            )
            changed.append(post_id)
    return changed


def record_erasure(conn: Connection, actor: str, reason: str) -> None:
    """An erasure's row in the audit trail: who, when and how much, never whom."""
    _append(conn, ERASE, None, None, actor=actor, reason=reason)


def record_hidden_under_erased(conn: Connection, post_id: str, author: str, actor: str) -> None:
    """Hide a post that was hidden only under an erased student's hidden post, whose rows the erasure removes."""
    reason = "hidden under a hidden post whose author was erased"
    _append(conn, HIDE, post_id, author, actor=actor, reason=reason)


AUDIT_COLUMNS = ["at", "action", "post_id", "author", "version", "actor", "requested_by", "reason"]


def audit(engine: Engine) -> pd.DataFrame:
    """The audit trail, oldest first: one row per action (the CSV ``coursekit moderate log`` writes)."""
    m = moderation.c
    with engine.connect() as conn:
        return pd.read_sql(select(*(m[c] for c in AUDIT_COLUMNS)).order_by(m.id), conn)


@dataclass(frozen=True)
class State:
    """What the desk shows of one post's moderation."""

    hidden: bool
    action: str = ""
    actor: str = ""
    reason: str = ""
    at: object = None


def states(engine: Engine, post_ids: Iterable[str]) -> dict[str, State]:
    """The moderation of each of ``post_ids`` that has any, with its latest row's who, why and when."""
    ids = sorted(set(post_ids))
    if not ids:
        return {}
    m = moderation.c
    with engine.connect() as conn:
        rows = conn.execute(select(moderation).where(m.post_id.in_(ids)).order_by(m.id)).all()
        if not rows:  # most posts were never moderated: their versions need no lookup (the desk asks per change)
            return {}
        versions = {post: p.version for post, p in posts(conn, {row.post_id for row in rows}).items()}
    latest = {row.post_id: row for row in rows}
    return {
        post: State(hidden_now, r.action, r.actor, r.reason, r.at)
        for post, r in latest.items()
        for hidden_now in [is_hidden(Mark(r.action, r.version, r.actor), versions.get(post, 0))]
    }
