"""Turn one submitted notebook's bytes into its reflections and widget answers, never raising.

Parsing uses orjson (about three times faster than the json module on notebooks with widget
state) and falls back to the json module whenever orjson refuses a file, so broken files get the
json module's messages (line and column) and anything json accepts is still read. Only the
structure coursekit needs is checked: nbformat's full schema validation costs about 300 times a
parse and mutates cell ids, which we never rely on.
Anything wrong with the file comes back as a Problem (a reason and a hint for the person who
has to fix it), and a notebook with a problem yields no reflections at all, so nothing partial
is ever stored. Given the course's readings, quiz, sorter and stance answers are re-graded against
the reading the notebook names (``notebook.regrade``): what comes out is the grade computed here,
never the one the file claims.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from coursekit.course.problems import Problem
from coursekit.course.reading import ReadingError, Readings
from coursekit.discussion.images import PostImage, keep_images
from coursekit.notebook import answers as answer_format
from coursekit.notebook.answers import Answer
from coursekit.notebook.cells import (
    COURSE_TAG,
    NAMESPACE,
    PROMPT,
    ROLES,
    SCHEMA_VERSION,
    WITHDRAW_TAG,
    cell_marker,
    cell_text,
    content_hash,
    has_tag,
    reflection_text,
    word_count,
)
from coursekit.notebook.regrade import Untrusted, needs_reading, regrade

_WEEK_IN_NAME = re.compile(r"week[ _-]?0*(\d+)", re.IGNORECASE)
MAX_NAME = 200  # characters of an id or name in coursekit metadata (ours are under 60)
MAX_REFLECTION = 50_000  # characters in one reflection (about 8,000 words; prompts ask for 100 to 300)


def week_in_name(name: str) -> int | None:
    """The week a name like "week03-the-limits" or "Week 3" says, if it says one."""
    match = _WEEK_IN_NAME.search(name)
    return int(match.group(1)) if match else None


__all__ = ["Extracted", "Problem", "Reflection", "extract", "week_in_name"]


@dataclass(frozen=True)
class Reflection:
    prompt_id: str
    text: str
    word_count: int
    content_hash: str  # over the text and its images, so a new image alone is a new version
    images: tuple[PostImage, ...] = ()
    withdrawn: bool = False  # its cell is tagged coursekit-withdraw: the student takes it down


def post_hash(text: str, images=()) -> str:
    """The fingerprint of a post: its text and the bytes of the images it shows."""
    return content_hash("\x00".join([text, *(content_hash(i.name) + content_hash(i.data.hex()) for i in images)]))


@dataclass
class Extracted:
    """What one notebook holds: its identity, its reflections, and what is wrong with it."""

    notebook: str = ""
    week: int | None = None
    reading: str = ""
    reflections: list[Reflection] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # stored anyway, but someone should look
    file_hash: str = ""  # SHA-256 of the file's bytes, when they could be read
    notes: list[str] = field(default_factory=list)  # kept anyway, but the instructor should know (refused images)
    reply_images: dict[str, list[PostImage]] = field(default_factory=dict)  # per peer answer "<answer id>/<n>"

    @property
    def ok(self) -> bool:
        return not self.problems


_RESUBMIT = "ask the student to download the course notebook again, copy their reflections in, and resubmit"


def _fail(result: Extracted, reason: str, hint: str) -> Extracted:
    result.problems.append(Problem(reason, hint))
    result.reflections = []
    result.answers = []
    return result


def _parse(data: bytes, result: Extracted) -> dict | None:
    if not data.strip():
        _fail(result, "the file is empty", "the upload probably failed; ask the student to resubmit")
        return None
    try:
        notebook = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass  # a BOM, NaN, a huge integer or a broken file: the json module decides and words the error
    else:
        return _notebook_or_fail(notebook, result)
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        _fail(result, "the file is not UTF-8 text, so not a notebook", "check the student uploaded the .ipynb")
        return None
    except json.JSONDecodeError as exc:
        _fail(
            result,
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "the file is truncated or was edited outside Jupyter; " + _RESUBMIT,
        )
        return None
    except RecursionError:
        _fail(result, "JSON nested too deeply to be a notebook", "the file was not made by Jupyter; " + _RESUBMIT)
        return None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        _fail(result, f"JSON that Python refuses to read ({exc})", "the file was not made by Jupyter; " + _RESUBMIT)
        return None
    return _notebook_or_fail(notebook, result)


def _notebook_or_fail(notebook: object, result: Extracted) -> dict | None:
    version = notebook.get("nbformat") if isinstance(notebook, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version < 4:
        _fail(
            result,
            f"an old notebook format (nbformat {version})",
            "open and save it in JupyterLab (which converts it to format 4), then resubmit",
        )
        return None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        _fail(result, "valid JSON but not a Jupyter notebook (no list of cells)", "check the right file was uploaded")
        return None
    if notebook.get("nbformat") != 4:
        _fail(
            result,
            f"notebook format {notebook.get('nbformat')!r} is not supported (coursekit reads format 4)",
            "open and save it in JupyterLab 3 or later, then resubmit",
        )
        return None
    return notebook


def _version_problem(marker: dict, where: str) -> Problem | None:
    """A coursekit marker whose schema version this coursekit cannot read (newer, or not a number)."""
    version = marker.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return Problem(f"{where} has damaged coursekit metadata (schema_version {version!r})", _RESUBMIT)
    if version > SCHEMA_VERSION:
        return Problem(
            f"{where} was {answer_format.NEWER} (schema version {version}; this one reads {SCHEMA_VERSION})",
            answer_format.UPGRADE,
        )
    return None


def _damaged_identity(marker: object) -> Problem | None:
    """The notebook's own coursekit metadata, when present, must have the types coursekit writes."""
    if marker is None:
        return None
    damaged = Problem("the notebook's coursekit metadata is damaged", _RESUBMIT)
    if not isinstance(marker, dict):
        return damaged
    if problem := _version_problem(marker, "the notebook"):
        return problem
    week, ids = marker.get("week"), marker.get("prompt_ids")
    if week is not None and (not isinstance(week, int) or isinstance(week, bool)):
        return Problem(f"the notebook's coursekit metadata is damaged (week {clip(repr(week))})", _RESUBMIT)
    if ids is not None and not (isinstance(ids, list) and all(isinstance(p, str) and len(p) <= MAX_NAME for p in ids)):
        return Problem("the notebook's coursekit metadata is damaged (prompt_ids is not a list of ids)", _RESUBMIT)
    for key in ("notebook", "reading"):
        value = marker.get(key)
        if value is not None and not (isinstance(value, str) and len(value) <= MAX_NAME):
            return Problem(f"the notebook's coursekit metadata is damaged ({key} is not a short text)", _RESUBMIT)
    return None


