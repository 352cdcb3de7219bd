"""Shared fixtures: the real reading, and generated student submissions built from it."""

from __future__ import annotations

from pathlib import Path

import markers
import pytest
from backends import BACKENDS, fresh_database, require_postgres, stop_throwaway

from coursekit.course.reading import Reading, load_reading
from coursekit.log.demo import filled_notebook, with_saved, write_notebook

__all__ = ["filled_notebook", "with_saved", "write_notebook"]

ROOT = Path(__file__).resolve().parents[1]
READING_DIR = ROOT / "readings" / "kreiss-finn-turner-2011"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def reading() -> Reading:
    return load_reading(READING_DIR)


def student_answers(reading: Reading, week: int, student: str) -> dict[str, str]:
    return {
        p.id: f"{student} thinks about {p.id}: bureaucracy protects rights while peer production "
        f"spreads work across many hands, and both need accountability."
        for p in reading.prompts_for(week)
    }


def course_toml(folder: Path, reading: Reading, database: str | Path) -> Path:
    """The course's own course.toml written into ``folder``, pointed at ``reading`` and the log ``database``."""
    path = folder / "course.toml"
    path.write_text(
        (ROOT / "course.toml")
        .read_text()
        .replace('reading = "readings/kreiss-finn-turner-2011"', f'reading = "{reading.path}"')
        .replace('database = "class.db"', f'database = "{database}"')
    )
    return path


@pytest.fixture
def make_class(reading, tmp_path):
    """Build ``n`` week-1 submissions under tmp_path/submissions; return the folder."""

    def build(n: int, week: int = 1) -> Path:
        root = tmp_path / "submissions"
        name = f"week{week:02d}.ipynb"
        for i in range(n):
            student = f"student{i:02d}"
            notebook = filled_notebook(reading, week, student_answers(reading, week, student))
            write_notebook(root / student / name, notebook, mtime=1_700_000_000 + i)
        return root

    return build


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item):
    """Record the running test (its fixtures' setup and teardown included) for ``markers.require``."""
    markers.running.item = item
    try:
        return (yield)
    finally:
        markers.running.item = None


@pytest.fixture(scope="session", autouse=True)
def bubblewrap_needs_the_sandbox_marker():
    """A test that builds a bubblewrap command (a sandboxed run, or validate's check that one works) is marked.

    Session scope, so that module-scoped fixtures running validate are guarded too; ``runner`` holds
    its own name for the function.
    """
    from coursekit.validation import runner, sandbox

    checked = markers.guarded("sandbox", sandbox.sandbox_command)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox, "sandbox_command", checked)
        patch.setattr(runner, "sandbox_command", checked)
        yield


@pytest.fixture(scope="session", autouse=True)
def throwaway_postgres_server():
    """The throwaway PostgreSQL server the first PostgreSQL test starts (when no URL is given), removed at the end."""
    yield
    stop_throwaway()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    """Every test of the log runs on SQLite and on PostgreSQL (module scope: shared classes build once each)."""
    if request.param == "postgresql":
        require_postgres()
    return request.param


@pytest.fixture
def db(backend, tmp_path):
    """A new, empty log on the test's backend: a SQLite path or a PostgreSQL URL."""
    with fresh_database(backend, tmp_path) as url:
        yield url
