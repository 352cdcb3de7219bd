"""A demo course: generated students' notebooks, collected for real into a discussion log.

Instructors try the review notebook on it before their own class submits; tests and benchmarks
use it as a realistic class. Students write reflections of varied length using glossary terms,
answer the stance slider, reply to and like assigned classmates through a published feed, and some
submit late or not at all. Everything goes through the real notebook format and ``collect``.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from coursekit.course.reading import Reading, Readings
from coursekit.discussion.feed import assigned_roots, build_feed, parse_feed
from coursekit.intake.sources import gather
from coursekit.log import meta
from coursekit.log.collect import collect
from coursekit.log.frames import open_log
from coursekit.notebook import answers
from coursekit.notebook.build import week_notebook
from coursekit.notebook.cells import cell_marker

FILLER = (
    "peer projects depend on people who have time to give and on rules that someone has to enforce "
    "so the promise of equality holds only when the project is organised with care and accountability"
).split()
FIRST_DEADLINE = datetime(2026, 9, 11, 23, 59)  # week 1; a week apart after that, as in course.toml


def filled_notebook(reading: Reading, week: int, texts: dict[str, str]) -> dict:
    """A week's notebook as a student would submit it, with ``texts`` typed into the reflections."""
    notebook = json.loads(json.dumps(week_notebook(reading, week)))
    for cell in notebook["cells"]:
        marker = cell_marker(cell)
        if marker and marker["role"] == "reflection" and marker["prompt_id"] in texts:
            cell["source"] = texts[marker["prompt_id"]]
    return notebook


def with_saved(notebook: dict, records: dict[str, dict]) -> dict:
    """Put answer records into the outputs of widget cells (matched by source text), where JupyterLab saves them.

    The cells are not run, so they keep no execution count (JupyterLab would number them); ``validate``
    runs such a notebook all the same.
    """
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for needle, rec in records.items():
            if needle in source:
                cell["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": answers.bundle(rec)}]
    return notebook


def write_notebook(path: Path, notebook: dict, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def student_name(i: int) -> str:
    return f"s{i:03d}"


def reflection(rng: random.Random, reading: Reading, words: int) -> str:
    terms = rng.sample([t.term for t in reading.glossary], min(2, len(reading.glossary)))  # a new reading has one
    body = " ".join(rng.choice(FILLER) for _ in range(words))
    return f"Thinking about {' and '.join(terms) or 'the reading'}: {body}."


def make_class(
    reading: Reading, root: Path, students: int = 40, seed: int = 7, deadlines=None, db: str | Path | None = None
) -> str | Path:
    """Write and collect ``students`` students' notebooks for every week into ``db`` (default: root/class.db).

    Returns the log's path or URL.
    """
    rng = random.Random(seed)
    db = root / "class.db" if db is None else db
    names = [student_name(i) for i in range(students)]
    feed = None
    for week in (w.number for w in reading.weeks):
        folder = root / "submissions" / f"week{week:02d}"
        deadline = (deadlines or {}).get(week, FIRST_DEADLINE + timedelta(weeks=week - 1))
        for student in names:
            if rng.random() < 0.08:  # about one in twelve does not submit this week
                continue
            texts = {p.id: reflection(rng, reading, rng.randint(30, 200)) for p in reading.prompts_for(week)}
            saved = {}
            for section in reading.sections_for(week):
                if section.activity and section.activity.kind == "stance":
                    stance = reading.stance(section.activity.refs[0])
                    value = rng.randrange(stance.steps)
                    label = stance.labels[value]
                    state = {"stance": stance.id, "value": value, "label": label, "steps": stance.steps, "reason": ""}
                    saved["widgets.StanceSlider"] = answers.record("stance", stance.id, state)
            if feed is not None:
                assigned = assigned_roots(feed, student)
                chosen = rng.sample(assigned, min(len(assigned), rng.choice([0, 1, 2, 2, 3])))
                state = {
                    "feed": feed.id,
                    "sample": False,
                    "student": student,
                    "likes": [p.id for p in chosen[:1]],
                    "replies": [
                        {"parent_id": p.id, "text": f"{student} replies: good point about rules."} for p in chosen
                    ],
                }
                saved["widgets.PeerFeed"] = answers.record("peer", f"w{week}-peers", state)
            late = rng.random() < 0.15
            hours = rng.randint(1, 48) if late else -rng.randint(1, 72)
            when = (deadline + timedelta(hours=hours)).replace(tzinfo=UTC).timestamp()
            notebook = with_saved(filled_notebook(reading, week, texts), saved)
            write_notebook(folder / student / f"week{week:02d}.ipynb", notebook, mtime=when)
        collect(gather(folder), db, readings=Readings(known=(reading,)))
        log = open_log(db)
        posts = log.posts()
        if (posts["thread_week"] == week).any():
            document = build_feed(
                posts,
                week,
                log.course_secret(),
                "pseudonym",
                names,
                meta.feed_salt(log.engine, week),
                prompt_titles=reading.prompt_titles(),
            )
            feed = parse_feed(document, "generated")
    return db


def roster_rows(students: int, never_submitted: int = 2) -> list[dict]:
    """Canvas-style roster rows for the generated class, plus students who never submitted."""
    return [
        {
            "Student": f"Student, Number {i}",
            "ID": str(1000 + i),
            "SIS User ID": f"U{i:05d}",
            "SIS Login ID": student_name(i),
            "Section": f"Section {1 + i % 2}",
        }
        for i in range(students + never_submitted)
    ]
