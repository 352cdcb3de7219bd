"""Widget answers saved in notebooks: validated on collect, stored with history, nonsense refused."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import filled_notebook, student_answers, with_saved, write_notebook

from coursekit.intake.extract import extract
from coursekit.log.collect import collect
from coursekit.log.frames import open_log
from coursekit.notebook import answers

# Answers as the reading's key grades them: w1-q1's key is option 0; w1-q2 needs options 0, 1 and 2.
QUIZ = {
    "items": [{"id": "w1-q1", "chosen": [0], "correct": True}, {"id": "w1-q2", "chosen": [0, 2], "correct": False}],
    "score": 1,
    "total": 4,
}
STANCE = {"stance": "saving-grace", "value": 2, "label": "Leaning: saving grace", "steps": 7, "reason": "mixed"}
BOB = {**STANCE, "value": 6, "label": "Tool of destruction"}
SORTER = {"sorter": "w2-authority", "placed": {"wiki-admin-block": "rational-legal"}, "correct": 1, "total": 8}


def week1(reading, student: str, quiz=QUIZ, stance=STANCE) -> dict:
    notebook = filled_notebook(reading, 1, student_answers(reading, 1, student))
    return with_saved(
        notebook,
        {
            "widgets.Quiz": answers.record("quiz", "w1-quiz", quiz),
            "widgets.StanceSlider": answers.record("stance", "saving-grace", stance),
        },
    )


@pytest.mark.parametrize("kind, state", [("quiz", QUIZ), ("stance", STANCE), ("sorter", SORTER)])
def test_valid_records_parse(kind, state):
    answer, problem = answers.parse(answers.record(kind, "x", state))
    assert problem == "" and answer.state == state and answer.kind == kind


def test_unanswered_record_is_not_an_answer():
    assert answers.parse(answers.record("quiz", "w1-quiz", None)) == (None, "")


@pytest.mark.parametrize(
    "rec, reason",
    [
        (answers.record("quiz", "q", {**QUIZ, "score": 4}), "score 4 does not match its 1 correct"),
        (answers.record("quiz", "q", {**QUIZ, "items": "all of them"}), "needs items"),
        (
            answers.record("quiz", "q", {**QUIZ, "items": [{"id": "a", "chosen": [99], "correct": True}]}),
            "not an answered",
        ),
        (answers.record("stance", "s", {**STANCE, "value": 12}), "not on a scale"),
        (answers.record("stance", "s", {**STANCE, "reason": "x" * 5000}), "longer than"),
        (answers.record("sorter", "t", {**SORTER, "correct": 5}), "does not fit"),
        (answers.record("sorter", "t", {**SORTER, "placed": ["a"]}), "placed must map"),
        (answers.record("poll", "p", {}), "unknown answer kind"),
        ({"schema_version": 99}, "known version"),
        ("a string", "known version"),
    ],
)
def test_nonsense_records_are_refused(rec, reason):
    answer, problem = answers.parse(rec)
    assert answer is None and reason in problem


def test_extract_reads_saved_answers(reading):
    result = extract(json.dumps(week1(reading, "ann")).encode())
    assert result.ok, result.problems
    assert {a.answer_id: a.state for a in result.answers} == {"w1-quiz": QUIZ, "saving-grace": STANCE}


def test_hand_edited_answer_fails_the_file_and_names_the_cell(reading):
    notebook = week1(reading, "ann", quiz={**QUIZ, "score": 3})
    result = extract(json.dumps(notebook).encode())
    assert not result.ok and result.answers == [] and result.reflections == []
    assert "saved answer quiz w1-quiz: score 3 does not match" in result.problems[0].reason
    assert result.problems[0].reason.startswith("cell ")


def test_collect_stores_answers_with_history(reading, tmp_path):
    root = tmp_path / "subs"
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann"), mtime=1_700_000_000)
    write_notebook(root / "bob" / "week01.ipynb", week1(reading, "bob", stance=BOB), 1_700_000_001)
    db = tmp_path / "log.db"
    assert collect(root, db).count("collected") == 2
    frame = open_log(db).answers()
    assert len(frame) == 4
    bob = frame[(frame.student == "bob") & (frame.kind == "stance")].iloc[0]
    assert bob.state["value"] == 6 and bob.summary.startswith("Tool of destruction (7 of 7)")
    assert set(open_log(db).answers("quiz").summary) == {"1 of 4 correct (2 answered)"}

    assert collect(root, db).changed == 0
    changed = {**STANCE, "value": 0, "label": "Saving grace"}
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann", stance=changed), mtime=1_800_000_000)
    report = collect(root, db)
    assert report.count("updated") == 1 and report.count("unchanged") == 1
    with sqlite3.connect(db) as conn:
        versions = conn.execute(
            "select v.version, v.payload from answer_versions v join answers a on a.id = v.answer_id "
            "where a.student = 'ann' and a.widget_id = 'saving-grace' order by v.version"
        ).fetchall()
    assert [v for v, _ in versions] == [1, 2]
    assert json.loads(versions[0][1])["value"] == 2 and json.loads(versions[1][1])["value"] == 0


def test_collect_reports_hand_edited_answer_and_keeps_stored_work(reading, tmp_path):
    root = tmp_path / "subs"
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann"), mtime=1_700_000_000)
    db = tmp_path / "log.db"
    collect(root, db)
    tampered = week1(reading, "ann", quiz={**QUIZ, "score": 4, "total": 4})
    write_notebook(root / "ann" / "week01.ipynb", tampered, mtime=1_800_000_000)
    report = collect(root, db)
    assert [r.status for r in report.results] == ["failed"]
    assert "score 4 does not match" in report.results[0].detail
    assert open_log(db).answers("quiz").iloc[0].state == QUIZ  # the earlier, valid answer is untouched