def clip(text: str, limit: int = 60) -> str:
    """Untrusted text quoted in a reason, kept short."""
    return text if len(text) <= limit else text[:limit] + "…"


def _unstorable(text: str) -> bool:
    """Text the log cannot hash or store: lone surrogates from a ``\\ud800`` escape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _identity(notebook: dict, file_stem: str, result: Extracted) -> list[str]:
    """Fill in the notebook's name, week and reading; return the prompt ids it was built with."""
    metadata = notebook.get("metadata")
    marker = metadata.get(NAMESPACE) if isinstance(metadata, dict) else None
    marker = marker if isinstance(marker, dict) else {}
    name = marker.get("notebook")
    result.notebook = name if isinstance(name, str) and name else file_stem
    week = marker.get("week")
    if not isinstance(week, int) or isinstance(week, bool):
        week = week_in_name(result.notebook)
    result.week = week
    reading = marker.get("reading")
    result.reading = reading if isinstance(reading, str) else ""
    expected = marker.get("prompt_ids")
    if isinstance(expected, list) and all(isinstance(p, str) for p in expected):
        return expected
    return []


_REANSWER = "ask the student to re-run that cell, answer the widget again, save and resubmit"
Check = Callable[[Answer], tuple[Answer, Problem | None]]


def _checker(result: Extracted, readings: Readings | None) -> Check:
    """Re-grade each answer against the reading the notebook names; a Problem when that cannot be done."""

    def check(answer: Answer) -> tuple[Answer, Problem | None]:
        if readings is None or not needs_reading(answer):
            return answer, None
        what = f"{answer.kind} {answer.answer_id}"
        if not result.reading or result.week is None:
            return answer, Problem(
                f"saved answer {what} cannot be checked: the notebook does not name its reading and week", _RESUBMIT
            )
        try:
            reading = readings.get(result.reading)
        except (FileNotFoundError, ReadingError) as exc:
            return answer, Problem(
                f"saved answer {what} cannot be checked against reading {result.reading}: {exc}",
                f"run collect from the course folder that holds readings/{result.reading}/ (or pass --course)",
            )
        try:
            return regrade(answer, reading, result.week), None
        except Untrusted as exc:
            return answer, Problem(f"saved answer {what}: {exc}", _REANSWER)

    return check


