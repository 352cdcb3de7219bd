"""The collect and export commands over a generated class folder, against a real log on each backend."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from backends import rows
from click.testing import CliRunner
from conftest import course_toml, filled_notebook, student_answers, write_notebook

from coursekit.cli import main
from coursekit.log.frames import open_log


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Run in the test's folder: a PostgreSQL log's collect report lands in the working folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def messy_class(make_class):
    """30 week-1 submissions; 3 broken in different ways."""
    root = make_class(30)
    (root / "student03" / "week01.ipynb").write_bytes(b"")  # empty upload
    path = root / "student11" / "week01.ipynb"
    path.write_bytes(path.read_bytes()[:700])  # truncated
    notebook = json.loads((root / "student22" / "week01.ipynb").read_text())
    notebook["cells"] = [c for c in notebook["cells"] if c["metadata"].get("coursekit", {}).get("role") != "prompt"]
    write_notebook(root / "student22" / "week01.ipynb", notebook)  # prompt cells deleted
    return root


def test_thirty_submissions_three_broken(messy_class, tmp_path, reading, db):
    result = run("collect", str(messy_class), "--db", str(db))
    assert result.exit_code == 1
    assert "27 collected" in result.output and "3 failed" in result.output
    for student, reason in [("student03", "empty"), ("student11", "not valid JSON"), ("student22", "was deleted")]:
        line = next(line for line in result.output.splitlines() if student in line)
        assert line.startswith("failed") and reason in line, line  # the reason on that file's own line
    per_notebook = len(reading.prompts_for(1))
    assert rows(db, "select count(*) from reflections")[0][0] == 27 * per_notebook
    assert rows(db, "select count(distinct student) from reflections")[0][0] == 27

    again = run("collect", str(messy_class), "--db", str(db))
    assert again.exit_code == 1
    assert "27 unchanged" in again.output and "0 changed" in again.output
    assert rows(db, "select count(*) from reflection_versions")[0][0] == 27 * per_notebook


def test_resubmission_changes_only_that_student_and_keeps_history(make_class, tmp_path, reading, db):
    root = make_class(5)
    assert run("collect", str(root), "--db", str(db)).exit_code == 0
    before = open_log(db).reflections().set_index(["student", "prompt_id"])

    prompt = reading.prompts_for(1)[0]
    answers = {p.id: before.loc[("student02", p.id), "text"] for p in reading.prompts_for(1)}
    answers[prompt.id] = "I changed my mind after the lecture: accountability matters more than I said."
    write_notebook(root / "student02" / "week01.ipynb", filled_notebook(reading, 1, answers), mtime=1_800_000_000)

    result = run("collect", str(root), "--db", str(db))
    assert result.exit_code == 0
    assert "1 updated" in result.output and "4 unchanged" in result.output and "1 changed" in result.output
    after = open_log(db).reflections().set_index(["student", "prompt_id"])
    changed = (before["text"] != after["text"]) | (before["version"] != after["version"])
    assert list(changed[changed].index) == [("student02", prompt.id)]
    assert after.loc[("student02", prompt.id), "version"] == 2

    history = open_log(db).history()
    mine = history[(history.student == "student02") & (history.prompt_id == prompt.id)]
    assert list(mine.version) == [1, 2]
    assert list(mine.current) == [False, True]
    assert mine.iloc[0].text == before.loc[("student02", prompt.id), "text"]


def test_a_changed_file_is_read_again_even_when_its_modification_time_is_not(make_class, reading, db):
    """A copy tool or an LMS download may keep the old time stamp: the content decides, not the clock."""
    root = make_class(2)
    assert run("collect", str(root), "--db", str(db)).exit_code == 0
    path = root / "student01" / "week01.ipynb"
    before = path.stat()
    new = "A longer, rewritten reflection after the lecture on accountability."
    texts = {p.id: new for p in reading.prompts_for(1)}
    write_notebook(path, filled_notebook(reading, 1, texts))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same modification time, new content
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_size != before.st_size

    result = run("collect", str(root), "--db", str(db), "--verbose")  # a line for every file
    line = next(line for line in result.output.splitlines() if "student01" in line)
    assert line.startswith("updated"), line
    stored = rows(db, "select distinct text from reflections where student = 'student01'")
    assert stored == [(new,)]


def test_duplicate_upload_uses_newest_and_says_so(make_class, tmp_path, reading, db):
    root = make_class(2)
    newer = filled_notebook(reading, 1, {reading.prompts_for(1)[0].id: "the final version"})
    write_notebook(root / "student01" / "week01-1.ipynb", newer, mtime=1_900_000_000)
    result = run("collect", str(root), "--db", str(db))
    assert result.exit_code == 0
    assert "1 duplicate" in result.output
    texts = rows(db, "select text from reflections where student='student01'")
    assert ("the final version",) in texts


def test_layout_problems_are_reported_without_stopping(make_class, tmp_path, db):
    root = make_class(2)
    (root / "empty-student").mkdir()
    (root / "stray.ipynb").write_text("{}")
    (root / ".ipynb_checkpoints").mkdir()
    result = run("collect", str(root), "--db", str(db))
    assert result.exit_code == 1
    assert "2 collected" in result.output and "2 failed" in result.output
    assert "holds no .ipynb" in result.output and "not inside a student folder" in result.output


def test_a_name_longer_than_the_log_keeps_fails_that_file_on_every_backend(make_class, reading, db):
    """PostgreSQL enforces column lengths and SQLite does not: both report the same clear failure."""
    root = make_class(2)
    long_name = "x" * 230
    notebook = filled_notebook(reading, 1, student_answers(reading, 1, "x"))
    write_notebook(root / long_name / "week01.ipynb", notebook)
    result = run("collect", str(root), "--db", str(db))
    assert result.exit_code == 1
    assert "2 collected" in result.output and "1 failed" in result.output
    assert "student is 230 characters long; the log keeps at most 200" in result.output
    assert rows(db, "select count(distinct student) from submissions") == [(2,)]


def test_wrong_folder_is_a_clear_error(tmp_path, db):
    result = CliRunner().invoke(main, ["collect", str(tmp_path / "nope"), "--db", db])
    assert result.exit_code == 2
    assert "no such folder" in result.output
    # a mistyped folder leaves no empty log behind: there is still nothing to export
    assert "run 'coursekit collect' first" in CliRunner().invoke(main, ["export", "--db", db]).output


def test_export_csv_reads_back_one_row_per_reflection(make_class, tmp_path, reading, db):
    root = make_class(3)
    hostile = {p.id: '=HYPERLINK("http://evil.example","click")' for p in reading.prompts_for(1)}
    write_notebook(root / "student00" / "week01.ipynb", filled_notebook(reading, 1, hostile), mtime=1_900_000_000)
    run("collect", str(root), "--db", str(db))
    out = tmp_path / "log.csv"
    result = run("export", "--db", str(db), "--format", "csv", "--out", str(out))
    assert result.exit_code == 0
    frame = pd.read_csv(out)
    assert len(frame) == 3 * len(reading.prompts_for(1))
    assert frame.duplicated(["student", "prompt_id"]).sum() == 0
    assert set(frame.columns) >= {"student", "notebook", "week", "prompt_id", "text", "word_count", "submitted_at"}
    for value in frame.astype(str).values.ravel():
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert (frame.text == '\'=HYPERLINK("http://evil.example","click")').sum() == len(reading.prompts_for(1))

    stdout = run("export", "--db", str(db), "--format", "csv")
    assert len(pd.read_csv(io.StringIO(stdout.output))) == len(frame)


def test_export_markdown_groups_by_prompt_and_escapes_html(make_class, tmp_path, reading, db):
    root = make_class(2)
    hostile = {p.id: "<script>alert(1)</script> fine" for p in reading.prompts_for(1)}
    write_notebook(root / "student00" / "week01.ipynb", filled_notebook(reading, 1, hostile), mtime=1_900_000_000)
    run("collect", str(root), "--db", str(db))
    text = run("export", "--db", str(db), "--format", "markdown").output
    for prompt in reading.prompts_for(1):
        assert f"prompt `{prompt.id}`" in text  # no course.toml, no reading: the ids are all there is
    assert "<script>" not in text and "&lt;script&gt;" in text

    course_toml(tmp_path, reading, db)  # with the course's reading: titles, in the notebook's order
    text = run("export", "--format", "markdown").output
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [f"## Week 1: Reflection {n}" for n in range(1, len(reading.prompts_for(1)) + 1)]


def test_export_without_log_says_what_to_do(tmp_path, db):
    result = CliRunner().invoke(main, ["export", "--db", db])
    assert result.exit_code == 2
    assert "coursekit collect" in result.output


def test_many_files_print_a_line_only_for_what_needs_a_look(messy_class, tmp_path, reading, monkeypatch, backend, db):
    """Failures, duplicates and changes get a line; the rest is counted by status and week and in the CSV."""
    monkeypatch.setattr("coursekit.cli.intake._CollectDisplay.PLAIN_EVERY", 0.0)  # a plain progress line per file
    result = run("collect", str(messy_class), "--db", str(db))
    lines = result.output.splitlines()
    per_file = [line for line in lines if line.startswith(("collected ", "unchanged ", "failed ", "updated "))]
    assert [line.split()[0] for line in per_file] == ["failed"] * 3
    assert any(line.startswith("… ") and "files/s" in line and "s left" in line for line in lines)
    table = next(i for i, line in enumerate(lines) if "files by status and week" in line)
    assert "week 1" in lines[table + 2] and "total" in lines[table + 2]
    assert next(line for line in lines if "collected" in line and "│" in line).split("│")[2].strip() == "27"

    # the default: beside a SQLite log, in the working folder for a server's
    default = (
        Path(db).with_name(f"{Path(db).stem}-collect.csv") if backend == "sqlite" else tmp_path / "collect-report.csv"
    )
    report = pd.read_csv(default)
    assert len(report) == 30 and report.status.value_counts().to_dict() == {"collected": 27, "failed": 3}
    assert set(report.columns) == {"status", "student", "matched_by", "notebook", "week", "path", "detail", "hint"}

    newer = filled_notebook(reading, 1, {reading.prompts_for(1)[0].id: "the final version"})
    write_notebook(messy_class / "student05" / "week01.ipynb", newer, mtime=1_900_000_000)
    again = run("collect", str(messy_class), "--db", str(db), "--report", str(tmp_path / "again.csv"))
    per_file = [line.split()[:2] for line in again.output.splitlines() if line.startswith(("updated", "unchanged"))]
    assert per_file == [["updated", "student05/week01.ipynb"]]
    assert len(pd.read_csv(tmp_path / "again.csv")) == 30

    verbose = run("collect", str(messy_class), "--db", str(db), "--verbose")
    assert sum(line.startswith("unchanged ") for line in verbose.output.splitlines()) == 27


def test_report_cells_are_spreadsheet_safe(make_class, tmp_path, db):
    root = make_class(1)
    (root / "=cmd").mkdir()
    (root / "=cmd" / "week01.ipynb").write_bytes(b"")
    run("collect", str(root), "--db", str(db), "--report", str(tmp_path / "r.csv"))
    frame = pd.read_csv(tmp_path / "r.csv")
    assert "'=cmd" in set(frame.student)


def test_terminal_shows_one_progress_bar_with_rate_and_time_left(make_class, monkeypatch, db):
    from rich.console import Console

    screen = io.StringIO()
    monkeypatch.setattr("coursekit.cli.output.console", Console(file=screen, force_terminal=True, width=100))
    root = make_class(3)
    assert run("collect", str(root), "--db", str(db)).exit_code == 0
    shown = screen.getvalue()
    assert "collecting" in shown and "3/3" in shown and "━" in shown
    assert "files/s" in shown or "0:00:00" in shown
