"""One log for every command, and the command line's edges: options that do not apply, wrong folders.

The course's log is named in its course.toml: a SQLite file beside it (mylog.db), or a PostgreSQL
URL, as a teaching team on a JupyterHub has it.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import course_toml, filled_notebook, student_answers, write_notebook

from coursekit.cli import main
from coursekit.log.frames import open_log


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def log(backend, db, tmp_path) -> str:
    """The log course.toml names: mylog.db in the course folder, or a PostgreSQL URL."""
    return str(tmp_path / "course" / "mylog.db") if backend == "sqlite" else db


@pytest.fixture
def course(tmp_path, reading, monkeypatch, backend, log):
    """A course folder whose course.toml names its own log, with two students' week 1."""
    folder = tmp_path / "course"
    for n, student in enumerate(["ann", "bob"]):
        notebook = filled_notebook(reading, 1, student_answers(reading, 1, student))
        write_notebook(folder / "submissions" / student / "week01.ipynb", notebook, mtime=1_700_000_000 + n)
    course_toml(folder, reading, "mylog.db" if backend == "sqlite" else log)
    (folder / "deep" / "inside").mkdir(parents=True)
    monkeypatch.chdir(folder)
    return folder


def test_every_command_uses_the_log_named_in_course_toml(course, reading, tmp_path, monkeypatch, backend, log):
    first = run("collect", "submissions")
    assert first.exit_code == 0, first.output
    assert len(open_log(log).reflections()) == 2 * len(reading.prompts_for(1))
    if backend == "sqlite":
        assert "creating a new, empty one" in first.output and (course / "mylog.db").is_file()
    else:
        assert not list(course.rglob("*.db"))
    assert not (course / "class.db").exists() and not (course / "coursekit.db").exists()
    again = run("collect", "submissions")
    assert "creating" not in again.output and "already held everything" in again.output

    monkeypatch.chdir(course / "deep" / "inside")  # course.toml is found from the working folder up
    exported = run("export", "--out", str(tmp_path / "log.csv"))
    assert exported.exit_code == 0, exported.output
    assert f"wrote {2 * len(reading.prompts_for(1))} row(s)" in exported.output
    site = run("publish", "--out", str(tmp_path / "site"))
    assert site.exit_code == 0 and (tmp_path / "site" / "index.html").is_file(), site.output
    feed = run("publish", "--feed", "--week", "1", "--out", str(tmp_path / "feed"))
    assert feed.exit_code == 0 and (tmp_path / "feed" / "week01.json").is_file(), feed.output
    assert not list((course / "deep").rglob("*.db"))

    monkeypatch.chdir(tmp_path)  # outside the course: --settings names it, --db overrides it
    other = tmp_path / "other.db"
    assert run("export", "--settings", str(course / "course.toml"), "--out", str(tmp_path / "b.csv")).exit_code == 0
    missing = run("export", "--settings", str(course / "course.toml"), "--db", str(other))
    assert missing.exit_code == 2 and "no discussion log at" in missing.output and not other.exists()


def test_readers_refuse_a_missing_log_and_create_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in (["export"], ["publish", "--out", "site"], ["publish", "--feed", "--week", "1"]):
        result = run(*command)
        assert result.exit_code == 2 and "no discussion log at" in result.output, (command, result.output)
    assert not list(tmp_path.iterdir())


def test_publish_refuses_week_without_feed(course):
    run("collect", "submissions")
    result = run("publish", "--week", "1", "--out", "feed/")
    assert result.exit_code == 2
    assert "--week applies only to --feed" in result.output and not (course / "feed").exists()


def test_collect_on_a_student_folder_says_so(course):
    result = run("collect", "submissions/ann")
    assert result.exit_code == 2
    assert "looks like one student's folder" in result.output and "submissions" in result.output
    assert not (course / "mylog.db").exists()
    assert "run 'coursekit collect' first" in run("export").output  # no log was made on either backend


def test_a_run_where_files_failed_never_claims_the_log_held_everything(course):
    (course / "submissions" / "ann" / "week01.ipynb").write_text("{not json")
    (course / "submissions" / "bob" / "week01.ipynb").write_text("")
    result = run("collect", "submissions")
    assert result.exit_code == 1 and "2 failed" in result.output
    assert "already held everything" not in result.output and "0 changed." in result.output


def test_text_in_a_new_cell_after_a_prompt_is_reported(course, reading, log):
    path = course / "submissions" / "ann" / "week01.ipynb"
    notebook = json.loads(path.read_text())
    prompt = reading.prompts_for(1)[0]
    at = next(
        i for i, c in enumerate(notebook["cells"]) if c["metadata"].get("coursekit", {}).get("prompt_id") == prompt.id
    )
    stray = {"cell_type": "code", "metadata": {}, "source": "My real answer typed in a new cell", "outputs": []}
    notebook["cells"].insert(at + 2, stray | {"execution_count": None, "id": "stray"})
    write_notebook(path, notebook)
    result = run("collect", "submissions", "--verbose")
    line = next(line for line in result.output.splitlines() if "ann" in line)
    assert f"text in an untagged cell after prompt {prompt.id}" in result.output, result.output
    assert "move it into the reflection cell" in result.output and "collected" in line
    assert "bob" in result.output and "untagged" not in next(x for x in result.output.splitlines() if "bob" in x)
    assert len(open_log(log).reflections()) == 2 * len(reading.prompts_for(1))


def test_options_that_do_not_apply_are_refused(course):
    run("collect", "submissions")
    feed = run("publish", "--feed", "--week", "1", "--title", "Mine", "--out", "feed")
    assert feed.exit_code == 2 and "--title apply only to the site" in feed.output and not (course / "feed").exists()
    history = run("export", "--history", "--format", "markdown")
    assert history.exit_code == 2 and "--history is a CSV" in history.output
    assert run("publish", "--feed", "--week", "1", "--out", "feed").exit_code == 0  # without them it works
