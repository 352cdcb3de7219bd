"""The quiz widget, driven as a student would: choose, check, read the feedback, retry."""

from __future__ import annotations

from coursekit.notebook.quiz import grade
from coursekit.notebook.widgets import Quiz


def first(items, kind):
    return next(i for i in items if i.kind == kind)


def wrong_index(item):
    return next(i for i, o in enumerate(item.options) if not o.correct)


def test_single_choice_feedback_and_score(reading):
    items = reading.quiz_for(1)
    quiz = Quiz(items)
    question = next(q for q in quiz.questions if q.item.kind == "single")
    item = question.item
    assert "Score: 0 of" in quiz.score_label.value

    question.choices.value = wrong_index(item)
    question.check_button.click()
    assert "Not quite" in question.feedback.value
    assert item.options[wrong_index(item)].explanation.split()[0] in question.feedback.value
    assert quiz.score == 0 and "(1 answered)" in quiz.score_label.value
    assert question.retry_button.disabled is False

    question.retry_button.click()
    assert question.choices.value is None and question.feedback.value == ""
    correct = next(iter(item.correct))
    question.choices.value = correct
    question.check_button.click()
    assert "Correct." in question.feedback.value
    assert quiz.score == 1 and "Score: 1 of" in quiz.score_label.value


def test_multiple_choice_partial_then_full(reading):
    item = first(reading.quiz, "multiple")
    quiz = Quiz([item])
    question = quiz.questions[0]
    correct = sorted(item.correct)
    question.boxes[correct[0]].value = True
    question.check_button.click()
    assert "Partly right" in question.feedback.value and quiz.score == 0
    for index in correct:
        question.boxes[index].value = True
    question.check_button.click()
    assert "Correct." in question.feedback.value and quiz.score == 1
    for index in correct:
        assert item.options[index].explanation[:20] in question.feedback.value.replace("&#x27;", "'")


def test_check_without_choice_asks_for_one(reading):
    quiz = Quiz(reading.quiz_for(1)[:1])
    quiz.questions[0].check_button.click()
    assert "Choose an answer first" in quiz.questions[0].feedback.value
    assert quiz.questions[0].verdict is None


def test_readable_fallback_and_no_answers_leaked(reading, capsys):
    items = reading.quiz_for(1)
    quiz = Quiz(items)
    assert capsys.readouterr().out == ""
    bundle = quiz._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    for item in items:
        assert item.question in bundle["text/plain"]
    assert "✔" not in bundle["text/plain"] and "explanation" not in bundle["text/plain"]


def test_grade_rejects_unknown_option(reading):
    item = reading.quiz_for(1)[0]
    try:
        grade(item, {99})
    except ValueError as exc:
        assert item.id in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_ticking_every_box_is_not_correct(reading):
    """A multiple-choice item is correct for exactly its keyed options: not for every box, not for a superset."""
    multiple = [item for item in reading.quiz if item.kind == "multiple"]
    assert multiple
    for item in multiple:
        everything = set(range(len(item.options)))
        assert everything != item.correct, f"{item.id}: every option is correct, so the test would prove nothing"
        assert not grade(item, everything).correct
        assert not grade(item, item.correct | {wrong_index(item)}).correct
        assert grade(item, item.correct).correct
    quiz = Quiz(multiple[:1])
    question = quiz.questions[0]
    for box in question.boxes:
        box.value = True
    question.check_button.click()
    assert "Not quite" in question.feedback.value and quiz.score == 0
