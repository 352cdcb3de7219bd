"""What the log keeps about the course itself (``course_meta``): its secret and each week's feed salt.

Both are made once, by a writer, and then only read: the secret by ``collect`` before it stores
anything (post ids and pseudonyms derive from it), a week's salt by the first publication of that
week's peer feed. A reader (``log.frames``) only reads them, and says so when there is none yet.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import Connection, Engine, select

from coursekit.log import schema
from coursekit.log.schema import LogError
from coursekit.log.tables import course_meta

SECRET = "secret"


def _salt_key(week: int) -> str:
    return f"feed-salt:week{week}"


def kept(conn: Connection, key: str) -> str | None:
    """The value kept under ``key``, or None when nothing was ever kept there."""
    return conn.execute(select(course_meta.c.value).where(course_meta.c.key == key)).scalar()


def _made(conn: Connection, key: str, make: Callable[[], str]) -> str:
    """The value kept under ``key``, made by ``make`` and stored on first use."""
    value = kept(conn, key)
    if value is None:
        value = make()
        conn.execute(course_meta.insert().values(key=key, value=value))
    return value


def course_secret(conn: Connection) -> str:
    """The course's secret for pseudonyms and post ids, made on first use (in the caller's write)."""
    return _made(conn, SECRET, lambda: secrets.token_hex(32))


def make_course_secret(engine: Engine) -> str:
    """The course secret, made in a write of its own when the log has none (two collects at once: one wins)."""
    return schema.write(engine, course_secret)


def feed_salt(engine: Engine, week: int) -> str:
    """The salt of week ``week``'s peer-feed assignment, made when it is first published and kept.

    Republishing a week (after a late submission, or to fix a post) reuses it, so students keep the
    classmates they were given.
    """
    with engine.connect() as conn:  # republishing (the usual case) only reads it
        salt = kept(conn, _salt_key(week))
    if salt is not None:
        return salt
    return schema.write(engine, lambda conn: _made(conn, _salt_key(week), lambda: secrets.token_hex(8)))


def read_secret(conn: Connection, where: str) -> str:
    """The course secret, for a reader; ``LogError`` when no collect has made one yet."""
    value = kept(conn, SECRET)
    if value is None:
        raise LogError(f"the log at {where} has no course secret yet: run 'coursekit collect' first")
    return value
