"""Widget answers saved inside the notebook file: the record format and its validation.

A widget shows its answer as a display output of our own MIME type, updated in place (through
its display id) every time the student answers. JupyterLab writes the updated output into the
.ipynb on save, so the one uploaded file carries quiz choices, stance and sorted cases with no
sidecar file. ``text/plain`` gives the student a readable line instead of a JSON tree.

The file is in the student's hands, so ``collect`` validates every record before trusting it.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

MIME = "application/vnd.coursekit.answer+json"
SCHEMA_VERSION = 1
KINDS = ("quiz", "stance", "sorter", "peer")
MAX_REASON = 300
MAX_REPLY = 5000
MAX_REPLIES = 50
MAX_REPLY_IMAGES = 3  # per reply; each is checked and re-encoded by ``collect`` (coursekit.discussion.images)
MAX_REPLY_IMAGE_CHARS = 7_000_000  # base64 of one image as saved (a little over 5 MB of bytes)
MAX_LABEL = 200  # characters of a stance label (the course's own labels are under 40)
MAX_ANSWER = 300_000  # characters of one saved record as JSON, its reply images apart: 50 replies of 5,000 fit
MAX_ANSWER_IMAGES = 21_000_000  # characters of the reply images in one record (about 15 MB, a notebook's image limit)
NEWER = "made by a newer coursekit"
UPGRADE = "upgrade coursekit (pip install -U coursekit) and run this again"


def record(kind: str, answer_id: str, state: dict | None) -> dict:
    return {"schema_version": SCHEMA_VERSION, "kind": kind, "id": answer_id, "state": state}


def summary(rec: dict) -> str:
    """One readable line about a record, for the student and for instructors' tables."""
    state = rec.get("state")
    if not state:
        return "nothing recorded yet"
    kind = rec.get("kind")
    if kind == "quiz":
        return f"{state['score']} of {state['total']} correct ({len(state['items'])} answered)"
    if kind == "stance":
        reason = f': "{state["reason"]}"' if state.get("reason") else ""
        return f"{state['label']} ({state['value'] + 1} of {state['steps']}){reason}"
    if kind == "sorter":
        return f"{state['correct']} of {state['total']} cases placed as expected"
    if kind == "peer":
        return (
            f"{len(state['replies'])} repl{'y' if len(state['replies']) == 1 else 'ies'}, {len(state['likes'])} like(s)"
        )
    return "unknown answer"


# What each kind of answer is called in front of students (never its internal id).
KIND_NAMES = {"quiz": "self-check", "stance": "stance", "sorter": "sorting", "peer": "replies and likes"}


def bundle(rec: dict) -> dict:
    """The display bundle for a record: our MIME type plus a line the student can read."""
    name = KIND_NAMES.get(rec.get("kind", ""), "answer")
    if rec.get("state"):
        text = f"✔ Recorded your {name}: {summary(rec)}. Save the notebook to keep it."
    else:
        text = f"Your {name} will be recorded here and saved with the notebook."
    return {MIME: rec, "text/plain": text, "text/html": f"<p>{html.escape(text)}</p>"}  # html: proportional type


@dataclass(frozen=True)
class Answer:
    answer_id: str
    kind: str
    state: dict


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _quiz_problems(state: dict) -> list[str]:
    items = state.get("items")
    if not isinstance(items, list) or not _is_int(state.get("score")) or not _is_int(state.get("total")):
        return ["needs items (a list), score and total (whole numbers)"]
    for item in items:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("id"), str)
            and isinstance(item.get("chosen"), list)
            and item["chosen"]
            and all(_is_int(i) and 0 <= i < 26 for i in item["chosen"])
            and isinstance(item.get("correct"), bool)
        ):
            return [f"item {item!r} is not an answered quiz item"]
    correct = sum(1 for item in items if item["correct"])
    if state["score"] != correct:
        return [f"score {state['score']} does not match its {correct} correct item(s)"]
    if not len(items) <= state["total"] <= 100:
        return [f"total {state['total']} does not fit {len(items)} answered item(s)"]
    return []


def _stance_problems(state: dict) -> list[str]:
    steps, value = state.get("steps"), state.get("value")
    if not (_is_int(steps) and 3 <= steps <= 11 and _is_int(value) and 0 <= value < steps):
        return [f"position {value!r} is not on a scale of {steps!r} steps"]
    if not isinstance(state.get("label"), str) or not isinstance(state.get("reason", ""), str):
        return ["label and reason must be text"]
    if len(state["label"]) > MAX_LABEL:
        return [f"label is longer than {MAX_LABEL} characters"]
    if len(state.get("reason", "")) > MAX_REASON:
        return [f"reason is longer than {MAX_REASON} characters"]
    return []


def _sorter_problems(state: dict) -> list[str]:
    placed, correct, total = state.get("placed"), state.get("correct"), state.get("total")
    if not isinstance(placed, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in placed.items()):
        return ["placed must map case ids to category ids"]
    if not (_is_int(correct) and _is_int(total) and 0 <= correct <= len(placed) <= total <= 100):
        return [f"{correct!r} correct of {total!r} does not fit {len(placed)} placed case(s)"]
    return []


