"""The dry run and collect read every file through one step, so they cannot disagree about a file.

A messy class folder (a broken notebook, a week-2 notebook saved as week 1, re-uploads, forged
quiz answers, an empty file, a FIFO, a stranger, a loose notebook, macOS clutter) goes through
``coursekit intake`` and ``collect`` into an empty log: file by file, the verdicts must match.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import filled_notebook, student_answers, with_saved, write_notebook

from coursekit.cli import main
from coursekit.course.reading import Readings
from coursekit.course.roster import read_roster
from coursekit.intake import reader
from coursekit.intake.identity import Roster
from coursekit.intake.sources import gather
from coursekit.intake.table import intake_table
from coursekit.log.collect import collect
from coursekit.notebook import answers

# What collect does, into an empty log, with a file the dry run gives each verdict.
COLLECTED_AS = {
    "ok": "collected",
    "problem": "failed",
    "duplicate": "duplicate",
    "failed": "failed",
    "unmatched": "unmatched",
    "skipped": "skipped",
}
ON_ROSTER = [f"student{i:02d}" for i in range(8)]
T = 1_700_000_000


def _notebook(reading, student: str, week: int = 1, **saved) -> dict:
    notebook = filled_notebook(reading, week, student_answers(reading, week, student))
    return with_saved(notebook, saved) if saved else notebook


def _forged_quiz(reading) -> dict:
    """Every item marked correct with a full score, whatever was chosen: the re-grade refuses it."""
    items = reading.quiz_for(1)
    wrong = [next(i for i in range(len(q.options)) if i not in q.correct) for q in items]
    state = {
        "items": [{"id": q.id, "chosen": [w], "correct": True} for q, w in zip(items, wrong, strict=True)],
        "score": len(items),
        "total": len(items),
    }
    return answers.record("quiz", "w1-quiz", state)


def messy_class(reading, root: Path) -> Path:
    """One class folder holding every kind of file the dry run and collect must agree on."""
    write_notebook(root / "student00" / "week01.ipynb", _notebook(reading, "student00"), mtime=T)
    write_notebook(root / "student01" / "week01.ipynb", {}, mtime=T).write_bytes(b"{ broken")
    write_notebook(root / "student02" / "week01.ipynb", _notebook(reading, "student02", week=2), mtime=T)  # week 2
    write_notebook(root / "student03" / "week01.ipynb", _notebook(reading, "student03"), mtime=T)
    write_notebook(root / "student03" / "week01-1.ipynb", _notebook(reading, "student03"), mtime=T + 60)  # newer
    write_notebook(root / "student04" / "week01.ipynb", _notebook(reading, "student04"), mtime=T)
    write_notebook(root / "student04" / "week01-2.ipynb", {}, mtime=T + 60).write_text("")  # newer, but empty
    os.utime(root / "student04" / "week01-2.ipynb", (T + 60, T + 60))
    forged = _notebook(reading, "student05", **{"widgets.Quiz": _forged_quiz(reading)})
    write_notebook(root / "student05" / "week01.ipynb", forged, mtime=T)
    (root / "student06").mkdir()
    os.mkfifo(root / "student06" / "week01.ipynb")  # never opened: it would block a reader
    (root / "student07").mkdir()  # an empty student folder
    write_notebook(root / "stranger" / "week01.ipynb", _notebook(reading, "stranger"), mtime=T)  # not on the roster
    write_notebook(root / "loose.ipynb", _notebook(reading, "loose"), mtime=T)
    write_notebook(root / "__MACOSX" / "student00" / "week01.ipynb", {}, mtime=T)
    write_notebook(root / "student00" / ".ipynb_checkpoints" / "week01-checkpoint.ipynb", {}, mtime=T)
    return root


def class_roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    rows = [f'"Student {s[-2:]}",{n},{s},{s}@uni.example,A' for n, s in enumerate(ON_ROSTER, start=1)]
    path.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


@pytest.mark.parametrize("jobs", [1, 2])
def test_intake_verdicts_equal_collect_outcomes_file_by_file(reading, tmp_path, jobs, monkeypatch):
    monkeypatch.setattr(reader, "IN_PROCESS_BELOW", 1)  # jobs=2: worker processes read even this small class
    root = messy_class(reading, tmp_path / "submissions")
    roster = Roster.from_frame(read_roster(class_roster(tmp_path)))
    readings = Readings(known=(reading,))
    table = intake_table(gather(root, roster=roster), readings=readings, jobs=jobs)
    report = collect(gather(root, roster=roster), tmp_path / "log.db", jobs=jobs, readings=readings)

    verdicts = {row.file: row for row in table.itertuples()}
    outcomes = {_relative(r.path, root): r for r in report.results}
    assert sorted(verdicts) == sorted(outcomes) and len(verdicts) == len(table) == len(report.results)
    for file, row in verdicts.items():
        outcome = outcomes[file]
        assert COLLECTED_AS[row.status] == outcome.status, file
        if row.status != "ok":  # (what a stored file's detail says, "3 item(s) changed", only the log knows)
            assert (row.reason, row.hint) == (outcome.detail, outcome.hint), file
        if row.status in ("ok", "duplicate"):
            assert (row.student, row.notebook, row.week) == (outcome.student, outcome.notebook, outcome.week), file

    status = {file: row.status for file, row in verdicts.items()}
    assert status["student00/week01.ipynb"] == status["student02/week01.ipynb"] == "ok"
    assert verdicts["student02/week01.ipynb"].week == 2  # the notebook's own week, not its name's
    assert status["student01/week01.ipynb"] == status["student05/week01.ipynb"] == "problem"
    assert "answers edited outside the notebook" in verdicts["student05/week01.ipynb"].reason
    assert (status["student03/week01-1.ipynb"], status["student03/week01.ipynb"]) == ("ok", "duplicate")
    assert (status["student04/week01-2.ipynb"], status["student04/week01.ipynb"]) == ("problem", "ok")
    assert status["stranger/week01.ipynb"] == "unmatched"
    assert status["student06/week01.ipynb"] == status["student07"] == status["loose.ipynb"] == "failed"
    assert status["__MACOSX"] == "failed"  # skipped, but said so: it holds a notebook


def test_intake_and_collect_commands_agree_and_count_duplicates(reading, tmp_path, monkeypatch):
    """Through the command line, with its defaults (readings found above the source): the CSVs agree."""
    root = messy_class(reading, tmp_path / "submissions")
    class_roster(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "readings").symlink_to(reading.path.parent)  # found above the source, as collect looks
    source = [str(root), "--roster", "roster.csv"]
    dry = CliRunner().invoke(main, ["intake", *source])
    assert dry.exit_code == 0, dry.output
    assert "problem, 1 duplicate, 1 unmatched" in dry.output and "nothing was stored" in dry.output
    done = CliRunner().invoke(main, ["collect", *source, "--db", "log.db", "--report", "report.csv"])
    assert done.exit_code == 1, done.output  # failed and unmatched files

    table = pd.read_csv(tmp_path / "intake.csv", dtype=str, keep_default_na=False)
    collected = pd.read_csv(tmp_path / "report.csv", dtype=str, keep_default_na=False)
    report = {_relative(Path(r["path"]), root): r for r in collected.to_dict("records")}
    assert sorted(table["file"]) == sorted(report)
    for row in table.itertuples():
        outcome = report[row.file]
        assert COLLECTED_AS[row.status] == outcome["status"], row.file
        assert row.status == "ok" or row.reason == outcome["detail"], row.file
