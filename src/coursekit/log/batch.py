"""Many writes to the log per transaction, each in its own savepoint (``collect`` stores through it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import IntegrityError, OperationalError

from coursekit.log import schema

T = TypeVar("T")


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