def _peer_problems(state: dict) -> list[str]:
    replies, liked = state.get("replies"), state.get("likes")
    if not isinstance(replies, list) or not isinstance(liked, list) or not isinstance(state.get("sample"), bool):
        return ["needs replies and likes (lists) and sample (true or false)"]
    if len(replies) > MAX_REPLIES or len(liked) > MAX_REPLIES:
        return [f"more than {MAX_REPLIES} replies or likes"]
    if not all(isinstance(p, str) and p for p in liked):
        return ["likes must be post ids"]
    for reply in replies:
        if not (
            isinstance(reply, dict)
            and isinstance(reply.get("parent_id"), str)
            and reply["parent_id"]
            and isinstance(reply.get("text"), str)
            and reply["text"].strip()
        ):
            return [f"reply {reply!r} needs a parent_id and text"]
        if len(reply["text"]) > MAX_REPLY:
            return [f"a reply is longer than {MAX_REPLY} characters"]
        pictures = reply.get("images", {})
        if not (
            isinstance(pictures, dict)
            and len(pictures) <= MAX_REPLY_IMAGES
            and all(isinstance(k, str) and isinstance(v, str) for k, v in pictures.items())
            and all(len(v) <= MAX_REPLY_IMAGE_CHARS for v in pictures.values())
        ):
            return [f"a reply's images must be at most {MAX_REPLY_IMAGES} named base64 texts of limited size"]
    return []


_CHECKS = {"quiz": _quiz_problems, "stance": _stance_problems, "sorter": _sorter_problems, "peer": _peer_problems}


def _size_problem(rec: dict) -> str:
    """Why a record is too big or not storable text, or "": checked before anything reads its fields."""
    try:
        text = json.dumps(rec, ensure_ascii=False)
        text.encode("utf-8")  # a lone surrogate cannot be hashed or stored
    except UnicodeEncodeError:
        return "holds text that is not valid Unicode (a lone surrogate escape such as \\ud800)"
    except (RecursionError, ValueError):
        return "is nested too deeply or holds a number too large to store"
    pictures = _image_chars(rec)
    if pictures > MAX_ANSWER_IMAGES:
        return f"holds {pictures:,} characters of images; a saved answer holds at most {MAX_ANSWER_IMAGES:,}"
    if len(text) - pictures > MAX_ANSWER:
        return f"is {len(text) - pictures:,} characters long; a saved answer is at most {MAX_ANSWER:,}"
    return ""


def _image_chars(rec: dict) -> int:
    """Characters of base64 image data in a peer record's replies (read defensively: not yet validated)."""
    state = rec.get("state")
    replies = state.get("replies") if isinstance(state, dict) else None
    total = 0
    for reply in replies if isinstance(replies, list) else []:
        pictures = reply.get("images") if isinstance(reply, dict) else None
        if isinstance(pictures, dict):
            total += sum(len(v) for v in pictures.values() if isinstance(v, str))
    return total


def parse(rec: object) -> tuple[Answer | None, str]:
    """A validated Answer from a saved record, or None with the reason it cannot be trusted.

    A record with no state (the widget was shown but never answered) is (None, "").
    """
    version = rec.get("schema_version") if isinstance(rec, dict) else None
    if _is_int(version) and version > SCHEMA_VERSION:
        return None, f"{NEWER} (record version {version}, the newest known version is {SCHEMA_VERSION}): {UPGRADE}"
    if not isinstance(rec, dict) or version != SCHEMA_VERSION:
        return None, "not a coursekit answer record of a known version"
    problem = _size_problem(rec)
    if problem:
        return None, problem
    kind, answer_id, state = rec.get("kind"), rec.get("id"), rec.get("state")
    if kind not in KINDS or not isinstance(answer_id, str) or not answer_id:
        return None, f"unknown answer kind {kind!r} or missing id"
    if state is None:
        return None, ""
    if not isinstance(state, dict):
        return None, f"{kind} {answer_id}: state is not a mapping"
    problems = _CHECKS[kind](state)
    if problems:
        return None, f"{kind} {answer_id}: {problems[0]}"
    return Answer(answer_id, kind, state), ""


def output_records(cell: dict) -> list[object]:
    """The raw answer records in a code cell's outputs, in output order (not yet validated)."""
    outputs = cell.get("outputs") if isinstance(cell, dict) else None
    if not isinstance(outputs, list):
        return []
    found = []
    for output in outputs:
        data = output.get("data") if isinstance(output, dict) else None
        if isinstance(data, dict) and MIME in data:
            found.append(data[MIME])
    return found


def saved_answers(notebook_path: str | Path) -> dict[str, dict]:
    """The valid answer states last saved in a notebook file, by widget id; {} if it cannot be read.

    Widgets use this to show a student's saved answers again when the notebook is reopened and re-run,
    instead of replacing them with an empty record on the next save.
    """
    try:
        notebook = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    states = {}
    for cell in cells if isinstance(cells, list) else []:
        for rec in output_records(cell):
            answer, _ = parse(rec)
            if answer is not None:
                states[answer.answer_id] = answer.state
    return states
