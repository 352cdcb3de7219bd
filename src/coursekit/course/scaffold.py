"""``coursekit new-reading``: a second reading's folder, complete and valid, for its author to rewrite.

Every file a reading needs is written with one example of each thing (a week, sections with each
kind of activity, a glossary term, a quiz item, a sorter, a stance, a prompt), in placeholder words
that say what to replace, so ``coursekit build`` makes a working notebook from the first minute.
Each file names its JSON Schema (``coursekit schema``) for the editor.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from coursekit.course.problems import Problem
from coursekit.course.reading import FILES, Reading, ReadingError, load_reading

# A reading's id is its folder's name and is written into every notebook: letters, digits, '-', '_'.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _files(title: str) -> dict[str, str]:
    """The example reading's files; ``title`` is JSON-quoted, which YAML reads as the same string."""
    quoted = json.dumps(title, ensure_ascii=False)
    return {
        "reading.yaml": f"""\
citation:
  authors: ["Replace, A.", "Replace, B."]
  year: 2026
  title: {quoted}
  journal: "Replace with the journal"
  volume: 1
  issue: 1
  pages: "1–20"
sources:
  R: >-
    Replace: where this companion's points come from (the article itself, a review, a summary).
    Every section, term and quiz answer cites a key like [R].
weeks:
  - week: 1
    slug: first-week
    title: "Replace with the week's title"
    intro: |
      Replace this with what the week covers and why it matters, in your own words [R].
    time: {{sections: 10, self-check: 5, reflections: 15}}
""",
        "sections.yaml": """\
sections:
  - id: first-section
    week: 1
    title: "Replace with the section's title"
    summary: |
      Replace this summary with the section's points, citing where each comes from [R].
      The sorter card below rests on this sentence: an example sentence to replace.
    sources: [R]
    activity: {cards: ["Example term"]}
  - id: second-section
    week: 1
    title: "Replace: a section followed by a case sorter"
    summary: |
      Replace this with a second section; its activity sorts cases into categories [R].
    sources: [R]
    activity: {sorter: first-sorter}
  - id: third-section
    week: 1
    title: "Replace: a section followed by the stance slider"
    summary: |
      Replace this with a third section; its activity asks students where they stand [R].
    sources: [R]
    activity: {stance: first-stance}
""",
        "glossary.yaml": """\
terms:
  - term: Example term
    definition: "Replace with the term's definition, citing its source [R]."
    example: "Replace with a concrete example of the term."
    sources: [R]
""",
        "quiz.yaml": """\
items:
  - id: w1-q1
    week: 1
    question: "Replace with a self-check question about the week's sections."
    kind: single
    options:
      - text: "Replace with the right answer."
        correct: true
        explanation: "Replace with why it is right [R]."
      - text: "Replace with a wrong answer."
        correct: false
        explanation: "Replace with why it is wrong [R]."
    sources: [R]
""",
        "prompts.yaml": """\
prompts:
  - id: w1-first
    week: 1
    text: |
      Replace with a reflection prompt: ask students to take a position on the week's reading in their own words.
    min_words: 50
""",
        "cases.yaml": """\
sorters:
  - id: first-sorter
    week: 1
    title: "Replace with the sorter's title"
    instructions: "Replace: tell students what to sort and by what."
    categories:
      - id: first
        label: "Replace: the first category"
        explanation: "Replace with what belongs here [R]."
      - id: second
        label: "Replace: the second category"
        explanation: "Replace with what belongs here [R]."
    cases:
      - id: first-case
        text: "Replace with a case that belongs to the first category"
        answer: first
        explanation: "Replace with why [R]."
        sources: [R]
        rests_on: {section: first-section, text: "an example sentence to replace"}
      - id: second-case
        text: "Replace with a case that belongs to the second category"
        answer: second
        explanation: "Replace with why [R]."
        sources: [R]
""",
        "stance.yaml": """\
stances:
  - id: first-stance
    weeks: [1]
    question: "Replace with a question students place themselves on, between the two poles."
    left: "Replace: one pole"
    right: "Replace: the other pole"
    steps: 7
""",
    }


def new_reading(name: str, into: str | Path = "readings", title: str | None = None) -> Reading:
    """Write ``into/name/`` with an example reading and load it; ReadingError for a bad name or a taken folder."""
    folder = Path(into) / name
    if not SAFE_NAME.fullmatch(name):
        reason = f"{name!r} is not a safe folder name"
        raise ReadingError([Problem(reason, "use letters, digits, '-' and '_', like kreiss-finn-turner-2011")])
    if folder.exists():
        raise ReadingError([Problem(f"{folder} exists already", "choose another name; nothing was written")])
    files = _files(title or "Replace with the reading's title")
    folder.mkdir(parents=True)
    schemas = Path(os.path.relpath(folder.parent.parent / "schemas", folder)).as_posix()  # the course's schemas/
    for file_name in FILES:
        schema = f"{schemas}/{file_name.removesuffix('.yaml')}.schema.json"
        header = f"# yaml-language-server: $schema={schema}\n# An example to replace: see the README, Course content.\n"
        (folder / file_name).write_text(header + files[file_name], encoding="utf-8")
    return load_reading(folder)
