"""The answer-saving half of a notebook widget: record each answer in the notebook, restore it on a rerun.

A ``Recorder`` shows its widget, then a display output holding its answer record, updated in place
on every answer and saved with the notebook (the record's format is ``coursekit.notebook.answers``).
Reopened and run again, it first restores the answer the saved notebook holds.
"""

from __future__ import annotations

import os

from traitlets import TraitError

from coursekit.course.problems import UnknownItem
from coursekit.notebook import answers
from coursekit.notebook.frontend import Readable


class Recorder(Readable):
    """Mixin: shows the widget, then an answer output that is updated in place on each answer."""

    answer_kind = ""

    def _init_recorder(self, answer_id: str) -> None:
        self.answer_id = answer_id
        self._answer_display = None

    def answer_state(self) -> dict | None:
        raise NotImplementedError

    def answer_record(self) -> dict:
        return answers.record(self.answer_kind, self.answer_id, self.answer_state())

    def restore(self, state: dict) -> None:
        """Show a saved answer again (each widget knows how)."""
        raise NotImplementedError

    def restore_saved(self, notebook_path: str | None = None) -> bool:
        """Restore this widget's answer from the saved notebook file, if it holds one.

        JupyterLab tells the kernel its notebook's path (JPY_SESSION_NAME). Without this, a student
        who reopens a saved notebook and runs it again would save an empty record over their answers.
        """
        path = notebook_path or os.environ.get("JPY_SESSION_NAME")
        if not path or self.answer_state() is not None:
            return False
        state = answers.saved_answers(path).get(self.answer_id)
        if not state:
            return False
        try:
            self.restore(state)
        except (UnknownItem, KeyError, ValueError, TypeError, IndexError, TraitError):
            return False  # saved by another version of this notebook: start fresh
        return True

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self.restore_saved()
        display(self._repr_mimebundle_(), raw=True)
        self._answer_display = display(answers.bundle(self.answer_record()), raw=True, display_id=True)

    def _record(self) -> None:
        if self._answer_display is not None:
            self._answer_display.update(answers.bundle(self.answer_record()), raw=True)
