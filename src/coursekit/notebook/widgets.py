"""The widgets a student's notebook shows, over the reading model: a thin layer, grading in ``coursekit.notebook.quiz``.

Here are the activities (the quiz, concept cards, the stance slider, the case sorter); a notebook
imports only this module and calls ``widgets.X``, so the peer feed (``peer_feed``) and the word
count (``frontend``) are named here too. Constructors print nothing. Where no widget frontend runs
(GitHub, nbviewer, nbval) a widget shows readable text instead of its Python repr, so a stored
output says what the widget asks (``coursekit.notebook.frontend``). Widgets that take answers
record them in the notebook and restore them on a rerun (``coursekit.notebook.recorder``).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as w

from coursekit.course.reading import QuizItem, Sorter, Stance, Term
from coursekit.notebook import answers
from coursekit.notebook.frontend import Readable
from coursekit.notebook.frontend import WordCount as WordCount  # the notebooks call widgets.WordCount
from coursekit.notebook.peer_feed import PeerFeed as PeerFeed  # the notebooks call widgets.PeerFeed
from coursekit.notebook.quiz import Verdict, grade, score, sorted_correctly
from coursekit.notebook.recorder import Recorder

UNCHOSEN = ""  # the value of a dropdown's "Choose…" entry


class QuizQuestion(w.VBox):
    """One quiz item: choose, check, read feedback on each chosen option, try again."""

    def __init__(self, item: QuizItem, number: int, on_change: Callable[[], None] | None = None):
        self.item = item
        self.number = number
        self.verdict: Verdict | None = None
        self._on_change = on_change
        asks_all = item.kind == "multiple" and "all that apply" not in item.question.lower()
        hint = " <i>(choose all that apply)</i>" if asks_all else ""
        self.prompt = w.HTML(f"<b>{number}.</b> {html.escape(item.question)}{hint}")
        if item.kind == "multiple":
            self.boxes = [
                w.Checkbox(value=False, description=o.text, indent=False, layout=w.Layout(width="auto"))
                for o in item.options
            ]
            self.choices = w.VBox(self.boxes)
        else:
            self.boxes = []
            self.choices = w.RadioButtons(
                options=[(o.text, i) for i, o in enumerate(item.options)],
                value=None,
                layout=w.Layout(width="auto"),
            )
        self.choices.add_class(f"coursekit-choices-{number}")
        self.check_button = w.Button(description="Check", button_style="primary", tooltip="Check your answer")
        self.retry_button = w.Button(description="Try again", tooltip="Clear your answer", disabled=True)
        self.feedback = w.HTML("")
        self.check_button.on_click(lambda _: self.check())
        self.retry_button.on_click(lambda _: self.retry())
        super().__init__(
            [self.prompt, self.choices, w.HBox([self.check_button, self.retry_button]), self.feedback],
            layout=w.Layout(margin="0 0 1em 0"),
        )
        self.add_class("coursekit-quiz-question")

    @property
    def chosen(self) -> set[int]:
        if self.item.kind == "multiple":
            return {i for i, box in enumerate(self.boxes) if box.value}
        return set() if self.choices.value is None else {self.choices.value}

    def choose(self, *indices: int) -> None:
        """Select options by index, as a click would."""
        if self.item.kind == "multiple":
            for i, box in enumerate(self.boxes):
                box.value = i in indices
        else:
            self.choices.value = indices[0] if indices else None

    def check(self) -> Verdict:
        verdict = grade(self.item, self.chosen)
        if verdict.chosen:
            self.verdict = verdict
            self.retry_button.disabled = False
        parts = [f"<b>{'✔' if verdict.correct else '✘'} {html.escape(verdict.summary)}</b>"]
        parts += [
            f"<li>{'✔' if o.correct else '✘'} <i>{html.escape(o.text)}</i> — {html.escape(o.explanation)}</li>"
            for o in verdict.options
        ]
        self.feedback.value = parts[0] + ("<ul>" + "".join(parts[1:]) + "</ul>" if verdict.options else "")
        if self._on_change:
            self._on_change()
        return verdict

    def retry(self) -> None:
        self.choose()
        self.verdict = None
        self.feedback.value = ""
        self.retry_button.disabled = True
        if self._on_change:
            self._on_change()


class Quiz(Recorder, w.VBox):
    """A self-check quiz over quiz items from the readings data, with a running score."""

    answer_kind = "quiz"

    def __init__(self, items: Sequence[QuizItem], title: str = "Self-check", answer_id: str = "self-check"):
        if not items:
            raise ValueError("a quiz needs at least one item")
        self._init_recorder(answer_id)
        self.title = title
        self.questions = [QuizQuestion(item, n, self._update_score) for n, item in enumerate(items, 1)]
        self.score_label = w.HTML()
        self._update_score()
        super().__init__([w.HTML(f"<h4>{html.escape(title)}</h4>"), *self.questions, self.score_label])
        self.add_class("coursekit-quiz")

    @property
    def verdicts(self) -> list[Verdict]:
        return [q.verdict for q in self.questions if q.verdict is not None]

    @property
    def score(self) -> int:
        return score(self.verdicts)

    def _update_score(self) -> None:
        answered = len(self.verdicts)
        self.score_label.value = f"<b>Score: {self.score} of {len(self.questions)} correct</b> ({answered} answered)"
        self._record()

    def restore(self, state: dict) -> None:
        by_id = {q.item.id: q for q in self.questions}
        for item in state["items"]:
            question = by_id[item["id"]]
            question.choose(*item["chosen"])
            question.check()

    def answer_state(self) -> dict | None:
        verdicts = self.verdicts
        if not verdicts:
            return None
        items = [{"id": v.item_id, "chosen": list(v.chosen), "correct": v.correct} for v in verdicts]
        return {"items": items, "score": self.score, "total": len(self.questions)}

    def fallback(self) -> tuple[str, list[str]]:
        details = [
            f"{n}. {q.item.question} " + " ".join(f"({chr(97 + i)}) {o.text}" for i, o in enumerate(q.item.options))
            for n, q in enumerate(self.questions, 1)
        ]
        return f"{self.title}: answer each question, press Check and read why.", details

    def aria_labels(self) -> dict[str, dict[str, str]]:
        labels = {}
        for q in self.questions:
            name = f"Question {q.number}: {q.item.question}"
            if q.item.kind == "multiple":
                labels[f".coursekit-choices-{q.number}"] = {"role": "group", "aria-label": name}
            else:
                labels[f".coursekit-choices-{q.number} .widget-radio-box"] = {"role": "radiogroup", "aria-label": name}
        return labels


class ConceptCards(Readable, w.VBox):
    """The glossary as cards: search by word, read the definition and an everyday example."""

    def __init__(self, terms: Sequence[Term], title: str = "Concepts"):
        if not terms:
            raise ValueError("concept cards need at least one term")
        self.terms = list(terms)
        self.title = title
        self.search = w.Text(placeholder="Search concepts…", description="Search", continuous_update=True)
        self.cards = [
            w.HTML(self._card_html(t), layout=w.Layout(border="1px solid #ccc", padding="0.5em", margin="0.25em 0"))
            for t in self.terms
        ]
        self.count = w.HTML()
        self.search.observe(lambda _: self._filter(), names="value")
        self._filter()
        super().__init__([w.HTML(f"<h4>{html.escape(title)}</h4>"), self.search, self.count, *self.cards])
        self.add_class("coursekit-cards")

    @staticmethod
    def _card_html(term: Term) -> str:
        return (
            f"<b>{html.escape(term.term)}</b><br>{html.escape(term.definition)}"
            f"<br><i>Example:</i> {html.escape(term.example)}"
        )

    def visible_terms(self) -> list[str]:
        return [t.term for t, card in zip(self.terms, self.cards, strict=True) if card.layout.display != "none"]

    def _filter(self) -> None:
        needle = self.search.value.strip().lower()
        for term, card in zip(self.terms, self.cards, strict=True):
            hit = not needle or needle in f"{term.term} {term.definition} {term.example}".lower()
            card.layout.display = None if hit else "none"
        shown = len(self.visible_terms())
        self.count.value = f"<small>{shown} of {len(self.terms)} concepts</small>" if needle else ""

    def fallback(self) -> tuple[str, list[str]]:
        details = [f"{t.term}: {t.definition} Example: {t.example}" for t in self.terms]
        return f"{self.title}: search the glossary and read each concept with an example.", details

    def aria_labels(self) -> dict[str, dict[str, str]]:
        return {"input[type='text']": {"aria-label": "Search concepts"}}


class StanceSlider(Recorder, w.VBox):
    """Where the student stands between two poles, with an optional one-line reason."""

    answer_kind = "stance"

    def __init__(self, stance: Stance):
        self._init_recorder(stance.id)
        self.stance = stance
        self.labels = self.step_labels = stance.labels
        self.moved = False
        self.slider = w.SelectionSlider(
            options=[(label, i) for i, label in enumerate(self.labels)],
            value=stance.steps // 2,
            description="Your stance",
            continuous_update=False,
            readout=False,  # its editable readout took the next Tab and the reason typed there; see status
            style={"description_width": "initial"},
            layout=w.Layout(width="95%"),
        )
        self.reason = w.Text(
            placeholder="Optional: one line on why",
            description="Why?",
            continuous_update=False,
            layout=w.Layout(width="95%"),
        )
        at = html.escape(self.labels[self.slider.value])
        self.status = w.HTML(f"<small>At <b>{at}</b>. Move the slider to record your stance.</small>")
        self.slider.observe(lambda _: self._changed(), names="value")
        self.reason.observe(lambda _: self._changed(), names="value")
        poles = f"<small>◀ {html.escape(stance.left)} · {html.escape(stance.right)} ▶</small>"
        super().__init__(
            [w.HTML(f"<b>{html.escape(stance.question)}</b>"), w.HTML(poles), self.slider, self.reason, self.status]
        )
        self.add_class("coursekit-stance")

    def _changed(self) -> None:
        self.moved = True
        self.status.value = f"<small>Recorded: <b>{html.escape(self.labels[self.slider.value])}</b></small>"
        self._record()

    def restore(self, state: dict) -> None:
        self.reason.value = state.get("reason", "")
        self.slider.value = state["value"]
        self._changed()

    def answer_state(self) -> dict | None:
        if not self.moved:
            return None
        return {
            "stance": self.stance.id,
            "value": self.slider.value,
            "label": self.labels[self.slider.value],
            "steps": self.stance.steps,
            "reason": self.reason.value.strip()[: answers.MAX_REASON],
        }

    def fallback(self) -> tuple[str, list[str]]:
        return f"Where do you stand? {self.stance.question}", ["Scale: " + " | ".join(self.labels)]

    def aria_labels(self) -> dict[str, dict[str, str]]:
        return {".noUi-handle": {"aria-label": f"Your stance: {self.stance.question}"}}


class CaseSorter(Recorder, w.VBox):
    """Sort cases into categories (Weber's types of authority, the article's claims...), with feedback."""

    answer_kind = "sorter"

    def __init__(self, sorter: Sorter):
        self._init_recorder(sorter.id)
        self.sorter = sorter
        self.checked = False
        # "" rather than None: ipywidgets shows a blank dropdown for None, and students should read "Choose…".
        choices = [("Choose…", UNCHOSEN)] + [(c.label, c.id) for c in sorter.categories]
        self.pickers = [
            w.Dropdown(options=choices, value=UNCHOSEN, layout=w.Layout(width="auto")) for _ in sorter.cases
        ]
        for n, picker in enumerate(self.pickers, 1):
            picker.add_class(f"coursekit-case-{n}")
        self.feedback = [w.HTML("") for _ in sorter.cases]
        rows = [
            w.VBox(
                [w.HTML(f"<b>{n}.</b> {html.escape(case.text)}"), picker, note], layout=w.Layout(margin="0 0 0.75em 0")
            )
            for n, (case, picker, note) in enumerate(zip(sorter.cases, self.pickers, self.feedback, strict=True), 1)
        ]
        self.check_button = w.Button(description="Check", button_style="primary", tooltip="Check your sorting")
        self.check_button.on_click(lambda _: self.check())
        self.result = w.HTML("")
        header = w.HTML(f"<h4>{html.escape(sorter.title)}</h4><p>{html.escape(sorter.instructions)}</p>")
        super().__init__([header, *rows, self.check_button, self.result])
        self.add_class("coursekit-sorter")

    def place(self, case_id: str, category_id: str | None) -> None:
        """Put a case in a category, as choosing it in the dropdown would."""
        index = self.sorter.cases.index(self.sorter.case(case_id))  # UnknownItem for a case it does not have
        self.pickers[index].value = category_id or UNCHOSEN

    @property
    def placed(self) -> dict[str, str]:
        return {c.id: p.value for c, p in zip(self.sorter.cases, self.pickers, strict=True) if p.value != UNCHOSEN}

    @property
    def correct(self) -> int:
        return sorted_correctly(self.sorter, self.placed)

    def check(self) -> int:
        labels = {c.id: c.label for c in self.sorter.categories}
        for case, picker, note in zip(self.sorter.cases, self.pickers, self.feedback, strict=True):
            if picker.value == UNCHOSEN:
                note.value = "<small>Not sorted yet.</small>"
            elif picker.value == case.answer:
                note.value = f"<small>✔ {html.escape(case.explanation)}</small>"
            else:
                note.value = (
                    f"<small>✘ We would put this under <i>{html.escape(labels[case.answer])}</i>: "
                    f"{html.escape(case.explanation)}</small>"
                )
        self.checked = True
        total = len(self.sorter.cases)
        self.result.value = f"<b>{self.correct} of {total} placed as we would</b> ({len(self.placed)} sorted)"
        self._record()
        return self.correct

    def restore(self, state: dict) -> None:
        known = {c.id for c in self.sorter.cases}
        for case_id, category_id in state["placed"].items():
            if case_id in known:
                self.place(case_id, category_id)
        self.check()

    def answer_state(self) -> dict | None:
        if not self.checked:
            return None
        return {
            "sorter": self.sorter.id,
            "placed": self.placed,
            "correct": self.correct,
            "total": len(self.sorter.cases),
        }

    def fallback(self) -> tuple[str, list[str]]:
        details = ["Categories: " + "; ".join(c.label for c in self.sorter.categories)]
        details += [f"{n}. {case.text}" for n, case in enumerate(self.sorter.cases, 1)]
        return f"{self.sorter.title}: {self.sorter.instructions}", details

    def aria_labels(self) -> dict[str, dict[str, str]]:
        return {
            f".coursekit-case-{n} select": {"aria-label": f"Case {n}: {case.text}"}
            for n, case in enumerate(self.sorter.cases, 1)
        }
