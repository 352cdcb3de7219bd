"""The class discussion log: its database schema and every write to it (SQLAlchemy Core).

A SQLite file is the default; any SQLAlchemy URL works. Each submission file is written in its
own transaction, so a failure in one never undoes another student's work. Reflections keep
every version: ``reflections`` holds the current text, ``reflection_versions`` all of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)

from coursekit.extract import Extracted

metadata = MetaData()

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("student", String(200), nullable=False),
    Column("notebook", String(200), nullable=False),
    Column("week", Integer),
    Column("path", Text, nullable=False),
    Column("file_hash", String(64), nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("collected_at", DateTime, nullable=False),
    UniqueConstraint("student", "notebook"),
)

reflections = Table(
    "reflections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False),
    Column("student", String(200), nullable=False),
    Column("notebook", String(200), nullable=False),
    Column("week", Integer),
    Column("prompt_id", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("word_count", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("collected_at", DateTime, nullable=False),
    UniqueConstraint("student", "notebook", "prompt_id"),
)

reflection_versions = Table(
    "reflection_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reflection_id", Integer, ForeignKey("reflections.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("word_count", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("collected_at", DateTime, nullable=False),
    UniqueConstraint("reflection_id", "version"),
)


def database_url(target: str | Path) -> str:
    """Accept a SQLAlchemy URL as is, and turn a plain path into a SQLite URL."""
    text = str(target)
    return text if "://" in text else f"sqlite:///{Path(text).expanduser().resolve()}"


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the review notebook) never block collect
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_database(target: str | Path, create: bool = True) -> Engine:
    """An engine on the log, creating its tables when ``create`` (the default)."""
    url = database_url(target)
    if url.startswith("sqlite:///") and not create:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise FileNotFoundError(f"no discussion log at {path}: run 'coursekit collect' first")
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    if create:
        metadata.create_all(engine)
    return engine


class Outcome(enum.StrEnum):
    NEW = "collected"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Stored:
    outcome: Outcome
    changed_reflections: int


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def store_submission(
    engine: Engine,
    student: str,
    extracted: Extracted,
    path: str,
    file_hash: str,
    submitted_at: datetime,
) -> Stored:
    """Write one extracted submission; unchanged text is left alone, changed text gets a version."""
    collected_at = now()
    with engine.begin() as conn:
        existing = conn.execute(
            select(submissions).where(submissions.c.student == student, submissions.c.notebook == extracted.notebook)
        ).first()
        if existing is not None and existing.file_hash == file_hash:
            return Stored(Outcome.UNCHANGED, 0)
        values = dict(
            week=extracted.week,
            path=path,
            file_hash=file_hash,
            submitted_at=submitted_at,
            collected_at=collected_at,
        )
        if existing is None:
            submission_id = conn.execute(
                submissions.insert().values(student=student, notebook=extracted.notebook, **values)
            ).inserted_primary_key[0]
        else:
            submission_id = existing.id
            conn.execute(submissions.update().where(submissions.c.id == submission_id).values(**values))

        current = {
            row.prompt_id: row
            for row in conn.execute(
                select(reflections).where(
                    reflections.c.student == student, reflections.c.notebook == extracted.notebook
                )
            )
        }
        changed = 0
        for reflection in extracted.reflections:
            row = current.get(reflection.prompt_id)
            if row is not None and row.content_hash == reflection.content_hash:
                continue
            changed += 1
            version = 1 if row is None else row.version + 1
            text_values = dict(
                text=reflection.text,
                word_count=reflection.word_count,
                content_hash=reflection.content_hash,
                version=version,
                submitted_at=submitted_at,
                collected_at=collected_at,
            )
            if row is None:
                reflection_id = conn.execute(
                    reflections.insert().values(
                        submission_id=submission_id,
                        student=student,
                        notebook=extracted.notebook,
                        week=extracted.week,
                        prompt_id=reflection.prompt_id,
                        **text_values,
                    )
                ).inserted_primary_key[0]
            else:
                reflection_id = row.id
                conn.execute(reflections.update().where(reflections.c.id == row.id).values(**text_values))
            conn.execute(reflection_versions.insert().values(reflection_id=reflection_id, **text_values))

    if existing is None:
        return Stored(Outcome.NEW, changed)
    return Stored(Outcome.UPDATED if changed else Outcome.UNCHANGED, changed)
