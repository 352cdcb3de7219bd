"""A generated corpus of hostile submissions beside good ones, through the real command line.

One case (at least) per class of the hardening issue: inputs that crashed collect, what the format
does not allow, what lies outside the submissions folder, and names that would forge terminal
output. Every bad one must be reported with its reason, every good one stored intact, exit 1, and
no exception may escape (CliRunner re-raises with catch_exceptions=False).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from backends import rows
from click.testing import CliRunner
from conftest import ROOT, filled_notebook, student_answers, with_saved, write_notebook

from coursekit.cli import main, printable
from coursekit.intake import folder as folder_walk
from coursekit.intake import load
from coursekit.intake.extract import MAX_REFLECTION, extract
from coursekit.notebook import answers
from coursekit.notebook.cells import cell_marker

STANCE = {"stance": "saving-grace", "value": 2, "label": "Leaning: saving grace", "steps": 7, "reason": "mixed"}
GOOD = ["good-ana", "good-ben", "good a\nfailed  fake-line", "good \x1b]0;owned\x07\x1b[2J"]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def good_notebook(reading, student: str) -> dict:
    return filled_notebook(reading, 1, student_answers(reading, 1, student))


def with_stance(reading, student: str, stance: dict) -> dict:
    return with_saved(
        good_notebook(reading, student), {"widgets.StanceSlider": answers.record("stance", "saving-grace", stance)}
    )


def first(notebook: dict, role: str) -> dict:
    return next(c for c in notebook["cells"] if (cell_marker(c) or {}).get("role") == role)


def build_corpus(reading, root: Path) -> dict[str, str]:
    """Write the corpus under ``root``; return {path relative to root: reason expected on its line}."""
    expected: dict[str, str] = {}

    def put(relative: str, content: bytes | dict, reason: str) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            write_notebook(path, content)
        else:
            path.write_bytes(content)
        expected[relative] = reason

    # 1. Inputs that used to crash the whole run.
    put("deep/week01.ipynb", b"[" * 100_000 + b"]" * 100_000, "nested too deeply")
    put("bigint/week01.ipynb", b'{"nbformat": 4, "cells": [], "n": ' + b"9" * 5000 + b"}", "Python refuses")
    surrogate = good_notebook(reading, "sur")
    first(surrogate, "reflection")["source"] = "half a character: \ud800 here"
    put("surrogate/week01.ipynb", surrogate, "not valid Unicode")
    put(
        "surrogate-answer/week01.ipynb",
        with_stance(reading, "sa", {**STANCE, "reason": "odd \udc80"}),
        "not valid Unicode",
    )
    put("locked/week01.ipynb", good_notebook(reading, "locked"), "")
    expected.pop("locked/week01.ipynb")
    expected["locked"] = "cannot open this folder: Permission denied"
    put("internal/week01.ipynb", good_notebook(reading, "INTERNAL-BUG"), "internal error while reading this file")

    # 2. What the format does not allow.
    newer_cell = good_notebook(reading, "nc")
    first(newer_cell, "prompt")["metadata"]["coursekit"]["schema_version"] = 2
    put("newer-cell/week01.ipynb", newer_cell, "made by a newer coursekit")
    newer_notebook = good_notebook(reading, "nn")
    newer_notebook["metadata"]["coursekit"]["schema_version"] = 7
    put("newer-notebook/week01.ipynb", newer_notebook, "made by a newer coursekit")
    newer_answer = with_stance(reading, "na", STANCE)
    for cell in newer_answer["cells"]:
        for output in cell.get("outputs", []):
            if answers.MIME in output.get("data", {}):
                output["data"][answers.MIME]["schema_version"] = 3
    put("newer-answer/week01.ipynb", newer_answer, "made by a newer coursekit")
    put("huge-label/week01.ipynb", with_stance(reading, "hl", {**STANCE, "label": "x" * 10_000_000}), "characters long")
    huge = good_notebook(reading, "hr")
    first(huge, "reflection")["source"] = "word " * (MAX_REFLECTION // 4)
    put("huge-reflection/week01.ipynb", huge, f"at most {MAX_REFLECTION:,}")
    old = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]}
    put("nbformat3/week01.ipynb", json.dumps(old).encode(), "an old notebook format")
    damaged_cell = good_notebook(reading, "dc")
    first(damaged_cell, "prompt")["metadata"]["coursekit"] = "prompt"
    put("damaged-cell/week01.ipynb", damaged_cell, "damaged coursekit metadata")
    damaged_notebook = good_notebook(reading, "dn")
    damaged_notebook["metadata"]["coursekit"]["week"] = "one"
    put("damaged-notebook/week01.ipynb", damaged_notebook, "coursekit metadata is damaged")

    # 2 and 3. Things that are not notebook files, and links out of the folder.
    (root / "fifo").mkdir()
    os.mkfifo(root / "fifo" / "week01.ipynb")
    expected["fifo/week01.ipynb"] = "FIFO"
    try:
        os.mknod(root / "fifo" / "week02.ipynb", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        expected["fifo/week02.ipynb"] = "a device"
    except OSError:
        pass  # no CAP_MKNOD here: the FIFO stands for the class
    (root / "folder-named").mkdir()
    (root / "folder-named" / "week01.ipynb").mkdir()
    expected["folder-named/week01.ipynb"] = "a folder named like a notebook"
    (root / "linked-file").mkdir()
    (root / "linked-file" / "week01.ipynb").symlink_to("/etc/passwd")
    expected["linked-file/week01.ipynb"] = "leads outside the submissions folder"
    (root / "root-link").symlink_to("/")
    expected["root-link"] = "leads outside the submissions folder"
    put(".hidden-student/week01.ipynb", good_notebook(reading, "hidden"), "skipped: a hidden or system folder")
    expected.pop(".hidden-student/week01.ipynb")
    expected[".hidden-student"] = "holds 1 notebook(s)"
    put("mac/__MACOSX/week01.ipynb", good_notebook(reading, "mac"), "holds 1 notebook(s)")
    expected.pop("mac/__MACOSX/week01.ipynb")
    expected["mac/__MACOSX"] = "holds 1 notebook(s)"
    put("draft/.week01.ipynb", good_notebook(reading, "draft"), "skipped: a hidden notebook file")
    badname = os.fsdecode(b"bad-\xff-name")
    put(f"{badname}/week01.ipynb", good_notebook(reading, "bn"), "not UTF-8")
    expected.pop(f"{badname}/week01.ipynb")
    expected[badname] = "not UTF-8"
    return expected


@pytest.fixture
def corpus(reading, tmp_path, monkeypatch):
    root = tmp_path / "submissions"
    root.mkdir()
    expected = build_corpus(reading, root)
    texts = {}
    for i, student in enumerate(GOOD):
        notebook = good_notebook(reading, student.split()[0])
        write_notebook(root / student / "week01.ipynb", notebook, mtime=1_700_000_000 + i)
        texts[student] = student_answers(reading, 1, student.split()[0])
        # Quietly skipped: Jupyter's checkpoints and macOS resource forks.
        write_notebook(root / student / ".ipynb_checkpoints" / "week01-checkpoint.ipynb", notebook)
        (root / student / "._week01.ipynb").write_bytes(b"\x00\x05\x16\x07 resource fork")

    # As root every folder can be listed, so the unreadable one is made so where the walk lists it.
    real_scandir = os.scandir
    locked = root / "locked"

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(folder_walk.os, "scandir", scandir)
    # Any bug of ours while extracting one file: that file fails, the run goes on.
    real_extract = load.extract

    def buggy(data: bytes, stem: str = "", readings=None):
        if b"INTERNAL-BUG" in data:
            raise KeyError("a bug nobody foresaw")
        return real_extract(data, stem, readings)

    monkeypatch.setattr(load, "extract", buggy)
    return root, expected, texts


def test_hostile_corpus_fails_each_bad_file_with_its_reason_and_stores_every_good_one(corpus, db, tmp_path):
    root, expected, texts = corpus
    report = str(tmp_path / "report.csv")  # not the working folder's collect-report.csv (a PostgreSQL log's default)
    result = run("collect", str(root), "--db", str(db), "--verbose", "--report", report)  # a line for every file
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stdout.splitlines()
    for relative, reason in expected.items():
        shown = printable(relative)
        line = next((line for line in lines if line.startswith("failed") and f" {shown}  " in line + " "), None)
        assert line is not None, (relative, result.stdout)
        assert reason in line, (relative, line)
    assert f"{len(expected)} failed" in result.stdout
    assert f"{len(GOOD)} collected" in result.stdout

    # Every good student is stored, text intact, and nothing of any bad file.
    stored = rows(
        db, "select s.student, r.prompt_id, r.text from reflections r join submissions s on s.id = r.submission_id"
    )
    by_student: dict[str, dict[str, str]] = {}
    for student, prompt_id, text in stored:
        by_student.setdefault(student, {})[prompt_id] = text
    assert by_student == texts

    # 4. Names cannot forge lines or reach the terminal as escape sequences.
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert not any(line.startswith("failed  fake-line") for line in lines)
    assert any("good a\\nfailed  fake-line" in line and line.startswith("collected") for line in lines)


def test_validate_reports_the_same_corpus_without_a_traceback(corpus, tmp_path):
    root, expected, _ = corpus
    for student in GOOD:  # keep the run lean: the checks are what this test is about
        for path in sorted((root / student).rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        (root / student).rmdir()
    out = tmp_path / "out"
    result = run("validate", str(root), "--course", str(ROOT), "--out", str(out), "--no-sandbox")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    for relative, reason in expected.items():
        assert reason in result.stdout, (relative, reason)
    assert "--no-sandbox" in result.stderr and "warning" in result.stderr


def test_a_folder_linked_to_the_root_of_the_disk_is_not_walked(tmp_path, make_class):
    root = make_class(1)
    (root / "everything").symlink_to("/")
    (root / "student00" / "escape").symlink_to("/usr")
    found, problems = folder_walk.find_submissions(root)
    assert [f.student for f in found] == ["student00"]
    assert {p.path.name for p in problems} == {"everything", "escape"}
    assert all("leads outside" in p.reason for p in problems)


def test_a_link_inside_the_folder_is_taken_once(tmp_path, make_class):
    root = make_class(1)
    (root / "student01").mkdir()
    (root / "student01" / "week01.ipynb").symlink_to(root / "student00" / "week01.ipynb")
    found, problems = folder_walk.find_submissions(root)
    assert sorted(f.student for f in found) == ["student00", "student01"] and problems == []


def test_reading_a_fifo_never_blocks(tmp_path):
    from datetime import datetime

    from coursekit.intake.submission import SubmissionFile

    fifo = tmp_path / "week01.ipynb"
    os.mkfifo(fifo)
    loaded = load.load_submission(SubmissionFile("ana", fifo, datetime(2026, 1, 1)))
    assert not loaded.ok and "FIFO" in loaded.problem.reason


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b'{"nbformat": 4, "cells": [1' + b"0" * 10_000 + b"]}", "Python refuses"),
        (json.dumps({"nbformat": 3, "worksheets": []}).encode(), "an old notebook format"),
    ],
)
def test_extract_turns_hostile_json_into_problems(data, reason):
    result = extract(data, "week01")
    assert not result.ok and reason in result.problems[0].reason


def test_answer_records_over_the_size_limit_are_refused():
    rec = answers.record("stance", "saving-grace", {**STANCE, "label": "x" * (answers.MAX_LABEL + 1)})
    assert "label is longer" in answers.parse(rec)[1]
    peer = {"replies": [{"parent_id": "p", "text": "y" * answers.MAX_REPLY}] * 60, "likes": [], "sample": False}
    assert "characters long" in answers.parse(answers.record("peer", "w2-peer", peer))[1]
    ok = {"replies": [{"parent_id": "p", "text": "y" * answers.MAX_REPLY}] * answers.MAX_REPLIES, "likes": []}
    assert answers.parse(answers.record("peer", "w2-peer", {**ok, "sample": False}))[1] == ""


def test_printable_escapes_controls_and_keeps_text():
    assert printable("a\nfailed\tx\r\x1b[31m\x9b\u202eé ünï") == "a\\nfailed\\tx\\r\\x1b[31m\\x9b\\u202eé ünï"
    assert printable(os.fsdecode(b"bad-\xff")) == "bad-\\udcff"


def test_a_file_over_the_size_limit_is_not_even_opened(tmp_path):
    from datetime import datetime

    from coursekit.intake.submission import SubmissionFile

    missing = tmp_path / "week01.ipynb"  # never created: opening it would say "No such file"
    loaded = load.load_submission(SubmissionFile("ana", missing, datetime(2026, 1, 1), size=load.MAX_FILE + 1))
    assert not loaded.ok and "more than the 104,857,600" in loaded.problem.reason


def test_links_to_folders_are_never_followed_so_the_walk_cannot_loop(make_class):
    root = make_class(1)
    (root / "student00" / "again").symlink_to(root)  # inside the folder, but a loop
    found, problems = folder_walk.walk_notebooks(root)
    assert [f.path.relative_to(root).as_posix() for f in found] == ["student00/week01.ipynb"]
    assert [(p.path.name, p.reason) for p in problems] == [("again", "a link to a folder: not followed")]


def test_one_files_outcome_is_plain_picklable_data_for_worker_processes(make_class):
    import pickle

    files, _ = folder_walk.find_submissions(make_class(1))
    loaded = load.load_submission(files[0], keep_data=True)
    again = pickle.loads(pickle.dumps(loaded))
    assert again == loaded and again.ok and again.data and len(again.file_hash) == 64
