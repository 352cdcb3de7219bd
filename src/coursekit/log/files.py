"""What each collected file was when it was last read, so a rerun skips files that did not change.

``collected_files`` remembers a stored file's size, change stamp and hash; ``collect`` asks about
a few thousand files at once (``tracked_files``) and records each file it stores (``track_file``)
in the same savepoint as the submission.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Connection, Text, bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from coursekit.log.tables import collected_files, now


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
