"""What coursekit says, and what the course folder keeps out of git: messages a new user trips on."""

from __future__ import annotations

import re
import shutil
import subprocess

from click.testing import CliRunner
from conftest import ROOT
from missing import missing
from sqlalchemy.exc import OperationalError

from coursekit.cli import main
from coursekit.log.schema import driver_message


def test_collect_says_it_creates_a_log_only_when_it_does(tmp_path):
    """A mistyped source stops collect before any log is made, so it must not announce one."""
    db = tmp_path / "new.db"
    result = CliRunner().invoke(main, ["collect", str(tmp_path / "nowhere"), "--db", str(db)])
    assert result.exit_code == 2 and "no such folder or zip" in result.output
    assert "creating" not in result.output and not db.exists()


def test_a_postgresql_error_prints_as_one_clean_line():
    """psycopg's message spans lines; printed through the escaping of user text it showed a literal \\n\\t."""
    result = CliRunner().invoke(main, ["export", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 2
    message = result.output.strip()
    assert message.startswith("error: cannot open the log at ") and "\n" not in message
    assert "\\n" not in message and "\\t" not in message and "Connection refused" in message


def test_driver_message_is_the_drivers_words_on_one_line():
    exc = OperationalError("SELECT 1", {}, Exception("connection failed: refused\n\tIs the server running?\n"))
    assert driver_message(exc) == "connection failed: refused Is the server running?"  # no [SQL: ...], no link
    assert driver_message(ValueError("plain")) == "plain"


def test_readme_names_the_log_coursekit_makes():
    """The default log is class.db (cli.DEFAULT_DB, course.toml's default); no other .db name may be documented."""
    from coursekit.cli import DEFAULT_DB

    names = set(re.findall(r"\b[\w-]+\.db\b", (ROOT / "README.md").read_text(encoding="utf-8")))
    assert DEFAULT_DB == "class.db" and "coursekit.db" not in names, names


def test_gitignore_keeps_downloads_and_student_data_out(tmp_path):
    """A Canvas or Moodle download saved in the course folder is student work: git must not pick it up."""
    git = shutil.which("git")
    if git is None:
        missing("git is not installed: apt-get install git")
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    kept_out = [
        "NetMedia-Week_1 submissions.zip",  # Canvas, saved in the course folder
        "downloads/submissions.zip",
        "NM101-Week 1-4242.zip",  # Moodle
        "Grades-NM101-Week 1-4242.csv",  # Moodle's grading worksheet
        "class.db",
        "intake.csv",
    ]
    committed = ["course.toml", "readings/r/prompts.yaml", "notebooks/week01-the-promise.ipynb", "README.md"]

    def ignored(path: str) -> bool:
        run = subprocess.run([git, "check-ignore", "-q", "--no-index", path], cwd=tmp_path)
        assert run.returncode in (0, 1), f"git check-ignore failed on {path}"
        return run.returncode == 0

    assert [p for p in kept_out if not ignored(p)] == []
    assert [p for p in committed if ignored(p)] == []


def test_every_problem_of_a_reading_is_a_line_of_its_own(tmp_path):
    """A reading with two mistakes: each on its own line under the first, not one line of escaped ``\\n``."""
    reading = tmp_path / "made-up"
    shutil.copytree(ROOT / "readings" / "kreiss-finn-turner-2011", reading)
    prompts = reading / "prompts.yaml"
    prompts.write_text(prompts.read_text(encoding="utf-8").replace("min_words:", "min_word:", 1), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(reading), "--out", str(tmp_path / "out"), "--no-run"])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == "error: invalid reading data:"
    assert "\\n" not in result.output
    assert any(line.startswith("  prompts.yaml: prompts[") and "unknown field 'min_word'" in line for line in lines[1:])
