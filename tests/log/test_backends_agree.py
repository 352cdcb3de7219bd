"""The same class collected into SQLite and into PostgreSQL gives the same exports, byte for byte.

Types (booleans, timestamps), ordering and text round-trips differ between the backends; any such
difference reaching a user shows up here.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from backends import fresh_database, require_postgres
from click.testing import CliRunner

from coursekit.cli import main
from coursekit.log import meta
from coursekit.log.demo import make_class
from coursekit.log.schema import open_database
from coursekit.log.tables import course_meta

SECRET = "b" * 64


def exports(db: str) -> dict[str, str]:
    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["export", "--db", db, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    history = pd.read_csv(io.StringIO(run("--history")))
    assert history["current"].isin([True, False]).all()
    return {
        "reflections": run(),
        "markdown": run("--format", "markdown"),
        "threads": run("--threads"),
        "history": history.drop(columns="collected_at").to_csv(index=False),  # when each run collected differs
    }


@pytest.mark.postgres
def test_sqlite_and_postgresql_export_the_same(reading, tmp_path, monkeypatch):
    require_postgres()
    # each week's feed salt is drawn once and kept in the log: the same one for both makes the class the same
    monkeypatch.setattr(meta.secrets, "token_hex", lambda n: "c" * (2 * n))
    results = []
    for backend in ("sqlite", "postgresql"):
        with fresh_database(backend, tmp_path) as db:
            engine = open_database(db)
            with engine.begin() as conn:
                conn.execute(course_meta.insert().values(key="secret", value=SECRET))
            engine.dispose()
            make_class(reading, tmp_path / backend, students=8, seed=5, db=db)
            results.append(exports(db))
    sqlite, postgresql = results
    assert sqlite["threads"].count("\n") > 20
    for name in sqlite:
        assert sqlite[name] == postgresql[name], name
