"""Which schema a log has, and bringing it to the one this coursekit writes (Alembic, no alembic.ini).

A log records its schema version in Alembic's ``alembic_version`` table. A log made before
versions existed has the tables but not that table: it is the baseline revision, unstamped.
Every command opens the log through :func:`open_database`, which creates a new log (under a lock, so
several processes may race to create it) and refuses, naming the command to run, a log that needs
``coursekit db upgrade`` or one made by a newer coursekit.

Engines are tuned for sharing: SQLite runs in WAL mode with a busy timeout and takes its write
lock at the start of a write transaction (``BEGIN IMMEDIATE``), so two writers queue instead of
failing; :func:`write` retries a whole transaction that still met a lock, a deadlock or a row
another process stored first.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DatabaseError, DBAPIError, IntegrityError, OperationalError

from coursekit.course.problems import CoursekitError

SCRIPTS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema as it was before versions; a log without alembic_version has it
UNVERSIONED = "unversioned"
BUSY_SECONDS = 30.0  # how long a SQLite writer waits for another one before giving up
ATTEMPTS = 6  # tries of one write transaction (locks, deadlocks, a row a concurrent process stored)
_PG_SCHEMA_LOCK = 0x636B_6C6F_67  # pg_advisory_xact_lock key serialising schema changes ("cklog")

T = TypeVar("T")


class LogError(CoursekitError):
    """A log that cannot be used as it is; the message says what to do."""


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL: a plain path is a SQLite file, ``postgresql://`` uses psycopg 3.

    Only SQLite and PostgreSQL are tested (locks, upserts, types), so any other URL is refused.
    """
    text_ = str(target)
    if "://" not in text_:
        return f"sqlite:///{Path(text_).expanduser().resolve()}"
    scheme, rest = text_.split("://", 1)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return text_
    raise LogError(
        f"{scheme}:// is not a database coursekit keeps its log in: give a SQLite file (class.db) "
        "or a PostgreSQL URL (postgresql://user@host/database)"
    )


def shown(engine: Engine) -> str:
    """The log's location for messages: a SQLite path, or a URL with its password hidden."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.render_as_string(hide_password=True)


def sqlite_path(engine: Engine) -> Path | None:
    return _sqlite_file(engine.url) if engine.url.get_backend_name() == "sqlite" else None


def sqlite_file(target: str | Path) -> Path | None:
    """The SQLite file a log ``target`` (a path or URL) names, without an engine; None for a server's log."""
    url = make_url(database_url(target))
    return _sqlite_file(url) if url.get_backend_name() == "sqlite" else None


def _sqlite_file(url: URL) -> Path:
    """The file of a SQLite URL, also when given as a ``file:`` URI (``?mode=ro&uri=true``: read only)."""
    database = str(url.database)
    return Path(database.removeprefix("file:") if url.query.get("uri") == "true" else database)


def make_engine(target: str | Path) -> Engine:
    """An engine on the log (no schema check; :func:`open_database` does that)."""
    url = make_url(database_url(target))
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves (below), DDL included
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers (the review notebook) never block collect
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # A writer takes the write lock first, so it waits its turn instead of failing half-way.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("coursekit_write") else "BEGIN")

    return engine


@contextmanager
def _write_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn.execution_options(coursekit_write=True)
        with conn.begin():
            yield conn


def driver_message(exc: BaseException) -> str:
    """What the database said, as one clean line: the driver's own words, without SQLAlchemy's SQL and link.

    psycopg's messages span lines ("...Connection refused\n\tIs the server running...?"); printed
    through the command line's escaping they would show a literal ``\n\t``.
    """
    said = str(getattr(exc, "orig", None) or exc)
    return " ".join(line.strip() for line in said.splitlines() if line.strip())


def retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # a concurrent process stored the same row first: the next try sees it
    message = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None)
    return "locked" in message or "busy" in message or code in ("40001", "40P01")


def write(engine: Engine, work: Callable[[Connection], T], attempts: int = ATTEMPTS) -> T:
    """Run ``work`` in one write transaction, retried whole when a concurrent writer got in the way."""
    for attempt in range(attempts):
        try:
            with _write_transaction(engine) as conn:
                return work(conn)
        except (OperationalError, IntegrityError) as exc:
            if attempt == attempts - 1 or not retryable(exc):
                raise
            time.sleep(random.uniform(0.02, 0.05) * 2**attempt)
    raise AssertionError("unreachable")


# Alembic is imported where a schema is made or changed, not by every command that opens a log.


@functools.cache
def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(SCRIPTS))


# The newest migration's revision, kept here so that opening an up-to-date log (every command
# does) need not import Alembic, which costs a tenth of a second. ``tests/log/test_log_schema.py``
# checks it against the scripts: a new migration must move it.
HEAD = "0006"


def head() -> str:
    """The newest revision this coursekit knows."""
    return HEAD


def scripts_head() -> str:
    """The head of the migration scripts themselves (two heads, from two branches' revisions, fail here)."""
    revision = _scripts().get_current_head()
    assert revision is not None, "the package ships its migrations"
    return revision


