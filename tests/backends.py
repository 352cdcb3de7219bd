"""The two database backends every log test runs on: a SQLite file and a real PostgreSQL server.

PostgreSQL is reached through COURSEKIT_TEST_POSTGRES_URL (``.ci/run`` starts a server and sets it).
Without it, PostgreSQL tests skip on a developer's machine and fail under CI (CI=true), as the
browser tests do. Each test gets its own PostgreSQL schema (fast to make, dropped afterwards), so
tests never see each other's rows. The URLs handed to tests carry no password: it goes to
PGPASSWORD, as the README tells a teaching team to do.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from missing import missing
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from coursekit.log.schema import database_url, make_engine

POSTGRES_ENV = "COURSEKIT_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]
PREFIX = "ck_test_"


def require_postgres() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    missing(f"{POSTGRES_ENV} is not set: point it at a PostgreSQL database the tests may use (.ci/run sets one up)")


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