def extract(data: bytes, file_stem: str = "", readings: Readings | None = None) -> Extracted:
    """Read the reflections out of a notebook file's bytes; problems are listed, never raised.

    With ``readings``, quiz, sorter and stance answers are re-graded against the reading the notebook
    names, and an answer whose claims differ from that grade fails the file.
    """
    result = Extracted(notebook=file_stem)
    notebook = _parse(data, result)
    if notebook is None:
        return result
    metadata = notebook.get("metadata")
    if problem := _damaged_identity(metadata.get(NAMESPACE) if isinstance(metadata, dict) else None):
        return _fail(result, problem.reason, problem.hint)
    expected = _identity(notebook, file_stem, result)
    if any(_unstorable(t) for t in (result.notebook, result.reading, *expected)):
        return _fail(result, "the notebook's coursekit metadata is not valid Unicode text", _RESUBMIT)
    check = _checker(result, readings)

    prompts: dict[str, list[int]] = {}
    answers: dict[str, list[tuple[int, str]]] = {}
    attachments: dict[str, dict[str, str]] = {}
    saved: dict[str, Answer] = {}
    withdrawn: set[str] = set()  # prompts whose reflection cell (any of its parts) carries the withdraw tag
    after_prompt = ""  # the prompt whose reflection area we are in, if any
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict):
            return _fail(result, f"cell {index + 1} is not a cell (not a JSON object)", _RESUBMIT)
        if cell.get("cell_type") == "code":
            wrong = _read_answers(cell, saved, check)
            if wrong:
                return _fail(result, f"cell {index + 1}: {wrong.reason}", wrong.hint)
        marker = cell_marker(cell)
        if marker is None:
            cell_metadata = cell.get("metadata")
            if isinstance(cell_metadata, dict) and cell_metadata.get(NAMESPACE) is not None:
                return _fail(result, f"cell {index + 1} has damaged coursekit metadata (not a mapping)", _RESUBMIT)
            after_prompt = _stray_text(cell, index, after_prompt, result)
            continue
        if problem := _version_problem(marker, f"cell {index + 1}"):
            return _fail(result, problem.reason, problem.hint)
        role, prompt_id = marker.get("role"), marker.get("prompt_id")
        if role not in ROLES or not isinstance(prompt_id, str) or not 0 < len(prompt_id) <= MAX_NAME:
            return _fail(
                result,
                f"cell {index + 1} has damaged coursekit metadata "
                f"(role {clip(ascii(role))}, prompt {clip(ascii(prompt_id))})",
                _RESUBMIT,
            )
        if cell.get("cell_type") != "markdown":
            return _fail(
                result,
                f"cell {index + 1} ({role} {prompt_id}) was changed from markdown to {cell.get('cell_type')}",
                "change it back to a Markdown cell (press M in JupyterLab) and resubmit",
            )
        after_prompt = prompt_id
        if role == PROMPT:
            prompts.setdefault(prompt_id, []).append(index + 1)
        else:
            answers.setdefault(prompt_id, []).append((index + 1, reflection_text(cell)))
            if has_tag(cell, WITHDRAW_TAG):
                withdrawn.add(prompt_id)
            attachments.setdefault(prompt_id, {}).update(_attachments(cell))

    if not prompts and not answers:
        return _fail(
            result,
            "no coursekit prompt or reflection cells",
            "this is not a coursekit course notebook, or its cells were re-created; check the right file was submitted",
        )
    for prompt_id, positions in prompts.items():
        if len(positions) > 1:
            cells = ", ".join(str(p) for p in positions)
            return _fail(
                result,
                f"the prompt cell for {prompt_id} appears {len(positions)} times (cells {cells})",
                "delete the copies so the prompt appears once, keep your reflection below it, and resubmit",
            )
    needed = expected or list(dict.fromkeys([*prompts, *answers]))
    for found, role, hint in (
        (prompts, "prompt", "copy the prompt cell back from the course notebook above your reflection and resubmit"),
        (answers, "reflection", "copy the reflection cell back from the course notebook below its prompt and resubmit"),
    ):
        for prompt_id in needed:
            if prompt_id not in found:
                return _fail(result, f"the {role} cell for {prompt_id} was deleted", hint)
    texts = {prompt_id: "\n\n".join(t for _, t in parts if t) for prompt_id, parts in answers.items()}
    # A student who split a reflection into several cells still wrote one reflection.
    for prompt_id, text in texts.items():
        if len(text) > MAX_REFLECTION:
            return _fail(
                result,
                f"the reflection for {prompt_id} has {len(text):,} characters; at most {MAX_REFLECTION:,} are taken",
                "shorten it (or remove what was pasted in by mistake), save and resubmit",
            )
        if _unstorable(text):
            return _fail(
                result,
                f"the reflection for {prompt_id} holds text that is not valid Unicode (a lone surrogate, \\ud800)",
                "retype the odd characters in JupyterLab (or delete them), save and resubmit",
            )
    posts = {prompt_id: (text, attachments.get(prompt_id, {})) for prompt_id, text in texts.items()}
    posts |= {key: (reply["text"], reply.get("images", {})) for key, reply in _peer_replies(saved.values())}
    kept = keep_images(posts)
    result.notes += kept.refused
    for prompt_id, text in texts.items():
        images = tuple(kept.images.get(prompt_id, ()))
        result.reflections.append(
            Reflection(prompt_id, text, word_count(text), post_hash(text, images), images, prompt_id in withdrawn)
        )
    result.reply_images = {key: found for key, found in kept.images.items() if key not in texts}
    result.answers = list(saved.values())
    return result


