"""The Python half of ``frontend.js``: what every activity shows where it cannot run, and its browser helpers.

``Readable`` gives each widget a readable fallback (GitHub, nbviewer, nbval) and, in JupyterLab, an
invisible ``KeyboardHelper`` for keys, screen readers and the state of an activity shown with no
kernel behind it; ``WordCount`` counts a reflection's words as the student types.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anywidget
import ipywidgets as w
import traitlets

from coursekit.course.reading import Prompt
from coursekit.notebook.cells import (
    PLACEHOLDER_LINES,
    REFLECTION,
    WORD_PATTERN,
    cell_marker,
    reflection_text,
    word_count,
)

# Readable is mixed into ipywidgets classes; to the type checker it is one, so super() resolves.
if TYPE_CHECKING:
    from ipywidgets import DOMWidget as _Widget
else:
    _Widget = object


RUN_FIRST = "Run ▸ Run All Cells to use this activity."
# Over an activity shown from the notebook's saved state, with no kernel behind it (frontend.js).
NOT_LIVE = f"{RUN_FIRST} Shown as saved: nothing you change here is checked or recorded until you run it."
FRONTEND = Path(__file__).with_name("frontend.js")


class KeyboardHelper(anywidget.AnyWidget):
    """Invisible child of an activity: its keys stay out of JupyterLab's notebook shortcuts.

    Without it, arrow keys in a radio group or a dropdown move to the next cell. It also makes
    each radio group one Tab stop and names controls for screen readers (``labels``: CSS selector
    inside the activity -> attributes; ``steps``: a slider's step labels, read out instead of its
    index). Shown without a kernel, the activity says ``not_live`` and is disabled. The browser
    half is ``frontend.js``.
    """

    _esm = FRONTEND
    role = traitlets.Unicode("keys").tag(sync=True)
    labels = traitlets.Dict().tag(sync=True)
    steps = traitlets.List(traitlets.Unicode()).tag(sync=True)
    not_live = traitlets.Unicode(NOT_LIVE).tag(sync=True)


class Readable(_Widget):
    """Mixin: a readable fallback where widgets cannot run, and keyboard/screen-reader help where they can."""

    def fallback(self) -> tuple[str, list[str]]:
        """What the activity asks (one line) and its details, for frontends without widgets."""
        raise NotImplementedError

    def fallback_text(self) -> str:
        ask, details = self.fallback()
        return "\n".join([f"{RUN_FIRST} {ask}", *details])

    def aria_labels(self) -> dict[str, dict[str, str]]:
        """Accessible names for controls, by CSS selector inside the activity."""
        return {}

    step_labels: Sequence[str] = ()  # a slider's steps, as a screen reader should announce them

    def _repr_mimebundle_(self, **kwargs):
        if isinstance(self, w.Box) and not any(isinstance(c, KeyboardHelper) for c in self.children):
            self.add_class("coursekit-activity")
            self.children = (*self.children, KeyboardHelper(labels=self.aria_labels(), steps=list(self.step_labels)))
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle  # anywidget returns (data, metadata)
        ask, details = self.fallback()
        data["text/plain"] = self.fallback_text()
        items = "".join(f"<li>{html.escape(line)}</li>" for line in details)
        data["text/html"] = (
            f"<div class='coursekit-fallback'><p><b>{html.escape(RUN_FIRST)}</b> {html.escape(ask)}</p>"
            + (f"<ul>{items}</ul>" if items else "")
            + "</div>"
        )
        return bundle


def saved_word_count(prompt_id: str, notebook_path: str | None = None) -> int:
    """Words in the saved reflection cell of ``prompt_id`` (0 if the notebook file cannot be read)."""
    path = notebook_path or os.environ.get("JPY_SESSION_NAME")
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return 0
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        marker = cell_marker(cell) if isinstance(cell, dict) else None
        if marker and marker.get("role") == REFLECTION and marker.get("prompt_id") == prompt_id:
            return word_count(reflection_text(cell))
    return 0


class WordCount(Readable, anywidget.AnyWidget):
    """A live count of the words in the reflection cell just above, against the prompt's minimum.

    The kernel cannot see unsaved cell text, so the counting happens in the browser
    (``frontend.js``), with the same word pattern and placeholder lines as ``collect``.
    """

    _esm = FRONTEND
    role = traitlets.Unicode("words").tag(sync=True)
    min_words = traitlets.Int(0).tag(sync=True)
    count = traitlets.Int(0).tag(sync=True)
    word_pattern = traitlets.Unicode(WORD_PATTERN).tag(sync=True)
    placeholders = traitlets.List(list(PLACEHOLDER_LINES)).tag(sync=True)

    def __init__(self, prompt: Prompt, notebook_path: str | None = None):
        super().__init__(min_words=prompt.min_words, count=saved_word_count(prompt.id, notebook_path))

    def fallback(self) -> tuple[str, list[str]]:
        return f"Word count: write at least {self.min_words} words in the cell above.", []
