"""The coursekit cell format: how a notebook marks prompts and the reflections that answer them.

Every coursekit cell is a markdown cell whose ``metadata.coursekit`` holds a schema version, a
role and the prompt id, plus a visible tag in ``metadata.tags``. We never key on the cell ``id``:
nbformat rewrites missing or duplicated ids on read. The notebook's own ``metadata.coursekit``
names the reading, the week and the prompt ids it was built with, so a deleted prompt can be
detected. See docs/cell-format.md.
"""

from __future__ import annotations

import hashlib
import json
import re

from coursekit.course.reading import reflection_title

SCHEMA_VERSION = 1
NAMESPACE = "coursekit"
PROMPT = "prompt"
REFLECTION = "reflection"
ROLES = (PROMPT, REFLECTION)
TAGS = {PROMPT: "coursekit-prompt", REFLECTION: "coursekit-reflection"}
PLACEHOLDER = "*Write your reflection here, replacing this line.*"
# The placeholder as typed in the cell and as JupyterLab shows it rendered: never part of a reflection.
PLACEHOLDER_LINES = (PLACEHOLDER, PLACEHOLDER.strip("*"))
COURSE_TAG = "coursekit-course"  # generated cells that are neither prompt nor reflection (word count, sources)
WITHDRAW_TAG = "coursekit-withdraw"  # a student adds it to a reflection cell to take that reflection down

# Also the browser's live word count (frontend.js), so both count the same words.
WORD_PATTERN = r"[A-Za-z0-9\u00C0-\u024F]+(?:['\u2019-][A-Za-z0-9\u00C0-\u024F]+)*"
_WORD = re.compile(WORD_PATTERN)


def cell_marker(cell: dict) -> dict | None:
    """The coursekit metadata of a cell, or None for an ordinary cell."""
    metadata = cell.get("metadata")
    if not isinstance(metadata, dict):
        return None
    marker = metadata.get(NAMESPACE)
    return marker if isinstance(marker, dict) else None


def has_tag(cell: dict, tag: str) -> bool:
    """Whether a cell carries ``tag`` in ``metadata.tags`` (as JupyterLab's property inspector writes it)."""
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return isinstance(tags, list) and tag in tags


def cell_text(cell: dict) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def without_placeholder(text: str) -> str:
    """The text with the placeholder line taken out, wherever the student left it."""
    return "\n".join(line for line in text.split("\n") if line.strip() not in PLACEHOLDER_LINES).strip()


def reflection_text(cell: dict) -> str:
    """What the student wrote: the cell text without the placeholder line (blank if that is all)."""
    return without_placeholder(cell_text(cell))


def word_count(text: str) -> int:
    """Words as a reader counts them: runs of letters or digits, with inner apostrophes/hyphens."""
    return len(_WORD.findall(text))


def content_hash(text: str) -> str:
    """A stable fingerprint of a text, used to tell a changed reflection from an unchanged one."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _markdown_cell(role: str, prompt_id: str, source: str) -> dict:
    locked = role == PROMPT
    metadata: dict = {
        NAMESPACE: {"schema_version": SCHEMA_VERSION, "role": role, "prompt_id": prompt_id},
        "tags": [TAGS[role]],
    }
    if locked:
        metadata.update(editable=False, deletable=False)
    return {"cell_type": "markdown", "metadata": metadata, "source": source}


def prompt_cell(prompt_id: str, text: str, min_words: int, number: int = 1) -> dict:
    """A locked markdown cell that shows the prompt; students cannot edit or delete it in Lab.

    The heading numbers the prompt within its week: the id is for instructors, not students.
    """
    source = (
        f"### {reflection_title(number)}\n\n{text}\n\n"
        f"*Write at least {min_words} words in the cell below (it is tagged "
        f"`{TAGS[REFLECTION]}`). Keep it as one markdown cell.*"
    )
    return _markdown_cell(PROMPT, prompt_id, source)


def reflection_cell(prompt_id: str) -> dict:
    """The editable markdown cell a student writes into, starting as the placeholder."""
    return _markdown_cell(REFLECTION, prompt_id, PLACEHOLDER)


def prompt_checksum(cell: dict) -> str:
    """A checksum over a prompt cell's source and coursekit metadata, to detect tampering."""
    payload = json.dumps([cell_text(cell), cell_marker(cell)], sort_keys=True)
    return content_hash(payload)
