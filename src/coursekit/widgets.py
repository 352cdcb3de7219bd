"""ipywidgets over the reading model: a thin layer, with the grading logic in ``coursekit.quiz``.

Constructors print nothing. Where no widget frontend runs (GitHub, nbviewer, nbval) a widget
shows readable text instead of its Python repr, so a stored output says what the widget asks.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as w

from coursekit.quiz import Verdict, grade, score
from coursekit.reading import QuizItem


class Readable:
    """Mixin: a plain-text and HTML fallback of the widget for frontends without widgets."""

    def fallback_text(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        text = self.fallback_text()
        data["text/plain"] = text
        data["text/html"] = "<pre>" + html.escape(text) + "</pre>"
        return data


class QuizQuestion(w.VBox):
    """One quiz item: choose, check, read feedback on each chosen option, try again."""

    def __init__(self, item: QuizItem, number: int, on_change: Callable[[], None] | None = None):
        self.item = item
        self.verdict: Verdict | None = None
        self._on_change = on_change
        hint = " <i>(choose all that apply)</i>" if item.kind == "multiple" else ""
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
        self.check_button = w.Button(description="Check", button_style="primary", tooltip="Check your answer")
        self.retry_button = w.Button(description="Try again", tooltip="Clear your answer", disabled=True)
        self.feedback = w.HTML("")
        self.check_button.on_click(lambda _: self.check())
        self.retry_button.on_click(lambda _: self.retry())
        super().__init__(
            [self.prompt, self.choices, w.HBox([self.check_button, self.retry_button]), self.feedback],
            layout=w.Layout(margin="0 0 1em 0"),
        )

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
        parts = [f"<b>{'✅' if verdict.correct else '🔸'} {html.escape(verdict.summary)}</b>"]
        parts += [
            f"<li>{'✔' if o.correct else '✘'} <i>{html.escape(o.text)}</i>: {html.escape(o.explanation)}</li>"
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


class Quiz(Readable, w.VBox):
    """A self-check quiz over quiz items from the readings data, with a running score."""

    def __init__(self, items: Sequence[QuizItem], title: str = "Self-check"):
        if not items:
            raise ValueError("a quiz needs at least one item")
        self.title = title
        self.questions = [QuizQuestion(item, n, self._update_score) for n, item in enumerate(items, 1)]
        self.score_label = w.HTML()
        self._update_score()
        super().__init__([w.HTML(f"<h4>{html.escape(title)}</h4>"), *self.questions, self.score_label])

    @property
    def verdicts(self) -> list[Verdict]:
        return [q.verdict for q in self.questions if q.verdict is not None]

    @property
    def score(self) -> int:
        return score(self.verdicts)

    def _update_score(self) -> None:
        answered = len(self.verdicts)
        self.score_label.value = f"<b>Score: {self.score} of {len(self.questions)} correct</b> ({answered} answered)"

    def fallback_text(self) -> str:
        lines = [f"{self.title} (interactive quiz: run this notebook in JupyterLab to answer)"]
        for n, question in enumerate(self.questions, 1):
            lines.append(f"{n}. {question.item.question}")
            lines += [f"   {chr(97 + i)}) {o.text}" for i, o in enumerate(question.item.options)]
        return "\n".join(lines)
