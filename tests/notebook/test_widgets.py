"""Concept cards, stance slider and case sorter, driven through .value and .click()."""

from __future__ import annotations

import IPython.display
import pytest

from coursekit.discussion.feed import find_feed
from coursekit.notebook import answers
from coursekit.notebook.frontend import KeyboardHelper
from coursekit.notebook.widgets import CaseSorter, ConceptCards, PeerFeed, Quiz, StanceSlider


def test_concept_cards_search_filters_cards(reading, capsys):
    cards = ConceptCards(reading.terms())
    assert capsys.readouterr().out == ""
    assert len(cards.visible_terms()) == len(reading.glossary)
    cards.search.value = "charisma"
    shown = cards.visible_terms()
    assert "Charismatic authority" in shown and "Routinization of charisma" in shown
    assert "Bureaucracy" not in shown
    assert f"{len(shown)} of {len(reading.glossary)} concepts" in cards.count.value
    cards.search.value = "no such concept anywhere"
    assert cards.visible_terms() == [] and "0 of" in cards.count.value
    cards.search.value = ""
    assert len(cards.visible_terms()) == len(reading.glossary)


def test_concept_cards_show_definition_and_example(reading):
    term = reading.terms("Iron cage")[0]
    cards = ConceptCards([term])
    assert term.term in cards.cards[0].value and "Example:" in cards.cards[0].value
    assert term.definition[:30].replace("'", "&#x27;") in cards.cards[0].value
    assert term.definition in cards._repr_mimebundle_()["text/plain"]


