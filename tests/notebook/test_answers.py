"""Widget answers saved in notebooks: validated on collect, stored with history, nonsense refused."""

from __future__ import annotations

import json

import pytest
from backends import rows
from conftest import filled_notebook, student_answers, with_saved, write_notebook

from coursekit.course.reading import Readings
from coursekit.intake.extract import extract
from coursekit.intake.sources import gather
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


def test_collect_stores_answers_with_history(reading, tmp_path, db):
    root = tmp_path / "subs"
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann"), mtime=1_700_000_000)
    write_notebook(root / "bob" / "week01.ipynb", week1(reading, "bob", stance=BOB), 1_700_000_001)
    assert collect(gather(root), db).count("collected") == 2
    frame = open_log(db).answers()
    assert len(frame) == 4
    bob = frame[(frame.student == "bob") & (frame.kind == "stance")].iloc[0]
    assert bob.state["value"] == 6 and bob.summary.startswith("Tool of destruction (7 of 7)")
    assert set(open_log(db).answers("quiz").summary) == {"1 of 4 correct (2 answered)"}

    assert collect(gather(root), db).changed == 0
    changed = {**STANCE, "value": 0, "label": "Saving grace"}
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann", stance=changed), mtime=1_800_000_000)
    report = collect(gather(root), db)
    assert report.count("updated") == 1 and report.count("unchanged") == 1
    versions = rows(
        db,
        "select v.version, v.payload from answer_versions v join answers a on a.id = v.answer_id "
        "where a.student = 'ann' and a.widget_id = 'saving-grace' order by v.version",
    )
    assert [v for v, _ in versions] == [1, 2]
    assert json.loads(versions[0][1])["value"] == 2 and json.loads(versions[1][1])["value"] == 0


def test_collect_reports_hand_edited_answer_and_keeps_stored_work(reading, tmp_path, db):
    root = tmp_path / "subs"
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann"), mtime=1_700_000_000)
    collect(gather(root), db)
    tampered = week1(reading, "ann", quiz={**QUIZ, "score": 4, "total": 4})
    write_notebook(root / "ann" / "week01.ipynb", tampered, mtime=1_800_000_000)
    report = collect(gather(root), db)
    assert [r.status for r in report.results] == ["failed"]
    assert "score 4 does not match" in report.results[0].detail
    assert open_log(db).answers("quiz").iloc[0].state == QUIZ  # the earlier, valid answer is untouched


def forged_quiz(reading) -> dict:
    """A quiz record edited by hand: every item marked correct with a full score, whatever was chosen."""
    items = reading.quiz_for(1)
    wrong = [next(i for i in range(len(q.options)) if i not in q.correct) for q in items]
    return {
        "items": [{"id": q.id, "chosen": [w], "correct": True} for q, w in zip(items, wrong, strict=True)],
        "score": len(items),
        "total": len(items),
    }


def test_forged_quiz_is_consistent_with_itself_but_rejected_by_collect(reading, tmp_path, db):
    forged = forged_quiz(reading)
    assert answers.parse(answers.record("quiz", "w1-quiz", forged))[1] == ""  # the old self-check accepts it
    root = tmp_path / "subs"
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann", quiz=forged), mtime=1_700_000_000)
    write_notebook(root / "bob" / "week01.ipynb", week1(reading, "bob"), mtime=1_700_000_001)
    report = collect(gather(root), db)
    by_student = {r.student: r for r in report.results}
    assert by_student["bob"].status == "collected"
    assert by_student["ann"].status == "failed"
    assert "answers edited outside the notebook" in by_student["ann"].detail
    assert by_student["ann"].detail.startswith("cell ")
    stored = open_log(db).answers("quiz")
    assert list(stored.student) == ["bob"]  # nothing of ann's forged file is stored
    assert stored.iloc[0].state["score"] == 1


def test_forged_quiz_fails_on_its_own_line_in_the_cli(reading, tmp_path, db):
    from click.testing import CliRunner

    from coursekit.cli import main

    root = tmp_path / "subs"
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann", quiz=forged_quiz(reading)), 1_700_000_000)
    write_notebook(root / "bob" / "week01.ipynb", week1(reading, "bob"), mtime=1_700_000_001)
    report = str(tmp_path / "report.csv")  # not the working folder's collect-report.csv (a PostgreSQL log's default)
    result = CliRunner().invoke(main, ["collect", str(root), "--db", db, "--verbose", "--report", report])
    assert result.exit_code == 1
    ann = next(line for line in result.output.splitlines() if "ann" in line)
    assert ann.startswith("failed") and "answers edited outside the notebook" in ann
    bob = next(line for line in result.output.splitlines() if "bob" in line)
    assert bob.startswith("collected") and "edited" not in bob