def reply_key(answer_id: str, n: int) -> str:
    """How the images of the n-th reply in a peer answer are filed in ``Extracted.reply_images``."""
    return f"{answer_id}/reply {n + 1}"


def _peer_replies(saved) -> list[tuple[str, dict]]:
    return [
        (reply_key(a.answer_id, n), reply)
        for a in saved
        if a.kind == "peer" and not a.state.get("sample")
        for n, reply in enumerate(a.state["replies"])
    ]


def _attachments(cell: dict) -> dict[str, str]:
    """A markdown cell's attachments (name → base64 as saved); the claimed type is not trusted."""
    found = cell.get("attachments")
    kept = {}
    for name, bundle in (found if isinstance(found, dict) else {}).items():
        data = next((v for v in bundle.values() if isinstance(v, str)), None) if isinstance(bundle, dict) else None
        if isinstance(name, str) and data is not None:
            kept[name] = "".join(data.split())
    return kept


def _stray_text(cell: dict, index: int, after_prompt: str, result: Extracted) -> str:
    """Note text in a cell the student added after a prompt; return the prompt area we are still in.

    A reflection typed into a new cell is not in the reflection cell, so it would be collected as
    blank. Generated cells (tagged ``coursekit-course``) are skipped; a section heading ends the area.
    """
    text = cell_text(cell).strip()
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    if cell.get("cell_type") == "markdown" and text.startswith("## "):
        return ""
    if after_prompt and text and not (isinstance(tags, list) and COURSE_TAG in tags):
        result.warnings.append(
            Problem(
                f"text in an untagged cell after prompt {after_prompt} (cell {index + 1}): not collected",
                "move it into the reflection cell (tagged coursekit-reflection) below the prompt and resubmit",
            )
        )
    return after_prompt


def _read_answers(cell: dict, saved: dict[str, Answer], check: Check) -> Problem | None:
    """Collect the widget answers saved in a code cell's outputs; return what is wrong, if anything."""
    for rec in answer_format.output_records(cell):
        answer, problem = answer_format.parse(rec)
        if problem.startswith(answer_format.NEWER):
            return Problem(f"saved answer {problem.split(': ')[0]}", answer_format.UPGRADE)
        if problem:
            return Problem(f"saved answer {problem}: edited by hand or damaged, so it is not trusted", _REANSWER)
        if answer is not None:
            answer, wrong = check(answer)
            if wrong:
                return wrong
            saved[answer.answer_id] = answer  # a widget shown twice: the later answer wins
    return None
