"""A generated class for tests and benchmarks: N students over the reading's weeks, collected for real.

Students write reflections of varied length using glossary terms, answer the stance slider in
weeks 1 and 4, reply to and like assigned classmates from week 2 on (through a published feed),
and some submit late or not at all. Everything goes through the real notebook format and collect.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import filled_notebook, with_saved, write_notebook

from coursekit import answers
from coursekit.collect import collect
from coursekit.feed import assigned_roots, build_feed, parse_feed
from coursekit.log import open_log
from coursekit.reading import Reading

FILLER = (
    "peer projects depend on people who have time to give and on rules that someone has to enforce "
    "so the promise of equality holds only when the project is organised with care and accountability"
).split()


def student_name(i: int) -> str:
    return f"s{i:03d}"


def reflection(rng: random.Random, reading: Reading, words: int) -> str:
    terms = rng.sample([t.term for t in reading.glossary], 2)
    body = " ".join(rng.choice(FILLER) for _ in range(words))
    return f"Thinking about {terms[0]} and {terms[1]}: {body}."


def make_class(reading: Reading, root: Path, students: int = 40, seed: int = 7, deadlines=None) -> Path:
    """Write and collect ``students`` students' notebooks for every week; return the database path."""
    rng = random.Random(seed)
    db = root / "class.db"
    names = [student_name(i) for i in range(students)]
    feed = None
    for week in (w.number for w in reading.weeks):
        folder = root / f"week{week:02d}"
        deadline = (deadlines or {}).get(week, datetime(2026, 9, 4, 23, 59) + timedelta(weeks=week))  # as course.toml
        for student in names:
            if rng.random() < 0.08:  # about one in twelve does not submit this week
                continue
            texts = {p.id: reflection(rng, reading, rng.randint(30, 200)) for p in reading.prompts_for(week)}
            notebook = filled_notebook(reading, week, texts)
            saved = {}
            if any(s.activity and s.activity.kind == "stance" for s in reading.sections_for(week)):
                value = rng.randrange(7)
                state = {"stance": "saving-grace", "value": value, "label": f"step {value}", "steps": 7, "reason": ""}
                saved["widgets.StanceSlider"] = answers.record("stance", "saving-grace", state)
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
            notebook = with_saved(notebook, saved)
            late = rng.random() < 0.15
            when = deadline.replace(tzinfo=UTC).timestamp() + (
                rng.randint(1, 48) * 3600 if late else -rng.randint(1, 72) * 3600
            )
            path = write_notebook(folder / student / f"week{week:02d}.ipynb", notebook)
            os.utime(path, (when, when))
        collect(folder, db)
        log = open_log(db)
        posts = log.posts(week)
        if not posts.empty:
            feed = parse_feed(build_feed(posts, week, log.course_secret(), "pseudonym", names), "generated")
    return db


def roster_rows(students: int, missing_from_log: int = 2) -> list[dict]:
    """Canvas-style roster rows for the generated class, plus students who never submitted."""
    rows = []
    for i in range(students + missing_from_log):
        login = student_name(i)
        rows.append(
            {
                "Student": f"Student, Number {i}",
                "ID": str(1000 + i),
                "SIS User ID": f"U{i:05d}",
                "SIS Login ID": login,
                "Section": f"Section {1 + i % 2}",
            }
        )
    return rows