def revision(conn: Connection) -> str | None:
    """The log's schema revision, :data:`UNVERSIONED` for a log older than versions, None when empty."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or UNVERSIONED
    return UNVERSIONED if "submissions" in tables else None


def _known(rev: str) -> bool:
    from alembic.util import CommandError

    try:
        return _scripts().get_revision(rev) is not None
    except CommandError:
        return False


def problem(rev: str | None, where: str) -> str | None:
    """Why a log at revision ``rev`` cannot be used by this coursekit, or None when it can."""
    current = head()
    if rev is None:
        return f"{where} holds no discussion log: run 'coursekit collect' first"
    if rev == current:
        return None
    if rev != UNVERSIONED and not _known(rev):
        return (
            f"the log at {where} was made by a newer coursekit (schema {rev}; this one knows up to {current}): "
            "upgrade coursekit (pip install -U coursekit) on this machine"
        )
    older = "made before schema versions" if rev == UNVERSIONED else f"schema {rev}"
    return (
        f"the log at {where} has an older schema ({older}; this coursekit needs {current}): "
        f"run 'coursekit db upgrade --db {where}' (it backs a SQLite log up first)"
    )


def _migrate(conn: Connection, *, stamp: str | None = None) -> None:
    """Run the migrations up to the head (after marking an unversioned log as ``stamp``)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = conn
    if stamp:
        command.stamp(config, stamp)
    command.upgrade(config, "head")


def _pragma(conn: Connection, setting: str) -> None:
    """A SQLite pragma outside any transaction (inside one, some are silently ignored)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA {setting}")


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Connection]:
    """A write transaction that no other process changing the schema can enter at the same time."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # A table rebuild (batch migration) must not trip foreign keys; the pragma only works
            # outside a transaction. BEGIN IMMEDIATE then holds SQLite's single write lock.
            _pragma(conn, "foreign_keys=OFF")
        conn.execution_options(coursekit_write=True)
        try:
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SCHEMA_LOCK})
                yield conn
                if engine.dialect.name == "sqlite" and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise LogError(f"{shown(engine)}: the schema change broke references between rows; nothing changed")
        finally:
            if engine.dialect.name == "sqlite":
                _pragma(conn, "foreign_keys=ON")


def open_database(target: str | Path, create: bool = True) -> Engine:
    """An engine on the log at this coursekit's schema, creating a new log when ``create`` (the default).

    Raises ``LogError`` (with the command to run) for a log that needs upgrading, is too new, or
    cannot be read at all. Opened with ``create=False`` (every reader), nothing is written: a
    read-only file or a read-only database role is enough. SQLite engines say BEGIN themselves
    (:func:`make_engine`), which makes per-file savepoints real.
    """
    url = make_url(database_url(target))
    if url.get_backend_name() == "sqlite" and not create and not _sqlite_file(url).is_file():
        raise FileNotFoundError(f"no discussion log at {_sqlite_file(url)}: run 'coursekit collect' first")
    engine = make_engine(target)
    try:
        with engine.connect() as conn:
            rev = revision(conn)
    except DatabaseError as exc:  # no server, no such file to read, not a database, no right to read it
        engine.dispose()
        check = (
            "check that the file is a coursekit log you may read"
            if url.get_backend_name() == "sqlite"
            else "check the URL, that the server runs, and the password in PGPASSWORD or ~/.pgpass"
        )
        raise LogError(f"cannot open the log at {shown(engine)}: {driver_message(exc)} ({check})") from exc
    if rev is None and create:
        with _schema_lock(engine) as conn:
            if revision(conn) is None:  # nobody created it while we waited for the lock
                _migrate(conn)
            rev = revision(conn)
    why = problem(rev, shown(engine))
    if why:
        engine.dispose()
        raise LogError(why)
    return engine


def backup(engine: Engine, destination: Path) -> Path:
    """Copy a SQLite log with SQLite's online backup API (safe while others read and write it).

    The copy is made under a ``.partial`` name and renamed when whole, so a copy cut short (the
    process killed) never passes for a backup; the next backup starts that file afresh.
    """
    source = sqlite_path(engine)
    if source is None:
        raise LogError("backup copies SQLite logs; back a PostgreSQL log up with pg_dump (see the README)")
    if destination.exists():
        raise LogError(f"{destination} already exists: choose a new file name for the backup")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f"{destination.name}.partial")
    for leftover in ("", "-journal", "-wal", "-shm"):  # a stale journal would be replayed into the new copy
        partial.with_name(partial.name + leftover).unlink(missing_ok=True)
    with sqlite3.connect(source, timeout=BUSY_SECONDS) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    partial.replace(destination)
    return destination


def _unused(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``… when it is taken (an upgrade rerun in the same second)."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _up_to_date(rev: str | None, where: str) -> bool:
    """Whether a log at ``rev`` needs no upgrade; raises ``LogError`` for one no upgrade can help."""
    if rev is not None and rev != head() and (rev == UNVERSIONED or _known(rev)):
        return False
    why = problem(rev, where)
    if why:
        raise LogError(why)
    return True


def upgrade(target: str | Path) -> tuple[str, str, Path | None]:
    """Bring a log to this coursekit's schema; return (from, to, the SQLite backup made first).

    The schema lock is taken before the backup and held until the migration commits: a collect
    committing in between would be in the upgraded log but missing from the backup.
    """
    engine = make_engine(target)
    current = head()
    try:
        with engine.connect() as conn:  # a first look, without waiting for the lock
            if _up_to_date(revision(conn), shown(engine)):
                return current, current, None
        with _schema_lock(engine) as conn:
            rev = revision(conn)  # another upgrade may have finished while this one waited
            if _up_to_date(rev, shown(engine)):
                return current, current, None
            copy = None
            path = sqlite_path(engine)
            if path is not None:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
                copy = backup(engine, _unused(path.with_name(f"{path.name}.before-{current}-{stamp}")))
            _migrate(conn, stamp=BASELINE if rev == UNVERSIONED else None)
        return str(rev), current, copy
    finally:
        engine.dispose()
