"""Every CSV coursekit writes, read back with Python's csv module: no cell a spreadsheet would evaluate.

Hostile values come from every place a CSV cell can come from: student folder names, reflections,
replies, the roster's names and sections, and validation reasons. Cells holding a carriage return or
line feed must stay one quoted cell, so no line of the file can start with a formula.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from backends import fresh_database
from click.testing import CliRunner
from conftest import ROOT, course_toml, filled_notebook, with_saved, write_notebook

from coursekit.cli import main
from coursekit.log.export import FORMULA_STARTS
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.notebook import answers

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
STUDENTS = ["=cmd", "+plus", "-minus", "@at", "tab\t=x", "cr\r=1+1", "lf\n=1+1"]
TEXTS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(A1)", "\t=tab", "\r=cr", "fine\r=1+1", "fine\n=2+2", "fine\r\n=3+3"]


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def read_back(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def unsafe_cells(rows: list[list[str]]) -> list[str]:
    """Cells that start like a formula; a plain (negative) number is data, not a formula."""
    bad = []
    for row in rows:
        for cell in row:
            if cell.startswith(DANGEROUS):
                try:
                    float(cell)
                except ValueError:
                    bad.append(cell)
    return bad


@pytest.fixture(scope="module")
def course(reading, tmp_path_factory, backend):
    folder = tmp_path_factory.mktemp("hostile-csv")
    with fresh_database(backend, folder) as db:
        yield hostile_course(reading, folder, db)


def hostile_course(reading, folder: Path, db: str) -> tuple[Path, str]:
    """A class whose names, texts, reviews and roster are all hostile, collected into ``db``."""
    report = ["--report", str(folder / "collect-report.csv")]
    prompts = reading.prompts_for(1)
    week1 = folder / "week01"
    for i, student in enumerate(STUDENTS):
        texts = {p.id: TEXTS[(i + n) % len(TEXTS)] + " and more words" * (n % 2) for n, p in enumerate(prompts)}
        write_notebook(week1 / student / "week01.ipynb", filled_notebook(reading, 1, texts), mtime=1_757_000_000 + i)
    run("collect", str(week1), "--db", db, *report)
    log = open_log(db)
    roots = log.posts(1)
    week2 = folder / "week02"
    for i, student in enumerate(STUDENTS):
        others = roots[roots.author != student].post_id.tolist()[:2]
        state = {
            "feed": "week01",
            "sample": False,
            "student": student,
            "likes": others[:1],
            "replies": [{"parent_id": p, "text": TEXTS[(i + k) % len(TEXTS)]} for k, p in enumerate(others)],
        }
        notebook = with_saved(
            filled_notebook(reading, 2, {p.id: TEXTS[(i + 2) % len(TEXTS)] for p in reading.prompts_for(2)}),
            {"widgets.PeerFeed": answers.record("peer", "w2-peers", state)},
        )
        write_notebook(week2 / student / "week02.ipynb", notebook, mtime=1_757_600_000 + i)
    run("collect", str(week2), "--db", db, *report)
    for n, row in enumerate(log.reflections().itertuples()):
        save_review(
            log.engine, ReviewDraft(row.student, row.notebook, row.prompt_id, "prof", {"understanding": 3}, "=ok")
        )
        if n > 10:
            break
    roster = folder / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"])
        for i, student in enumerate(STUDENTS):
            writer.writerow([f'=HYPERLINK("x")\r=2 {i}', str(100 + i), f"-U{i}", student, f"@sec\n=1+{i}"])
    course_toml(folder, reading, db)
    broken = folder / "broken"
    for student in STUDENTS:
        (broken / student).mkdir(parents=True)
        (broken / student / "week01.ipynb").write_bytes(b"")  # fails the checks, so nothing is run
    return folder, db


def outputs(course) -> dict[str, Path]:
    """Write every CSV coursekit has, through the command line; return them by name."""
    folder, db = course
    out = folder / "csv"
    settings = ["--settings", str(folder / "course.toml")]
    files = {
        "export": out / "log.csv",
        "history": out / "history.csv",
        "threads": out / "threads.csv",
        "grades": out / "grades.csv",
        "plain grades": out / "plain.csv",
        "feedback index": out / "feedback" / "index.csv",
        "validation report": out / "validation" / "report.csv",
        "collect report": folder / "collect-report.csv",  # written by the fixture's last collect
    }
    run("export", "--db", str(db), "--out", str(files["export"]))
    run("export", "--db", str(db), "--history", "--out", str(files["history"]))
    run("export", "--db", str(db), "--threads", "--out", str(files["threads"]))
    run(
        "grades", *settings, "--roster", str(folder / "roster.csv"),
        "--out", str(files["grades"]), "--plain", str(files["plain grades"]), "--allow-unreviewed",
    )  # fmt: skip
    run("feedback", *settings, "--out", str(out / "feedback"))
    run(
        "validate", str(folder / "broken"), "--course", str(ROOT), "--out", str(out / "validation"),
        "--no-sandbox", code=1,
    )  # fmt: skip
    return files


def test_every_csv_output_reads_back_with_no_formula_cell(course):
    files = outputs(course)
    seen: dict[str, list[list[str]]] = {}
    for name, path in files.items():
        rows = read_back(path)
        seen[name] = rows
        assert unsafe_cells(rows) == [], name
        width = len(rows[0])
        assert all(len(row) == width for row in rows), f"{name}: an embedded line break split a row"

    # The hostile values are there, neutralised, whole: the check above had something to find.
    cells = {name: {cell for row in rows for cell in row} for name, rows in seen.items()}
    assert {"'=cmd", "cr\r=1+1", "lf\n=1+1", "'@at"} <= cells["export"]
    everywhere = set().union(*cells.values())
    for text in TEXTS:  # reflections and replies (stripped when collected), each whole in one cell
        shown = "'" + text.strip() if text.strip().startswith(FORMULA_STARTS) else text.strip()
        assert any(cell.startswith(shown) for cell in everywhere), text
    assert {"'+SUM(A1:A2)", "'-2+3", "'@SUM(A1)"} <= cells["threads"]
    assert '\'=HYPERLINK("x")\r=2 0' in cells["grades"] and "'@sec\n=1+0" in cells["grades"]
    assert "'-U0" in cells["grades"] and "'@sec\n=1+1" in cells["plain grades"]
    assert "'=cmd" in cells["feedback index"] and "'-minus" in cells["validation report"]
    assert "'=cmd" in cells["collect report"] and len(seen["collect report"]) == 1 + len(STUDENTS)
    assert len(seen["feedback index"]) == 1 + len(STUDENTS)
    assert len(seen["validation report"]) == 1 + len(STUDENTS)


def test_the_writer_neutralises_every_formula_start():
    from io import StringIO

    import pandas as pd

    from coursekit.log.export import write_csv

    values = [start + "x" for start in FORMULA_STARTS] + ["a\r=b", "a\n=b", -3, 2.5, None]
    buffer = StringIO()
    write_csv(pd.DataFrame({"=header": values}), buffer)
    rows = list(csv.reader(StringIO(buffer.getvalue(), newline="")))
    assert unsafe_cells(rows) == [] and len(rows) == 1 + len(values)
    assert [r[0] for r in rows] == [
        "'=header",
        *("'" + s + "x" for s in FORMULA_STARTS),
        "a\r=b",
        "a\n=b",
        "-3",
        "2.5",
        "",
    ]
