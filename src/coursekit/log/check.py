"""``coursekit db check``: is the log whole? Storage, references, versions and current values.

Each check is a query over the schema in ``tables`` (foreign keys, the references no foreign key
can state, and the versioned tables are read from it), so a table a later revision adds is
checked too. The result is a list of problems, each saying what is wrong and how many rows; an
empty list means the log is sound.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Engine, and_, exists, func, or_, select
from sqlalchemy.exc import DatabaseError, OperationalError

from coursekit.log import schema
from coursekit.log.tables import (
    REFERENCES,
    VERSIONED,
    Reference,
    Versioned,
    answers,
    metadata,
    reflections,
    submissions,
)

SHOWN_IDS = 5  # ids listed per problem, enough to find the rows


def _ids(conn: Connection, query) -> list:
    return [row[0] for row in conn.execute(query.limit(SHOWN_IDS + 1))]


def _problem(what: str, ids: list, count: int) -> str:
    listed = ", ".join(str(i) for i in ids[:SHOWN_IDS]) + (", …" if count > SHOWN_IDS else "")
    return f"{count} {what} (ids {listed})"


def _count_and_ids(conn: Connection, query, key) -> tuple[int, list]:
    count = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    return count, _ids(conn, query.order_by(key)) if count else []


def storage(conn: Connection) -> list[str]:
    """SQLite's own integrity check (PostgreSQL checks its storage itself)."""
    if conn.dialect.name != "sqlite":
        return []
    result = [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]
    return [] if result == ["ok"] else [f"SQLite integrity check: {line}" for line in result]


def orphans(conn: Connection) -> list[str]:
    """Rows pointing at a row that does not exist: every foreign key, and every reference in ``REFERENCES``."""
    keys = [
        Reference((key.parent,), ((key.column,),)) for table in metadata.sorted_tables for key in table.foreign_keys
    ]
    problems = []
    for reference in (*keys, *REFERENCES):
        table = reference.columns[0].table
        conditions: list[ColumnElement[bool]] = [column.is_not(None) for column in reference.columns]
        for target in reference.targets:
            parent = target[0].table.alias()  # an alias: a table may point at itself (a review it was based on)
            pairs = zip(target, reference.columns, strict=True)
            conditions.append(~exists().where(*(parent.c[theirs.name] == ours for theirs, ours in pairs)))
        count, ids = _count_and_ids(conn, select(table.c.id).where(*conditions), table.c.id)
        if count:
            parents = " or ".join(target[0].table.name for target in reference.targets)
            problems.append(_problem(f"{table.name} rows point at a missing {parents} row", ids, count))
    return problems


def versions(conn: Connection, versioned: Versioned) -> list[str]:
    """Current rows whose history is out of step: a gap, a missing latest version, or other content."""
    current, history = versioned.current, versioned.history
    link = history.c[versioned.history_link]
    per_row = (
        select(link.label("owner"), func.count().label("n"), func.max(history.c.version).label("top"))
        .group_by(link)
        .subquery()
    )
    out_of_step = (
        select(current.c.id)
        .select_from(current.outerjoin(per_row, per_row.c.owner == current.c.id))
        .where(or_(per_row.c.owner.is_(None), per_row.c.top != current.c.version, per_row.c.n != current.c.version))
    )
    shared = [c.name for c in history.columns if c.name not in ("id", versioned.history_link)]
    latest = history.alias("latest")
    disagree = (
        select(current.c.id)
        .select_from(
            current.join(
                latest, and_(latest.c[versioned.history_link] == current.c.id, latest.c.version == current.c.version)
            )
        )
        .where(or_(*(latest.c[name] != current.c[name] for name in shared)))
    )
    problems = []
    for what, query in (
        (f"{current.name} whose versions are out of step with {history.name}", out_of_step),
        (f"{current.name} that disagree with their latest row in {history.name}", disagree),
    ):
        count, ids = _count_and_ids(conn, query, current.c.id)
        if count:
            problems.append(_problem(what, ids, count))
    return problems


def half_stored(conn: Connection) -> list[str]:
    """Submissions with nothing stored under them (every notebook has reflections or answers)."""
    empty = select(submissions.c.id).where(
        ~exists().where(reflections.c.submission_id == submissions.c.id),
        ~exists().where(answers.c.submission_id == submissions.c.id),
    )
    count, ids = _count_and_ids(conn, empty, submissions.c.id)
    return [_problem("submissions with no reflection or answer stored", ids, count)] if count else []


def check_log(engine: Engine) -> list[str]:
    """Every problem found in the log; an empty list means it is sound.

    A SQLite file damaged so badly that SQLite stops reading it (at connecting, or in the middle of
    its own integrity check) is that one problem, not a crash.
    """
    try:
        with engine.connect() as conn:
            return _problems(conn, engine)
    except DatabaseError as exc:
        if engine.dialect.name != "sqlite" or isinstance(exc, OperationalError):  # a lock, a server: not damage
            raise
        return [f"SQLite cannot read the file: {exc.orig} (restore the log from a backup)"]


def _problems(conn: Connection, engine: Engine) -> list[str]:
    problems = storage(conn)  # first: on a damaged file even reading its schema version can fail
    if problems:
        return problems  # a damaged file: the queries below could mislead
    why = schema.problem(schema.revision(conn), schema.shown(engine))
    if why:
        return [why]
    problems += orphans(conn)
    for versioned in VERSIONED:
        problems += versions(conn, versioned)
    problems += half_stored(conn)
    return problems
