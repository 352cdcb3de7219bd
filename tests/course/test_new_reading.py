"""A second, made-up reading from ``coursekit new-reading``: it builds, passes nbval, releases and collects.

The course is not tied to its one article: the made-up reading sits beside the real one, and every
step finds it through course.toml's ``reading =`` or the id the notebook names.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import READING_DIR, filled_notebook, write_notebook

from coursekit.cli import main
from coursekit.course.reading import FILES, ReadingError, load_reading
from coursekit.course.scaffold import new_reading
from coursekit.log.frames import open_log

COURSEKIT = [sys.executable, "-m", "coursekit.cli"]
COURSE_TOML = """\
[course]
name = "A made-up course"
reading = "readings/made-up-2026"
database = "class.db"

[rubric]
[[rubric.criteria]]
id = "understanding"
points = 4

[[weeks]]
week = 1
notebook = "week01-first-week"
deadline = 2026-09-11T23:59:00Z
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.slow
def test_a_made_up_reading_builds_passes_nbval_and_collects(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(READING_DIR, course / "readings" / READING_DIR.name)  # the real one stays beside it
    made = CliRunner().invoke(
        main, ["new-reading", "made-up-2026", "--title", "A made-up article", "--into", str(course / "readings")]
    )
    assert made.exit_code == 0, made.output
    (course / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    reading = load_reading(course / "readings" / "made-up-2026")
    assert reading.id == "made-up-2026" and reading.citation.title == "A made-up article"

    run(*COURSEKIT, "build", "readings/made-up-2026", "--out", "notebooks", cwd=course)
    notebook = course / "notebooks" / "week01-first-week.ipynb"
    assert notebook.is_file()
    nbval = [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider", "-q"]
    assert " passed" in run(*nbval, str(notebook), cwd=course).stdout

    released = run(*COURSEKIT, "release", "--week", "1", cwd=course)  # course.toml's reading, not the other one
    assert (course / "release" / "week01" / "week01-first-week.ipynb").is_file(), released.stdout

    texts = {
        p.id: f"My own view, student {n}: the made-up article argues something I can test."
        for n, p in enumerate(reading.prompts_for(1))
    }
    for student in ("ann", "bo"):
        write_notebook(course / "submissions" / student / "week01.ipynb", filled_notebook(reading, 1, texts))
    run(*COURSEKIT, "collect", "submissions", cwd=course)
    reflections = open_log(str(course / "class.db")).reflections()
    assert sorted(reflections.student) == ["ann", "bo"]
    assert set(reflections.prompt_id) == {"w1-first"} and set(reflections.text) == set(texts.values())


def test_new_reading_refuses_an_unsafe_name_and_a_folder_that_exists(tmp_path):
    for name in ("../escape", "two words", "", ".hidden", "x" * 80):
        with pytest.raises(ReadingError, match="not a safe folder name"):
            new_reading(name, tmp_path)
    new_reading("second", tmp_path)
    before = {name: (tmp_path / "second" / name).read_text() for name in FILES}
    refused = CliRunner().invoke(main, ["new-reading", "second", "--into", str(tmp_path)])
    assert refused.exit_code == 2 and "exists already" in refused.output
    assert before == {name: (tmp_path / "second" / name).read_text() for name in FILES}
    assert not list(tmp_path.glob("escape*")) and sorted(p.name for p in tmp_path.iterdir()) == ["second"]