def test_stance_labels_run_from_pole_to_pole(reading):
    stance = reading.stance("saving-grace")
    labels = stance.labels
    assert len(labels) == stance.steps
    assert labels[0] == stance.left and labels[-1] == stance.right
    assert labels[stance.steps // 2] == "Undecided"


def test_stance_slider_records_position_and_reason(reading):
    stance = reading.stance("saving-grace")
    slider = StanceSlider(stance)
    assert slider.answer_record()["state"] is None  # shown but untouched: nothing recorded
    slider.slider.value = 1
    assert "Recorded" in slider.status.value
    slider.reason.value = "  Wikipedia beats the alternatives  "
    state = slider.answer_record()["state"]
    assert state == {
        "stance": "saving-grace",
        "value": 1,
        "label": stance.labels[1],
        "steps": stance.steps,
        "reason": "Wikipedia beats the alternatives",
    }
    assert answers.parse(slider.answer_record())[0].state == state


def test_stance_slider_has_one_control_and_is_read_out_by_label(reading):
    """No editable readout to Tab into; the position is shown and announced by its label, not its index."""
    stance = reading.stance("saving-grace")
    slider = StanceSlider(stance)
    assert slider.slider.readout is False
    assert f"At <b>{stance.labels[stance.steps // 2]}</b>" in slider.status.value
    slider._repr_mimebundle_()
    helper = next(c for c in slider.children if isinstance(c, KeyboardHelper))
    assert helper.steps == list(stance.labels) and ".noUi-handle" in helper.labels
    quiz = Quiz(reading.quiz_for(1))
    quiz._repr_mimebundle_()
    assert next(c for c in quiz.children if isinstance(c, KeyboardHelper)).steps == []  # no slider there


def test_feed_posts_are_headings_and_replies_one_level_down(tmp_path, reading):
    feed = PeerFeed(find_feed(3, reading, start=tmp_path))
    posts = feed.show("anyone")
    entries = [e for box in feed.area.children for e in box.children[0].children]
    assert posts and len(entries) > len(posts)  # the sample has replies under its posts
    for entry in entries:
        post = next(p for p in feed.feed.posts if p.id == entry.post_id)
        level = 6 if post.parent_id else 5
        assert entry.children[0].value.startswith(f"<h{level} ") and f"{post.author}<small" in entry.children[0].value


def test_case_sorter_feedback_per_case(reading):
    sorter = reading.sorter("w2-authority")
    widget = CaseSorter(sorter)
    first, second = sorter.cases[0], sorter.cases[1]
    wrong = next(c.id for c in sorter.categories if c.id != second.answer)
    widget.pickers[0].value = first.answer
    widget.place(second.id, wrong)
    widget.check_button.click()
    assert widget.feedback[0].value.startswith("<small>✔")
    assert widget.feedback[1].value.startswith("<small>✘ We would put this under")
    assert "Not sorted yet" in widget.feedback[2].value
    assert f"1 of {len(sorter.cases)} placed as we would" in widget.result.value
    state = widget.answer_record()["state"]
    assert state["placed"] == {first.id: first.answer, second.id: wrong}
    assert state["correct"] == 1 and state["total"] == len(sorter.cases)
    for case in sorter.cases:
        widget.place(case.id, case.answer)
    assert widget.check() == len(sorter.cases)
    assert answers.parse(widget.answer_record())[0] is not None


class FakeHandle:
    def __init__(self):
        self.updates = []

    def update(self, data, raw=False):
        self.updates.append(data)


@pytest.mark.parametrize("make", ["quiz", "stance", "sorter"])
def test_answers_are_shown_and_updated_in_place(reading, monkeypatch, make):
    shown, handle = [], FakeHandle()

    def fake_display(data, raw=False, display_id=None):
        shown.append(data)
        return handle if display_id else None

    monkeypatch.setattr(IPython.display, "display", fake_display)
    widget = {
        "quiz": lambda: Quiz(reading.quiz_for(1), answer_id="w1-quiz"),
        "stance": lambda: StanceSlider(reading.stance("saving-grace")),
        "sorter": lambda: CaseSorter(reading.sorter("w2-authority")),
    }[make]()
    widget._ipython_display_()
    assert "application/vnd.jupyter.widget-view+json" in shown[0]
    assert shown[1][answers.MIME]["state"] is None
    assert "saved with the notebook" in shown[1]["text/plain"]

    if make == "quiz":
        question = widget.questions[0]
        question.choices.value = next(iter(question.item.correct))
        question.check_button.click()
    elif make == "stance":
        widget.slider.value = 0
    else:
        widget.check_button.click()
    saved = handle.updates[-1]
    assert saved[answers.MIME]["kind"] == make and saved[answers.MIME]["state"]
    assert saved["text/plain"].startswith("✔ Recorded")
    assert answers.parse(saved[answers.MIME])[1] == ""


def test_saved_answers_come_back_when_the_notebook_is_run_again(reading, tmp_path, monkeypatch):
    """A student reopens a saved notebook and runs it: the widgets show their saved answers again."""
    from coursekit.discussion.feed import sample_feed
    from coursekit.log.demo import filled_notebook, with_saved, write_notebook
    from coursekit.notebook.widgets import PeerFeed

    quiz_item = reading.quiz_for(1)[0]
    right = next(iter(quiz_item.correct))
    sorter = reading.sorter("w2-authority")
    case = sorter.cases[0]
    feed = sample_feed(reading, 1)
    post = feed.roots()[0]
    records = {
        "widgets.Quiz": answers.record(
            "quiz",
            "w1-quiz",
            {"items": [{"id": quiz_item.id, "chosen": [right], "correct": True}], "score": 1, "total": 4},
        ),
        "widgets.StanceSlider": answers.record(
            "stance", "saving-grace", {"stance": "saving-grace", "value": 5, "label": "x", "steps": 7, "reason": "why"}
        ),
    }
    path = write_notebook(tmp_path / "week01.ipynb", with_saved(filled_notebook(reading, 1, {}), records))
    other = {
        "widgets.CaseSorter": answers.record(
            "sorter",
            "w2-authority",
            {"sorter": "w2-authority", "placed": {case.id: case.answer}, "correct": 1, "total": len(sorter.cases)},
        ),
        "widgets.PeerFeed": answers.record(
            "peer",
            "w2-peers",
            {
                "feed": feed.id,
                "sample": True,
                "student": "ann",
                "likes": [post.id],
                "replies": [{"parent_id": post.id, "text": "my *saved* reply"}],
            },
        ),
    }
    path2 = write_notebook(tmp_path / "week02.ipynb", with_saved(filled_notebook(reading, 2, {}), other))

    quiz = Quiz(reading.quiz_for(1), answer_id="w1-quiz")
    assert quiz.restore_saved(str(path)) and quiz.score == 1 and "Correct." in quiz.questions[0].feedback.value
    stance = StanceSlider(reading.stance("saving-grace"))
    assert stance.restore_saved(str(path)) and stance.slider.value == 5 and stance.reason.value == "why"
    widget = CaseSorter(sorter)
    assert widget.restore_saved(str(path2)) and widget.placed == {case.id: case.answer}
    peers = PeerFeed(feed, answer_id="w2-peers")
    assert peers.restore_saved(str(path2))
    box = next(b for b in peers.area.children if b.post_id == post.id)
    assert peers.like_buttons[post.id].value is True and "<em>saved</em>" in box.mine.value
    assert peers.answer_record()["state"]["replies"] == [{"parent_id": post.id, "text": "my *saved* reply"}]

    monkeypatch.setenv("JPY_SESSION_NAME", str(path))  # what JupyterLab tells the kernel
    fresh = StanceSlider(reading.stance("saving-grace"))
    # restored when displayed, not in the constructor
    assert fresh.answer_record()["state"] is None
    assert fresh.restore_saved() and fresh.answer_record()["state"]["value"] == 5
    assert not Quiz(reading.quiz_for(1), answer_id="w1-quiz").restore_saved(str(tmp_path / "missing.ipynb"))


def test_dropdowns_say_choose_and_fallbacks_show_no_ids(reading):
    sorter = CaseSorter(reading.sorter("w2-authority"))
    assert all(p.label == "Choose…" for p in sorter.pickers)  # not a blank dropdown
    sorter.place(reading.sorter("w2-authority").cases[0].id, None)
    assert sorter.placed == {}
    for widget, internal in (
        (sorter, "w2-authority"),
        (StanceSlider(reading.stance("saving-grace")), "saving-grace"),
        (Quiz(reading.quiz_for(1), answer_id="w1-quiz"), "w1-quiz"),
    ):
        bundle = widget._repr_mimebundle_()
        assert bundle["text/plain"].startswith("Run ▸ Run All Cells to use this activity.")
        assert "<pre>" not in bundle["text/html"] and internal not in bundle["text/html"]
        assert internal not in answers.bundle(widget.answer_record())["text/plain"]
