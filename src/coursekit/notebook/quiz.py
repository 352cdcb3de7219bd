"""Grading quiz items and sorted cases: plain functions over the reading model, shared by widgets and collect."""

from __future__ import annotations

from dataclasses import dataclass

from coursekit.course.reading import QuizItem, Sorter


@dataclass(frozen=True)
class OptionFeedback:
    index: int
    text: str
    chosen: bool
    correct: bool
    explanation: str


@dataclass(frozen=True)
class Verdict:
    item_id: str
    chosen: tuple[int, ...]
    correct: bool
    options: tuple[OptionFeedback, ...]  # feedback on each option the student chose
    missed: int  # correct options the student did not choose

    @property
    def summary(self) -> str:
        if self.correct:
            return "Correct."
        if not self.chosen:
            return "Choose an answer first."
        if self.missed and all(o.correct for o in self.options):
            return f"Partly right: {self.missed} more correct option(s) to find."
        return "Not quite. Read the feedback and try again."


def grade(item: QuizItem, chosen: set[int] | frozenset[int] | tuple[int, ...]) -> Verdict:
    """How the chosen option indices answer ``item``, with the explanation of each chosen option."""
    picked = tuple(sorted(set(chosen)))
    for index in picked:
        if not 0 <= index < len(item.options):
            raise ValueError(f"{item.id}: option {index} does not exist")
    feedback = tuple(
        OptionFeedback(i, item.options[i].text, True, item.options[i].correct, item.options[i].explanation)
        for i in picked
    )
    return Verdict(
        item_id=item.id,
        chosen=picked,
        correct=bool(picked) and frozenset(picked) == item.correct,
        options=feedback,
        missed=len(item.correct - frozenset(picked)),
    )


def score(verdicts: list[Verdict]) -> int:
    return sum(1 for v in verdicts if v.correct)


def sorted_correctly(sorter: Sorter, placed: dict[str, str]) -> int:
    """How many cases ``placed`` (case id -> category id) puts where the reading's key does."""
    return sum(1 for case in sorter.cases if placed.get(case.id) == case.answer)
