"""Re-grading the widget answers a notebook reports, against the reading's own keys.

The notebook file is in the student's hands: a quiz record edited to mark every item correct is
still a well-formed record. So ``collect`` never keeps a grade the notebook claims. It grades the
chosen options and sorted cases again with the same functions the widgets use, checks every item,
case, category and stance id and label against the reading, and keeps the grade it computed. A
record whose claims differ from that grade was edited outside the notebook.
"""

from __future__ import annotations

from coursekit.course.problems import CoursekitError, UnknownItem
from coursekit.course.reading import Reading
from coursekit.notebook.answers import Answer
from coursekit.notebook.quiz import grade, sorted_correctly

EDITED = "answers edited outside the notebook"


class Untrusted(CoursekitError, ValueError):
    """Why an answer's claims cannot be trusted; the message names what differs."""


def _quiz(answer: Answer, reading: Reading, week: int) -> dict:
    items = {item.id: item for item in reading.quiz_for(week)}
    if not items:
        raise Untrusted(f"week {week} of reading {reading.id} has no quiz")
    graded, seen = [], set()
    for claim in answer.state["items"]:
        item = items.get(claim["id"])
        if item is None:
            raise Untrusted(f"item {claim['id']!r} is not in week {week}'s quiz")
        if item.id in seen:
            raise Untrusted(f"item {item.id} is answered twice")
        seen.add(item.id)
        if item.kind == "single" and len(set(claim["chosen"])) > 1:
            raise Untrusted(f"item {item.id} takes one answer but has {len(claim['chosen'])}")
        try:
            verdict = grade(item, claim["chosen"])
        except ValueError as exc:
            raise Untrusted(str(exc)) from None
        if verdict.correct != claim["correct"]:
            said = "correct" if claim["correct"] else "wrong"
            raise Untrusted(f"{EDITED}: item {item.id} is marked {said}, but the reading's key says otherwise")
        graded.append({"id": item.id, "chosen": list(verdict.chosen), "correct": verdict.correct})
    score = sum(1 for g in graded if g["correct"])
    if answer.state["score"] != score or answer.state["total"] != len(items):
        raise Untrusted(
            f"{EDITED}: the record says {answer.state['score']} of {answer.state['total']} correct; "
            f"graded against the reading it is {score} of {len(items)}"
        )
    return {"items": graded, "score": score, "total": len(items)}


def _sorter(answer: Answer, reading: Reading, week: int) -> dict:
    sorter = reading.sorter(answer.answer_id)
    if answer.state.get("sorter", sorter.id) != sorter.id:
        raise Untrusted(f"the record names sorter {answer.state.get('sorter')!r}")
    if sorter.week != week:
        raise Untrusted(f"sorter {sorter.id} belongs to week {sorter.week}, not week {week}")
    categories = {c.id for c in sorter.categories}
    for case_id, category in answer.state["placed"].items():
        sorter.case(case_id)
        if category not in categories:
            raise UnknownItem("category", category, f"sorter {sorter.id}")
    correct = sorted_correctly(sorter, answer.state["placed"])
    if answer.state["correct"] != correct or answer.state["total"] != len(sorter.cases):
        raise Untrusted(
            f"{EDITED}: the record says {answer.state['correct']} of {answer.state['total']} cases placed as "
            f"expected; graded against the reading it is {correct} of {len(sorter.cases)}"
        )
    return {"sorter": sorter.id, "placed": dict(answer.state["placed"]), "correct": correct, "total": len(sorter.cases)}


def _stance(answer: Answer, reading: Reading, week: int) -> dict:
    stance = reading.stance(answer.answer_id)
    state = answer.state
    if state.get("stance", stance.id) != stance.id:
        raise Untrusted(f"the record names stance {state.get('stance')!r}")
    if week not in stance.weeks:
        raise Untrusted(f"stance {stance.id} is not asked in week {week}")
    if state["steps"] != stance.steps:
        raise Untrusted(f"{EDITED}: the scale has {stance.steps} steps, not {state['steps']}")
    label = stance.labels[state["value"]]
    if state["label"] != label:
        raise Untrusted(f"{EDITED}: position {state['value'] + 1} is {label!r}, not {state['label']!r}")
    return {**state, "stance": stance.id}


_REGRADE = {"quiz": _quiz, "sorter": _sorter, "stance": _stance}


def needs_reading(answer: Answer) -> bool:
    """Whether this answer's claims are checked against the reading (quiz, sorter and stance are)."""
    return answer.kind in _REGRADE


def regrade(answer: Answer, reading: Reading, week: int) -> Answer:
    """The answer with the grade the reading gives it (what collect stores), or Untrusted saying why not.

    ``week`` is the week the notebook says it is. Ids the reading does not have are Untrusted too.
    """
    check = _REGRADE.get(answer.kind)
    if check is None:
        return answer
    try:
        return Answer(answer.answer_id, answer.kind, check(answer, reading, week))
    except UnknownItem as exc:
        raise Untrusted(str(exc)) from None