def test_collect_stores_the_grade_it_computed(reading, tmp_path, db):
    """The stored state is rebuilt from the reading's grade: chosen options in order, score and total from the key."""
    honest = {
        "items": [{"id": "w1-q2", "chosen": [2, 1, 0], "correct": True}],
        "score": 1,
        "total": len(reading.quiz_for(1)),
    }
    root = tmp_path / "subs"
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann", quiz=honest), mtime=1_700_000_000)
    collect(gather(root), db)
    state = open_log(db).answers("quiz").iloc[0].state
    assert state == {"items": [{"id": "w1-q2", "chosen": [0, 1, 2], "correct": True}], "score": 1, "total": 4}


def sorter_notebook(reading, state: dict) -> dict:
    notebook = filled_notebook(reading, 2, student_answers(reading, 2, "ann"))
    return with_saved(notebook, {"widgets.CaseSorter": answers.record("sorter", "w2-authority", state)})


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"total": 1}, "answers edited outside the notebook"),  # 1 of 1: a full score
        ({"correct": 0}, "answers edited outside the notebook"),  # the honest count is 1
        ({"placed": {"no-such-case": "rational-legal"}, "correct": 0}, "has no case 'no-such-case'"),
        ({"placed": {"wiki-admin-block": "anarchic"}, "correct": 0}, "has no category 'anarchic'"),
    ],
)
def test_sorter_claims_are_checked_against_the_reading(reading, change, reason):
    good = extract(json.dumps(sorter_notebook(reading, SORTER)).encode(), "week02", Readings(known=(reading,)))
    assert good.ok and good.answers[0].state == SORTER
    bad = extract(json.dumps(sorter_notebook(reading, {**SORTER, **change})).encode(), "w", Readings(known=(reading,)))
    assert not bad.ok and reason in bad.problems[0].reason, bad.problems


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"label": "Saving grace"}, "answers edited outside the notebook"),  # position 3 is "Leaning: ..."
        ({"steps": 5, "value": 1}, "answers edited outside the notebook"),
    ],
)
def test_stance_labels_and_scale_are_checked_against_the_reading(reading, change, reason):
    result = extract(
        json.dumps(week1(reading, "ann", stance={**STANCE, **change})).encode(), "", Readings(known=(reading,))
    )
    assert not result.ok and reason in result.problems[0].reason


@pytest.mark.parametrize(
    "items, reason",
    [
        ([{"id": "w2-q1", "chosen": [0], "correct": True}], "is not in week 1's quiz"),
        ([{"id": "w1-q1", "chosen": [0, 1], "correct": False}], "takes one answer"),
        ([{"id": "w1-q1", "chosen": [3], "correct": False}] * 2, "answered twice"),
        ([{"id": "w1-q1", "chosen": [7], "correct": False}], "option 7 does not exist"),
    ],
)
def test_quiz_item_ids_and_options_are_checked_against_the_reading(reading, items, reason):
    quiz = {"items": items, "score": sum(i["correct"] for i in items), "total": 4}
    result = extract(json.dumps(week1(reading, "ann", quiz=quiz)).encode(), "", Readings(known=(reading,)))
    assert not result.ok and reason in result.problems[0].reason, result.problems


def test_a_reading_that_cannot_be_found_fails_only_files_with_answers_to_check(reading, tmp_path, monkeypatch, db):
    root = tmp_path / "subs"
    write_notebook(root / "ann" / "week01.ipynb", week1(reading, "ann"), mtime=1_700_000_000)
    write_notebook(root / "bob" / "week01.ipynb", filled_notebook(reading, 1, {}), mtime=1_700_000_001)
    monkeypatch.chdir(tmp_path)  # no readings/ here or above
    report = collect(gather(root), db)
    by_student = {r.student: r for r in report.results}
    assert by_student["bob"].status == "collected"
    assert by_student["ann"].status == "failed"
    assert "cannot be checked against reading kreiss-finn-turner-2011" in by_student["ann"].detail
    assert "readings/kreiss-finn-turner-2011/" in by_student["ann"].hint


def test_reply_images_have_their_own_budget_beside_the_answer_size_cap():
    def peer(text: str, image_chars: int) -> dict:
        reply = {"parent_id": "r-1", "text": text, "images": {"reply-1.png": "A" * image_chars}}
        return answers.record("peer", "w2-peers", {"sample": False, "likes": [], "replies": [reply]})

    screenshot = answers.MAX_ANSWER + 100_000  # a screenshot bigger than every text of a record together
    assert answers.parse(peer("see the picture", screenshot))[0] is not None
    _, problem = answers.parse(peer("x" * 4000, answers.MAX_REPLY_IMAGE_CHARS + 1))
    assert "images" in problem
    too_many = answers.record(
        "peer",
        "w2-peers",
        {
            "sample": False,
            "likes": [],
            "replies": [
                {"parent_id": "r-1", "text": "t", "images": {"a.png": "A" * answers.MAX_REPLY_IMAGE_CHARS}}
                for _ in range(answers.MAX_ANSWER_IMAGES // answers.MAX_REPLY_IMAGE_CHARS + 1)
            ],
        },
    )
    assert "characters of images" in answers.parse(too_many)[1]
